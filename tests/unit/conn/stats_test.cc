// Statistics and the 2 s rate estimator: spec §1.4 and case 26.
#include "conn/stats.h"

#include <gtest/gtest.h>

#include <vector>

namespace lvs::conn {
namespace {

// 100 new connections every 2 s -> cps 12, 22, 29, 34, 38 after ticks 1..5 (converging to 50).
TEST(RateEstimator, HundredConnectionsPerTickReads12_22_29_34_38) {
  Stats s;
  std::vector<std::uint64_t> cps;
  for (int tick = 0; tick < 5; ++tick) {
    for (int c = 0; c < 100; ++c) s.add_conn();
    s.tick();
    cps.push_back(s.rates().cps);
  }
  EXPECT_EQ(cps, (std::vector<std::uint64_t>{12, 22, 29, 34, 38}));
  for (int tick = 0; tick < 100; ++tick) {
    for (int c = 0; c < 100; ++c) s.add_conn();
    s.tick();
  }
  EXPECT_EQ(s.rates().cps, 50U);
}

// 1,000,000 bytes every 2 s -> inbps 125000, 218750, 289062.
TEST(RateEstimator, MillionBytesPerTickReads125000_218750_289062) {
  Stats s;
  std::vector<std::uint64_t> bps;
  for (int tick = 0; tick < 3; ++tick) {
    s.add_in(1'000'000);
    s.tick();
    bps.push_back(s.rates().inbps);
  }
  EXPECT_EQ(bps, (std::vector<std::uint64_t>{125000, 218750, 289062}));
  EXPECT_EQ(s.rates().inpps, 0U);  // one packet per 2 s: (128 + 511) >> 10 rounds to 0
}

// The estimate decays when traffic stops (signed shift) and never reads negative.
TEST(RateEstimator, DecaysToZeroWhenIdle) {
  Stats s;
  for (int c = 0; c < 100; ++c) s.add_conn();
  s.tick();
  for (int tick = 0; tick < 60; ++tick) s.tick();
  EXPECT_EQ(s.rates().cps, 0U);
}

// -Z: counters read 0 from the zero point on, rates restart at 0 and count only new traffic.
TEST(Stats, ZeroRemembersZeroPointAndRestartsRates) {
  Stats s;
  for (int c = 0; c < 100; ++c) s.add_conn();
  s.add_in(1500);
  s.add_out(60);
  s.tick();
  s.zero();
  EXPECT_EQ(s.counters(), Counters{});
  EXPECT_EQ(s.rates(), Rates{});
  s.tick();  // no new traffic since the zero: the old totals must not come back as a rate
  EXPECT_EQ(s.rates(), Rates{});
  s.add_in(100);
  EXPECT_EQ(s.counters(),
            (Counters{.conns = 0, .inpkts = 1, .outpkts = 0, .inbytes = 100, .outbytes = 0}));
}

}  // namespace
}  // namespace lvs::conn
