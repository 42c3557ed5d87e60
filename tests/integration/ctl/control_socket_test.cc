// The control socket under bad clients: garbage, oversized and truncated requests get an
// error reply or are dropped, a client that sends nothing is dropped after the I/O timeout,
// and lvsd keeps answering lvsadm throughout.

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <cstring>
#include <string>

#include <gtest/gtest.h>

#include "core/fd.h"
#include "ctl/control_socket.h"
#include "integration/ctl/harness.h"

namespace lvs::testing {
namespace {

core::Fd connect_unix(const std::string& path) {
  core::Fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  std::memcpy(sa.sun_path, path.c_str(), path.size() + 1);
  // NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast): the sockets API
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&sa), sizeof(sa)) != 0) fd.reset();
  return fd;
}

// Sends raw bytes, then reads until EOF (bounded); returns what came back.
std::string exchange(const std::string& path, const std::string& bytes, bool half_close) {
  auto fd = connect_unix(path);
  if (!fd) return "connect failed";
  if (::send(fd.get(), bytes.data(), bytes.size(), MSG_NOSIGNAL) < 0) return "send failed";
  if (half_close) ::shutdown(fd.get(), SHUT_WR);
  std::string got;
  for (int i = 0; i < 1000; ++i) {
    pollfd p{.fd = fd.get(), .events = POLLIN, .revents = 0};
    if (::poll(&p, 1, 10'000) <= 0) break;
    char buf[4096];
    const ssize_t n = ::recv(fd.get(), buf, sizeof(buf), 0);
    if (n <= 0) break;
    got.append(buf, static_cast<std::size_t>(n));
  }
  return got;
}

ctl::Reply decode(const std::string& frame) {
  if (frame.size() < ctl::kFrameHeader) return ctl::Reply{.exit_code = -1, .err = "short"};
  auto n = ctl::decode_header(frame.substr(0, ctl::kFrameHeader), ctl::kMaxReply);
  if (!n || *n != frame.size() - ctl::kFrameHeader) return ctl::Reply{.exit_code = -1};
  auto r = ctl::decode_reply(frame.substr(ctl::kFrameHeader));
  return r ? *r : ctl::Reply{.exit_code = -1};
}

class ControlSocket : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(d.ready()); }
  void still_answers() {
    const auto r = d.lvsadm({"-L", "-n"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_TRUE(r.out.starts_with("IP Virtual Server version")) << r.out;
  }
  Lvsd d{};
};

// A request that does not start with the magic gets an error reply; the daemon goes on.
TEST_F(ControlSocket, GarbageGetsAnErrorReply) {
  const auto r = decode(exchange(d.socket(), "GET / HTTP/1.0\r\n\r\n", true));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(r.err.starts_with("lvsd: malformed message")) << r.err;
  still_answers();
}

// A header announcing more than 1 MiB is answered without reading the body.
TEST_F(ControlSocket, OversizedRequestGetsAnErrorReply) {
  std::string header = "LVS1";
  header += std::string{'\x00', '\x20', '\x00', '\x00'};  // 2 MiB
  const auto r = decode(exchange(d.socket(), header, false));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("exceeds the limit of 1048576 bytes"), std::string::npos) << r.err;
  still_answers();
}

// Well-framed but inconsistent bodies are malformed: no arguments, a word past the end,
// trailing bytes.
TEST_F(ControlSocket, MalformedBodiesGetAnErrorReply) {
  const std::string bodies[] = {
      std::string("\0\0\0\0\0\0\0\0", 8),               // argc 0, empty input
      std::string("\0\0\0\1\0\0\0\x50", 8),             // a word of 80 bytes missing
      std::string("\0\0\0\1\0\0\0\0\0\0\0\0\x01", 13),  // trailing byte
  };
  for (const auto& body : bodies) {
    std::string frame = "LVS1";
    frame += std::string{'\0', '\0', '\0', static_cast<char>(body.size())};
    const auto r = decode(exchange(d.socket(), frame + body, true));
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_TRUE(r.err.starts_with("lvsd: malformed message")) << r.err;
  }
  still_answers();
}

// A client that closes in the middle of its request is dropped quietly.
TEST_F(ControlSocket, TruncatedRequestIsDropped) {
  std::string frame = ctl::encode_request(ctl::Request{.argv = {"lvsadm", "-C"}});
  frame.resize(frame.size() - 3);
  EXPECT_EQ(exchange(d.socket(), frame, true), "");
  still_answers();
}

// A client that connects and sends nothing does not keep lvsadm out: it is dropped after the
// daemon's I/O timeout and the next client is served.
TEST_F(ControlSocket, StuckClientDoesNotBlockOthers) {
  const auto stuck = connect_unix(d.socket());
  ASSERT_TRUE(stuck.valid());
  still_answers();
}

// A well-formed request over a raw connection gets lvsadm's answer.
TEST_F(ControlSocket, RawRequestIsServed) {
  const auto r = decode(exchange(
      d.socket(), ctl::encode_request(ctl::Request{.argv = {"lvsadm", "-L", "--timeout"}}), true));
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out, "Timeout (tcp tcpfin udp): 900 120 300\n");
}

}  // namespace
}  // namespace lvs::testing
