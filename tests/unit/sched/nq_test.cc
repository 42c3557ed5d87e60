// nq — spec §2 "nq" examples and §6 case 7 (nq part).
#include "unit/sched/eligibility.h"
#include "unit/sched/pool.h"

namespace lvs::sched::testing {
namespace {

Pool s1_s2_s3(std::string_view scheduler) {
  Pool p(scheduler);
  p.init({{"S1", "10.0.0.11:80", 10}, {"S2", "10.0.0.12:80", 1}, {"S3", "10.0.0.13:80", 1}});
  p.set_load("S1", 5);
  p.set_load("S2", 0, 50);
  return p;
}

// Case 7: the first idle dest (S2: no active, its 50 inactive ignored) wins at once; sed
// would pick S1 (6/10 < 1/1).
TEST(NeverQueue, Case7FirstIdleDestWins) {
  auto p = s1_s2_s3("nq");
  EXPECT_EQ(p.pick(), "S2");
  auto s = s1_s2_s3("sed");
  EXPECT_EQ(s.pick(), "S1");
}

// §2 example: nobody idle -> sed rule; 2/1 vs 6/3 is a tie -> the earlier, S1.
TEST(NeverQueue, NoIdleDestFallsBackToSed) {
  Pool p("nq");
  p.init({{"S1", "10.0.0.11:80", 1}, {"S2", "10.0.0.12:80", 3}});
  p.set_load("S1", 1);
  p.set_load("S2", 5);
  EXPECT_EQ(p.pick(), "S1");
  p.set_load("S2", 4);  // 5/3 < 2/1 -> S2
  EXPECT_EQ(p.pick(), "S2");
}

// An idle dest that is quiesced or overloaded is not "idle" for nq: the next idle one wins.
TEST(NeverQueue, IdleButIneligibleDestsSkipped) {
  Pool p("nq");
  p.init({{"S1", "10.0.0.11:80", 0},
          {"S2", "10.0.0.12:80", 5},
          {"S3", "10.0.0.13:80", 9},
          {"S4", "10.0.0.14:80", 1}});
  p.set_overloaded("S2");
  p.set_load("S3", 1);
  EXPECT_EQ(p.pick(), "S4");
}

// Never a weight-0 or overloaded dest; "none" exactly when nothing is eligible.
TEST(NeverQueue, PicksOnlyEligibleDests) { expect_only_eligible_picks("nq"); }

// Empty list or nothing eligible -> none.
TEST(NeverQueue, NoneWithoutEligibleDest) { expect_none_without_eligible("nq"); }

}  // namespace
}  // namespace lvs::sched::testing
