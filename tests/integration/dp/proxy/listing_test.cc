// DataPlane::connections() and set_timeouts() of the proxy in this process, so the workers'
// threads run beside the asking thread (and TSan sees both sides): every worker answers with
// the entries of its own tables, worker 0 adds the templates, and new idle timeouts reach
// every worker, existing flows included.

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "harness.h"
#include "loopback.h"

namespace lvs::dp::proxy {
namespace {

constexpr int kHeld = 12;

std::size_t count_state(const std::vector<ConnEntry>& entries, ConnState state) {
  return static_cast<std::size_t>(std::count_if(
      entries.begin(), entries.end(), [&](const ConnEntry& e) { return e.state == state; }));
}

// Connections held open over two workers all appear, each with its client, VIP and
// realserver, ESTABLISHED with the full 900 s (rounded up) or just under it.
TEST(ProxyListing, EveryWorkerListsItsConnections) {
  testing::NameServer a("A", "127.0.0.2");
  Harness h({.workers = 2});
  const auto vip = h.add(make_service(model::Protocol::kTcp, "127.0.0.1:0", "rr", {a.addr()}));
  std::vector<core::Fd> held;
  std::vector<core::Endpoint> clients;
  for (int i = 0; i < kHeld; ++i) {
    held.push_back(testing::connect_tcp(vip));
    ASSERT_EQ(testing::read_line(held.back().get()), "A");
    clients.push_back(*local_endpoint(held.back().get()));
  }
  std::vector<ConnEntry> entries;
  ASSERT_TRUE(eventually([&] {
    entries = h.proxy->connections();
    return count_state(entries, ConnState::kEstablished) == kHeld;
  }));
  ASSERT_EQ(entries.size(), static_cast<std::size_t>(kHeld));
  for (const auto& e : entries) {
    EXPECT_EQ(e.protocol, model::Protocol::kTcp);
    EXPECT_FALSE(e.is_template);
    EXPECT_EQ(e.virt, vip);
    EXPECT_EQ(e.dest, a.addr());
    EXPECT_LE(e.expire_seconds, 900U);
    EXPECT_GE(e.expire_seconds, 890U);
    EXPECT_NE(std::find(clients.begin(), clients.end(), e.client), clients.end());
  }
  // Closed by both sides: each stays listed as TIME_WAIT (spec §3.1), 120 s rounded up.
  held.clear();
  EXPECT_TRUE(eventually([&] {
    entries = h.proxy->connections();
    return entries.size() == static_cast<std::size_t>(kHeld) &&
           count_state(entries, ConnState::kTimeWait) == kHeld;
  }));
  for (const auto& e : entries) EXPECT_LE(e.expire_seconds, 120U);
}

// A persistent service lists one template per client network (port 0, NONE, the realserver
// it sticks to) besides the connections.
TEST(ProxyListing, TemplatesAreListedWithTheirNetwork) {
  testing::NameServer a("A", "127.0.0.2");
  Harness h({.workers = 2});
  auto svc = make_service(model::Protocol::kTcp, "127.0.0.1:0", "rr", {a.addr()});
  svc.persistent = true;
  svc.timeout = 600;
  svc.netmask = 0xFFFFFF00;
  const auto vip = h.add(svc);
  auto c = testing::connect_tcp_from(vip, "127.0.3.9");
  ASSERT_EQ(testing::read_line(c.get()), "A");
  std::vector<ConnEntry> entries;
  ASSERT_TRUE(eventually([&] {
    entries = h.proxy->connections();
    return entries.size() == 2;
  }));
  const auto t = std::find_if(entries.begin(), entries.end(),
                              [](const ConnEntry& e) { return e.is_template; });
  ASSERT_NE(t, entries.end());
  EXPECT_EQ(t->state, ConnState::kNone);
  EXPECT_EQ(t->client, *core::Endpoint::parse("127.0.3.0:0"));
  EXPECT_EQ(t->virt, vip);
  EXPECT_EQ(t->dest, a.addr());
  EXPECT_LE(t->expire_seconds, 600U);
  EXPECT_GE(t->expire_seconds, 590U);
}

// Listings, timeout changes and -Z while clients connect on both workers: every answer is
// consistent and nothing races (run under TSan). A shortened UDP timeout then expires a flow
// that the old 300 s would have kept.
TEST(ProxyListing, ListingAndTimeoutsUnderTraffic) {
  testing::NameServer a("A", "127.0.0.2");
  testing::UdpNameServer u("U", "127.0.0.3");
  Harness h({.workers = 2});
  const auto vip = h.add(make_service(model::Protocol::kTcp, "127.0.0.1:0", "rr", {a.addr()}));
  const auto uvip = h.add(make_service(model::Protocol::kUdp, "127.0.0.1:0", "rr", {u.addr()}));
  std::atomic<bool> stop{false};
  std::atomic<int> answered{0};
  std::thread traffic([&] {
    for (int i = 0; i < 400 && !stop.load(); ++i) {
      auto c = testing::connect_tcp(vip);
      if (testing::read_line(c.get()) == "A") ++answered;
    }
  });
  for (int i = 0; i < 50; ++i) {
    for (const auto& e : h.proxy->connections()) {
      EXPECT_EQ(e.virt, vip);
      EXPECT_EQ(e.dest, a.addr());
    }
    h.proxy->set_timeouts(IdleTimeouts{.tcp = std::chrono::seconds(900 - i)});
    h.proxy->zero_rates(std::nullopt);  // -Z beside worker 0's estimator tick
  }
  // The listings can outpace the first connection on a busy machine: wait for it (bounded).
  EXPECT_TRUE(eventually([&] { return answered.load() > 0; }));
  stop = true;
  traffic.join();
  EXPECT_GT(answered.load(), 0);

  auto client = testing::udp_socket("127.0.0.1");
  ASSERT_EQ(testing::udp_ask(client.get(), uvip, "x"), "U:x");
  std::vector<ConnEntry> entries;
  ASSERT_TRUE(eventually([&] {
    entries = h.proxy->connections();
    return count_state(entries, ConnState::kUdp) == 1;
  }));
  h.proxy->set_timeouts(IdleTimeouts{.udp = std::chrono::seconds(1)});
  EXPECT_TRUE(
      eventually([&] { return count_state(h.proxy->connections(), ConnState::kUdp) == 0; }));
  EXPECT_EQ(h.dest_stats(u.addr()).inactive, 0U);
}

}  // namespace
}  // namespace lvs::dp::proxy
