// A backup's link to its master (sync::BackupLink), on passed-in time: resync requests until
// the master's "resync done", in sync while the master speaks, and back to asking after
// `silence` without a word from it (docs/SYNC.md "Master and backup behaviour").
#include <gtest/gtest.h>

#include <chrono>

#include "sync/daemon.h"

namespace lvs::sync {
namespace {

using std::chrono::milliseconds;
const core::TimePoint t0{};

// On start a request goes out at once, then one a second while nothing answers.
TEST(BackupLink, AsksAtOnceThenEverySecondUntilAnswered) {
  BackupLink link(t0, kRequestEvery, kSilence);
  EXPECT_FALSE(link.synced(t0));
  EXPECT_TRUE(link.request_due(t0));
  EXPECT_FALSE(link.request_due(t0 + milliseconds(999)));
  EXPECT_EQ(link.next_event(), t0 + milliseconds(1000));
  EXPECT_TRUE(link.request_due(t0 + milliseconds(1000)));
  // Data without "resync done" (changes, counters, heartbeats) does not stop the requests.
  link.heard(t0 + milliseconds(1500), false);
  EXPECT_FALSE(link.synced(t0 + milliseconds(1500)));
  EXPECT_TRUE(link.request_due(t0 + milliseconds(2000)));
  // The master's "resync done": in sync, no more requests.
  link.heard(t0 + milliseconds(2100), true);
  EXPECT_TRUE(link.synced(t0 + milliseconds(2100)));
  EXPECT_FALSE(link.request_due(t0 + milliseconds(3000)));
}

// In sync while any message (a heartbeat included) arrives within 3 s of the last; after 3 s
// of silence not in sync, a request at once, then one a second; only a new "resync done"
// restores it, not the master's next heartbeat.
TEST(BackupLink, SilenceOfThreeSecondsEndsTheSyncAndRestartsTheRequests) {
  BackupLink link(t0, kRequestEvery, kSilence);
  ASSERT_TRUE(link.request_due(t0));
  link.heard(t0 + milliseconds(100), true);
  link.heard(t0 + milliseconds(3000), false);  // heartbeat
  EXPECT_TRUE(link.synced(t0 + milliseconds(5999)));
  EXPECT_FALSE(link.request_due(t0 + milliseconds(5999)));
  EXPECT_EQ(link.next_event(), t0 + milliseconds(6000));
  EXPECT_FALSE(link.synced(t0 + milliseconds(6000)));
  EXPECT_TRUE(link.request_due(t0 + milliseconds(6000)));
  EXPECT_FALSE(link.request_due(t0 + milliseconds(6500)));
  EXPECT_TRUE(link.request_due(t0 + milliseconds(7000)));
  // The master comes back: its heartbeat is not enough...
  link.heard(t0 + milliseconds(7200), false);
  EXPECT_FALSE(link.synced(t0 + milliseconds(7200)));
  EXPECT_TRUE(link.request_due(t0 + milliseconds(8000)));
  // ...its bulk resync's end is.
  link.heard(t0 + milliseconds(8100), true);
  EXPECT_TRUE(link.synced(t0 + milliseconds(8100)));
  EXPECT_FALSE(link.request_due(t0 + milliseconds(9000)));
}

// A message arriving after the silence but before the next request check does not count as
// keeping the link: the sync ended at 3 s.
TEST(BackupLink, AMessageAfterTheSilenceDoesNotRestoreTheSync) {
  BackupLink link(t0, kRequestEvery, kSilence);
  ASSERT_TRUE(link.request_due(t0));
  link.heard(t0, true);
  link.heard(t0 + milliseconds(4000), false);
  EXPECT_FALSE(link.synced(t0 + milliseconds(4000)));
  EXPECT_TRUE(link.request_due(t0 + milliseconds(4000)));
}

}  // namespace
}  // namespace lvs::sync
