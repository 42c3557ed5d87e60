// twos — spec §2 "twos" example and §6 case 15, with a scripted RNG.
#include "unit/sched/eligibility.h"
#include "unit/sched/pool.h"

namespace lvs::sched::testing {
namespace {

Pool case15(core::Rng* rng) {
  Pool p("twos", rng);
  p.init({{"S1", "10.0.0.11:80"}, {"S2", "10.0.0.12:80"}, {"S3", "10.0.0.13:80"}});
  p.set_load("S1", 1);
  p.set_load("S3", 2);
  return p;
}

// Case 15: T=3; r1=0%4 -> S1, r2=2%4 -> S2; 1*256 > 1*0 -> the less loaded S2.
TEST(TwoChoices, Case15LessLoadedOfTheTwoDraws) {
  core::SequenceRng rng({0, 2});
  auto p = case15(&rng);
  EXPECT_EQ(p.pick(), "S2");
}

// Draws are taken modulo T+1, so r = T is possible and lands on the last eligible dest;
// equal load per weight keeps choice 1.
TEST(TwoChoices, DrawsSpanZeroToTotalInclusive) {
  core::SequenceRng rng({3, 4});  // T=3: r1=3 -> S3 (the last), r2=4%4=0 -> S1
  Pool p("twos", &rng);
  p.init({{"S1", "10.0.0.11:80"}, {"S2", "10.0.0.12:80"}, {"S3", "10.0.0.13:80"}});
  p.set_load("S1", 1);
  p.set_load("S3", 1);
  EXPECT_EQ(p.pick(), "S3");  // 1*256 > 1*256 is false: tie keeps choice 1
  p.set_load("S1", 0);
  EXPECT_EQ(p.pick(), "S1");  // r1=r2=4%4=0 now (the RNG repeats its last value): both S1
}

// Weights widen a dest's share of the draw and scale its load: [S1 w1 a1, S2 w3 a2],
// r1=1 -> S1, r2=2 -> S2 (2-1=1 > 0, then 1-3 <= 0); 3*256 > 1*512 -> S2.
TEST(TwoChoices, WeightsScaleDrawAndLoad) {
  core::SequenceRng rng({1, 2});
  Pool p("twos", &rng);
  p.init({{"S1", "10.0.0.11:80", 1}, {"S2", "10.0.0.12:80", 3}});
  p.set_load("S1", 1);
  p.set_load("S2", 2);
  EXPECT_EQ(p.pick(), "S2");
}

// Ineligible dests take no part in the total or the walk: with S1 quiesced and S2 overloaded,
// T=1 and every draw lands on S3.
TEST(TwoChoices, IneligibleDestsNotDrawn) {
  core::SequenceRng rng({0, 1, 5, 7});
  Pool p("twos", &rng);
  p.init({{"S1", "10.0.0.11:80", 0}, {"S2", "10.0.0.12:80", 5}, {"S3", "10.0.0.13:80", 1}});
  p.set_overloaded("S2");
  EXPECT_EQ(p.picks(3), "S3 S3 S3");
}

// Without an injected RNG the scheduler seeds its own and still picks eligible dests.
TEST(TwoChoices, OwnRngWhenNoneInjected) {
  auto p = case15(nullptr);
  p.set_weight("S2", 0);
  for (int k = 0; k < 20; ++k) EXPECT_NE(p.pick(), "S2");
}

// Never a weight-0 or overloaded dest; "none" exactly when nothing is eligible.
TEST(TwoChoices, PicksOnlyEligibleDests) { expect_only_eligible_picks("twos"); }

// Empty list or nothing eligible -> none.
TEST(TwoChoices, NoneWithoutEligibleDest) { expect_none_without_eligible("twos"); }

}  // namespace
}  // namespace lvs::sched::testing
