// Ended TCP connections linger as IPVS's entries do (spec §3.1): TIME_WAIT after both FINs,
// CLOSE after a reset, counted in the realserver's InActConn and listed by `-L -c` until they
// expire. The linger times are short here (ProxyOptions); every wait is bounded.

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "harness.h"
#include "loopback.h"

namespace lvs::dp::proxy {
namespace {

using std::chrono_literals::operator""ms;
using std::chrono_literals::operator""s;

std::uint32_t total_inactive(const Harness& h, const std::vector<core::Endpoint>& reals) {
  std::uint32_t n = 0;
  for (const auto& r : reals) n += h.dest_stats(r).inactive;
  return n;
}

std::uint32_t total_active(const Harness& h, const std::vector<core::Endpoint>& reals) {
  std::uint32_t n = 0;
  for (const auto& r : reals) n += h.dest_stats(r).active;
  return n;
}

// One request on a fresh connection, closed by both sides before returning: the realserver's
// name.
std::string one_request(const core::Endpoint& vip) {
  auto c = testing::connect_tcp(vip);
  std::string name = testing::read_line(c.get());
  return name;
}

// Real IPVS spreads strictly sequential short connections under wlc because each closed one
// stays counted as inactive (overhead = active*256 + inactive): 9 connections over 3 equal
// realservers go 3/3/3, each closed (and seen closed by the proxy) before the next opens.
TEST(ProxyLinger, WlcSpreadsSequentialShortConnections) {
  testing::NameServer a("A", "127.0.0.2");
  testing::NameServer b("B", "127.0.0.3");
  testing::NameServer c("C", "127.0.0.4");
  const std::vector<core::Endpoint> reals{a.addr(), b.addr(), c.addr()};
  Harness h;
  const auto vip = h.add(make_service(model::Protocol::kTcp, "127.0.0.1:0", "wlc", reals));
  std::map<std::string, int> seen;
  for (std::uint32_t i = 1; i <= 9; ++i) {
    ++seen[one_request(vip)];
    ASSERT_TRUE(eventually([&] {
      return total_active(h, reals) == 0 && total_inactive(h, reals) == i;
    })) << "connection "
        << i << " not counted as inactive once closed";
  }
  EXPECT_EQ(seen, (std::map<std::string, int>{{"A", 3}, {"B", 3}, {"C", 3}}));
  for (const auto& r : reals) EXPECT_EQ(h.dest_stats(r).inactive, 3U);
}

// After both FINs the connection is TIME_WAIT: InActConn 1, listed with the linger time as its
// expiry, until the linger time passes; then the realserver counts nothing and nothing is
// listed.
TEST(ProxyLinger, FinEndedConnectionIsTimeWaitThenExpires) {
  testing::NameServer a("A", "127.0.0.2");
  Harness h({.workers = 1, .linger_time_wait = 3s, .linger_close = 1s});
  const auto vip = h.add(make_service(model::Protocol::kTcp, "127.0.0.1:0", "wlc", {a.addr()}));
  core::Endpoint client{};
  {
    auto c = testing::connect_tcp(vip);
    ASSERT_EQ(testing::read_line(c.get()), "A");
    client = *local_endpoint(c.get());
  }
  std::vector<ConnEntry> entries;
  ASSERT_TRUE(eventually([&] {
    entries = h.proxy->connections();
    return entries.size() == 1 && entries[0].state == ConnState::kTimeWait;
  }));
  EXPECT_EQ(entries[0].client, client);
  EXPECT_EQ(entries[0].virt, vip);
  EXPECT_EQ(entries[0].dest, a.addr());
  EXPECT_LE(entries[0].expire_seconds, 3U);
  const DestStats d = h.dest_stats(a.addr());
  EXPECT_EQ(d.active, 0U);
  EXPECT_EQ(d.inactive, 1U);
  ASSERT_TRUE(eventually([&] { return h.dest_stats(a.addr()).inactive == 0; }));
  EXPECT_TRUE(h.proxy->connections().empty());
}

// A connection the client resets ends as CLOSE: inactive for the (shorter) close linger.
TEST(ProxyLinger, ResetEndedConnectionIsClose) {
  testing::NameServer a("A", "127.0.0.2");
  Harness h({.workers = 1, .linger_time_wait = 60s, .linger_close = 2s});
  const auto vip = h.add(make_service(model::Protocol::kTcp, "127.0.0.1:0", "wlc", {a.addr()}));
  {
    auto c = testing::connect_tcp(vip);
    ASSERT_EQ(testing::read_line(c.get()), "A");
    abort_fd(c);
  }
  std::vector<ConnEntry> entries;
  ASSERT_TRUE(eventually([&] {
    entries = h.proxy->connections();
    return entries.size() == 1 && entries[0].state == ConnState::kClose;
  }));
  EXPECT_EQ(entries[0].dest, a.addr());
  EXPECT_LE(entries[0].expire_seconds, 2U);
  EXPECT_EQ(h.dest_stats(a.addr()).inactive, 1U);
  ASSERT_TRUE(eventually([&] { return h.dest_stats(a.addr()).inactive == 0; }));
  EXPECT_TRUE(h.proxy->connections().empty());
}

// A realserver that refuses the connect: the entry ends as CLOSE on it, as IPVS's does when
// the realserver answers the SYN with a reset.
TEST(ProxyLinger, RefusedConnectIsClose) {
  core::Endpoint dead{};
  {
    testing::NameServer gone("X", "127.0.0.5");
    dead = gone.addr();
  }  // its port is closed now: connects are refused
  Harness h({.workers = 1, .linger_time_wait = 60s, .linger_close = 60s});
  const auto vip = h.add(make_service(model::Protocol::kTcp, "127.0.0.1:0", "wlc", {dead}));
  auto c = testing::connect_tcp(vip);
  EXPECT_NE(testing::wait_closed(c.get()), -1);
  std::vector<ConnEntry> entries;
  ASSERT_TRUE(eventually([&] {
    entries = h.proxy->connections();
    return entries.size() == 1 && entries[0].state == ConnState::kClose;
  }));
  EXPECT_EQ(entries[0].dest, dead);
  EXPECT_EQ(h.dest_stats(dead).inactive, 1U);
  EXPECT_EQ(h.dest_stats(dead).active, 0U);
}

// The per-worker cap: past it the record nearest its expiry goes at once.
TEST(ProxyLinger, CapDropsTheOldestRecord) {
  testing::NameServer a("A", "127.0.0.2");
  Harness h({.workers = 1, .linger_time_wait = 60s, .linger_close = 60s, .linger_max = 2});
  const auto vip = h.add(make_service(model::Protocol::kTcp, "127.0.0.1:0", "rr", {a.addr()}));
  std::vector<core::Endpoint> clients;
  for (int i = 0; i < 4; ++i) {
    auto c = testing::connect_tcp(vip);
    ASSERT_EQ(testing::read_line(c.get()), "A");
    clients.push_back(*local_endpoint(c.get()));
    c.reset();
    ASSERT_TRUE(eventually([&] { return h.dest_stats(a.addr()).active == 0; }));
  }
  std::vector<ConnEntry> entries;
  ASSERT_TRUE(eventually([&] {
    entries = h.proxy->connections();
    return entries.size() == 2 &&
           std::all_of(entries.begin(), entries.end(),
                       [](const ConnEntry& e) { return e.state == ConnState::kTimeWait; });
  }));
  EXPECT_EQ(h.dest_stats(a.addr()).inactive, 2U);
  std::vector<core::Endpoint> listed{entries[0].client, entries[1].client};
  std::sort(listed.begin(), listed.end());
  std::vector<core::Endpoint> newest{clients[2], clients[3]};
  std::sort(newest.begin(), newest.end());
  EXPECT_EQ(listed, newest);
}

// Deleting the realserver (and then the service) while its ended connections linger: the
// records keep its runtime alive, stay listed until they expire, and the realserver's counts
// come back to 0 without touching freed memory (ASan would say).
TEST(ProxyLinger, DeletedRealserverAndServiceWhileLingering) {
  testing::NameServer a("A", "127.0.0.2");
  testing::NameServer b("B", "127.0.0.3");
  Harness h({.workers = 2, .linger_time_wait = 2s, .linger_close = 1s});
  const auto vip =
      h.add(make_service(model::Protocol::kTcp, "127.0.0.1:0", "rr", {a.addr(), b.addr()}));
  for (int i = 0; i < 4; ++i) {
    auto c = testing::connect_tcp(vip);
    ASSERT_FALSE(testing::read_line(c.get()).empty());
  }
  ASSERT_TRUE(eventually([&] { return h.proxy->connections().size() == 4; }));
  auto& dests = h.table.services.back().dests;
  dests.erase(std::remove_if(dests.begin(), dests.end(),
                             [&](const model::RealServer& r) { return r.addr == a.addr(); }),
              dests.end());
  h.apply();
  EXPECT_EQ(h.proxy->connections().size(), 4U);
  h.table.services.clear();
  h.apply();
  EXPECT_TRUE(eventually([&] { return h.proxy->connections().empty(); }));
}

}  // namespace
}  // namespace lvs::dp::proxy
