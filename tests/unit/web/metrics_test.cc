// The Prometheus exposition of a fixed listing (format 0.0.4): HELP and TYPE per family, lvsd_
// prefix, _total counters, bytes in base units, direction="in|out", services labelled by
// protocol/vip/port (fwmark services by fwmark and af), realservers by real="ADDR:PORT".
#include "web/metrics.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

namespace lvs::web {
namespace {

core::Endpoint ep(const char* s) { return *core::Endpoint::parse(s); }

// One UDP service with one realserver carrying traffic, one IPv6 fwmark service with none.
MetricsInput fixed_input() {
  ctl::ServiceView dns{
      .service = {.key = model::ServiceKey::address(model::Protocol::kUdp, ep("192.0.2.1:53")),
                  .scheduler = "rr"},
      .dests = {ctl::DestView{
          .dest = {.addr = ep("198.51.100.11:53"),
                   .forward = model::ForwardMethod::kFullNat,
                   .weight = 3},
          .active = 0,
          .inactive = 2,
          .persist = 0,
          .stats = {.conns = 5,
                    .failed = 1,
                    .inpkts = 10,
                    .outpkts = 9,
                    .inbytes = 400,
                    .outbytes = 1200},
          .rates = {.cps = 1, .inpps = 2, .outpps = 2, .inbps = 80, .outbps = 240}}},
      .stats =
          {.conns = 5, .failed = 1, .inpkts = 10, .outpkts = 9, .inbytes = 400, .outbytes = 1200},
      .rates = {.cps = 1, .inpps = 2, .outpps = 2, .inbps = 80, .outbps = 240}};
  ctl::ServiceView marked{
      .service = {.key = model::ServiceKey::mark(7, core::Family::kInet6), .scheduler = "wlc"}};
  return MetricsInput{.listing = {.services = {marked, dns}},
                      .version = "0.1.0",
                      .process = ProcessStats{.resident_memory_bytes = 4096,
                                              .virtual_memory_bytes = 8192,
                                              .open_fds = 12,
                                              .max_fds = 1024,
                                              .cpu_seconds = 1.5,
                                              .start_time_seconds = 1700000000.25},
                      .reloads = ReloadStats{.success = 2,
                                             .failure = 1,
                                             .last_successful = false,
                                             .last_success_seconds = 1700000100.5}};
}

constexpr const char* kExpected = R"(# HELP lvsd_build_info lvsd's version; the value is always 1.
# TYPE lvsd_build_info gauge
lvsd_build_info{version="0.1.0"} 1
# HELP lvsd_services Virtual services in the running table.
# TYPE lvsd_services gauge
lvsd_services 2
# HELP lvsd_service_connections_total Connections (TCP) or flows (UDP) scheduled to the virtual service.
# TYPE lvsd_service_connections_total counter
lvsd_service_connections_total{protocol="udp",vip="192.0.2.1",port="53"} 5
lvsd_service_connections_total{protocol="fwmark",fwmark="7",af="inet6"} 0
# HELP lvsd_service_failed_connections_total Connections to the virtual service that the realserver refused or let time out.
# TYPE lvsd_service_failed_connections_total counter
lvsd_service_failed_connections_total{protocol="udp",vip="192.0.2.1",port="53"} 1
lvsd_service_failed_connections_total{protocol="fwmark",fwmark="7",af="inet6"} 0
# HELP lvsd_service_packets_total Packets relayed for the virtual service; in = client to realserver.
# TYPE lvsd_service_packets_total counter
lvsd_service_packets_total{protocol="udp",vip="192.0.2.1",port="53",direction="in"} 10
lvsd_service_packets_total{protocol="udp",vip="192.0.2.1",port="53",direction="out"} 9
lvsd_service_packets_total{protocol="fwmark",fwmark="7",af="inet6",direction="in"} 0
lvsd_service_packets_total{protocol="fwmark",fwmark="7",af="inet6",direction="out"} 0
# HELP lvsd_service_bytes_total Bytes relayed for the virtual service; in = client to realserver.
# TYPE lvsd_service_bytes_total counter
lvsd_service_bytes_total{protocol="udp",vip="192.0.2.1",port="53",direction="in"} 400
lvsd_service_bytes_total{protocol="udp",vip="192.0.2.1",port="53",direction="out"} 1200
lvsd_service_bytes_total{protocol="fwmark",fwmark="7",af="inet6",direction="in"} 0
lvsd_service_bytes_total{protocol="fwmark",fwmark="7",af="inet6",direction="out"} 0
# HELP lvsd_service_active_connections Active (established) connections of the virtual service.
# TYPE lvsd_service_active_connections gauge
lvsd_service_active_connections{protocol="udp",vip="192.0.2.1",port="53"} 0
lvsd_service_active_connections{protocol="fwmark",fwmark="7",af="inet6"} 0
# HELP lvsd_service_inactive_connections Inactive connections of the virtual service (not established, or lingering).
# TYPE lvsd_service_inactive_connections gauge
lvsd_service_inactive_connections{protocol="udp",vip="192.0.2.1",port="53"} 2
lvsd_service_inactive_connections{protocol="fwmark",fwmark="7",af="inet6"} 0
# HELP lvsd_service_connections_per_second New connections per second of the virtual service (the 2 s estimator).
# TYPE lvsd_service_connections_per_second gauge
lvsd_service_connections_per_second{protocol="udp",vip="192.0.2.1",port="53"} 1
lvsd_service_connections_per_second{protocol="fwmark",fwmark="7",af="inet6"} 0
# HELP lvsd_service_packets_per_second Packets per second of the virtual service (the 2 s estimator).
# TYPE lvsd_service_packets_per_second gauge
lvsd_service_packets_per_second{protocol="udp",vip="192.0.2.1",port="53",direction="in"} 2
lvsd_service_packets_per_second{protocol="udp",vip="192.0.2.1",port="53",direction="out"} 2
lvsd_service_packets_per_second{protocol="fwmark",fwmark="7",af="inet6",direction="in"} 0
lvsd_service_packets_per_second{protocol="fwmark",fwmark="7",af="inet6",direction="out"} 0
# HELP lvsd_service_bytes_per_second Bytes per second of the virtual service (the 2 s estimator).
# TYPE lvsd_service_bytes_per_second gauge
lvsd_service_bytes_per_second{protocol="udp",vip="192.0.2.1",port="53",direction="in"} 80
lvsd_service_bytes_per_second{protocol="udp",vip="192.0.2.1",port="53",direction="out"} 240
lvsd_service_bytes_per_second{protocol="fwmark",fwmark="7",af="inet6",direction="in"} 0
lvsd_service_bytes_per_second{protocol="fwmark",fwmark="7",af="inet6",direction="out"} 0
# HELP lvsd_real_server_connections_total Connections (TCP) or flows (UDP) scheduled to the realserver.
# TYPE lvsd_real_server_connections_total counter
lvsd_real_server_connections_total{protocol="udp",vip="192.0.2.1",port="53",real="198.51.100.11:53"} 5
# HELP lvsd_real_server_failed_connections_total Connections to the realserver that the realserver refused or let time out.
# TYPE lvsd_real_server_failed_connections_total counter
lvsd_real_server_failed_connections_total{protocol="udp",vip="192.0.2.1",port="53",real="198.51.100.11:53"} 1
# HELP lvsd_real_server_packets_total Packets relayed for the realserver; in = client to realserver.
# TYPE lvsd_real_server_packets_total counter
lvsd_real_server_packets_total{protocol="udp",vip="192.0.2.1",port="53",real="198.51.100.11:53",direction="in"} 10
lvsd_real_server_packets_total{protocol="udp",vip="192.0.2.1",port="53",real="198.51.100.11:53",direction="out"} 9
# HELP lvsd_real_server_bytes_total Bytes relayed for the realserver; in = client to realserver.
# TYPE lvsd_real_server_bytes_total counter
lvsd_real_server_bytes_total{protocol="udp",vip="192.0.2.1",port="53",real="198.51.100.11:53",direction="in"} 400
lvsd_real_server_bytes_total{protocol="udp",vip="192.0.2.1",port="53",real="198.51.100.11:53",direction="out"} 1200
# HELP lvsd_real_server_active_connections Active (established) connections of the realserver.
# TYPE lvsd_real_server_active_connections gauge
lvsd_real_server_active_connections{protocol="udp",vip="192.0.2.1",port="53",real="198.51.100.11:53"} 0
# HELP lvsd_real_server_inactive_connections Inactive connections of the realserver (not established, or lingering).
# TYPE lvsd_real_server_inactive_connections gauge
lvsd_real_server_inactive_connections{protocol="udp",vip="192.0.2.1",port="53",real="198.51.100.11:53"} 2
# HELP lvsd_real_server_connections_per_second New connections per second of the realserver (the 2 s estimator).
# TYPE lvsd_real_server_connections_per_second gauge
lvsd_real_server_connections_per_second{protocol="udp",vip="192.0.2.1",port="53",real="198.51.100.11:53"} 1
# HELP lvsd_real_server_packets_per_second Packets per second of the realserver (the 2 s estimator).
# TYPE lvsd_real_server_packets_per_second gauge
lvsd_real_server_packets_per_second{protocol="udp",vip="192.0.2.1",port="53",real="198.51.100.11:53",direction="in"} 2
lvsd_real_server_packets_per_second{protocol="udp",vip="192.0.2.1",port="53",real="198.51.100.11:53",direction="out"} 2
# HELP lvsd_real_server_bytes_per_second Bytes per second of the realserver (the 2 s estimator).
# TYPE lvsd_real_server_bytes_per_second gauge
lvsd_real_server_bytes_per_second{protocol="udp",vip="192.0.2.1",port="53",real="198.51.100.11:53",direction="in"} 80
lvsd_real_server_bytes_per_second{protocol="udp",vip="192.0.2.1",port="53",real="198.51.100.11:53",direction="out"} 240
# HELP lvsd_real_server_weight Realserver weight in the running table (0 = quiesced).
# TYPE lvsd_real_server_weight gauge
lvsd_real_server_weight{protocol="udp",vip="192.0.2.1",port="53",real="198.51.100.11:53"} 3
# HELP lvsd_real_server_persistent_connections Persistence templates pointing at the realserver.
# TYPE lvsd_real_server_persistent_connections gauge
lvsd_real_server_persistent_connections{protocol="udp",vip="192.0.2.1",port="53",real="198.51.100.11:53"} 0
# HELP lvsd_config_reloads_total Configuration reloads (SIGHUP, lvsadm --reload) by result.
# TYPE lvsd_config_reloads_total counter
lvsd_config_reloads_total{result="success"} 2
lvsd_config_reloads_total{result="failure"} 1
# HELP lvsd_config_last_reload_successful 1 if the last reload (or the start-up load) succeeded, else 0.
# TYPE lvsd_config_last_reload_successful gauge
lvsd_config_last_reload_successful 0
# HELP lvsd_config_last_reload_success_timestamp_seconds When the running configuration was loaded, seconds since the Unix epoch.
# TYPE lvsd_config_last_reload_success_timestamp_seconds gauge
lvsd_config_last_reload_success_timestamp_seconds 1700000100.500
# HELP process_cpu_seconds_total User and system CPU time spent.
# TYPE process_cpu_seconds_total counter
process_cpu_seconds_total 1.50
# HELP process_resident_memory_bytes Resident memory size.
# TYPE process_resident_memory_bytes gauge
process_resident_memory_bytes 4096
# HELP process_virtual_memory_bytes Virtual memory size.
# TYPE process_virtual_memory_bytes gauge
process_virtual_memory_bytes 8192
# HELP process_open_fds Open file descriptors.
# TYPE process_open_fds gauge
process_open_fds 12
# HELP process_max_fds Limit on open file descriptors.
# TYPE process_max_fds gauge
process_max_fds 1024
# HELP process_start_time_seconds Start time of the process, seconds since the Unix epoch.
# TYPE process_start_time_seconds gauge
process_start_time_seconds 1700000000.25
)";

// The whole text for a fixed listing, in listing order (address services before fwmark ones).
TEST(Metrics, ExpositionOfAFixedListing) { EXPECT_EQ(format_metrics(fixed_input()), kExpected); }

// Without -f there are no reload series; without process stats no process_* series; an empty
// table still says lvsd_services 0 and its build info.
TEST(Metrics, OptionalFamiliesAreLeftOutWhenUnknown) {
  const std::string text = format_metrics(MetricsInput{.version = "0.1.0"});
  EXPECT_EQ(text,
            "# HELP lvsd_build_info lvsd's version; the value is always 1.\n"
            "# TYPE lvsd_build_info gauge\n"
            "lvsd_build_info{version=\"0.1.0\"} 1\n"
            "# HELP lvsd_services Virtual services in the running table.\n"
            "# TYPE lvsd_services gauge\n"
            "lvsd_services 0\n");
}

// Label values escape backslash, double quote and newline, and nothing else.
TEST(Metrics, LabelValuesAreEscaped) {
  EXPECT_EQ(escape_label_value(R"(a\b"c)"
                               "\n"
                               "d"),
            R"(a\\b\"c\nd)");
  EXPECT_EQ(escape_label_value("[2001:db8::1]:80"), "[2001:db8::1]:80");
  EXPECT_EQ(escape_label_value("tab\tand utf-8 \xc3\xa9"), "tab\tand utf-8 \xc3\xa9");
  const std::string text = format_metrics(MetricsInput{.version = "1\"2\\3\n"});
  EXPECT_NE(text.find(R"(lvsd_build_info{version="1\"2\\3\n"} 1)"), std::string::npos) << text;
}

