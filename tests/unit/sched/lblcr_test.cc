// lblcr — spec §2 "lblcr" worked example and §6 case 14, plus the GC on virtual time.
#include <chrono>

#include "sched/locality_table.h"
#include "unit/sched/locality_pool.h"

namespace lvs::sched::testing {
namespace {

using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;

Pool s1_s2() { return two_caches("lblcr"); }

// Brings D's set to {S2, S1} at time `t`: D -> S1, then S1 lblc-overloaded -> S2 joins.
// Leaves the loads at S1 a2, S2 a0.
void grow_to_s2_s1(Pool& p, core::TimePoint t) {
  ASSERT_EQ(p.pick(kD, 0, t), "S1");
  p.set_load("S1", 2);
  ASSERT_EQ(p.pick(kD, 0, t), "S2");
}

// Case 14: D -> S1, set {S1}; S1 a2/S2 a0 -> S2, set {S2,S1}; next pick -> set-min S2. After
// lblcr_expiration (24 h) + 1 s without a set change, the most loaded member (S1: 512 vs 0)
// is removed. The set is seen through a load on which its members disagree with each other.
TEST(LocalityReplicated, Case14WorkedExample) {
  auto p = s1_s2();
  grow_to_s2_s1(p, kT0);
  EXPECT_EQ(p.pick(kD, 0, kT0), "S2");
  // Used every hour (so the GC keeps the entry) without changing the set.
  for (int h = 1; h < 24; ++h) ASSERT_EQ(p.pick(kD, 0, kT0 + hours(h)), "S2") << h;

  // Exactly 24 h after the last change: not yet expired, S1 is still a member.
  p.set_load("S1", 0);
  p.set_load("S2", 1);
  EXPECT_EQ(p.pick(kD, 0, kT0 + hours(24)), "S1");

  // 24 h + 1 s: S1 (512) is the most loaded member and goes; S2, the least, serves the flow.
  p.set_load("S1", 2);
  p.set_load("S2", 0);
  EXPECT_EQ(p.pick(kD, 0, kT0 + hours(24) + seconds(1)), "S2");

  // The set is {S2}: S1 being less loaded no longer matters (S2 a1 is not lblc-overloaded).
  p.set_load("S1", 0);
  p.set_load("S2", 1);
  EXPECT_EQ(p.pick(kD, 0, kT0 + hours(24) + seconds(2)), "S2");
}

// Members are scanned newest first, so on equal load the newest member wins, whatever the
// service order: set {S2,S1} in a service ordered [S1,S2].
TEST(LocalityReplicated, SetIsScannedNewestFirst) {
  auto p = s1_s2();
  grow_to_s2_s1(p, kT0);
  p.set_load("S1", 0);
  EXPECT_EQ(p.pick(kD), "S2");
  EXPECT_EQ(p.pick(kE), "S1");  // a new address gets the wlc choice: first of the service
}

// The least loaded member serves: set {S2,S1}, S2 busier than S1 -> S1, no set change.
TEST(LocalityReplicated, LeastLoadedMemberServes) {
  auto p = s1_s2();
  grow_to_s2_s1(p, kT0);
  p.set_load("S1", 0, 5);
  p.set_load("S2", 1);
  EXPECT_EQ(p.pick(kD), "S1");
}

// A threshold-overloaded member is skipped within the set; a quiesced one too.
TEST(LocalityReplicated, OverloadedOrQuiescedMemberIsSkipped) {
  auto p = s1_s2();
  grow_to_s2_s1(p, kT0);
  p.set_load("S1", 1);  // S1 is now the busier member but not lblc-overloaded
  p.set_overloaded("S2");
  EXPECT_EQ(p.pick(kD), "S1");
  p.set_overloaded("S2", false);
  p.set_weight("S2", 0);
  EXPECT_EQ(p.pick(kD), "S1");
}

// Members remember dests by identity: a member that left the service is skipped, the others
// keep serving after the list shifted.
TEST(LocalityReplicated, RemovedMemberIsSkipped) {
  auto p = s1_s2();
  grow_to_s2_s1(p, kT0);
  p.set_load("S1", 1);
  p.add("S3", "10.0.0.13:80");  // order [S3, S1, S2]
  p.remove("S2");
  EXPECT_EQ(p.pick(kD), "S1");
}

// When every member is unusable, the wlc choice joins the set at the front.
TEST(LocalityReplicated, WlcChoiceJoinsTheSet) {
  auto p = s1_s2();
  ASSERT_EQ(p.pick(kD), "S1");
  p.set_weight("S1", 0);
  EXPECT_EQ(p.pick(kD), "S2");  // set {S2, S1}
  p.set_weight("S1", 1);
  p.set_load("S2", 1);  // S1 is the least member again, and not lblc-overloaded
  EXPECT_EQ(p.pick(kD), "S1");
  p.set_load("S1", 1);
  p.set_load("S2", 0);  // with S1 alone in the set this would still be S1
  EXPECT_EQ(p.pick(kD), "S2");
}

// The wlc path: weight-0 and overloaded dests are never chosen for a new address.
TEST(LocalityReplicated, NeverPicksQuiescedOrOverloaded) {
  Pool p("lblcr");
  p.init({{"S1", "10.0.0.11:80", 0}, {"S2", "10.0.0.12:80"}, {"S3", "10.0.0.13:80"}});
  p.set_overloaded("S2");
  p.set_load("S3", 50, 500);
  EXPECT_EQ(p.pick(kD), "S3");
  EXPECT_EQ(p.pick(kE), "S3");
}

TEST(LocalityReplicated, EmptyOrAllUnusableIsNone) {
  Pool empty("lblcr");
  EXPECT_EQ(empty.pick(kD), "none");
  Pool p("lblcr");
  p.init({{"S1", "10.0.0.11:80", 0}, {"S2", "10.0.0.12:80"}});
  p.set_overloaded("S2");
  EXPECT_EQ(p.pick(kD), "none");
}

// A set whose members are all unusable with no alternative gives none.
TEST(LocalityReplicated, UnusableSetWithoutAlternativeIsNone) {
  auto p = s1_s2();
  grow_to_s2_s1(p, kT0);
  p.set_weight("S1", 0);
  p.set_weight("S2", 0);
  EXPECT_EQ(p.pick(kD), "none");
}

// A one-member set never shrinks, however old.
TEST(LocalityReplicated, SingleMemberSetIsKept) {
  auto p = s1_s2();
  ASSERT_EQ(p.pick(kD, 0, kT0), "S1");
  p.set_load("S1", 1);  // wlc would pick S2 now
  for (int h = 1; h <= 72; ++h) ASSERT_EQ(p.pick(kD, 0, kT0 + hours(h)), "S1") << h;
}

// GC on virtual time, as lblc: an entry idle longer than the expiration goes at the next
// full check (t0 + 24 h 30 min here), not before.
TEST(LocalityReplicated, IdleEntryExpiresAtTheNextFullCheck) {
  {
    auto p = s1_s2();
    ASSERT_EQ(p.pick(kD, 0, kT0), "S1");
    p.set_load("S1", 1);
    EXPECT_EQ(p.pick(kD, 0, kT0 + hours(24) + minutes(29) + seconds(59)), "S1");
  }
  {
    auto p = s1_s2();
    ASSERT_EQ(p.pick(kD, 0, kT0), "S1");
    p.set_load("S1", 1);
    EXPECT_EQ(p.pick(kD, 0, kT0 + hours(24) + minutes(30)), "S2");
  }
}

// lblcr_expiration as an option drives both the GC and the set shrinking.
TEST(LocalityReplicated, ExpirationIsAnOption) {
  Pool p(make_lblcr_with(LocalityOptions{.expiration = minutes(10)}));
  p.init({{"S1", "10.0.0.11:80"}, {"S2", "10.0.0.12:80"}});
  grow_to_s2_s1(p, kT0);
  // 10 min + 1 s later the set {S2,S1} loses S1 (512 vs 0).
  EXPECT_EQ(p.pick(kD, 0, kT0 + minutes(10) + seconds(1)), "S2");
  p.set_load("S1", 0);
  p.set_load("S2", 1);
  EXPECT_EQ(p.pick(kD, 0, kT0 + minutes(11)), "S2");
  // Idle from 11 min: removed at the full check at 30 min; a new entry gets wlc's S1.
  EXPECT_EQ(p.pick(kD, 0, kT0 + minutes(30)), "S1");
}

}  // namespace
}  // namespace lvs::sched::testing
