// The lblc/lblcr table and its GC (spec §2 "lblc" Expiry), driven directly on virtual time.
#include <chrono>
#include <cstdint>

#include "sched/locality_table.h"
#include "unit/sched/pool.h"

namespace lvs::sched::locality {
namespace {

using std::chrono::hours;
using std::chrono::minutes;

constexpr core::TimePoint kT0{};

struct Entry {
  core::IpAddress daddr{};
  core::TimePoint lastuse{};
};

// A table that started its tick schedule at t0 and holds `n` entries last used at `at`.
Table<Entry> filled(std::uint32_t n, core::TimePoint at = kT0) {
  Table<Entry> t(hours(24));
  t.collect(kT0);
  for (std::uint32_t k = 0; k < n; ++k) {
    t.insert(Entry{.daddr = core::IpAddress::v4(0x0A000000U + k), .lastuse = at});
  }
  return t;
}

// Bucket = low 10 bits of addr*2654435761: 10.0.0.1 -> 433 (sh's 177 is its low 8 bits).
TEST(LocalityTable, BucketIsLowTenBitsOfGoldenRatioHash) {
  EXPECT_EQ(bucket_of(testing::ip("10.0.0.1")), 433U);
  EXPECT_EQ(bucket_of(testing::ip("192.168.1.100")), 548U);
}

TEST(LocalityTable, FindsByAddress) {
  auto t = filled(3000);
  ASSERT_NE(t.find(core::IpAddress::v4(0x0A000000U + 2999)), nullptr);
  EXPECT_EQ(t.find(core::IpAddress::v4(0x0A000000U + 3000)), nullptr);
  EXPECT_EQ(t.size(), 3000U);
}

// At most 16384 entries, ticks between full checks remove nothing, however old the entries.
TEST(LocalityTable, SmallTableIsOnlyCheckedEvery30Ticks) {
  auto t = filled(16384);
  t.collect(kT0 + hours(23) + minutes(59));
  EXPECT_EQ(t.size(), 16384U);
}

// Over 16384 entries, a tick removes entries idle more than 6 min, at most
// (entries-16384)*4/3: 20000 -> 4821 go at the 7th tick (t0 + 7 min; at 6 min they are idle
// exactly 6 min), leaving 15179, which later ticks leave alone.
TEST(LocalityTable, OverfullTableIsTrimmedOfEntriesIdleOverSixMinutes) {
  auto t = filled(20000);
  t.collect(kT0 + minutes(6));
  EXPECT_EQ(t.size(), 20000U);
  t.collect(kT0 + minutes(7));
  EXPECT_EQ(t.size(), 15179U);
  t.collect(kT0 + minutes(29));
  EXPECT_EQ(t.size(), 15179U);
}

// A trimming tick removes at most 8192: 40000 -> 31808 -> 23616 -> 15424.
TEST(LocalityTable, TrimIsCappedAt8192PerTick) {
  auto t = filled(40000);
  t.collect(kT0 + minutes(7));
  EXPECT_EQ(t.size(), 31808U);
  t.collect(kT0 + minutes(8));
  EXPECT_EQ(t.size(), 23616U);
  t.collect(kT0 + minutes(9));
  EXPECT_EQ(t.size(), 15424U);
}

// Recently used entries are not trimmed even when the table is over its size.
TEST(LocalityTable, TrimSparesRecentEntries) {
  auto t = filled(17000, kT0 + minutes(5));
  t.collect(kT0 + minutes(11));  // tick 11: idle exactly 6 min
  EXPECT_EQ(t.size(), 17000U);
  t.collect(kT0 + minutes(12));  // (17000-16384)*4/3 = 821
  EXPECT_EQ(t.size(), 16179U);
}

// The full check (tick 30, 60, ...) removes every entry idle longer than the expiration.
TEST(LocalityTable, FullCheckRemovesEntriesIdleLongerThanExpiration) {
  Table<Entry> t(hours(1));
  t.collect(kT0);
  t.insert(Entry{.daddr = testing::ip("192.0.2.1"), .lastuse = kT0});
  t.insert(Entry{.daddr = testing::ip("192.0.2.2"), .lastuse = kT0 + minutes(50)});
  t.collect(kT0 + minutes(59));
  EXPECT_EQ(t.size(), 2U);
  t.collect(kT0 + minutes(60));  // tick 60: idle exactly 1 h is not longer than 1 h
  EXPECT_EQ(t.size(), 2U);
  t.collect(kT0 + minutes(90));  // tick 90: 192.0.2.1 idle 90 min goes, .2 (40 min) stays
  EXPECT_EQ(t.size(), 1U);
  EXPECT_NE(t.find(testing::ip("192.0.2.2")), nullptr);
}

// A long quiet spell is caught up in one call, each tick at its own time.
TEST(LocalityTable, LongIdleSpellIsCaughtUp) {
  auto t = filled(20000);
  t.collect(kT0 + hours(24 * 365));
  EXPECT_EQ(t.size(), 0U);
}

}  // namespace
}  // namespace lvs::sched::locality