// IPv6 realservers are labelled in their bracketed form.
TEST(Metrics, Ipv6RealserverLabel) {
  ctl::ServiceView v{
      .service = {.key = model::ServiceKey::address(model::Protocol::kTcp, ep("[2001:db8::1]:80"))},
      .dests = {ctl::DestView{.dest = {.addr = ep("[2001:db8::11]:8080")}}}};
  const std::string text = format_metrics(MetricsInput{.listing = {.services = {v}}});
  EXPECT_NE(text.find(R"(lvsd_real_server_weight{protocol="tcp",vip="2001:db8::1",port="80",)"
                      R"(real="[2001:db8::11]:8080"} 1)"),
            std::string::npos)
      << text;
}

// Health series come from the configured realservers, including one health took out of the
// table (it is absent from the listing).
TEST(Metrics, HealthOfConfiguredRealservers) {
  const auto svc = model::ServiceKey::address(model::Protocol::kTcp, ep("192.0.2.1:80"));
  const MetricsInput in{
      .health = ctl::HealthMap{{{svc, ep("198.51.100.11:80")}, {.up = true, .transitions = 2}},
                               {{svc, ep("198.51.100.12:80")}, {.up = false, .transitions = 1}}}};
  const std::string text = format_metrics(in);
  const std::string want =
      "# HELP lvsd_real_server_healthy 1 if the realserver's health checks pass (no checker: "
      "always 1), else 0.\n"
      "# TYPE lvsd_real_server_healthy gauge\n"
      "lvsd_real_server_healthy{protocol=\"tcp\",vip=\"192.0.2.1\",port=\"80\",real=\"198.51.100."
      "11:80\"} 1\n"
      "lvsd_real_server_healthy{protocol=\"tcp\",vip=\"192.0.2.1\",port=\"80\",real=\"198.51.100."
      "12:80\"} 0\n"
      "# HELP lvsd_real_server_health_transitions_total Health state changes (UP/DOWN) of the "
      "realserver since lvsd started.\n"
      "# TYPE lvsd_real_server_health_transitions_total counter\n"
      "lvsd_real_server_health_transitions_total{protocol=\"tcp\",vip=\"192.0.2.1\",port=\"80\","
      "real=\"198.51.100.11:80\"} 2\n"
      "lvsd_real_server_health_transitions_total{protocol=\"tcp\",vip=\"192.0.2.1\",port=\"80\","
      "real=\"198.51.100.12:80\"} 1\n";
  EXPECT_NE(text.find(want), std::string::npos) << text;
}

