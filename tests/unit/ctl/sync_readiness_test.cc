// lvsadm --check-sync's decision (issue 9: a rejoining node does not take the VIP back before
// its table is in sync): ctl::sync_readiness over the running daemons' views.
#include <gtest/gtest.h>

#include "ctl/sync_control.h"

namespace lvs::ctl {
namespace {

DaemonView backup(bool synced) {
  return DaemonView{.state = SyncState::kBackup,
                    .mcast_interface = "eth1",
                    .syncid = 7,
                    .received_messages = synced ? 12U : 0U,
                    .synced = synced};
}

DaemonView master() { return DaemonView{.state = SyncState::kMaster, .mcast_interface = "eth1"}; }

// A backup daemon that has not had the master's bulk resync fails, naming itself.
TEST(SyncReadiness, AnUnsyncedBackupDaemonFails) {
  const auto o = sync_readiness({master(), backup(false)});
  EXPECT_EQ(o.exit_code, 1);
  EXPECT_EQ(o.out, "");
  EXPECT_EQ(o.err,
            "lvsadm --check-sync: the backup sync daemon (mcast=eth1, syncid=7) has not received "
            "the master's table yet (0 messages so far): this node must not take the VIP from a "
            "synced peer\n");
}

// In sync once the master's "resync done" arrived.
TEST(SyncReadiness, ASyncedBackupDaemonPasses) {
  const auto o = sync_readiness({master(), backup(true)});
  EXPECT_EQ(o.exit_code, 0);
  EXPECT_EQ(o.out,
            "in sync: the backup sync daemon (mcast=eth1, syncid=7) has the master's table\n");
  EXPECT_EQ(o.err, "");
}

// No backup daemon (none at all, or a master only): nothing to wait for.
TEST(SyncReadiness, NoBackupDaemonHasNothingToWaitFor) {
  for (const auto& views : {std::vector<DaemonView>{}, std::vector<DaemonView>{master()}}) {
    const auto o = sync_readiness(views);
    EXPECT_EQ(o.exit_code, 0);
    EXPECT_EQ(o.out, "in sync: no backup sync daemon runs (nothing to wait for)\n");
  }
}

}  // namespace
}  // namespace lvs::ctl
