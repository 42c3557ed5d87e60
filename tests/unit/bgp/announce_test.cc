// Which VIPs a director announces (issue 9, active/active): decide() over the table, the data
// plane's health and the operator's drain.
#include "bgp/announce.h"

#include <gtest/gtest.h>

namespace lvs::bgp {
namespace {

core::IpAddress ip(std::string_view s) { return *core::IpAddress::parse(s); }
core::Endpoint ep(std::string_view s) { return *core::Endpoint::parse(s); }

model::VirtualService service(std::string_view vip, std::vector<std::int32_t> weights) {
  model::VirtualService vs{};
  vs.key = model::ServiceKey::address(model::Protocol::kTcp, ep(vip));
  vs.scheduler = "mh";
  std::uint16_t port = 8000;
  for (const auto w : weights) {
    model::RealServer r{};
    r.addr = core::Endpoint{.addr = ip("198.51.100.131"), .port = port++};
    r.weight = w;
    vs.dests.push_back(r);
  }
  return vs;
}

model::ServiceTable two_vips() {
  model::ServiceTable t;
  t.services.push_back(service("203.0.113.20:80", {1, 1}));
  t.services.push_back(service("203.0.113.10:80", {1}));
  t.services.push_back(service("203.0.113.10:443", {0}));
  return t;
}

// A healthy director announces every VIP with a serving port, sorted.
TEST(Announce, HealthyDirectorAnnouncesEveryServedVip) {
  const Decision d = decide({.table = two_vips(), .data_plane_ok = true, .drained = false});
  EXPECT_EQ(d.announce, (std::vector{ip("203.0.113.10"), ip("203.0.113.20")}));
  EXPECT_TRUE(d.withdrawn.empty());
}

// A VIP whose realservers are all down (removed or weight 0) is withdrawn, the others stay.
TEST(Announce, VipWithoutRealserverUpIsWithdrawn) {
  auto t = two_vips();
  t.services[0].dests[0].weight = 0;
  t.services[0].dests.pop_back();
  const Decision d = decide({.table = t, .data_plane_ok = true, .drained = false});
  EXPECT_EQ(d.announce, std::vector{ip("203.0.113.10")});
  EXPECT_EQ(d.withdrawn,
            (std::vector<Withdrawn>{{.vip = ip("203.0.113.20"), .reason = "no realserver up"}}));
  t.services[0].dests.clear();
  EXPECT_EQ(decide({.table = t, .data_plane_ok = true, .drained = false}).announce,
            std::vector{ip("203.0.113.10")});
}

// One serving port keeps the VIP: 203.0.113.10:443 has only a quiesced realserver.
TEST(Announce, OneServingPortKeepsTheVip) {
  auto t = two_vips();
  const Decision d = decide({.table = t, .data_plane_ok = true, .drained = false});
  EXPECT_EQ(d.announce.front(), ip("203.0.113.10"));
}

// A drained director or a broken data plane withdraws everything, saying why.
TEST(Announce, DrainOrDataPlaneDownWithdrawsAll) {
  const Decision drained = decide({.table = two_vips(), .data_plane_ok = true, .drained = true});
  EXPECT_TRUE(drained.announce.empty());
  ASSERT_EQ(drained.withdrawn.size(), 2U);
  EXPECT_EQ(drained.withdrawn[0].reason, "director drained");
  const Decision broken = decide({.table = two_vips(), .data_plane_ok = false, .drained = false});
  EXPECT_TRUE(broken.announce.empty());
  EXPECT_EQ(broken.withdrawn[1],
            (Withdrawn{.vip = ip("203.0.113.20"), .reason = "data plane down"}));
}

// Firewall-mark services have no address to announce; IPv6 VIPs are announced like IPv4 ones.
TEST(Announce, FwmarkIgnoredIpv6Announced) {
  model::ServiceTable t;
  auto fwm = service("203.0.113.30:80", {1});
  fwm.key = model::ServiceKey::mark(7);
  t.services.push_back(fwm);
  auto v6 = service("[2001:db8::10]:80", {1});
  v6.key.af = core::Family::kInet6;
  t.services.push_back(v6);
  const Decision d = decide({.table = t, .data_plane_ok = true, .drained = false});
  EXPECT_EQ(d.announce, std::vector{ip("2001:db8::10")});
}

// An empty table announces nothing and withdraws nothing.
TEST(Announce, EmptyTable) { EXPECT_EQ(decide({}), Decision{}); }

}  // namespace
}  // namespace lvs::bgp
