// sed — spec §2 "sed" examples and §6 case 7 (sed part).
#include "unit/sched/eligibility.h"
#include "unit/sched/pool.h"

namespace lvs::sched::testing {
namespace {

Pool s1_s2(std::string_view scheduler, std::int32_t w1, std::int32_t w2) {
  Pool p(scheduler);
  p.init({{"S1", "10.0.0.11:80", w1}, {"S2", "10.0.0.12:80", w2}});
  return p;
}

// Case 7: (a+1)/w = 1/1 vs 2/3 -> S2, where wlc (0 vs 256/3) picks the idle S1.
TEST(ShortestExpectedDelay, Case7CountsTheNewConnection) {
  auto p = s1_s2("sed", 1, 3);
  p.set_load("S2", 1);
  EXPECT_EQ(p.pick(), "S2");
  auto w = s1_s2("wlc", 1, 3);
  w.set_load("S2", 1);
  EXPECT_EQ(w.pick(), "S1");
}

// §2 example: 2/1 vs 6/3 is a tie -> the earlier, S1.
TEST(ShortestExpectedDelay, TiesKeepTheEarlier) {
  auto p = s1_s2("sed", 1, 3);
  p.set_load("S1", 1);
  p.set_load("S2", 5);
  EXPECT_EQ(p.pick(), "S1");
}

// Inactive connections are ignored: 1000 inactive on S1 still loses to 1 active on S2.
TEST(ShortestExpectedDelay, InactiveConnectionsIgnored) {
  auto p = s1_s2("sed", 1, 1);
  p.set_load("S1", 0, 1000);
  p.set_load("S2", 1, 0);
  EXPECT_EQ(p.pick(), "S1");
}

// Weight 0 and overload exclude a dest even when it is idle.
TEST(ShortestExpectedDelay, QuiescedAndOverloadedSkipped) {
  Pool p("sed");
  p.init({{"S1", "10.0.0.11:80", 0}, {"S2", "10.0.0.12:80", 5}, {"S3", "10.0.0.13:80", 1}});
  p.set_overloaded("S2");
  p.set_load("S3", 40);
  EXPECT_EQ(p.pick(), "S3");
}

// Never a weight-0 or overloaded dest; "none" exactly when nothing is eligible.
TEST(ShortestExpectedDelay, PicksOnlyEligibleDests) { expect_only_eligible_picks("sed"); }

// Empty list or nothing eligible -> none.
TEST(ShortestExpectedDelay, NoneWithoutEligibleDest) { expect_none_without_eligible("sed"); }

}  // namespace
}  // namespace lvs::sched::testing
