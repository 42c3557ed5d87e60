// The followed VRRP role in /metrics (a state set) and /api/v1/health (issue 9).
#include <gtest/gtest.h>

#include "web/metrics.h"
#include "web/routes.h"

namespace lvs::web {
namespace {

ha::FollowerStatus backup() {
  return ha::FollowerStatus{.role = ha::Role::kBackup,
                            .instance = "VI_1",
                            .fifo = "/run/f",
                            .transitions = 2,
                            .bad_lines = 0,
                            .last_line = "INSTANCE \"VI_1\" BACKUP 100"};
}

// One series per role, 1 for the current one, and the count of changes.
TEST(VrrpMetrics, RoleIsAStateSet) {
  const auto text = format_metrics(MetricsInput{.vrrp = backup()});
  for (const char* line :
       {"lvsd_vrrp_role{instance=\"VI_1\",role=\"MASTER\"} 0\n",
        "lvsd_vrrp_role{instance=\"VI_1\",role=\"BACKUP\"} 1\n",
        "lvsd_vrrp_role{instance=\"VI_1\",role=\"FAULT\"} 0\n",
        "lvsd_vrrp_role{instance=\"VI_1\",role=\"STOP\"} 0\n",
        "lvsd_vrrp_role{instance=\"VI_1\",role=\"UNKNOWN\"} 0\n", "# TYPE lvsd_vrrp_role gauge\n",
        "lvsd_vrrp_role_changes_total{instance=\"VI_1\"} 2\n"}) {
    EXPECT_NE(text.find(line), std::string::npos) << line;
  }
  EXPECT_EQ(format_metrics(MetricsInput{}).find("lvsd_vrrp"), std::string::npos);
}

// /api/v1/health carries the role when lvsd follows keepalived, nothing otherwise.
TEST(VrrpHealth, HealthJsonCarriesTheRole) {
  Sources src;
  EXPECT_EQ(respond("GET", "/api/v1/health", src).body, "{\"checked\":false,\"reals\":[]}\n");
  src.vrrp = [] { return std::optional<ha::FollowerStatus>(backup()); };
  EXPECT_EQ(respond("GET", "/api/v1/health", src).body,
            "{\"checked\":false,\"reals\":[],\"vrrp\":{\"instance\":\"VI_1\",\"role\":\"BACKUP\","
            "\"serving\":false,\"changes\":2}}\n");
}

}  // namespace
}  // namespace lvs::web
