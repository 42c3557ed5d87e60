// The master's diff (sync/daemon.h ChangeTracker): what goes out on each tick, with explicit time.
#include <gtest/gtest.h>

#include <chrono>
#include <vector>

#include "sync/daemon.h"

namespace lvs::sync {
namespace {

using std::chrono::seconds;

Entry flow(std::uint16_t cport, std::uint8_t state = 1, std::uint32_t timeout = 900) {
  return Entry{.kind = EntryKind::kConnection,
               .protocol = 6,
               .state = state,
               .persistent = false,
               .client = {.addr = core::IpAddress::v4(0xcb007107), .port = cport},
               .vip = {.addr = core::IpAddress::v4(0xc0000264), .port = 80},
               .dest = {.addr = core::IpAddress::v4(0xc633640b), .port = 80},
               .netmask = 0,
               .timeout = timeout};
}

// New entries go out once; an unchanged table sends nothing.
TEST(ChangeTracker, SendsNewEntriesOnce) {
  ChangeTracker t(seconds(10));
  const core::TimePoint t0{};
  const std::vector<Entry> table{flow(1000), flow(1001)};
  EXPECT_EQ(t.changes(table, t0, 100).size(), 2U);
  EXPECT_TRUE(t.changes(table, t0 + seconds(1), 100).empty());
}

// A state change goes out at once; a refreshed expiry only once it moved by `refresh`.
TEST(ChangeTracker, SendsStateChangesAndRefreshesBusyFlows) {
  ChangeTracker t(seconds(10));
  const core::TimePoint t0{};
  (void)t.changes({flow(1000)}, t0, 100);
  EXPECT_EQ(t.changes({flow(1000, 5, 120)}, t0, 100).size(), 1U);  // FIN_WAIT
  (void)t.changes({flow(1000, 1)}, t0, 100);                       // back to ESTABLISHED
  EXPECT_TRUE(t.changes({flow(1000, 1)}, t0 + seconds(9), 100).empty());
  EXPECT_EQ(t.changes({flow(1000, 1)}, t0 + seconds(10), 100).size(), 1U);
}

// At most `limit` per tick; the rest follows on the next ticks. reset() (a resync request)
// sends the whole table again; entries gone from the table are forgotten.
TEST(ChangeTracker, BoundsEachTickAndResendsAllAfterReset) {
  ChangeTracker t(seconds(10));
  const core::TimePoint t0{};
  std::vector<Entry> table;
  for (std::uint16_t p = 0; p < 5; ++p) table.push_back(flow(static_cast<std::uint16_t>(2000 + p)));
  EXPECT_EQ(t.changes(table, t0, 2).size(), 2U);
  EXPECT_EQ(t.changes(table, t0, 2).size(), 2U);
  EXPECT_EQ(t.changes(table, t0, 2).size(), 1U);
  EXPECT_TRUE(t.changes(table, t0, 2).empty());
  t.reset();
  EXPECT_EQ(t.changes(table, t0, 100).size(), 5U);
  table.pop_back();
  (void)t.changes(table, t0, 100);
  EXPECT_EQ(t.remembered(), 4U);
}

}  // namespace
}  // namespace lvs::sync
