// Per-worker counter slots summed on read, and the estimator over them (spec §1.4 example).

#include "dp/proxy/counters.h"

#include <gtest/gtest.h>

namespace lvs::dp::proxy {
namespace {

// Each worker writes its own slot; a read sums them.
TEST(CounterSlots, ReadSumsEveryWorker) {
  CounterSlots slots(3);
  WorkerCounters::add(slots.at(0).conns, 2);
  WorkerCounters::add(slots.at(2).conns, 5);
  WorkerCounters::add(slots.at(1).inbytes, 100);
  const Counters c = slots.read();
  EXPECT_EQ(c.conns, 7U);
  EXPECT_EQ(c.inbytes, 100U);
}

// 100 new connections every 2 s report 12, 22, 29, 34, 38 cps; 1,000,000 bytes every 2 s
// report 125000, 218750, 289062 bytes/s (the spec's examples).
TEST(RateState, FollowsTheSpecExamples) {
  RateState r;
  const std::array<std::uint64_t, 5> cps = {12, 22, 29, 34, 38};
  const std::array<std::uint64_t, 3> bps = {125000, 218750, 289062};
  for (std::uint64_t t = 1; t <= 5; ++t) {
    r.tick(Counters{.conns = 100 * t, .inbytes = 1'000'000 * t});
    const Rates rates = rates_of(r.read());
    EXPECT_EQ(rates.cps, cps[t - 1]) << t;
    if (t <= 3) {
      EXPECT_EQ(rates.inbps, bps[t - 1]) << t;
    }
  }
}

// A service's estimate is the sum of its realservers' estimator values.
TEST(RateState, SumsAreLinear) {
  RateState a, b;
  a.tick(Counters{.conns = 60});
  b.tick(Counters{.conns = 40});
  RateSums sum{};
  add_to(sum, a.read());
  add_to(sum, b.read());
  EXPECT_EQ(rates_of(sum).cps, 12U);
}

}  // namespace
}  // namespace lvs::dp::proxy
