// The followed VRRP role in /metrics (a state set) and /api/v1/health, and whether the data
// plane can forward (issue 9).
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

const std::vector<dp::EngineHealth> kXdpDetached{
    {.engine = "xdp", .problems = {"d1 has no XDP program"}}, {.engine = "proxy"}};

// One gauge per engine, 0 for the one that cannot forward; none without the source.
TEST(DataPlaneMetrics, OneGaugePerEngine) {
  const auto text = format_metrics(MetricsInput{.data_plane = kXdpDetached});
  for (const char* line :
       {"# TYPE lvsd_data_plane_up gauge\n", "lvsd_data_plane_up{engine=\"xdp\"} 0\n",
        "lvsd_data_plane_up{engine=\"proxy\"} 1\n"}) {
    EXPECT_NE(text.find(line), std::string::npos) << line;
  }
  EXPECT_EQ(format_metrics(MetricsInput{}).find("lvsd_data_plane"), std::string::npos);
}

// The XDP engine's packets not forwarded as a flow: one counter per reason, every reason always
// there; none without the engine.
TEST(PacketEngineMetrics, OneCounterPerReason) {
  const auto text =
      format_metrics(MetricsInput{.packet_engine = PacketEngineCounters{.passed = 1,
                                                                        .refused = 2,
                                                                        .unresolved = 3,
                                                                        .unrouted = 4,
                                                                        .tunnel_dropped = 5,
                                                                        .midstream_dropped = 6,
                                                                        .standby_passed = 7}});
  for (const char* line :
       {"# TYPE lvsd_xdp_packets_total counter\n", "lvsd_xdp_packets_total{reason=\"passed\"} 1\n",
        "lvsd_xdp_packets_total{reason=\"refused\"} 2\n",
        "lvsd_xdp_packets_total{reason=\"unresolved\"} 3\n",
        "lvsd_xdp_packets_total{reason=\"unrouted\"} 4\n",
        "lvsd_xdp_packets_total{reason=\"tunnel_dropped\"} 5\n",
        "lvsd_xdp_packets_total{reason=\"midstream_dropped\"} 6\n",
        "lvsd_xdp_packets_total{reason=\"standby_passed\"} 7\n"}) {
    EXPECT_NE(text.find(line), std::string::npos) << line;
  }
  EXPECT_EQ(format_metrics(MetricsInput{}).find("lvsd_xdp_packets"), std::string::npos);
  Sources src;
  src.packet_engine = [] { return std::optional(PacketEngineCounters{.standby_passed = 9}); };
  EXPECT_NE(respond("GET", "/metrics", src)
                .body.find("lvsd_xdp_packets_total{reason=\"standby_passed\"} 9\n"),
            std::string::npos);
}

// /api/v1/health says whether the data plane forwards and what is wrong with each engine.
TEST(DataPlaneHealthJson, HealthJsonNamesTheProblems) {
  Sources src;
  src.data_plane = [] { return kXdpDetached; };
  EXPECT_EQ(respond("GET", "/api/v1/health", src).body,
            "{\"checked\":false,\"reals\":[],\"data_plane\":{\"up\":false,\"engines\":["
            "{\"engine\":\"xdp\",\"up\":false,\"problems\":[\"d1 has no XDP program\"]},"
            "{\"engine\":\"proxy\",\"up\":true,\"problems\":[]}]}}\n");
}

}  // namespace
}  // namespace lvs::web
