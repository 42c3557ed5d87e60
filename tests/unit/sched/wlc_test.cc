// wlc — spec §2 "wlc" examples and §6 case 6.
#include "unit/sched/eligibility.h"
#include "unit/sched/pool.h"

namespace lvs::sched::testing {
namespace {

Pool s1_s2(std::int32_t w1, std::int32_t w2) {
  Pool p("wlc");
  p.init({{"S1", "10.0.0.11:80", w1}, {"S2", "10.0.0.12:80", w2}});
  return p;
}

// Case 6: overhead/weight 2560/1, 5120/3, 2565/2 -> the smallest, S3.
TEST(WeightedLeastConnection, Case6PrefersLowerOverheadPerWeight) {
  Pool p("wlc");
  p.init({{"S1", "10.0.0.11:80", 1}, {"S2", "10.0.0.12:80", 3}, {"S3", "10.0.0.13:80", 2}});
  p.set_load("S1", 10);
  p.set_load("S2", 20);
  p.set_load("S3", 10, 5);
  EXPECT_EQ(p.pick(), "S3");
}

// Case 6: inactive counts 1, active 256: 300 inactive (300) lose to 1 active (256) -> S2.
TEST(WeightedLeastConnection, Case6ActiveWeighs256Inactive) {
  auto p = s1_s2(1, 1);
  p.set_load("S1", 0, 300);
  p.set_load("S2", 1, 0);
  EXPECT_EQ(p.pick(), "S2");
}

// Case 6: an idle weight-0 dest is never chosen -> S2 despite its 5 active.
TEST(WeightedLeastConnection, Case6WeightZeroNeverChosen) {
  auto p = s1_s2(0, 1);
  p.set_load("S2", 5);
  EXPECT_EQ(p.pick(), "S2");
  auto q = s1_s2(1, 0);  // also when the weight-0 dest comes later
  q.set_load("S1", 5);
  EXPECT_EQ(q.pick(), "S1");
}

// §2 example: 256/1 vs 512/2 is a tie -> the earlier, S1.
TEST(WeightedLeastConnection, TiesKeepTheEarlier) {
  auto p = s1_s2(1, 2);
  p.set_load("S1", 1);
  p.set_load("S2", 2);
  EXPECT_EQ(p.pick(), "S1");
}

// An overloaded dest is skipped however lightly loaded it is.
TEST(WeightedLeastConnection, OverloadedDestIsSkipped) {
  auto p = s1_s2(1, 1);
  p.set_load("S2", 50);
  p.set_overloaded("S1");
  EXPECT_EQ(p.pick(), "S2");
}

// Never a weight-0 or overloaded dest; "none" exactly when nothing is eligible.
TEST(WeightedLeastConnection, PicksOnlyEligibleDests) { expect_only_eligible_picks("wlc"); }

// Empty list or nothing eligible -> none.
TEST(WeightedLeastConnection, NoneWithoutEligibleDest) { expect_none_without_eligible("wlc"); }

}  // namespace
}  // namespace lvs::sched::testing
