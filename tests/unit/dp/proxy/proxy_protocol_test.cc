// PROXY protocol headers, byte for byte as haproxy's proxy-protocol.txt defines them.

#include "dp/proxy/proxy_protocol.h"

#include <gtest/gtest.h>

namespace lvs::dp::proxy {
namespace {

core::Endpoint ep(const char* text) { return *core::Endpoint::parse(text); }

TEST(ProxyHeader, V1IsOneTextLine) {
  EXPECT_EQ(proxy_header(model::ProxyProtocol::kV1, model::Protocol::kTcp, ep("192.0.2.7:40000"),
                         ep("198.51.100.1:80")),
            "PROXY TCP4 192.0.2.7 198.51.100.1 40000 80\r\n");
  EXPECT_EQ(proxy_header(model::ProxyProtocol::kV1, model::Protocol::kTcp, ep("[2001:db8::7]:5"),
                         ep("[2001:db8::1]:443")),
            "PROXY TCP6 2001:db8::7 2001:db8::1 5 443\r\n");
}

TEST(ProxyHeader, V2Ipv4StreamAndDatagram) {
  const std::string tcp = proxy_header(model::ProxyProtocol::kV2, model::Protocol::kTcp,
                                       ep("192.0.2.7:40000"), ep("198.51.100.1:80"));
  const std::string expected_tcp(
      "\r\n\r\n\0\r\nQUIT\n"
      "\x21\x11\x00\x0c"
      "\xc0\x00\x02\x07"
      "\xc6\x33\x64\x01"
      "\x9c\x40\x00\x50",
      28);
  EXPECT_EQ(tcp, expected_tcp);
  const std::string udp = proxy_header(model::ProxyProtocol::kV2, model::Protocol::kUdp,
                                       ep("192.0.2.7:40000"), ep("198.51.100.1:80"));
  EXPECT_EQ(udp[13], '\x12');
  EXPECT_EQ(udp.size(), 28U);
}

TEST(ProxyHeader, V2Ipv6HasA36ByteAddressBlock) {
  const std::string h = proxy_header(model::ProxyProtocol::kV2, model::Protocol::kTcp,
                                     ep("[2001:db8::7]:5"), ep("[2001:db8::1]:443"));
  ASSERT_EQ(h.size(), 16U + 36U);
  EXPECT_EQ(h[13], '\x21');
  EXPECT_EQ(h[15], '\x24');
  EXPECT_EQ(h[16 + 15], '\x07');
  EXPECT_EQ(h[16 + 31], '\x01');
}

TEST(ProxyHeader, NoneIsEmpty) {
  EXPECT_EQ(proxy_header(model::ProxyProtocol::kNone, model::Protocol::kTcp, ep("192.0.2.7:1"),
                         ep("192.0.2.8:2")),
            "");
}

}  // namespace
}  // namespace lvs::dp::proxy
