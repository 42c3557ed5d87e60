#pragma once
// The validated configuration value every front-end (keepalived-style file, the article's
// /etc/lvs.conf) produces and the Director applies: lvsd's own settings, the desired service
// table, and the health-checking settings of every service and realserver as plain values
// (spec §5.1). Nothing here touches the host.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/endpoint.h"
#include "core/log.h"
#include "model/service.h"

namespace lvs::config {

using Millis = std::chrono::milliseconds;

// Where a word was read: the file as named by the user (or the include pattern's expansion),
// 1-based line and column (columns count bytes).
struct SourceLocation {
  std::string file{};
  int line = 0;
  int col = 0;

  std::string to_string() const;  // "lvsd.conf:12:5"
  bool operator==(const SourceLocation&) const = default;
};

// A warning is a value too: the Director logs them, `lvsd -t` prints them.
struct Warning {
  SourceLocation where{};
  std::string text{};

  std::string to_string() const;  // "lvsd.conf:3:1: warning: <text>"
  bool operator==(const Warning&) const = default;
};

// lvsd's own settings (keepalived's global_defs block).
struct GlobalDefs {
  unsigned workers = 0;  // data-plane worker threads; 0 = one per CPU
  std::string control_socket = "/run/lvsd.sock";
  core::LogLevel log_level = core::LogLevel::kInfo;
  std::optional<core::Endpoint> http_listen{};  // JSON API / metrics; unset = off
  std::string api_token{};
  // lvsd_vrrp_fifo / lvsd_vrrp_instance (lvsd --vrrp-fifo / --vrrp-instance): follow
  // keepalived's vrrp_notify_fifo for this instance; empty fifo = off.
  std::string vrrp_fifo{};
  std::string vrrp_instance{};
  std::vector<std::string> notification_email{};
  std::string notification_email_from{};
  std::optional<core::Endpoint> smtp_server{};
  std::string router_id{};
  std::string notify_fifo{};  // "RS <rs> <vs> UP|DOWN" lines (spec §5.4)
  // The connection log: "" = off, "syslog", or a file path; lines per second past which
  // lines are dropped (dp/connlog).
  std::string conn_log{};
  std::uint32_t conn_log_rate = 1000;
  std::string conn_log_facility = "daemon";  // with conn_log syslog: daemon or local0..local7
  // `xdp_interfaces eth0 eth1`: lvsd's --xdp (the XDP engine on these interfaces); empty: off.
  std::vector<std::string> xdp_interfaces{};

  bool operator==(const GlobalDefs&) const = default;
};

enum class CheckerKind : std::uint8_t {
  kPing,
  kTcp,
  kUdp,
  kHttpGet,
  kSslGet,
  kDns,
  kMisc,
  kXdmcp,
};
std::string_view checker_name(CheckerKind k);  // "TCP_CHECK", "HTTP_GET", ...

// One HTTP status range; a single code is {c, c}.
struct StatusRange {
  std::uint16_t lo = 200;
  std::uint16_t hi = 299;
  bool operator==(const StatusRange&) const = default;
};

struct UrlSpec {
  std::string path{};
  std::string digest{};               // MD5 hex of the body, lower case; empty = not checked
  std::vector<StatusRange> status{};  // empty = 200-299
  std::string regex{};                // empty = not checked
  bool regex_no_match = false;
  std::string virtualhost{};  // Host: override for this url
  bool operator==(const UrlSpec&) const = default;
};

// Timing after inheritance (checker <- real_server <- virtual_server <- built-in default).
struct CheckTiming {
  Millis delay_loop{60'000};
  Millis connect_timeout{5'000};
  std::uint32_t retry = 1;
  Millis delay_before_retry{1'000};
  std::optional<Millis> warmup{};  // unset: uniform random 0..delay_loop before the first run
  bool alpha = false;              // start down until the first success
  bool operator==(const CheckTiming&) const = default;
};

struct CheckerSpec {
  CheckerKind kind = CheckerKind::kTcp;
  SourceLocation where{};
  CheckTiming timing{};
  core::Endpoint target{};  // connect_ip/connect_port, defaulting to the realserver's
  std::optional<core::IpAddress> bindto{};
  std::uint16_t bind_port = 0;
  std::string bind_if{};
  std::uint32_t fwmark = 0;
  bool log_all_failures = false;
  // HTTP_GET / SSL_GET
  std::vector<UrlSpec> urls{};
  std::string http_protocol = "1.0";  // 1.0 | 1.0C | 1.1
  std::string virtualhost{};          // resolved: checker > real_server > virtual_server
  bool enable_sni = false;
  // DNS_CHECK
  std::string dns_type = "SOA";
  std::string dns_name = ".";
  // MISC_CHECK
  std::string misc_path{};
  std::optional<Millis> misc_timeout{};  // unset: delay_loop
  bool misc_dynamic = false;
  // UDP_CHECK
  std::vector<std::uint8_t> payload{};  // empty: random
  bool require_reply = false;
  std::string reply_pattern{};  // hex nibbles, 'X' = any nibble; empty = any reply
  std::uint32_t min_reply_length = 0;
  std::uint32_t max_reply_length = 0;  // 0 = unlimited

  bool operator==(const CheckerSpec&) const = default;
};

struct RealServerHealth {
  core::Endpoint addr{};
  SourceLocation where{};
  std::int32_t weight = 1;
  bool inhibit_on_failure = false;  // down: weight 0 instead of removal
  bool alpha = false;
  std::string notify_up{};
  std::string notify_down{};
  std::vector<CheckerSpec> checkers{};  // none: always up
  bool operator==(const RealServerHealth&) const = default;
};

struct ServiceHealth {
  model::ServiceKey key{};
  SourceLocation where{};
  Millis delay_loop{60'000};
  std::uint32_t quorum = 1;
  std::uint32_t hysteresis = 0;
  std::string quorum_up{};
  std::string quorum_down{};
  std::optional<model::RealServer> sorry_server{};
  bool sorry_server_inhibit = false;
  bool alpha = false;
  bool omega = false;
  bool ha_suspend = false;
  std::string virtualhost{};
  std::vector<RealServerHealth> reals{};  // file order
  bool operator==(const ServiceHealth&) const = default;
};

struct Config {
  GlobalDefs global{};
  model::ServiceTable table{};          // realservers newest first, as added one by one
  std::vector<ServiceHealth> health{};  // one per service, in table order
  std::vector<Warning> warnings{};
  bool operator==(const Config&) const = default;
};

}  // namespace lvs::config
