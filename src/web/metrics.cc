#include "web/metrics.h"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <utility>
#include <vector>

#include <fmt/format.h>

namespace lvs::web {

namespace {

enum class Kind : std::uint8_t { kCounter, kGauge };

// One metric family: its HELP/TYPE header and its sample lines, printed only when it has any.
struct Family {
  std::string name{};
  Kind kind = Kind::kGauge;
  std::string help{};
  std::vector<std::string> samples{};

  template <typename V>
  void add(std::string_view labels, V value) {
    if (labels.empty()) {
      samples.push_back(fmt::format("{} {}", name, value));
    } else {
      samples.push_back(fmt::format("{}{{{}}} {}", name, labels, value));
    }
  }
};

std::string label(std::string_view name, std::string_view value) {
  return fmt::format("{}=\"{}\"", name, escape_label_value(value));
}

std::string join(std::string_view a, std::string_view b) {
  if (a.empty()) return std::string(b);
  if (b.empty()) return std::string(a);
  return fmt::format("{},{}", a, b);
}

std::string service_labels(const model::ServiceKey& k) {
  if (k.is_fwmark()) {
    return join(join(label("protocol", "fwmark"), label("fwmark", std::to_string(k.fwmark))),
                label("af", k.af == core::Family::kInet6 ? "inet6" : "inet"));
  }
  const std::string proto = k.protocol == model::Protocol::kUdp ? "udp" : "tcp";
  return join(join(label("protocol", proto), label("vip", k.vip.addr.to_string())),
              label("port", std::to_string(k.vip.port)));
}

// The families shared by services and realservers: connections, packets and bytes each way,
// active/inactive connections and the rate estimates.
struct TrafficFamilies {
  Family conns;
  Family failed;
  Family packets;
  Family bytes;
  Family active;
  Family inactive;
  Family cps;
  Family pps;
  Family bps;

  explicit TrafficFamilies(const std::string& prefix, const std::string& what)
      : conns{prefix + "_connections_total", Kind::kCounter,
              fmt::format("Connections (TCP) or flows (UDP) scheduled to {}.", what)},
        failed{prefix + "_failed_connections_total", Kind::kCounter,
               fmt::format("Connections to {} that the realserver refused or let time out.", what)},
        packets{prefix + "_packets_total", Kind::kCounter,
                fmt::format("Packets relayed for {}; in = client to realserver.", what)},
        bytes{prefix + "_bytes_total", Kind::kCounter,
              fmt::format("Bytes relayed for {}; in = client to realserver.", what)},
        active{prefix + "_active_connections", Kind::kGauge,
               fmt::format("Active (established) connections of {}.", what)},
        inactive{prefix + "_inactive_connections", Kind::kGauge,
                 fmt::format("Inactive connections of {} (not established, or lingering).", what)},
        cps{prefix + "_connections_per_second", Kind::kGauge,
            fmt::format("New connections per second of {} (the 2 s estimator).", what)},
        pps{prefix + "_packets_per_second", Kind::kGauge,
            fmt::format("Packets per second of {} (the 2 s estimator).", what)},
        bps{prefix + "_bytes_per_second", Kind::kGauge,
            fmt::format("Bytes per second of {} (the 2 s estimator).", what)} {}

  void add(const std::string& labels, const model::Counters& s, const model::Rates& r,
           std::uint64_t act, std::uint64_t inact) {
    const std::string in = join(labels, label("direction", "in"));
    const std::string out = join(labels, label("direction", "out"));
    conns.add(labels, s.conns);
    failed.add(labels, s.failed);
    packets.add(in, s.inpkts);
    packets.add(out, s.outpkts);
    bytes.add(in, s.inbytes);
    bytes.add(out, s.outbytes);
    active.add(labels, act);
    inactive.add(labels, inact);
    cps.add(labels, r.cps);
    pps.add(in, r.inpps);
    pps.add(out, r.outpps);
    bps.add(in, r.inbps);
    bps.add(out, r.outbps);
  }

