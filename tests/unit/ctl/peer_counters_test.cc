// Counters synced between directors (ctl::PeerCounters, docs/SYNC.md "Counters"), on passed-in
// values and time: a standby shows its master's numbers, nothing goes backwards when the master
// restarts, state follows the service table, and the rate estimate sees traffic, not history.
#include "ctl/peer_counters.h"

#include <gtest/gtest.h>

#include <chrono>

namespace lvs::ctl {
namespace {

using std::chrono::seconds;
const core::TimePoint t0{};
core::Endpoint ep(const char* s) { return *core::Endpoint::parse(s); }
const core::IpAddress kMaster = *core::IpAddress::parse("192.0.2.201");
const core::IpAddress kOther = *core::IpAddress::parse("192.0.2.202");
const model::ServiceKey kSvc =
    model::ServiceKey::address(model::Protocol::kTcp, ep("192.0.2.1:80"));
const core::Endpoint kReal = ep("198.51.100.10:8080");
const CounterKey kSvcKey{kSvc, std::nullopt};
const CounterKey kRealKey{kSvc, kReal};

model::ServiceTable table(bool with_real = true) {
  model::VirtualService svc;
  svc.key = kSvc;
  if (with_real) svc.dests.push_back(model::RealServer{.addr = kReal});
  return model::ServiceTable{.services = {svc}};
}

model::Counters conns(std::uint64_t n) {
  return {
      .conns = n, .inpkts = 10 * n, .outpkts = 10 * n, .inbytes = 1000 * n, .outbytes = 2000 * n};
}

std::vector<sync::CounterEntry> from_master(std::uint64_t n) {
  return {{.service = kSvc, .dest = std::nullopt, .counters = conns(n)},
          {.service = kSvc, .dest = kReal, .counters = conns(n)}};
}

// A standby that forwarded nothing shows exactly what its master sent, per service and
// realserver; what it sends back is its own (nothing carried yet).
TEST(PeerCounters, StandbyShowsItsMastersCounters) {
  PeerCounters p;
  p.follow(table());
  EXPECT_EQ(p.shown(kSvcKey), model::Counters{});
  p.receive(kMaster, from_master(300), t0);
  EXPECT_EQ(p.shown(kSvcKey), conns(300));
  EXPECT_EQ(p.shown(kRealKey), conns(300));
  p.receive(kMaster, from_master(450), t0 + seconds(1));
  EXPECT_EQ(p.shown(kRealKey), conns(450));
  EXPECT_EQ(p.outgoing(kRealKey, conns(2)), conns(2));
  EXPECT_EQ(sum(conns(2), p.shown(kRealKey)), conns(452));
}

// The master's lvsd restarts and counts from 0 again: the standby does not follow it down. It
// carries the last value and adds the new counts on top (Prometheus sees no reset), and sends
// the carried part on, so the restarted master, adding what it receives, gets its history back.
TEST(PeerCounters, MasterRestartingFromZeroIsCarriedNeverBackwards) {
  PeerCounters p;
  p.follow(table());
  p.receive(kMaster, from_master(1000), t0);
  p.receive(kMaster, from_master(5), t0 + seconds(1));
  EXPECT_EQ(p.shown(kRealKey), conns(1005));
  p.receive(kMaster, from_master(7), t0 + seconds(2));
  EXPECT_EQ(p.shown(kRealKey), conns(1007));
  EXPECT_EQ(p.outgoing(kRealKey, model::Counters{}), conns(1000));
  // The restarted master (own 7) adds what this standby sends (1000): both show 1007.
  PeerCounters master;
  master.follow(table());
  master.receive(kOther, {{.service = kSvc, .dest = kReal, .counters = p.outgoing(kRealKey, {})}},
                 t0);
  EXPECT_EQ(sum(conns(7), master.shown(kRealKey)), conns(1007));
}

// A realserver deleted from the table loses its synced counters; re-added, it shows what the
// master sends from then on (its own restart at 0 included), nothing of before.
TEST(PeerCounters, DeletedRealserverForgetsAndReAddedStartsAfresh) {
  PeerCounters p;
  p.follow(table());
  p.receive(kMaster, from_master(800), t0);
  p.follow(table(false));
  EXPECT_EQ(p.shown(kRealKey), model::Counters{});
  EXPECT_EQ(p.shown(kSvcKey), conns(800));
  // While deleted here, entries for it are ignored.
  p.receive(kMaster, from_master(900), t0 + seconds(1));
  EXPECT_EQ(p.shown(kRealKey), model::Counters{});
  p.follow(table());
  EXPECT_EQ(p.shown(kRealKey), model::Counters{});
  p.receive(kMaster, {{.service = kSvc, .dest = kReal, .counters = conns(3)}}, t0 + seconds(2));
  EXPECT_EQ(p.shown(kRealKey), conns(3));
  EXPECT_EQ(p.outgoing(kRealKey, {}), model::Counters{});  // nothing carried
}

// Two masters' counters (two peers) add up; each peer's restart is carried on its own.
TEST(PeerCounters, EveryPeerCountsOnItsOwn) {
  PeerCounters p;
  p.follow(table());
  p.receive(kMaster, from_master(10), t0);
  p.receive(kOther, from_master(20), t0);
  EXPECT_EQ(p.shown(kSvcKey), conns(30));
  p.receive(kOther, from_master(21), t0 + seconds(1));
  p.receive(kMaster, from_master(11), t0 + seconds(1));
  EXPECT_EQ(p.shown(kSvcKey), conns(32));
}

// The first values from a master are history: no rate spike. Steady traffic of 250 new
// connections a second shows as 250/s once the 2 s estimator settles; when the master falls
// silent (failover) the numbers stay and the rate decays to 0.
TEST(PeerCounters, RatesSeeTrafficNotHistory) {
  PeerCounters p;
  p.follow(table());
  p.tick(t0);
  p.receive(kMaster, from_master(1000000), t0);
  p.tick(t0 + seconds(2));
  EXPECT_EQ(p.rates(kSvcKey), model::Rates{});
  std::uint64_t n = 1000000;
  for (int s = 3; s <= 100; ++s) {  // bounded: 98 one-second receipts
    n += 250;
    p.receive(kMaster, from_master(n), t0 + seconds(s));
  }
  const model::Rates r = p.rates(kRealKey);
  EXPECT_EQ(r.cps, 250U);
  EXPECT_EQ(r.inpps, 2500U);
  // Bytes converge more slowly in the estimator's fixed point: within one byte a second.
  EXPECT_NEAR(static_cast<double>(r.inbps), 250000, 1);
  EXPECT_NEAR(static_cast<double>(r.outbps), 500000, 1);
  p.tick(t0 + seconds(200));
  EXPECT_EQ(p.rates(kRealKey), model::Rates{});
  EXPECT_EQ(p.shown(kRealKey), conns(n));
}

}  // namespace
}  // namespace lvs::ctl
