#pragma once
// lvsd's command line: a configuration file (-f), or services and realservers as flags,
// ipvsadm-like (not both). Service options (-s, -o, -p, -M, -r) apply to the preceding -t/-u.
// No service at all is fine: the table starts empty and lvsadm fills it. `-t` followed by
// nothing or by another option is keepalived's config test (--config-test), not a service:
// a VIP never starts with '-'.

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "bgp/bird.h"
#include "core/endpoint.h"
#include "core/log.h"
#include "core/result.h"
#include "dp/connlog/conn_log.h"
#include "dp/masq/masq.h"
#include "dp/proxy/options.h"
#include "model/service.h"

namespace lvs::bin {

// --xdp-mode: how the XDP engine attaches (auto: native, else generic with a log line).
enum class XdpMode : std::uint8_t { kAuto, kNative, kGeneric };

// --bgp-bird-socket, --bgp-vips-file, --bgp-drain-file, --birdc.
struct BgpFlags {
  bgp::BirdSettings bird{
      .fragment_path = "/run/lvsd/bird-vips.conf", .control_socket = "", .birdc = "birdc"};
  std::string drain_file = "/run/lvsd/bgp-drain";
  // --bgp-liveness-link: the TUN interface the VIP routes go through (bgp::LivenessLink), so
  // bird withdraws them when lvsd dies; "none": blackhole routes, announced while bird runs.
  std::string liveness_link = "lvsd-bgp";
};

struct LvsdConfig {
  dp::proxy::ProxyOptions proxy{};
  model::ServiceTable table{};
  std::string socket_path{};  // --socket; empty: $LVSD_SOCKET, else the default path
  core::LogLevel log_level = core::LogLevel::kInfo;
  bool help = false;
  std::string config_file{};         // -f: keepalived-style configuration
  bool config_test = false;          // -t without a value (keepalived's -t): check -f and exit
  std::uint32_t grace_seconds = 10;  // --grace: how long a stop waits for connections
  bool syslog = false;               // --syslog: log to syslog instead of stderr
  // --test-hooks (for the test suite only): run dp::fixture::TestDataPlane instead of the
  // proxy and accept `--test-hook` injection requests (docs/CONTROL-PROTOCOL.md).
  bool test_hooks = false;
  // --rise/--fall: HAProxy-style thresholds for every checker (0 = keepalived's: rise 1,
  // fall retry+1, no retries at start-up).
  std::uint32_t rise = 0;
  std::uint32_t fall = 0;
  // --check-jitter: each delay_loop spread over +-this percent of itself (0 = exact).
  std::uint32_t check_jitter_percent = 0;
  // --http-listen ADDR:PORT: the HTTP listener (/metrics, /api/v1/services); overrides
  // global_defs' http_listen. Unset: global_defs decides (off by default).
  std::optional<core::Endpoint> http_listen{};
  // --conn-log PATH|syslog, --conn-log-rate N: the connection log (dp/connlog); override
  // global_defs' conn_log / conn_log_rate. Unset: global_defs decides (off by default).
  std::optional<std::string> conn_log{};
  std::optional<std::uint32_t> conn_log_rate{};
  std::optional<dp::connlog::Facility> conn_log_facility{};  // --conn-log-facility
  // --api-token-file PATH: the HTTP write API's bearer token, read from this file at every
  // write request (never on the command line: ps shows it); overrides global_defs api_token.
  std::string api_token_file{};
  // Masquerading (-m): the fwmark and routing table of its state (--masq-fwmark, --masq-table).
  dp::masq::Settings masq{};
  // --cleanup: remove the masquerading state (of these settings), report it, exit.
  bool cleanup = false;
  // --print-lvs-conf FILE: print the lvs.conf's variables as lvsd reads them, exit.
  std::string print_lvs_conf{};
  // --vrrp-fifo PATH / --vrrp-instance NAME: follow keepalived's vrrp_notify_fifo (src/ha);
  // unset: global_defs lvsd_vrrp_fifo / lvsd_vrrp_instance decide (off by default).
  std::optional<std::string> vrrp_fifo{};
  std::optional<std::string> vrrp_instance{};
  // --gen-vrrp FILE: print the keepalived VRRP configuration for an lvs.conf, exit.
  std::string gen_vrrp{};
  // --xdp IFACE[,IFACE...]: run the XDP engine on these interfaces for the services whose
  // realservers are all -m (dp/dual); empty: the user-space data plane only. Overrides
  // global_defs' xdp_interfaces.
  std::vector<std::string> xdp_interfaces{};
  XdpMode xdp_mode = XdpMode::kAuto;
  std::uint32_t xdp_conn_max = 0;  // --xdp-conn-max: the engine's LRU entries; 0 = its default
  bool xdp_mode_set = false;
  // --cluster-seed N: mh's stateless cluster mode for every mh service (ctl::DirectorOptions).
  std::optional<std::uint32_t> cluster_seed{};
  // --sync-address ADDR: the unicast sync sockets' local address (ctl::SyncHooks::local).
  std::optional<core::IpAddress> sync_address{};
  // --bgp-*: announce the VIPs through bird (src/bgp); off while bgp.bird.control_socket is
  // empty.
  BgpFlags bgp{};
  // Which settings were given as flags (they override the file's global_defs).
  bool workers_set = false;
  bool log_level_set = false;
};

// Parses argv[1..]. Errors name the flag and its value: "realserver '127.0.0.1:99999': ...".
core::Result<LvsdConfig> parse_lvsd_flags(std::span<const std::string_view> args);
std::string lvsd_usage();

}  // namespace lvs::bin
