// lblc — spec §2 "lblc" worked example and §6 case 14, plus the GC on virtual time.
#include <chrono>

#include "sched/locality_table.h"
#include "unit/sched/locality_pool.h"

namespace lvs::sched::testing {
namespace {

using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;

Pool s1_s2() { return two_caches("lblc"); }

// Case 14: D -> S1; S1 a2/S2 a0 makes S1 lblc-overloaded -> S2 (entry replaced); with both at
// a2 nobody is below half its weight, so D stays on S2.
TEST(LocalityLeastConnection, Case14WorkedExample) {
  auto p = s1_s2();
  EXPECT_EQ(p.pick(kD), "S1");
  p.set_load("S1", 2);
  EXPECT_EQ(p.pick(kD), "S2");
  p.set_load("S2", 2);
  EXPECT_EQ(p.pick(kD), "S2");
}

// The entry keeps its dest while that dest is not lblc-overloaded, even when wlc would
// choose another one; a different destination address gets its own wlc choice.
TEST(LocalityLeastConnection, DestinationAddressesAreRememberedSeparately) {
  auto p = s1_s2();
  ASSERT_EQ(p.pick(kD), "S1");
  p.set_load("S1", 1);  // wlc now prefers S2 (256 vs 0); 1 > 1 is false: not lblc-overloaded
  EXPECT_EQ(p.pick(kD), "S1");
  EXPECT_EQ(p.pick(kE), "S2");
}

// The destination port is not part of the key: the same address with another port hits.
TEST(LocalityLeastConnection, KeyIsTheDestinationAddressOnly) {
  auto p = s1_s2();
  ASSERT_EQ(p.pick(to("192.0.2.10:80")), "S1");
  p.set_load("S1", 1);
  EXPECT_EQ(p.pick(to("192.0.2.10:3128")), "S1");
}

// lblc-overloaded needs both halves: active > weight AND some dest below half its weight.
TEST(LocalityLeastConnection, LblcOverloadNeedsAnUnderusedDest) {
  auto p = s1_s2();
  p.set_weight("S2", 4);
  ASSERT_EQ(p.pick(kD), "S1");
  p.set_load("S1", 2);
  p.set_load("S2", 2);  // 2*2 < 4 is false: S2 is not below half
  EXPECT_EQ(p.pick(kD), "S1");
  p.set_load("S2", 1);  // 1*2 < 4: now S1 counts as lblc-overloaded
  EXPECT_EQ(p.pick(kD), "S2");
}

// The threshold overload flag is not consulted for the cached dest (only lblc-overload is),
// but the wlc fallback for a new address skips it.
TEST(LocalityLeastConnection, CachedDestIgnoresThresholdFlag) {
  auto p = s1_s2();
  ASSERT_EQ(p.pick(kD), "S1");
  p.set_overloaded("S1");
  EXPECT_EQ(p.pick(kD), "S1");
  EXPECT_EQ(p.pick(kE), "S2");
}

// A quiesced cached dest is replaced, and the entry does not return when the weight does.
TEST(LocalityLeastConnection, QuiescedCachedDestIsReplaced) {
  auto p = s1_s2();
  ASSERT_EQ(p.pick(kD), "S1");
  p.set_weight("S1", 0);
  EXPECT_EQ(p.pick(kD), "S2");
  p.set_weight("S1", 1);
  EXPECT_EQ(p.pick(kD), "S2");
}

// Entries name dests by identity: adding a dest in front (shifting every position) or
// removing another one does not move the flow.
TEST(LocalityLeastConnection, EntryFollowsItsDestWhenTheListChanges) {
  auto p = s1_s2();
  ASSERT_EQ(p.pick(kD), "S1");
  p.add("S3", "10.0.0.13:80");  // order [S3, S1, S2]; wlc alone would now pick S3
  EXPECT_EQ(p.pick(kD), "S1");
  p.remove("S2");
  EXPECT_EQ(p.pick(kD), "S1");
}

// An entry whose dest left the service is "dest not in the service": rescheduled by wlc. The
// dest coming back does not revive the replaced entry.
TEST(LocalityLeastConnection, EntryOfRemovedDestIsRescheduled) {
  auto p = s1_s2();
  ASSERT_EQ(p.pick(kD), "S1");
  p.remove("S1");
  EXPECT_EQ(p.pick(kD), "S2");
  p.add("S1", "10.0.0.11:80");  // back in front: wlc would pick it
  EXPECT_EQ(p.pick(kD), "S2");
}

// The wlc path: weight-0 and overloaded dests are never chosen for a new address.
TEST(LocalityLeastConnection, NeverPicksQuiescedOrOverloaded) {
  Pool p("lblc");
  p.init({{"S1", "10.0.0.11:80", 0}, {"S2", "10.0.0.12:80"}, {"S3", "10.0.0.13:80"}});
  p.set_overloaded("S2");
  p.set_load("S3", 50, 500);
  EXPECT_EQ(p.pick(kD), "S3");
  EXPECT_EQ(p.pick(kE), "S3");
}

// wlc fallback with weights: [S1 w1 a10, S2 w3 a20, S3 w2 a10 i5] -> S3.
TEST(LocalityLeastConnection, FallbackIsWeightedLeastConnection) {
  Pool p("lblc");
  p.init({{"S1", "10.0.0.11:80", 1}, {"S2", "10.0.0.12:80", 3}, {"S3", "10.0.0.13:80", 2}});
  p.set_load("S1", 10);
  p.set_load("S2", 20);
  p.set_load("S3", 10, 5);
  EXPECT_EQ(p.pick(kD), "S3");
}

TEST(LocalityLeastConnection, EmptyOrAllUnusableIsNone) {
  Pool empty("lblc");
  EXPECT_EQ(empty.pick(kD), "none");
  Pool p("lblc");
  p.init({{"S1", "10.0.0.11:80", 0}, {"S2", "10.0.0.12:80"}});
  p.set_overloaded("S2");
  EXPECT_EQ(p.pick(kD), "none");
  EXPECT_EQ(p.pick(kE), "none");
}

// A cached dest that became unusable with no alternative gives none; the entry stays and is
// used again once its dest recovers.
TEST(LocalityLeastConnection, NoAlternativeLeavesEntryAlone) {
  auto p = s1_s2();
  ASSERT_EQ(p.pick(kD), "S1");
  p.set_weight("S1", 0);
  p.set_overloaded("S2");
  EXPECT_EQ(p.pick(kD), "none");
  p.set_weight("S1", 1);
  p.set_load("S1", 1);  // wlc would not choose S1 now; only the entry can
  p.set_overloaded("S2", false);
  EXPECT_EQ(p.pick(kD), "S1");
}

// GC on virtual time: an entry idle longer than 24 h is removed at the next full check (every
// 30th 60-s tick after the first pick), not before. Ticks fall at t0 + k*60 s; the first full
// check after 24 h of idleness is at t0 + 24 h 30 min (at t0 + 24 h it is idle exactly 24 h).
TEST(LocalityLeastConnection, IdleEntryExpiresAtTheNextFullCheck) {
  {
    auto p = s1_s2();
    ASSERT_EQ(p.pick(kD, 0, kT0), "S1");
    p.set_load("S1", 1);  // from here wlc picks S2: only the entry keeps D on S1
    EXPECT_EQ(p.pick(kD, 0, kT0 + hours(24) + minutes(29) + seconds(59)), "S1");
  }
  {
    auto p = s1_s2();
    ASSERT_EQ(p.pick(kD, 0, kT0), "S1");
    p.set_load("S1", 1);
    EXPECT_EQ(p.pick(kD, 0, kT0 + hours(24) + minutes(30)), "S2");
  }
}

// Use keeps an entry alive: picked every 23 h, it survives for days.
TEST(LocalityLeastConnection, UsedEntryDoesNotExpire) {
  auto p = s1_s2();
  ASSERT_EQ(p.pick(kD, 0, kT0), "S1");
  p.set_load("S1", 1);
  for (int day = 1; day <= 5; ++day) {
    EXPECT_EQ(p.pick(kD, 0, kT0 + hours(23) * day), "S1") << "pick " << day;
  }
}

// With lblc_expiration set to 10 min, the full check at t0 + 30 min removes an entry idle
// since t0, but not one used at t0 + 25 min; that one goes at the check at t0 + 60 min.
TEST(LocalityLeastConnection, ExpirationIsAnOption) {
  const LocalityOptions ten_minutes{.expiration = minutes(10)};
  {
    Pool p(make_lblc_with(ten_minutes));
    p.init({{"S1", "10.0.0.11:80"}, {"S2", "10.0.0.12:80"}});
    ASSERT_EQ(p.pick(kD, 0, kT0), "S1");
    p.set_load("S1", 1);
    EXPECT_EQ(p.pick(kD, 0, kT0 + minutes(30)), "S2");
  }
  {
    Pool p(make_lblc_with(ten_minutes));
    p.init({{"S1", "10.0.0.11:80"}, {"S2", "10.0.0.12:80"}});
    ASSERT_EQ(p.pick(kD, 0, kT0), "S1");
    p.set_load("S1", 1);
    ASSERT_EQ(p.pick(kD, 0, kT0 + minutes(25)), "S1");
    EXPECT_EQ(p.pick(kD, 0, kT0 + minutes(30)), "S1");
    EXPECT_EQ(p.pick(kE, 0, kT0 + minutes(59)), "S2");  // other key; D untouched since 30 min
    EXPECT_EQ(p.pick(kD, 0, kT0 + minutes(60)), "S2");
  }
}

}  // namespace
}  // namespace lvs::sched::testing
