// PROXY protocol per realserver on loopback: the realserver parses the header it receives and
// finds the client's own address and port, and the VIP:port the client connected to.

#include <arpa/inet.h>
#include <poll.h>
#include <sys/socket.h>

#include <gtest/gtest.h>

#include <array>
#include <string>

#include "harness.h"
#include "loopback.h"

namespace lvs::dp::proxy {
namespace {

model::VirtualService with_proxy(model::VirtualService svc, model::ProxyProtocol v) {
  for (auto& d : svc.dests) d.proxy_protocol = v;
  return svc;
}

// Accepts the proxied connection on the (non-blocking) realserver listener, bounded.
core::Fd accept_one(int listener) {
  pollfd p{.fd = listener, .events = POLLIN, .revents = 0};
  if (::poll(&p, 1, testing::kWaitMs) != 1) return core::Fd{};
  return core::Fd(::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC));
}

// Reads exactly n bytes, bounded.
std::string read_n(int fd, std::size_t n) {
  std::string out;
  while (out.size() < n) {
    pollfd p{.fd = fd, .events = POLLIN, .revents = 0};
    if (::poll(&p, 1, testing::kWaitMs) != 1) return out;
    std::array<char, 256> buf{};
    const ssize_t got = ::recv(fd, buf.data(), std::min(buf.size(), n - out.size()), 0);
    if (got <= 0) return out;
    out.append(buf.data(), static_cast<std::size_t>(got));
  }
  return out;
}

std::uint16_t be16(const std::string& s, std::size_t at) {
  return static_cast<std::uint16_t>((static_cast<unsigned char>(s[at]) << 8U) |
                                    static_cast<unsigned char>(s[at + 1]));
}

std::string ipv4_at(const std::string& s, std::size_t at) {
  return core::IpAddress::v4((std::uint32_t{static_cast<unsigned char>(s[at])} << 24U) |
                             (std::uint32_t{static_cast<unsigned char>(s[at + 1])} << 16U) |
                             (std::uint32_t{static_cast<unsigned char>(s[at + 2])} << 8U) |
                             std::uint32_t{static_cast<unsigned char>(s[at + 3])})
      .to_string();
}

// v1: the realserver reads "PROXY TCP4 <client> <vip> <cport> <vport>\r\n", then the client's
// bytes.
TEST(ProxyProtocol, V1HeaderCarriesTheClientAddressAndPort) {
  auto real = make_listener(SockType::kStream, *core::Endpoint::parse("127.0.0.2:0"), 16);
  ASSERT_TRUE(real.ok());
  const auto real_addr = *local_endpoint(real->get());
  Harness h;
  const auto vip =
      h.add(with_proxy(make_service(model::Protocol::kTcp, "127.0.0.1:0", "rr", {real_addr}),
                       model::ProxyProtocol::kV1));
  auto client = testing::connect_tcp_from(vip, "127.0.3.9:0");
  ASSERT_TRUE(client.valid());
  const auto me = *local_endpoint(client.get());
  ASSERT_EQ(::send(client.get(), "hi", 2, MSG_NOSIGNAL), 2);
  auto up = accept_one(real->get());
  ASSERT_TRUE(up.valid());
  const std::string expected = "PROXY TCP4 127.0.3.9 127.0.0.1 " + std::to_string(me.port) + " " +
                               std::to_string(vip.port) + "\r\n";
  EXPECT_EQ(read_n(up.get(), expected.size()), expected);
  EXPECT_EQ(read_n(up.get(), 2), "hi");
}

// v2: the realserver reads the binary header (TCP over IPv4) with the same facts.
TEST(ProxyProtocol, V2HeaderCarriesTheClientAddressAndPort) {
  auto real = make_listener(SockType::kStream, *core::Endpoint::parse("127.0.0.2:0"), 16);
  ASSERT_TRUE(real.ok());
  const auto real_addr = *local_endpoint(real->get());
  Harness h;
  const auto vip =
      h.add(with_proxy(make_service(model::Protocol::kTcp, "127.0.0.1:0", "rr", {real_addr}),
                       model::ProxyProtocol::kV2));
  auto client = testing::connect_tcp_from(vip, "127.0.3.9:0");
  ASSERT_TRUE(client.valid());
  const auto me = *local_endpoint(client.get());
  auto up = accept_one(real->get());
  ASSERT_TRUE(up.valid());
  const std::string head = read_n(up.get(), 16);
  ASSERT_EQ(head.size(), 16U);
  EXPECT_EQ(head.substr(0, 12), std::string("\r\n\r\n\0\r\nQUIT\n", 12));
  EXPECT_EQ(head[12], '\x21');
  EXPECT_EQ(head[13], '\x11');
  ASSERT_EQ(be16(head, 14), 12U);
  const std::string addrs = read_n(up.get(), 12);
  ASSERT_EQ(addrs.size(), 12U);
  EXPECT_EQ(ipv4_at(addrs, 0), "127.0.3.9");
  EXPECT_EQ(ipv4_at(addrs, 4), "127.0.0.1");
  EXPECT_EQ(be16(addrs, 8), me.port);
  EXPECT_EQ(be16(addrs, 10), vip.port);
}

// UDP v2: the header rides in front of a flow's first datagram only.
TEST(ProxyProtocol, V2ForUdpPrefixesOnlyTheFirstDatagram) {
  auto real = testing::udp_socket("127.0.0.2");
  ASSERT_TRUE(real.valid());
  const auto real_addr = *local_endpoint(real.get());
  Harness h;
  const auto vip =
      h.add(with_proxy(make_service(model::Protocol::kUdp, "127.0.0.1:0", "rr", {real_addr}),
                       model::ProxyProtocol::kV2));
  auto client = testing::udp_socket("127.0.3.9");
  const auto me = *local_endpoint(client.get());
  const SockAddr to = to_sockaddr(vip);
  const auto recv_one = [&]() -> std::string {
    pollfd p{.fd = real.get(), .events = POLLIN, .revents = 0};
    if (::poll(&p, 1, testing::kWaitMs) != 1) return "";
    std::array<char, 512> buf{};
    const ssize_t n = ::recv(real.get(), buf.data(), buf.size(), 0);
    return n > 0 ? std::string(buf.data(), static_cast<std::size_t>(n)) : "";
  };
  ASSERT_EQ(::sendto(client.get(), "one", 3, 0, to.get(), to.len), 3);
  const std::string first = recv_one();
  ASSERT_EQ(first.size(), 28U + 3U);
  EXPECT_EQ(first[13], '\x12');
  EXPECT_EQ(ipv4_at(first, 16), "127.0.3.9");
  EXPECT_EQ(be16(first, 24), me.port);
  EXPECT_EQ(be16(first, 26), vip.port);
  EXPECT_EQ(first.substr(28), "one");
  ASSERT_EQ(::sendto(client.get(), "two", 3, 0, to.get(), to.len), 3);
  EXPECT_EQ(recv_one(), "two");
}

// v1 has no UDP form: apply() refuses it, naming the realserver.
TEST(ProxyProtocol, V1ForUdpIsRefused) {
  Harness h;
  auto svc = with_proxy(make_service(model::Protocol::kUdp, "127.0.0.1:0", "rr",
                                     {*core::Endpoint::parse("127.0.0.2:53")}),
                        model::ProxyProtocol::kV1);
  h.table.services.push_back(svc);
  auto r = h.proxy->apply(h.table);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("PROXY protocol v1 has no UDP form"), std::string::npos);
}

}  // namespace
}  // namespace lvs::dp::proxy
