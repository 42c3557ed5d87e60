#pragma once
// Prometheus text exposition (format 0.0.4) of lvsd's state, from plain values: the listing
// (table + live counters, as `lvsadm -L -n --stats` shows them, relative to the last -Z), the
// process's resources and the configuration reloads. Pure: no I/O but read_process_stats().
//
// Names follow Prometheus' conventions: `lvsd_` prefix, `_total` counters, base units (bytes,
// seconds). Labels: a service is {protocol="tcp|udp", vip="ADDR", port="N"}; a fwmark service is
// {protocol="fwmark", fwmark="N", af="inet|inet6"} (it has neither VIP nor port); realserver
// series add real="ADDR:PORT" (IPv6 as "[ADDR]:PORT"); traffic counters have direction="in|out"
// (in = client -> realserver).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "ctl/config_apply.h"
#include "ctl/listing.h"
#include "dp/errors.h"
#include "dp/health.h"
#include "ha/follower.h"

namespace lvs::web {

// The process's own resources, read from /proc/self (Prometheus' standard process_* series).
struct ProcessStats {
  std::uint64_t resident_memory_bytes = 0;
  std::uint64_t virtual_memory_bytes = 0;
  std::uint64_t open_fds = 0;
  std::uint64_t max_fds = 0;      // the soft RLIMIT_NOFILE
  double cpu_seconds = 0;         // user + system
  double start_time_seconds = 0;  // since the Unix epoch

  bool operator==(const ProcessStats&) const = default;
};

// Reads /proc/self/stat, /proc/self/fd, /proc/stat (boot time) and the descriptor limit.
core::Result<ProcessStats> read_process_stats();

// Configuration reloads (SIGHUP, lvsadm --reload) of an lvsd started with -f.
struct ReloadStats {
  std::uint64_t success = 0;
  std::uint64_t failure = 0;
  bool last_successful = true;
  // When the running configuration was loaded (start-up or the last successful reload),
  // seconds since the Unix epoch.
  double last_success_seconds = 0;

  bool operator==(const ReloadStats&) const = default;
};

// The XDP engine's packets that were not forwarded as a flow, by reason (bpf/maps.h lvs_global),
// since lvsd started.
struct PacketEngineCounters {
  std::uint64_t passed = 0;             // rewritten, handed to the kernel (next hop unresolved)
  std::uint64_t refused = 0;            // new flow with no realserver to pick: dropped
  std::uint64_t unresolved = 0;         // -g: realserver MAC not known yet: dropped
  std::uint64_t unrouted = 0;           // -g: no route to the realserver: dropped
  std::uint64_t tunnel_dropped = 0;     // -i: no next hop, or over the MTU
  std::uint64_t midstream_dropped = 0;  // cluster mode: mid-stream segment of an unknown flow
  std::uint64_t standby_passed = 0;     // standing by (VRRP backup): handed to the kernel

  bool operator==(const PacketEngineCounters&) const = default;
};

struct MetricsInput {
  ctl::ListingInput listing{};
  std::string version{};
  std::optional<ProcessStats> process{};  // unset: no process_* series
  std::optional<ReloadStats> reloads{};   // unset (no -f): no lvsd_config_* series
  // The configured realservers' health (lvsd -f); unset: no health series. A realserver that
  // health took out of the table is here (up 0) though the listing no longer shows it.
  std::optional<ctl::HealthMap> health{};
  // Data-plane errors by kind (dp/errors.h); unset: no lvsd_dataplane_errors_total series.
  std::optional<dp::ErrorCounts> dataplane_errors{};
  // The followed VRRP instance (lvsd --vrrp-fifo); unset: no lvsd_vrrp_* series.
  std::optional<ha::FollowerStatus> vrrp{};
  // Whether each engine can forward (dp/health.h); unset: no lvsd_data_plane_up series.
  std::optional<std::vector<dp::EngineHealth>> data_plane{};
  // The XDP engine's counters (lvsd --xdp); unset: no lvsd_xdp_packets_total series.
  std::optional<PacketEngineCounters> packet_engine{};

  bool operator==(const MetricsInput&) const = default;
};

// The whole exposition text, families in a fixed order, services and realservers in listing
// order (`-L -n`).
std::string format_metrics(const MetricsInput& in);

// A label value as the exposition format wants it: backslash, double quote and newline
// escaped (\\, \", \n); everything else as is.
std::string escape_label_value(std::string_view value);

// The Content-Type of format_metrics()'s text.
inline constexpr std::string_view kMetricsContentType = "text/plain; version=0.0.4; charset=utf-8";

}  // namespace lvs::web
