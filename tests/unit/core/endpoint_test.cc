// Endpoint: ipvsadm's address forms, parsed and printed back.
#include "core/endpoint.h"

#include <gtest/gtest.h>

#include <unordered_set>

namespace lvs::core {
namespace {

TEST(Endpoint, ParsesAndPrintsIpv4WithPort) {
  auto e = Endpoint::parse("192.0.2.1:80");
  ASSERT_TRUE(e.ok());
  EXPECT_TRUE(e->addr.is_v4());
  EXPECT_EQ(e->addr.v4_host(), 0xC0000201U);
  EXPECT_EQ(e->port, 80);
  EXPECT_EQ(e->to_string(), "192.0.2.1:80");
}

TEST(Endpoint, ParsesBracketedIpv6) {
  auto e = Endpoint::parse("[2001:db8::1]:8080");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->addr.family(), Family::kInet6);
  EXPECT_EQ(e->port, 8080);
  EXPECT_EQ(e->to_string(), "[2001:db8::1]:8080");
}

TEST(Endpoint, MissingPortTakesDefault) {
  EXPECT_EQ(Endpoint::parse("198.51.100.7", 23)->to_string(), "198.51.100.7:23");
  EXPECT_EQ(Endpoint::parse("[2001:db8::2]", 53)->to_string(), "[2001:db8::2]:53");
  // A bare IPv6 literal is accepted without brackets (ipvsadm does too).
  EXPECT_EQ(Endpoint::parse("2001:db8::3")->to_string(), "[2001:db8::3]:0");
}

TEST(Endpoint, RejectsMalformedInputWithTheOffendingText) {
  for (const char* bad : {"", "1.2.3", "1.2.3.4:", "1.2.3.4:65536", "1.2.3.4:http", "[::1",
                          "[::1]x", "[1.2.3.4]:80", "host.example:80", "1.2.3.4:80:90"}) {
    auto e = Endpoint::parse(bad);
    EXPECT_FALSE(e.ok()) << bad;
    if (!e.ok()) {
      EXPECT_NE(e.error().message.find(bad), std::string::npos) << e.error().message;
      EXPECT_EQ(e.error().code, EINVAL);
    }
  }
}

TEST(IpAddress, HashWordFoldsIpv6Words) {
  EXPECT_EQ(IpAddress::parse("10.0.0.1")->hash_word(), 0x0A000001U);
  // 2001:0db8:0000:0000:0000:0000:0000:0001 -> 0x20010db8 ^ 0x00000001
  EXPECT_EQ(IpAddress::parse("2001:db8::1")->hash_word(), 0x20010db9U);
}

TEST(IpAddress, OrdersV4BeforeV6AndNumerically) {
  EXPECT_LT(*IpAddress::parse("10.0.0.2"), *IpAddress::parse("10.0.0.10"));
  EXPECT_LT(*IpAddress::parse("255.255.255.255"), *IpAddress::parse("::1"));
  std::unordered_set<Endpoint> set{*Endpoint::parse("10.0.0.1:80"), *Endpoint::parse("10.0.0.1:80"),
                                   *Endpoint::parse("10.0.0.1:81")};
  EXPECT_EQ(set.size(), 2U);
}

}  // namespace
}  // namespace lvs::core