// Health-check durations: a histogram per realserver with finished probes (cumulative buckets,
// +Inf = count, sum in seconds) and the last probe's result; none for a realserver never probed.
TEST(Metrics, HealthCheckDurationHistogram) {
  const auto svc = model::ServiceKey::address(model::Protocol::kTcp, ep("192.0.2.1:80"));
  ctl::HealthState probed{.up = false, .transitions = 1};
  probed.check_buckets = {0, 2, 0, 0, 0, 0, 0, 0, 1};  // two at <= 5 ms, one at <= 10 s
  probed.checks = 4;                                   // and one above 10 s
  probed.check_seconds = 17.5;
  probed.last_check_ok = false;
  const MetricsInput in{.health = ctl::HealthMap{{{svc, ep("198.51.100.11:80")}, probed},
                                                 {{svc, ep("198.51.100.12:80")}, {}}}};
  const std::string text = format_metrics(in);
  const std::string rl = R"(protocol="tcp",vip="192.0.2.1",port="80",real="198.51.100.11:80")";
  std::string want =
      "# HELP lvsd_health_check_duration_seconds How long the realserver's health-check probes "
      "took, from start to verdict (timeouts included).\n"
      "# TYPE lvsd_health_check_duration_seconds histogram\n";
  const std::vector<std::pair<std::string, int>> buckets = {
      {"0.001", 0}, {"0.005", 2}, {"0.01", 2}, {"0.05", 2}, {"0.1", 2},
      {"0.5", 2},   {"1", 2},     {"5", 2},    {"10", 3},   {"+Inf", 4}};
  for (const auto& [le, n] : buckets) {
    want += "lvsd_health_check_duration_seconds_bucket{" + rl + ",le=\"" + le + "\"} " +
            std::to_string(n) + "\n";
  }
  want += "lvsd_health_check_duration_seconds_sum{" + rl + "} 17.5\n";
  want += "lvsd_health_check_duration_seconds_count{" + rl + "} 4\n";
  want +=
      "# HELP lvsd_real_server_last_check_success 1 if the realserver's last finished "
      "health-check probe passed, else 0.\n"
      "# TYPE lvsd_real_server_last_check_success gauge\n"
      "lvsd_real_server_last_check_success{" +
      rl + "} 0\n";
  EXPECT_NE(text.find(want), std::string::npos) << text;
  EXPECT_EQ(text.find("198.51.100.12:80\",le="), std::string::npos) << text;
}

