// ovf — spec §2 "ovf" examples and §6 case 8 (ovf part).
#include "unit/sched/eligibility.h"
#include "unit/sched/pool.h"

namespace lvs::sched::testing {
namespace {

// Case 8: [S1 w3 a3, S2 w5 a5, S3 w2] -> S2; S2 a6 -> S1; S1 a4 -> S3; S3 a3 -> none. Full
// means active > weight, so active == weight is still accepted.
TEST(WeightedOverflow, Case8OverflowsDownTheWeights) {
  Pool p("ovf");
  p.init({{"S1", "10.0.0.11:80", 3}, {"S2", "10.0.0.12:80", 5}, {"S3", "10.0.0.13:80", 2}});
  p.set_load("S1", 3);
  p.set_load("S2", 5);
  EXPECT_EQ(p.pick(), "S2");
  p.set_load("S2", 6);
  EXPECT_EQ(p.pick(), "S1");
  p.set_load("S1", 4);
  EXPECT_EQ(p.pick(), "S3");
  p.set_load("S3", 3);
  EXPECT_EQ(p.pick(), "none");
}

// Only active connections count: inactive ones (all UDP traffic) never fill a dest.
TEST(WeightedOverflow, InactiveConnectionsIgnored) {
  Pool p("ovf");
  p.init({{"S1", "10.0.0.11:80", 1}, {"S2", "10.0.0.12:80", 2}});
  p.set_load("S2", 0, 10000);
  EXPECT_EQ(p.pick(), "S2");
}

// Equal weights -> the earlier; overload and weight 0 exclude a dest with room.
TEST(WeightedOverflow, TiesEarliestAndIneligibleSkipped) {
  Pool p("ovf");
  p.init({{"S1", "10.0.0.11:80", 0},
          {"S2", "10.0.0.12:80", 9},
          {"S3", "10.0.0.13:80", 4},
          {"S4", "10.0.0.14:80", 4}});
  p.set_overloaded("S2");
  EXPECT_EQ(p.pick(), "S3");
}

// Never a weight-0 or overloaded dest; "none" exactly when nothing eligible has room.
TEST(WeightedOverflow, PicksOnlyEligibleDests) { expect_only_eligible_picks("ovf"); }

// Empty list or nothing eligible -> none.
TEST(WeightedOverflow, NoneWithoutEligibleDest) { expect_none_without_eligible("ovf"); }

}  // namespace
}  // namespace lvs::sched::testing