  std::vector<Family*> all() {
    return {&conns, &failed, &packets, &bytes, &active, &inactive, &cps, &pps, &bps};
  }
};

void print(std::string& out, const Family& f) {
  if (f.samples.empty()) return;
  out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", f.name, f.help, f.name,
                     f.kind == Kind::kCounter ? "counter" : "gauge");
  for (const auto& s : f.samples) {
    out += s;
    out += '\n';
  }
}

// lvsd_health_check_duration_seconds (a histogram per realserver with finished probes) and
// lvsd_real_server_last_check_success.
void print_check_durations(std::string& out, const ctl::HealthMap& health) {
  std::string text;
  Family last{"lvsd_real_server_last_check_success", Kind::kGauge,
              "1 if the realserver's last finished health-check probe passed, else 0."};
  for (const auto& [key, state] : health) {
    if (state.checks == 0) continue;
    const std::string rl = join(service_labels(key.first), label("real", key.second.to_string()));
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i < ctl::kCheckDurationBuckets.size(); ++i) {
      cumulative += state.check_buckets.at(i);
      text += fmt::format("lvsd_health_check_duration_seconds_bucket{{{},le=\"{}\"}} {}\n", rl,
                          ctl::kCheckDurationBuckets.at(i), cumulative);
    }
    text += fmt::format("lvsd_health_check_duration_seconds_bucket{{{},le=\"+Inf\"}} {}\n", rl,
                        state.checks);
    text +=
        fmt::format("lvsd_health_check_duration_seconds_sum{{{}}} {}\n", rl, state.check_seconds);
    text += fmt::format("lvsd_health_check_duration_seconds_count{{{}}} {}\n", rl, state.checks);
    if (state.last_check_ok) last.add(rl, *state.last_check_ok ? 1 : 0);
  }
  if (!text.empty()) {
    out +=
        "# HELP lvsd_health_check_duration_seconds How long the realserver's health-check probes "
        "took, from start to verdict (timeouts included).\n"
        "# TYPE lvsd_health_check_duration_seconds histogram\n";
    out += text;
  }
  print(out, last);
}

}  // namespace

