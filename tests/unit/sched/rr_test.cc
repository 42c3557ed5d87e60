// rr — spec §2 "rr" examples and §6 cases 1-2.
#include "unit/sched/pool.h"

namespace lvs::sched::testing {
namespace {

Pool abc() {
  Pool p("rr");
  p.add("A", "10.0.0.1:80").add("B", "10.0.0.2:80").add("C", "10.0.0.3:80");
  return p;
}

// Case 1: add A, B, C -> iteration order [C, B, A]; 7 new connections go C B A C B A C.
TEST(RoundRobin, Case1NewestFirstCycle) {
  auto p = abc();
  EXPECT_EQ(p.picks(7), "C B A C B A C");
}

// Case 2: after case 1 (pointer at C), B quiesced -> A C A C.
TEST(RoundRobin, Case2QuiescedDestSkipped) {
  auto p = abc();
  ASSERT_EQ(p.picks(7), "C B A C B A C");
  p.set_weight("B", 0);
  EXPECT_EQ(p.picks(4), "A C A C");
}

// Order [C,B,A] with A overloaded, pointer at head -> C B C B.
TEST(RoundRobin, OverloadedDestSkipped) {
  auto p = abc();
  p.set_overloaded("A");
  EXPECT_EQ(p.picks(4), "C B C B");
}

// Case 2, second half: picks C B (pointer at B), delete B -> pointer moves to C -> A C A C.
TEST(RoundRobin, Case2DeletingPointerDestMovesPointerBack) {
  auto p = abc();
  ASSERT_EQ(p.picks(2), "C B");
  p.remove("B");
  EXPECT_EQ(p.picks(4), "A C A C");
}

// Adding a dest does not move the pointer: after C B, adding D (front) -> A D C B A.
TEST(RoundRobin, AddDoesNotMovePointer) {
  auto p = abc();
  ASSERT_EQ(p.picks(2), "C B");
  p.add("D", "10.0.0.4:80");
  EXPECT_EQ(p.picks(5), "A D C B A");
}

TEST(RoundRobin, EmptyOrAllUnusableIsNone) {
  Pool empty("rr");
  EXPECT_EQ(empty.pick(), "none");
  auto p = abc();
  p.set_weight("A", 0);
  p.set_weight("B", 0);
  p.set_overloaded("C");
  EXPECT_EQ(p.picks(2), "none none");
}

}  // namespace
}  // namespace lvs::sched::testing
