// Persistence (-p/-M, spec §1.3) in the full-NAT proxy on loopback: clients bind distinct
// 127.x.y.z source addresses so that they belong to different /24 client networks.

#include <gtest/gtest.h>

#include <string>

#include "harness.h"
#include "loopback.h"

namespace lvs::dp::proxy {
namespace {

using testing::NameServer;

model::VirtualService persistent(model::VirtualService svc, std::uint32_t timeout) {
  svc.persistent = true;
  svc.timeout = timeout;
  svc.netmask = 0xFFFFFF00;  // -M 255.255.255.0
  return svc;
}

std::string ask_from(const core::Endpoint& vip, const std::string& source) {
  auto fd = testing::connect_tcp_from(vip, source);
  if (!fd) return "";
  return testing::read_line(fd.get());
}

// A client network sticks to the realserver of its first connection, although rr would rotate;
// another /24 gets the next rr choice, and the same /24 from another address follows its template.
TEST(ProxyPersistence, KeepsAClientNetworkOnOneRealserver) {
  NameServer a("A", "127.0.0.2"), b("B", "127.0.0.3"), c("C", "127.0.0.4");
  Harness h({.workers = 2});
  const auto vip = h.add(persistent(
      make_service(model::Protocol::kTcp, "127.0.0.1:0", "rr", {a.addr(), b.addr(), c.addr()}),
      300));
  const std::string first = ask_from(vip, "127.0.5.10");
  ASSERT_FALSE(first.empty());
  for (int i = 0; i < 20; ++i) EXPECT_EQ(ask_from(vip, "127.0.5.10"), first) << i;
  EXPECT_EQ(ask_from(vip, "127.0.5.77"), first);  // same /24
  const std::string other = ask_from(vip, "127.0.6.10");
  EXPECT_NE(other, first);  // rr's next pick: the scheduler ran exactly once per network
  for (int i = 0; i < 5; ++i) EXPECT_EQ(ask_from(vip, "127.0.6.11"), other) << i;
  std::uint32_t templates = 0;
  const Stats stats = h.proxy->stats();
  for (const auto& d : stats.services.at(0).dests) templates += d.persistconns;
  EXPECT_EQ(templates, 2U);
  EXPECT_EQ(h.proxy->stats().services.at(0).counters.conns, 28U);
}

// Weight 0 keeps the templates (quiesce, spec §1.3 note); deleting the realserver invalidates
// them and the network is scheduled again.
TEST(ProxyPersistence, QuiesceKeepsTemplatesAndDeletionInvalidatesThem) {
  NameServer a("A", "127.0.0.2"), b("B", "127.0.0.3");
  Harness h;
  const auto vip = h.add(persistent(
      make_service(model::Protocol::kTcp, "127.0.0.1:0", "rr", {a.addr(), b.addr()}), 300));
  const std::string first = ask_from(vip, "127.0.7.1");
  ASSERT_FALSE(first.empty());
  const auto sticky = first == "A" ? a.addr() : b.addr();
  h.table.services[0].find_dest(sticky)->weight = 0;
  h.apply();
  for (int i = 0; i < 5; ++i) EXPECT_EQ(ask_from(vip, "127.0.7.1"), first) << i;
  EXPECT_NE(ask_from(vip, "127.0.8.1"), first);  // a new network avoids the quiesced one
  auto& dests = h.table.services[0].dests;
  std::erase_if(dests, [&](const model::RealServer& r) { return r.addr == sticky; });
  h.apply();
  for (int i = 0; i < 5; ++i) EXPECT_NE(ask_from(vip, "127.0.7.1"), first) << i;
}

// A template outlives its last connection by the persistence timeout, then the periodic sweep
// drops it (persistconns falls to 0 without new traffic). As in IPVS, the ended connection's
// TIME_WAIT entry still controls the template, so its linger is made short here.
TEST(ProxyPersistence, TemplateExpiresAfterTheTimeout) {
  NameServer a("A", "127.0.0.2");
  Harness h({.workers = 1, .linger_time_wait = std::chrono::seconds(1)});
  const auto vip =
      h.add(persistent(make_service(model::Protocol::kTcp, "127.0.0.1:0", "rr", {a.addr()}), 1));
  EXPECT_EQ(ask_from(vip, "127.0.9.1"), "A");
  EXPECT_EQ(h.dest_stats(a.addr()).persistconns, 1U);
  EXPECT_TRUE(eventually([&] { return h.dest_stats(a.addr()).persistconns == 0; }));
}

}  // namespace
}  // namespace lvs::dp::proxy
