// /metrics of the connection-sync daemons (--start-daemon): messages sent and received and
// errors per role; no lvsd_sync_ family without a daemon.
#include <gtest/gtest.h>

#include <string>

#include "web/metrics.h"

namespace lvs::web {
namespace {

TEST(MetricsSync, CountsMessagesAndErrorsPerRole) {
  MetricsInput in;
  in.listing.daemons = {ctl::DaemonView{.state = ctl::SyncState::kMaster,
                                        .mcast_interface = "eth1",
                                        .syncid = 7,
                                        .sent_messages = 12,
                                        .received_messages = 1,
                                        .errors = 0},
                        ctl::DaemonView{.state = ctl::SyncState::kBackup,
                                        .mcast_interface = "eth1",
                                        .syncid = 7,
                                        .sent_messages = 2,
                                        .received_messages = 30,
                                        .errors = 4,
                                        .synced = true}};
  const std::string text = format_metrics(in);
  EXPECT_NE(text.find("# TYPE lvsd_sync_messages_total counter\n"), std::string::npos) << text;
  EXPECT_NE(text.find("lvsd_sync_messages_total{role=\"master\",direction=\"sent\"} 12\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("lvsd_sync_messages_total{role=\"backup\",direction=\"received\"} 30\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("lvsd_sync_errors_total{role=\"backup\"} 4\n"), std::string::npos) << text;
  EXPECT_NE(text.find("lvsd_sync_backup_synced 1\n"), std::string::npos) << text;
  EXPECT_EQ(format_metrics(MetricsInput{}).find("lvsd_sync_"), std::string::npos);
}

}  // namespace
}  // namespace lvs::web
