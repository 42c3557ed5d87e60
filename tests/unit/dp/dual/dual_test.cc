// The composite data plane of lvsd --xdp: the split by forwarding method as a pure function,
// and all-or-nothing apply across two engines (recording fakes stand in for the engines).
#include "dp/dual/dual.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>

namespace lvs::dp::dual {
namespace {

using model::ForwardMethod;

model::RealServer real(const char* addr, ForwardMethod m) {
  return model::RealServer{.addr = *core::Endpoint::parse(addr), .forward = m};
}

model::VirtualService service(const char* vip, std::vector<model::RealServer> dests) {
  return model::VirtualService{
      .key = model::ServiceKey::address(model::Protocol::kTcp, *core::Endpoint::parse(vip)),
      .dests = std::move(dests)};
}

// A data plane that records what it was given and refuses when told to.
class Recorder final : public DataPlane {
 public:
  core::Result<void> apply(const model::ServiceTable& table) override {
    ++applies;
    if (refuse) return core::fail(EINVAL, "refused by the test");
    table_ = table;
    return {};
  }
  Stats stats() const override { return stats_; }
  std::vector<ConnEntry> connections() const override { return conns_; }
  void set_timeouts(const IdleTimeouts& t) override { timeouts = t; }
  ErrorCounts errors() const override { return errors_; }

  model::ServiceTable table_{};
  Stats stats_{};
  std::vector<ConnEntry> conns_{};
  ErrorCounts errors_{};
  IdleTimeouts timeouts{};
  bool refuse = false;
  int applies = 0;
};

// Masq-only and empty services go to the packet engine; FullNat, Local and mixed ones to the
// proxy.
TEST(DualSplit, MasqOnlyServicesGoToThePacketEngine) {
  const model::ServiceTable table{
      .services = {
          service("192.0.2.1:80", {real("198.51.100.1:80", ForwardMethod::kMasq)}),
          service("192.0.2.1:81", {real("198.51.100.1:80", ForwardMethod::kFullNat)}),
          service("192.0.2.1:82", {real("198.51.100.1:80", ForwardMethod::kMasq),
                                   real("198.51.100.2:80", ForwardMethod::kFullNat)}),
          service("192.0.2.1:83", {}),
          service("192.0.2.1:84", {real("198.51.100.3:80", ForwardMethod::kLocal)}),
      }};
  const Split s = split(table);
  ASSERT_EQ(s.packet.services.size(), 2U);
  EXPECT_EQ(s.packet.services[0].key.vip.port, 80);
  EXPECT_EQ(s.packet.services[1].key.vip.port, 83);  // no realserver yet: no VIP to bind
  ASSERT_EQ(s.proxy.services.size(), 3U);
  EXPECT_EQ(s.proxy.services[0].key.vip.port, 81);
  EXPECT_EQ(s.proxy.services[1].key.vip.port, 82);  // mixed: whole service to the proxy
  EXPECT_EQ(s.proxy.services[2].key.vip.port, 84);
}

// Tunnelled (-i) services, alone or with -m realservers, go to the packet engine: the proxy
// cannot encapsulate.
TEST(DualSplit, TunnelServicesGoToThePacketEngine) {
  const model::ServiceTable table{
      .services = {
          service("192.0.2.1:80", {real("198.51.100.1:80", ForwardMethod::kTunnel)}),
          service("192.0.2.1:81", {real("198.51.100.1:81", ForwardMethod::kTunnel),
                                   real("198.51.100.2:81", ForwardMethod::kMasq)}),
          service("192.0.2.1:82", {real("198.51.100.1:82", ForwardMethod::kTunnel),
                                   real("198.51.100.2:82", ForwardMethod::kFullNat)}),
      }};
  const Split s = split(table);
  ASSERT_EQ(s.packet.services.size(), 2U);
  EXPECT_EQ(s.packet.services[0].key.vip.port, 80);
  EXPECT_EQ(s.packet.services[1].key.vip.port, 81);
  ASSERT_EQ(s.proxy.services.size(), 1U);
  EXPECT_EQ(s.proxy.services[0].key.vip.port, 82);
}

// A masquerading service the packet engine cannot forward goes to the proxy, the reason kept.
TEST(DualSplit, RefusedServicesFallBackToTheProxy) {
  auto sed = service("192.0.2.1:80", {real("198.51.100.1:80", ForwardMethod::kMasq)});
  sed.scheduler = "sed";
  const model::ServiceTable table{
      .services = {sed, service("192.0.2.1:81", {real("198.51.100.1:80", ForwardMethod::kMasq)})}};
  const Accepts no_sed = [](const model::VirtualService& svc) -> core::Result<void> {
    if (svc.scheduler == "sed") return core::fail(ENOTSUP, "no sed here");
    return {};
  };
  const Split s = split(table, no_sed);
  ASSERT_EQ(s.packet.services.size(), 1U);
  EXPECT_EQ(s.packet.services[0].key.vip.port, 81);
  ASSERT_EQ(s.proxy.services.size(), 1U);
  EXPECT_EQ(s.proxy.services[0].key.vip.port, 80);
  EXPECT_EQ(s.fallbacks, std::vector<std::string>{"no sed here"});
}

// Direct-routing and tunnelling services, alone or mixed with masquerading, go to the packet
// engine; one mixed with full NAT goes whole to the proxy (which refuses it: it does not route).
TEST(DualSplit, DirectRoutingServicesGoToThePacketEngine) {
  const model::ServiceTable table{
      .services = {
          service("192.0.2.1:80", {real("198.51.100.1:80", ForwardMethod::kRoute)}),
          service("192.0.2.1:81", {real("198.51.100.1:80", ForwardMethod::kRoute),
                                   real("198.51.100.2:8080", ForwardMethod::kMasq)}),
          service("192.0.2.1:82", {real("198.51.100.1:80", ForwardMethod::kRoute),
                                   real("198.51.100.2:80", ForwardMethod::kFullNat)}),
          service("192.0.2.1:83", {real("198.51.100.1:80", ForwardMethod::kTunnel)}),
      }};
  const Split s = split(table);
  ASSERT_EQ(s.packet.services.size(), 3U);
  EXPECT_EQ(s.packet.services[0].key.vip.port, 80);
  EXPECT_EQ(s.packet.services[1].key.vip.port, 81);
  EXPECT_EQ(s.packet.services[2].key.vip.port, 83);  // tunnelling is the packet engine's too
  ASSERT_EQ(s.proxy.services.size(), 1U);
  EXPECT_EQ(s.proxy.services[0].key.vip.port, 82);
}

// A direct-routing service the packet engine refuses cannot fall back (the proxy does not
// route): apply() fails with the packet engine's reason and neither engine changes.
TEST(DualDataPlane, RefusedDirectRoutingFailsWithThePacketEnginesReason) {
  Recorder packet;
  Recorder proxy;
  auto lblc = service("192.0.2.1:80", {real("198.51.100.1:80", ForwardMethod::kRoute)});
  lblc.scheduler = "lblc";
  DualDataPlane dual(packet, proxy, [](const model::VirtualService& svc) -> core::Result<void> {
    if (svc.scheduler == "lblc") return core::fail(ENOTSUP, "no lblc here");
    return {};
  });
  const Split s = split(model::ServiceTable{.services = {lblc}}, [](const auto&) {
    return core::Result<void>(core::fail(ENOTSUP, "no lblc here"));
  });
  EXPECT_EQ(s.unserved, std::vector<std::string>{"no lblc here"});
  EXPECT_TRUE(s.proxy.services.empty());
  const auto r = dual.apply(model::ServiceTable{.services = {lblc}});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "no lblc here");
  EXPECT_EQ(packet.applies, 0);
  EXPECT_EQ(proxy.applies, 0);
}

// The proxy refusing its part puts the packet engine's previous table back.
TEST(DualDataPlane, ProxyRefusalRestoresThePacketEngine) {
  Recorder packet;
  Recorder proxy;
  DualDataPlane dual(packet, proxy);
  const model::ServiceTable first{
      .services = {service("192.0.2.1:80", {real("198.51.100.1:80", ForwardMethod::kMasq)})}};
  ASSERT_TRUE(dual.apply(first));
  EXPECT_EQ(packet.table_, first);
  proxy.refuse = true;
  const model::ServiceTable second{
      .services = {service("192.0.2.1:80", {real("198.51.100.2:80", ForwardMethod::kMasq)}),
                   service("192.0.2.1:81", {real("198.51.100.1:80", ForwardMethod::kFullNat)})}};
  const auto r = dual.apply(second);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "refused by the test");
  EXPECT_EQ(packet.table_, first);
  EXPECT_EQ(packet.applies, 3);
}