// /proc/self gives this process's own numbers.
// Data-plane errors: one counter family, every kind present (zeros too), HELP naming them.
TEST(Metrics, DataplaneErrorsByKind) {
  MetricsInput in;
  dp::ErrorCounts e;
  e.n[static_cast<std::size_t>(dp::ErrorKind::kConnectRefused)] = 3;
  e.n[static_cast<std::size_t>(dp::ErrorKind::kNoRealserver)] = 7;
  in.dataplane_errors = e;
  const std::string text = format_metrics(in);
  EXPECT_NE(text.find("# TYPE lvsd_dataplane_errors_total counter\n"), std::string::npos);
  EXPECT_NE(text.find("# HELP lvsd_dataplane_errors_total Flows the data plane refused or lost "
                      "since lvsd started, by kind: connect_refused = the realserver refused "
                      "the connection;"),
            std::string::npos);
  EXPECT_NE(text.find("lvsd_dataplane_errors_total{kind=\"connect_refused\"} 3\n"),
            std::string::npos);
  EXPECT_NE(text.find("lvsd_dataplane_errors_total{kind=\"no_realserver\"} 7\n"),
            std::string::npos);
  for (const auto& info : dp::kErrorKindInfo) {
    EXPECT_NE(text.find(fmt::format("lvsd_dataplane_errors_total{{kind=\"{}\"}} ", info.name)),
              std::string::npos)
        << info.name;
  }
  EXPECT_EQ(format_metrics(MetricsInput{}).find("lvsd_dataplane_errors_total"), std::string::npos);
}

TEST(ProcessStats, ReadsThisProcess) {
  const auto p = read_process_stats();
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_GT(p->resident_memory_bytes, 0U);
  EXPECT_GE(p->open_fds, 3U);  // at least stdin, stdout, stderr
  EXPECT_GT(p->max_fds, 0U);
  EXPECT_GT(p->start_time_seconds, 1.0e9);
}

}  // namespace
}  // namespace lvs::web
