// lc — spec §2 "lc" examples and §6 case 5.
#include "unit/sched/eligibility.h"
#include "unit/sched/pool.h"

namespace lvs::sched::testing {
namespace {

// Case 5: overheads 2*256+0=512, 256+300=556, 256+10=266 -> the smallest, S3.
TEST(LeastConnection, Case5SmallestOverheadWins) {
  Pool p("lc");
  p.init({{"S1", "10.0.0.11:80"}, {"S2", "10.0.0.12:80"}, {"S3", "10.0.0.13:80"}});
  p.set_load("S1", 2, 0);
  p.set_load("S2", 1, 300);
  p.set_load("S3", 1, 10);
  EXPECT_EQ(p.pick(), "S3");
}

// Case 5: equal overheads -> the first in iteration order; weights do not matter.
TEST(LeastConnection, Case5EqualOverheadsGoToTheFirst) {
  Pool p("lc");
  p.init({{"S1", "10.0.0.11:80", 1}, {"S2", "10.0.0.12:80", 5}});
  p.set_load("S1", 1);
  p.set_load("S2", 1);
  EXPECT_EQ(p.pick(), "S1");
}

// §2 example: [S1 w0 a0, S2 w5 a3] -> the idle but quiesced S1 is skipped: S2.
TEST(LeastConnection, QuiescedDestIsSkipped) {
  Pool p("lc");
  p.init({{"S1", "10.0.0.11:80", 0}, {"S2", "10.0.0.12:80", 5}});
  p.set_load("S2", 3);
  EXPECT_EQ(p.pick(), "S2");
}

// An overloaded dest is skipped however idle it is.
TEST(LeastConnection, OverloadedDestIsSkipped) {
  Pool p("lc");
  p.init({{"S1", "10.0.0.11:80"}, {"S2", "10.0.0.12:80"}});
  p.set_load("S2", 9, 9);
  p.set_overloaded("S1");
  EXPECT_EQ(p.pick(), "S2");
}

// Never a weight-0 or overloaded dest; "none" exactly when nothing is eligible.
TEST(LeastConnection, PicksOnlyEligibleDests) { expect_only_eligible_picks("lc"); }

// Empty list or nothing eligible -> none.
TEST(LeastConnection, NoneWithoutEligibleDest) { expect_none_without_eligible("lc"); }

}  // namespace
}  // namespace lvs::sched::testing