// The packet engine refusing leaves the proxy untouched.
TEST(DualDataPlane, PacketRefusalTouchesNothing) {
  Recorder packet;
  Recorder proxy;
  DualDataPlane dual(packet, proxy);
  packet.refuse = true;
  ASSERT_FALSE(dual.apply(model::ServiceTable{}));
  EXPECT_EQ(proxy.applies, 0);
}

// Stats, entries and errors of both are merged; timeouts reach both.
TEST(DualDataPlane, MergesWhatBothReport) {
  Recorder packet;
  Recorder proxy;
  packet.stats_ = Stats{.total = {.conns = 2, .inpkts = 10},
                        .rates = {.cps = 1},
                        .refused = 1,
                        .services = {ServiceStats{.counters = {.conns = 2}}}};
  proxy.stats_ = Stats{.total = {.conns = 3, .inpkts = 5},
                       .rates = {.cps = 2},
                       .refused = 4,
                       .services = {ServiceStats{.counters = {.conns = 3}}}};
  packet.conns_ = {ConnEntry{.state = ConnState::kEstablished}};
  proxy.conns_ = {ConnEntry{.state = ConnState::kUdp}};
  packet.errors_.n[0] = 1;
  proxy.errors_.n[0] = 2;
  DualDataPlane dual(packet, proxy);
  const Stats s = dual.stats();
  EXPECT_EQ(s.total.conns, 5U);
  EXPECT_EQ(s.total.inpkts, 15U);
  EXPECT_EQ(s.rates.cps, 3U);
  EXPECT_EQ(s.refused, 5U);
  EXPECT_EQ(s.services.size(), 2U);
  EXPECT_EQ(dual.connections().size(), 2U);
  EXPECT_EQ(dual.errors().n[0], 3U);
  dual.set_timeouts(IdleTimeouts{.tcp = std::chrono::seconds(7)});
  EXPECT_EQ(packet.timeouts.tcp, std::chrono::seconds(7));
  EXPECT_EQ(proxy.timeouts.tcp, std::chrono::seconds(7));
}

}  // namespace
}  // namespace lvs::dp::dual
