// A UDP service on a wildcard VIP answers from the address each client sent to (IP_PKTINFO),
// so a client that talks to 127.0.0.3 hears back from 127.0.0.3, not from whatever source the
// routing table would pick. Traffic stays on 127.0.0.0/8 (the listener is bound to 0.0.0.0 on
// an ephemeral port for the test's duration).

#include <poll.h>
#include <sys/socket.h>

#include <gtest/gtest.h>

#include <array>
#include <string>
#include <utility>

#include "harness.h"
#include "loopback.h"

namespace lvs::dp::proxy {
namespace {

// Sends `payload` to `to`; returns the reply and the address it came from.
std::pair<std::string, core::Endpoint> ask(int fd, const core::Endpoint& to,
                                           const std::string& payload) {
  const SockAddr sa = to_sockaddr(to);
  if (::sendto(fd, payload.data(), payload.size(), 0, sa.get(), sa.len) < 0) return {};
  pollfd p{.fd = fd, .events = POLLIN, .revents = 0};
  if (::poll(&p, 1, testing::kWaitMs) <= 0) return {};
  std::array<char, 2048> buf{};
  SockAddr from;
  from.len = sizeof(from.storage);
  const ssize_t n = ::recvfrom(fd, buf.data(), buf.size(), 0, from.get(), &from.len);
  if (n <= 0) return {};
  return {std::string(buf.data(), static_cast<std::size_t>(n)), from_sockaddr(from.storage)};
}

core::Endpoint at(const char* ip, std::uint16_t port) {
  return core::Endpoint{.addr = *core::IpAddress::parse(ip), .port = port};
}

TEST(ProxyUdpWildcard, RepliesComeFromTheAddressTheClientUsed) {
  testing::UdpNameServer a("A", "127.0.0.2");
  Harness h;
  const auto bound = h.add(make_service(model::Protocol::kUdp, "0.0.0.0:0", "rr", {a.addr()}));
  ASSERT_NE(bound.port, 0);
  auto client = testing::udp_socket("127.0.0.1");
  ASSERT_TRUE(client.valid());
  for (const char* vip : {"127.0.0.3", "127.0.0.4", "127.0.0.3"}) {
    const auto [reply, from] = ask(client.get(), at(vip, bound.port), "hello");
    EXPECT_EQ(reply, "A:hello") << vip;
    EXPECT_EQ(from, at(vip, bound.port)) << "reply to a datagram sent to " << vip;
  }
}

}  // namespace
}  // namespace lvs::dp::proxy
