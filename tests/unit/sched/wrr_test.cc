// wrr — spec §2 "wrr" examples, §6 cases 3-4 (scheduler part), Appendix A, and the
// proportionality property of whole cycles.
#include <map>
#include <numeric>
#include <random>

#include "unit/sched/eligibility.h"
#include "unit/sched/pool.h"

namespace lvs::sched::testing {
namespace {

// Counts of each name in the space-separated picks [from, from + len).
std::map<std::string, int> counts(const std::vector<std::string>& picks, std::size_t from,
                                  std::size_t len) {
  std::map<std::string, int> c;
  for (std::size_t k = from; k < from + len; ++k) ++c[picks[k]];
  return c;
}

std::vector<std::string> pick_list(Pool& p, std::size_t n) {
  std::vector<std::string> out;
  for (std::size_t k = 0; k < n; ++k) out.push_back(p.pick());
  return out;
}

Pool added_a4_b3_c2() {
  Pool p("wrr");
  p.add("A", "10.0.0.1:80", 4).add("B", "10.0.0.2:80", 3).add("C", "10.0.0.3:80", 2);
  return p;
}

// Case 3: add A(4),B(3),C(2) -> order [C,B,A], cw starts at 1, so the first round visits each
// dest once before the 9-pick cycle.
TEST(WeightedRoundRobin, Case3FirstTwelvePicks) {
  auto p = added_a4_b3_c2();
  EXPECT_EQ(p.picks(12), "C B A A B A C B A C B A");
}

// Case 3: every later window of 9 picks holds A 4 times, B 3 times, C twice.
TEST(WeightedRoundRobin, Case3AnyLaterWindowOfNineIsFourThreeTwo) {
  auto p = added_a4_b3_c2();
  const auto picks = pick_list(p, 3 + 9 * 10);
  for (std::size_t from = 3; from + 9 <= picks.size(); ++from) {
    const auto c = counts(picks, from, 9);
    EXPECT_EQ(c.at("A"), 4) << "window at " << from;
    EXPECT_EQ(c.at("B"), 3) << "window at " << from;
    EXPECT_EQ(c.at("C"), 2) << "window at " << from;
  }
}

// §2 example: the first 21 picks are the cw=1 round and then two identical 9-pick cycles.
TEST(WeightedRoundRobin, FirstTwentyOnePicksAreOneRoundThenTwoCycles) {
  auto p = added_a4_b3_c2();
  EXPECT_EQ(p.picks(21), "C B A A B A C B A C B A A B A C B A C B A");
}

// §2 example: order [A(4),B(3),C(2)] (added C,B,A) -> A B C | A A B A B C A B C | ...
TEST(WeightedRoundRobin, HeaviestFirstOrderCycle) {
  Pool p("wrr");
  p.add("C", "10.0.0.3:80", 2).add("B", "10.0.0.2:80", 3).add("A", "10.0.0.1:80", 4);
  EXPECT_EQ(p.picks(3), "A B C");
  EXPECT_EQ(p.picks(9), "A A B A B C A B C");
  EXPECT_EQ(p.picks(9), "A A B A B C A B C");
}

// Case 4: add A(100), B(50) -> di=50, mw=51, cw=1 -> B A A B A A B A A.
TEST(WeightedRoundRobin, Case4GcdFiftyPicks) {
  Pool p("wrr");
  p.add("A", "10.0.0.1:80", 100).add("B", "10.0.0.2:80", 50);
  EXPECT_EQ(p.picks(9), "B A A B A A B A A");
}

// Case 4: once every weight is 0, mw = 0 and there is no destination.
TEST(WeightedRoundRobin, Case4AllWeightsZeroIsNone) {
  Pool p("wrr");
  p.add("A", "10.0.0.1:80", 100).add("B", "10.0.0.2:80", 50);
  ASSERT_EQ(p.picks(2), "B A");
  p.set_weight("A", 0);
  p.set_weight("B", 0);
  EXPECT_EQ(p.picks(3), "none none none");
  Pool zero("wrr");  // added with weight 0 from the start
  zero.add("A", "10.0.0.1:80", 0).add("B", "10.0.0.2:80", 0);
  EXPECT_EQ(zero.picks(2), "none none");
}

// §2 example: add A(6), B(4) -> di=2, mw=5, cw=1 -> the 6-pick cycle B A A B A B with A 3x, B 2x.
TEST(WeightedRoundRobin, GcdTwoPicks) {
  Pool p("wrr");
  p.add("A", "10.0.0.1:80", 6).add("B", "10.0.0.2:80", 4);
  EXPECT_EQ(p.picks(12), "B A A B A B A A B A B A");
}

// §2 example: order [C,B,A] weight 1; editing A to 3 keeps cw=1 (mw=3) and resets cl to head.
TEST(WeightedRoundRobin, EditKeepsCurrentWeightAndRestartsAtHead) {
  Pool p("wrr");
  p.add("A", "10.0.0.1:80").add("B", "10.0.0.2:80").add("C", "10.0.0.3:80");
  ASSERT_EQ(p.picks(6), "C B A C B A");
  p.set_weight("A", 3);
  EXPECT_EQ(p.picks(10), "C B A A A C B A A A");
}

// Update rule, di > 1 branch: [B(1),A(6)] at cw=3, then B->3 makes di=3, mw=4 and cw rounds to
// (3/3)*3+1 = 4, so the next pass at head serves only A (B at cw=3 would have been served).
TEST(WeightedRoundRobin, EditRoundsCurrentWeightOntoTheGcdGrid) {
  Pool p("wrr");
  p.add("A", "10.0.0.1:80", 6).add("B", "10.0.0.2:80", 1);
  ASSERT_EQ(p.picks(6), "B A A A A A");  // passes at cw = 1, 6, 5, 4, 3
  p.set_weight("B", 3);
  EXPECT_EQ(p.picks(6), "A B A A B A");
}

// Update rule on delete: after C B A A B (cw=3), deleting C keeps cw=3 (mw=4) and resets cl
// to head: passes at cw 3, 2, 1 serve B A each, then cw 4 serves A, cw 3 B A.
TEST(WeightedRoundRobin, DeleteKeepsCurrentWeightAndRestartsAtHead) {
  auto p = added_a4_b3_c2();
  ASSERT_EQ(p.picks(5), "C B A A B");
  p.remove("C");
  EXPECT_EQ(p.picks(9), "B A B A B A A B A");
}

// §2 example: order [B(1),A(2)] with A overloaded -> the restarted last pass serves B forever.
TEST(WeightedRoundRobin, OverloadedHeavierDestIsSkipped) {
  Pool p("wrr");
  p.add("A", "10.0.0.1:80", 2).add("B", "10.0.0.2:80", 1);
  p.set_overloaded("A");
  EXPECT_EQ(p.picks(4), "B B B B");
}

// §2 example: both overloaded -> none, whether the pick starts at head or mid-list.
TEST(WeightedRoundRobin, AllOverloadedIsNone) {
  Pool p("wrr");
  p.add("A", "10.0.0.1:80", 2).add("B", "10.0.0.2:80", 1);
  p.set_overloaded("A");
  p.set_overloaded("B");
  EXPECT_EQ(p.picks(3), "none none none");  // from head
  p.set_overloaded("B", false);
  ASSERT_EQ(p.pick(), "B");
  p.set_overloaded("B");
  EXPECT_EQ(p.picks(3), "none none none");  // from mid-list (cl at B)
  p.set_overloaded("A", false);
  EXPECT_EQ(p.pick(), "A");  // recovers once something is usable
}

// A scheduler bound to a whole list (kInit) starts at the top of a cycle, cw = mw, even when
// it had state before (a pool built by adds is at cw = 1 and would start "A B C").
TEST(WeightedRoundRobin, InitStartsAtMaxWeight) {
  Pool p("wrr");
  p.init({{"A", "10.0.0.1:80", 4}, {"B", "10.0.0.2:80", 3}, {"C", "10.0.0.3:80", 2}});
  EXPECT_EQ(p.picks(9), "A A B A B C A B C");

  Pool q("wrr");
  q.add("C", "10.0.0.3:80", 2).add("B", "10.0.0.2:80", 3).add("A", "10.0.0.1:80", 4);
  q.init({{"A", "10.0.0.1:80", 4}, {"B", "10.0.0.2:80", 3}, {"C", "10.0.0.3:80", 2}});
  EXPECT_EQ(q.picks(9), "A A B A B C A B C");
}

// A pick that fails at `stop` leaves cl on `last`: order [C,B,A] weight 1, after C B every
// dest overloaded -> none; once they recover the round continues after B: A C B.
TEST(WeightedRoundRobin, FailedPickKeepsPosition) {
  Pool p("wrr");
  p.add("A", "10.0.0.1:80").add("B", "10.0.0.2:80").add("C", "10.0.0.3:80");
  ASSERT_EQ(p.picks(2), "C B");
  for (const char* n : {"A", "B", "C"}) p.set_overloaded(n);
  EXPECT_EQ(p.pick(), "none");
  for (const char* n : {"A", "B", "C"}) p.set_overloaded(n, false);
  EXPECT_EQ(p.picks(3), "A C B");
}

// Property: the pick sequence is periodic with period L = sum(w)/g (g = gcd of the weights)
// from the first pick on, whether built by adds (cw starts at 1: the tail of a cycle) or
// bound to the whole list (cw starts at mw: the head of one). Hence every window of L
// consecutive picks, at any offset, holds each dest exactly w/g times.
TEST(WeightedRoundRobin, WholeCyclesAreExactlyProportionalToWeights) {
  std::mt19937 gen(4242);
  auto draw = [&gen](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(gen); };
  for (int config = 0; config < 50; ++config) {
    const int n = draw(2, 8);
    std::vector<Pool::Member> members;
    int g = 0;
    int sum = 0;
    for (int i = 0; i < n; ++i) {
      const int w = draw(1, 20);
      members.push_back({dest_name(i), dest_addr(i), w});
      g = std::gcd(g, w);
      sum += w;
    }
    const auto period = static_cast<std::size_t>(sum / g);
    for (const bool by_adds : {true, false}) {
      SCOPED_TRACE("config " + std::to_string(config) + (by_adds ? " by adds" : " by init"));
      Pool p("wrr");
      if (by_adds) {
        for (const auto& m : members) p.add(m.name, m.addr, m.weight);
      } else {
        p.init(members);
      }
      const auto picks = pick_list(p, 3 * period);
      for (std::size_t from = 0; from + period <= picks.size(); ++from) {
        const auto c = counts(picks, from, period);
        for (const auto& m : members) {
          const auto it = c.find(m.name);
          EXPECT_EQ(it == c.end() ? 0 : it->second, m.weight / g) << m.name << " at " << from;
        }
      }
    }
  }
}

// Never a weight-0 or overloaded dest; "none" exactly when nothing is eligible.
TEST(WeightedRoundRobin, PicksOnlyEligibleDests) { expect_only_eligible_picks("wrr"); }

// Empty list or nothing eligible -> none.
TEST(WeightedRoundRobin, NoneWithoutEligibleDest) { expect_none_without_eligible("wrr"); }

}  // namespace
}  // namespace lvs::sched::testing
