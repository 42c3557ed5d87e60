// fo — spec §2 "fo" examples and §6 case 8 (fo part).
#include "unit/sched/eligibility.h"
#include "unit/sched/pool.h"

namespace lvs::sched::testing {
namespace {

Pool case8() {
  Pool p("fo");
  p.init({{"S1", "10.0.0.11:80", 5}, {"S2", "10.0.0.12:80", 10}, {"S3", "10.0.0.13:80", 10}});
  p.set_load("S1", 100);
  return p;
}

// Case 8: the highest weight wins, the earlier of two equal ones: S2.
TEST(WeightedFailOver, Case8HighestWeightEarliestFirst) {
  auto p = case8();
  EXPECT_EQ(p.picks(3), "S2 S2 S2");
}

// Case 8: S2 overloaded -> fail over to the other weight-10 dest, S3.
TEST(WeightedFailOver, Case8OverloadedFailsOverToNext) {
  auto p = case8();
  p.set_overloaded("S2");
  EXPECT_EQ(p.pick(), "S3");
}

// Loads do not matter: a busy highest-weight dest keeps every new connection.
TEST(WeightedFailOver, LoadIgnored) {
  auto p = case8();
  p.set_load("S2", 1000, 1000);
  EXPECT_EQ(p.pick(), "S2");
}

// Quiescing the two weight-10 dests leaves S1.
TEST(WeightedFailOver, QuiescedDestsSkipped) {
  auto p = case8();
  p.set_weight("S2", 0);
  p.set_weight("S3", 0);
  EXPECT_EQ(p.pick(), "S1");
}

// Never a weight-0 or overloaded dest; "none" exactly when nothing is eligible.
TEST(WeightedFailOver, PicksOnlyEligibleDests) { expect_only_eligible_picks("fo"); }

// Empty list or nothing eligible -> none.
TEST(WeightedFailOver, NoneWithoutEligibleDest) { expect_none_without_eligible("fo"); }

}  // namespace
}  // namespace lvs::sched::testing