std::string escape_label_value(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (const char c : value) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '"':
        out += "\\\"";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string format_metrics(const MetricsInput& in) {
  std::string out;
  Family build{"lvsd_build_info", Kind::kGauge, "lvsd's version; the value is always 1."};
  build.add(label("version", in.version), 1);
  print(out, build);

  Family services{"lvsd_services", Kind::kGauge, "Virtual services in the running table."};
  services.add("", in.listing.services.size());
  print(out, services);

  TrafficFamilies svc("lvsd_service", "the virtual service");
  TrafficFamilies real("lvsd_real_server", "the realserver");
  Family weight{"lvsd_real_server_weight", Kind::kGauge,
                "Realserver weight in the running table (0 = quiesced)."};
  Family persist{"lvsd_real_server_persistent_connections", Kind::kGauge,
                 "Persistence templates pointing at the realserver."};
  for (const auto* v : ctl::sorted_services(in.listing)) {
    const std::string sl = service_labels(v->service.key);
    std::uint64_t act = 0;
    std::uint64_t inact = 0;
    for (const auto* d : ctl::sorted_dests(*v)) {
      const std::string rl = join(sl, label("real", d->dest.addr.to_string()));
      real.add(rl, d->stats, d->rates, d->active, d->inactive);
      weight.add(rl, d->dest.weight);
      persist.add(rl, d->persist);
      act += d->active;
      inact += d->inactive;
    }
    svc.add(sl, v->stats, v->rates, act, inact);
  }
  for (const auto* f : svc.all()) print(out, *f);
  for (const auto* f : real.all()) print(out, *f);
  print(out, weight);
  print(out, persist);

  if (in.health) {
    Family up{"lvsd_real_server_healthy", Kind::kGauge,
              "1 if the realserver's health checks pass (no checker: always 1), else 0."};
    Family transitions{"lvsd_real_server_health_transitions_total", Kind::kCounter,
                       "Health state changes (UP/DOWN) of the realserver since lvsd started."};
    for (const auto& [key, state] : *in.health) {
      const std::string rl = join(service_labels(key.first), label("real", key.second.to_string()));
      up.add(rl, state.up ? 1 : 0);
      transitions.add(rl, state.transitions);
    }
    print(out, up);
    print(out, transitions);
    print_check_durations(out, *in.health);
  }

  if (in.reloads) {
    const auto& r = *in.reloads;
    Family reloads{"lvsd_config_reloads_total", Kind::kCounter,
                   "Configuration reloads (SIGHUP, lvsadm --reload) by result."};
    reloads.add(label("result", "success"), r.success);
    reloads.add(label("result", "failure"), r.failure);
    print(out, reloads);
    Family last{"lvsd_config_last_reload_successful", Kind::kGauge,
                "1 if the last reload (or the start-up load) succeeded, else 0."};
    last.add("", r.last_successful ? 1 : 0);
    print(out, last);
    Family when{"lvsd_config_last_reload_success_timestamp_seconds", Kind::kGauge,
                "When the running configuration was loaded, seconds since the Unix epoch."};
    when.add("", fmt::format("{:.3f}", r.last_success_seconds));
    print(out, when);
  }

  if (in.dataplane_errors) {
    // Every kind is present (0 included), so rate() works from the first error on.
    std::string help = "Flows the data plane refused or lost since lvsd started, by kind:";
    for (std::size_t k = 0; k < dp::kErrorKinds; ++k) {
      help += fmt::format("{} {} = {}", k == 0 ? "" : ";", dp::kErrorKindInfo[k].name,
                          dp::kErrorKindInfo[k].help);
    }
    Family errors{"lvsd_dataplane_errors_total", Kind::kCounter, help + "."};
    for (std::size_t k = 0; k < dp::kErrorKinds; ++k) {
      errors.add(label("kind", dp::kErrorKindInfo[k].name), in.dataplane_errors->n[k]);
    }
    print(out, errors);
  }

  if (!in.listing.daemons.empty()) {
    // The connection-sync daemons (--start-daemon), by role.
    Family messages{"lvsd_sync_messages_total", Kind::kCounter,
                    "Connection-sync datagrams the daemon sent or accepted, by role."};
    Family errors{"lvsd_sync_errors_total", Kind::kCounter,
                  "Connection-sync datagrams that were malformed or could not be sent."};
    Family synced{"lvsd_sync_backup_synced", Kind::kGauge,
                  "1 once the backup received the master's whole table (a bulk resync), else 0."};
    for (const ctl::DaemonView& d : in.listing.daemons) {
      if (d.state == ctl::SyncState::kBackup) synced.add("", d.synced ? 1 : 0);
      const std::string role =
          label("role", d.state == ctl::SyncState::kMaster ? "master" : "backup");
      messages.add(join(role, label("direction", "sent")), d.sent_messages);
      messages.add(join(role, label("direction", "received")), d.received_messages);
      errors.add(role, d.errors);
    }
    print(out, messages);
    print(out, errors);
    print(out, synced);
  }

  if (in.vrrp) {
    // A state set: one series per role, 1 for the current one.
    Family role{"lvsd_vrrp_role", Kind::kGauge,
                "1 for lvsd's role as the followed keepalived VRRP instance decides it "
                "(MASTER and UNKNOWN, no role reported yet, serve the VIPs; BACKUP, FAULT and STOP "
                "serve nothing), else 0."};
    const auto il = label("instance", in.vrrp->instance);
    for (const auto r : {ha::Role::kMaster, ha::Role::kBackup, ha::Role::kFault, ha::Role::kStopped,
                         ha::Role::kUnknown}) {
      role.add(join(il, label("role", std::string(ha::role_name(r)))), in.vrrp->role == r ? 1 : 0);
    }
    print(out, role);
    Family changes{"lvsd_vrrp_role_changes_total", Kind::kCounter,
                   "Changes of lvsd's VRRP role since lvsd started."};
    changes.add(il, in.vrrp->transitions);
    print(out, changes);
  }

  if (in.data_plane) {
    Family up{"lvsd_data_plane_up", Kind::kGauge,
              "1 when the engine can forward (xdp: lvsd's program is attached to every "
              "interface it was given; proxy: every worker's loop turns), else 0 (lvsadm --check "
              "fails and BGP withdraws)."};
    for (const dp::EngineHealth& e : *in.data_plane)
      up.add(label("engine", e.engine), e.up() ? 1 : 0);
    print(out, up);
  }

  if (in.packet_engine) {
    const PacketEngineCounters& c = *in.packet_engine;
    Family packets{"lvsd_xdp_packets_total", Kind::kCounter,
                   "Packets the XDP engine did not forward as part of a flow, by reason: passed "
                   "(rewritten, handed to the kernel to resolve the next hop), refused (no "
                   "realserver for a new flow), unresolved and unrouted (-g: no MAC or no route "
                   "to the realserver), tunnel_dropped (-i: no next hop or over the MTU), "
                   "midstream_dropped (cluster mode: a mid-stream segment of an unknown flow), "
                   "standby_passed (standing by as a VRRP backup)."};
    for (const auto& [reason, n] :
         {std::pair{"passed", c.passed}, std::pair{"refused", c.refused},
          std::pair{"unresolved", c.unresolved}, std::pair{"unrouted", c.unrouted},
          std::pair{"tunnel_dropped", c.tunnel_dropped},
          std::pair{"midstream_dropped", c.midstream_dropped},
          std::pair{"standby_passed", c.standby_passed}}) {
      packets.add(label("reason", reason), n);
    }
    print(out, packets);
  }

  if (in.process) {
    const auto& p = *in.process;
    const std::pair<Family, std::string> proc[] = {
        {{"process_cpu_seconds_total", Kind::kCounter, "User and system CPU time spent."},
         fmt::format("{:.2f}", p.cpu_seconds)},
        {{"process_resident_memory_bytes", Kind::kGauge, "Resident memory size."},
         std::to_string(p.resident_memory_bytes)},
        {{"process_virtual_memory_bytes", Kind::kGauge, "Virtual memory size."},
         std::to_string(p.virtual_memory_bytes)},
        {{"process_open_fds", Kind::kGauge, "Open file descriptors."}, std::to_string(p.open_fds)},
        {{"process_max_fds", Kind::kGauge, "Limit on open file descriptors."},
         std::to_string(p.max_fds)},
        {{"process_start_time_seconds", Kind::kGauge,
          "Start time of the process, seconds since the Unix epoch."},
         fmt::format("{:.2f}", p.start_time_seconds)},
    };
    for (const auto& [family, value] : proc) {
      Family f = family;
      f.add("", value);
      print(out, f);
    }
  }
  return out;
}

namespace {

core::Result<std::string> read_file(const char* path) {
  std::ifstream f(path);
  if (!f) return core::fail(errno, fmt::format("cannot read {}: {}", path, std::strerror(errno)));
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

}  // namespace

core::Result<ProcessStats> read_process_stats() {
  ProcessStats p;
  auto stat = read_file("/proc/self/stat");
  if (!stat) return core::Unexpected{stat.error()};
  // The command name (field 2) may hold spaces and parentheses: fields restart after the last ')'.
  const auto close = stat->rfind(')');
  if (close == std::string::npos) return core::fail(EINVAL, "/proc/self/stat has no ')'");
  std::istringstream fields(stat->substr(close + 2));
  std::vector<std::string> f;
  for (std::string w; fields >> w;) f.push_back(w);
  // After ')': f[0] is field 3 (state); utime 14, stime 15, starttime 22, vsize 23, rss 24.
  if (f.size() < 22) return core::fail(EINVAL, "/proc/self/stat has too few fields");
  const auto num = [&](std::size_t field) { return std::stoull(f[field - 3]); };
  const auto ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  const auto page = static_cast<std::uint64_t>(sysconf(_SC_PAGESIZE));
  p.cpu_seconds = static_cast<double>(num(14) + num(15)) / ticks;
  p.virtual_memory_bytes = num(23);
  p.resident_memory_bytes = num(24) * page;

  auto boot = read_file("/proc/stat");
  if (!boot) return core::Unexpected{boot.error()};
  const auto btime = boot->find("\nbtime ");
  if (btime == std::string::npos) return core::fail(EINVAL, "/proc/stat has no btime line");
  const double boot_seconds = std::stod(boot->substr(btime + 7));
  p.start_time_seconds = boot_seconds + static_cast<double>(num(22)) / ticks;

  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) {
    return core::fail(errno, fmt::format("cannot list /proc/self/fd: {}", std::strerror(errno)));
  }
  std::uint64_t n = 0;
  while (const dirent* e = readdir(dir)) {
    if (e->d_name[0] != '.') ++n;
  }
  closedir(dir);
  p.open_fds = n > 0 ? n - 1 : 0;  // not counting the directory's own descriptor
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) == 0) p.max_fds = lim.rlim_cur;
  return p;
}

}  // namespace lvs::web
