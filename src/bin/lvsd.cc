// lvsd: the director daemon. Configured by a keepalived-style file (-f; health checks run on
// their own thread, daemon/supervisor.h) or by flags (bin/lvsd_flags.h; none: an empty table),
// running the user-space full-NAT data plane in the foreground, administered by lvsadm over the
// control socket (ctl/control_socket.h). The Director is internally synchronized: the control
// thread, the health thread and this main thread (signals) all call it.
//
// Masquerading (-m): the first Masq realserver makes lvsd install its nftables table and policy
// routing (dp/masq); every exit after that (stop, error) removes them again, and `lvsd
// --cleanup` removes what a killed lvsd left.
//
// --xdp IFACE,... (or global_defs xdp_interfaces): the XDP engine (dp/xdp) is loaded and
// attached to those interfaces at start (a missing privilege or interface: exit 1, saying
// which), forwards the services whose realservers are all -m, and the proxy the rest
// (dp/dual). A timer thread expires its idle flows once a second. Every exit path detaches it
// (the Engine's destructor).
//
// Signals (read with sigwait on the main thread): SIGHUP re-reads -f; SIGTERM/SIGINT stop
// gracefully: listeners close (new connections are refused), established connections get
// --grace seconds to finish, the omega notifiers run, exit 0. With $NOTIFY_SOCKET set (systemd
// Type=notify) READY=1, RELOADING=1 and STOPPING=1 are sent.

#include <cctype>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string_view>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "bgp/announcer.h"
#include "bin/lvsd_flags.h"
#include "bin/sd_notify.h"
#include "config/config.h"
#include "config/lvs_conf.h"
#include "core/clock.h"
#include "core/log.h"
#include "ctl/config_apply.h"
#include "ctl/control_socket.h"
#include "ctl/director.h"
#include "daemon/health_runner.h"
#include "daemon/supervisor.h"
#include "dp/connlog/conn_log.h"
#include "dp/dual/dual.h"
#include "dp/fixture/fixture.h"
#include "dp/health.h"
#include "dp/masq/masq.h"
#include "dp/proxy/net.h"
#include "dp/proxy/proxy.h"
#include "dp/xdp/loader.h"
#include "dp/xdp/plan.h"
#include "ha/follower.h"
#include "ha/vrrp_conf.h"
#include "health/rise_fall.h"
#include "sched/registry.h"
#include "sync/codec.h"
#include "web/http_server.h"

namespace {

using namespace lvs;  // NOLINT(google-build-using-namespace): this file's helpers only

// `lvsd -t -f FILE`: parse and validate, print warnings and the error, touch nothing. With
// --xdp (`xdp_flag`) or the file's xdp_interfaces, direct routing and tunnelling are served too.
int config_test(const std::string& path, bool xdp_flag) {
  auto cfg = daemon::read_config_file(path);
  if (cfg) {
    for (const auto& w : cfg->warnings) std::fprintf(stderr, "%s\n", w.to_string().c_str());
  }
  std::vector<model::ForwardMethod> served = ctl::DirectorOptions{}.served_methods;
  if (cfg && (xdp_flag || !cfg->global.xdp_interfaces.empty())) {
    served.push_back(model::ForwardMethod::kRoute);
    served.push_back(model::ForwardMethod::kTunnel);
  }
  core::Result<void> ok = cfg ? ctl::check_served_methods(*cfg, served)
                              : core::Result<void>(core::Unexpected{cfg.error()});
  if (!ok) {
    std::fprintf(stderr, "%s\n", ok.error().message.c_str());
    return 1;
  }
  std::printf("lvsd: configuration %s is valid: %zu services, %zu warnings\n", path.c_str(),
              cfg->table.services.size(), cfg->warnings.size());
  return 0;
}

// `lvsd --cleanup`: removes the masquerading state, says what it removed.
int cleanup(const dp::masq::Settings& settings) {
  if (!dp::masq::has_net_admin()) {
    std::fprintf(stderr,
                 "lvsd: --cleanup needs CAP_NET_ADMIN to look at and remove nftables tables, "
                 "ip rules and routes: run it as root\n");
    return 1;
  }
  auto removed = dp::masq::remove_all(settings);
  if (!removed) {
    std::fprintf(stderr, "lvsd: --cleanup: %s\n", removed.error().message.c_str());
    return 1;
  }
  if (removed->items.empty()) std::printf("lvsd: no masquerading state to remove\n");
  for (const auto& item : removed->items) std::printf("lvsd: removed %s\n", item.c_str());
  return 0;
}

// `lvsd --print-lvs-conf FILE`: the lvs.conf's variables as lvsd reads them (for lvs-director).
int print_lvs_conf(const std::string& path) {
  auto conf = config::load_lvs_conf(path, config::system_lookups());
  if (!conf) {
    std::fprintf(stderr, "lvsd: %s\n", conf.error().message.c_str());
    return 1;
  }
  std::fputs(config::lvs_conf_variables(*conf).c_str(), stdout);
  return 0;
}

// The fifo lvsd follows when none is given (`--gen-vrrp` writes it into keepalived's
// configuration; lvs-director passes the same path).
constexpr std::string_view kDefaultVrrpFifo = "/run/lvsd-vrrp.fifo";

// `lvsd --gen-vrrp FILE`: keepalived's VRRP configuration for an lvs.conf (ha/vrrp_conf.h).
// The track_script runs the lvsadm installed next to this lvsd, on this lvsd's socket.
int gen_vrrp(const bin::LvsdConfig& cfg) {
  auto conf = config::load_lvs_conf(cfg.gen_vrrp, config::system_lookups());
  if (!conf) {
    std::fprintf(stderr, "lvsd: %s\n", conf.error().message.c_str());
    return 1;
  }
  const auto& v = conf->vrrp;
  std::string iface = v.interface;
  if (iface.empty()) iface = conf->vip_if.substr(0, conf->vip_if.find(':'));
  std::string lvsadm = "lvsadm";
  std::error_code ec;
  const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) lvsadm = (self.parent_path() / "lvsadm").string();
  std::string check = lvsadm + " --check";
  std::string check_sync = lvsadm + " --check-sync";
  if (!cfg.socket_path.empty()) {
    check = "/usr/bin/env LVSD_SOCKET=" + cfg.socket_path + " " + check;
    check_sync = "/usr/bin/env LVSD_SOCKET=" + cfg.socket_path + " " + check_sync;
  }
  const ha::VrrpSettings settings{
      .instance = cfg.vrrp_instance.value_or(v.instance),
      .interface = iface,
      .vip = conf->vip,
      .vip_label = conf->vip_if.find(':') != std::string::npos ? conf->vip_if : std::string{},
      .peer = v.peer,
      .router_id = v.router_id,
      .priority = v.priority,
      .advert_centis = v.advert_centis,
      .preempt = v.preempt,
      .fifo = cfg.vrrp_fifo.value_or(std::string(kDefaultVrrpFifo)),
      .check_command = check,
      .sync_check_command = check_sync};
  auto text = ha::keepalived_vrrp_conf(settings);
  if (!text) {
    std::fprintf(stderr, "lvsd: %s: %s\n", cfg.gen_vrrp.c_str(), text.error().message.c_str());
    return 1;
  }
  std::fputs(text->c_str(), stdout);
  return 0;
}

// `lvsadm --ha-status`: the followed VRRP instance and what a change of director costs.
constexpr std::string_view kHaStatus = "--ha-status";

// The packet engine's mode for --ha-status (lvsd --xdp only).
struct PacketMode {
  bool standby = false;
  std::uint64_t standby_passed = 0;  // packets passed to the kernel while standing by
};

ctl::Reply ha_status(const ha::VrrpFollower* follower, std::optional<PacketMode> packet) {
  std::string out;
  if (follower == nullptr) {
    out = "VRRP: not followed (lvsd runs without --vrrp-fifo): this director serves its VIPs\n";
  } else {
    const auto s = follower->status();
    out = fmt::format(
        "VRRP instance {} via {}: {} ({})\n"
        "role changes: {}, unreadable fifo lines: {}\n"
        "last line: {}\n",
        s.instance, s.fifo, ha::role_name(s.role),
        !ha::serves(s.role)            ? "serving nothing"
        : s.role == ha::Role::kUnknown ? "no role reported yet: serving the VIPs"
                                       : "serving the VIPs",
        s.transitions, s.bad_lines, s.last_line.empty() ? "(none yet)" : s.last_line);
  }
  if (packet) {
    out += packet->standby ? fmt::format(
                                 "packet engine: standby ({} packets passed to the kernel "
                                 "untouched while standing by)\n",
                                 packet->standby_passed)
                           : std::string("packet engine: serving\n");
  }
  out +=
      "failover: the user-space engine's TCP connections do not survive a change of director "
      "(each one is a socket on this host); new connections go to the new master.\n";
  if (packet) {
    out +=
        "failover: the XDP engine's flows survive a change of director when both run the "
        "connection sync daemons (--start-daemon master and backup); otherwise the new master "
        "does not know them.\n";
  }
  return ctl::Reply{.out = out};
}

// `lvsadm --check`'s first question (lvsadm.cc): can the data plane forward (dp/health.h)?
constexpr std::string_view kCheckDataPlane = "--check-data-plane";

ctl::Reply check_data_plane(const std::vector<dp::EngineHealth>& engines) {
  if (!dp::forwards(engines)) {
    return ctl::Reply{
        .exit_code = 1,
        .err = "lvsd's data plane cannot forward: " + dp::problems_text(engines) + "\n"};
  }
  std::string names;
  for (const auto& e : engines) names += (names.empty() ? "" : ", ") + e.engine;
  return ctl::Reply{.out = fmt::format("lvsd's data plane forwards ({})\n",
                                       names.empty() ? std::string("test fixture") : names)};
}

// `lvsadm --check-sync`, keepalived's second track_script: ctl::sync_readiness.
constexpr std::string_view kCheckSync = "--check-sync";

// global_defs apply where no flag said otherwise.
void apply_global_defs(const config::GlobalDefs& g, bin::LvsdConfig& flags) {
  if (!flags.workers_set) flags.proxy.workers = g.workers;
  if (!flags.log_level_set) flags.log_level = g.log_level;
  if (!flags.http_listen) flags.http_listen = g.http_listen;
  if (flags.xdp_interfaces.empty()) flags.xdp_interfaces = g.xdp_interfaces;
  if (!flags.vrrp_fifo && !g.vrrp_fifo.empty()) flags.vrrp_fifo = g.vrrp_fifo;
  if (!flags.vrrp_instance && !g.vrrp_instance.empty()) flags.vrrp_instance = g.vrrp_instance;
  // NOLINTNEXTLINE(concurrency-mt-unsafe): read once at start-up
  const char* env = std::getenv("LVSD_SOCKET");
  const bool env_set = env != nullptr && *env != '\0';
  if (flags.socket_path.empty() && !env_set &&
      g.control_socket != config::GlobalDefs{}.control_socket) {
    flags.socket_path = g.control_socket;
  }
}

// The connection log's settings: flags win over global_defs.
dp::connlog::Settings conn_log_settings(const bin::LvsdConfig& flags, const config::GlobalDefs& g) {
  // The keyword was checked by the parser: parse_facility cannot fail on it.
  const auto facility = dp::connlog::parse_facility(g.conn_log_facility);
  return dp::connlog::Settings{.target = flags.conn_log.value_or(g.conn_log),
                               .rate = flags.conn_log_rate.value_or(g.conn_log_rate),
                               .facility = flags.conn_log_facility.value_or(
                                   facility ? *facility : dp::connlog::Facility::kDaemon)};
}

// --api-token-file: the file's content without trailing blanks and newlines; an error names the
// file and what to fix.
core::Result<std::string> read_token_file(const std::string& path) {
  std::ifstream in(path);
  std::string token((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (!in.good() && !in.eof()) {
    return core::fail(EINVAL, fmt::format("--api-token-file {}: cannot read it", path));
  }
  while (!token.empty() && std::isspace(static_cast<unsigned char>(token.back())) != 0) {
    token.pop_back();
  }
  if (token.empty() || token.find_first_of(" \t\r\n") != std::string::npos) {
    return core::fail(EINVAL, fmt::format("--api-token-file {}: the file must hold one token (no "
                                          "blanks inside), e.g. from `openssl rand -hex 32`",
                                          path));
  }
  return token;
}

// --xdp: loads the engine and attaches it to every interface, or says which one failed and
// what to do. The engine detaches from those it attached when it is destroyed.
// CLOCK_MONOTONIC (steady_clock on Linux), the clock of the packet engine's entries.
std::uint64_t steady_ns() {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                        std::chrono::steady_clock::now().time_since_epoch())
                                        .count());
}

core::Result<std::unique_ptr<dp::xdp::Engine>> start_xdp(const bin::LvsdConfig& cfg) {
  dp::xdp::Engine::LoadOptions load_options;
  if (cfg.xdp_conn_max != 0) load_options.max_conns = cfg.xdp_conn_max;
  // --cluster-seed: flows may reach this director mid-stream (ECMP); see LoadOptions::cluster.
  load_options.cluster = cfg.cluster_seed.has_value();
  auto engine = dp::xdp::Engine::load(load_options);
  if (!engine) return core::Unexpected{engine.error()};
  const auto policy = cfg.xdp_mode == bin::XdpMode::kNative    ? dp::xdp::AttachPolicy::kNative
                      : cfg.xdp_mode == bin::XdpMode::kGeneric ? dp::xdp::AttachPolicy::kGeneric
                                                               : dp::xdp::AttachPolicy::kAuto;
  for (const auto& ifname : cfg.xdp_interfaces) {
    // The lock tells a stale program (an lvsd killed with -9) from a running lvsd's.
    auto mode = (*engine)->attach_owned(ifname, policy, "/run/lvsd/xdp");
    if (!mode && mode.error().code == ENODEV) {
      return core::fail(
          ENODEV, mode.error().message + ": give the director's interfaces (`ip link` lists them)");
    }
    if (!mode) return core::Unexpected{mode.error()};
    core::log().info("lvsd: XDP engine attached to {} in {} mode", ifname,
                     *mode == dp::xdp::AttachMode::kNative ? "native" : "generic");
  }
  return std::move(engine).value();
}

// Calls `tick(now)` about once a second on its own thread until destroyed. The time comes from
// `clock` (steady_clock: CLOCK_MONOTONIC, the clock of the engine's bpf_ktime_get_ns).
class SecondTimer {
 public:
  SecondTimer(const core::Clock& clock, std::function<void(core::TimePoint)> tick)
      : thread_([&clock, tick = std::move(tick), this](const std::stop_token& stop) {
          std::unique_lock lock(mu_);
          while (!cv_.wait_for(lock, stop, std::chrono::seconds(1), [] { return false; })) {
            if (stop.stop_requested()) break;
            tick(clock.now());
          }
        }) {}

 private:
  std::mutex mu_;
  std::condition_variable_any cv_;
  std::jthread thread_;  // last: stopped and joined first
};

// `--test-hook` requests (docs/CONTROL-PROTOCOL.md, "Test hooks"): stdin is an injection text
// for the TestDataPlane; refused unless lvsd runs with --test-hooks.
constexpr std::string_view kTestHook = "--test-hook";

ctl::Reply test_hook(dp::fixture::TestDataPlane* fixture, const ctl::Request& req) {
  if (fixture == nullptr) {
    return ctl::Reply{.exit_code = 1,
                      .err =
                          "lvsd: --test-hook refused: this lvsd was not started with "
                          "--test-hooks (a hook for the test suite only)\n"};
  }
  if (req.argv.size() != 2) {
    return ctl::Reply{.exit_code = 1,
                      .err =
                          "lvsd: --test-hook takes no arguments: the injection text is the "
                          "request's input\n"};
  }
  if (auto r = fixture->inject(req.input); !r) {
    return ctl::Reply{.exit_code = 1, .err = "lvsd: " + r.error().message + "\n"};
  }
  return ctl::Reply{};
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string_view> args(argv + 1, argv + argc);
  auto cfg = bin::parse_lvsd_flags(args);
  if (!cfg) {
    std::fprintf(stderr, "lvsd: %s\n", cfg.error().message.c_str());
    return 2;
  }
  if (cfg->help) {
    std::fputs(bin::lvsd_usage().c_str(), stdout);
    return 0;
  }
  if (cfg->config_test) return config_test(cfg->config_file, !cfg->xdp_interfaces.empty());
  if (cfg->cleanup) return cleanup(cfg->masq);
  if (!cfg->print_lvs_conf.empty()) return print_lvs_conf(cfg->print_lvs_conf);
  if (!cfg->gen_vrrp.empty()) return gen_vrrp(*cfg);

  std::optional<config::Config> file;
  if (!cfg->config_file.empty()) {
    auto loaded = daemon::read_config_file(cfg->config_file);
    if (!loaded) {
      std::fprintf(stderr, "lvsd: %s\n", loaded.error().message.c_str());
      return 1;
    }
    apply_global_defs(loaded->global, *cfg);
    file = std::move(loaded).value();
  }
  core::init_logging(cfg->log_level, cfg->syslog);

  // Block the signals before any thread starts so only sigwait() below receives them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  const std::uint64_t nofile = dp::proxy::raise_nofile_limit();
  const core::SteadyClock clock;
  // Declared before the proxy so it is destroyed after it: the state goes once no worker runs.
  dp::masq::Routing masq(cfg->masq);
  if (!cfg->test_hooks && dp::masq::has_net_admin()) {
    // A crashed lvsd's masquerading state goes now, even if this run has no Masq realserver.
    if (auto old = dp::masq::remove_leftovers(cfg->masq); !old) {
      core::log().warn("lvsd: masquerading leftovers: {}", old.error().message);
    } else if (!old->items.empty()) {
      core::log().info("lvsd: removed masquerading leftovers of an earlier run: {}",
                       fmt::join(old->items, "; "));
    }
  }
  // The connection log outlives the proxy (declared before it): workers push into its queues.
  dp::connlog::ConnLog conn_log;
  if (auto r =
          conn_log.configure(conn_log_settings(*cfg, file ? file->global : config::GlobalDefs{}));
      !r) {
    std::fprintf(stderr, "lvsd: %s\n", r.error().message.c_str());
    return 1;
  }
  cfg->proxy.conn_log = &conn_log;
  // --test-hooks (the test suite only): a data plane that forwards nothing and reports what the
  // tests inject; otherwise the full-NAT proxy.
  std::unique_ptr<dp::proxy::Proxy> proxy;
  std::unique_ptr<dp::fixture::TestDataPlane> fixture;
  if (cfg->test_hooks) {
    fixture = std::make_unique<dp::fixture::TestDataPlane>();
    core::log().warn("lvsd: --test-hooks: forwarding nothing, for the test suite only");
  } else {
    auto created = dp::proxy::Proxy::create(cfg->proxy, clock);
    if (!created) {
      std::fprintf(stderr, "lvsd: %s\n", created.error().message.c_str());
      return 1;
    }
    proxy = std::move(created).value();
    proxy->set_masq([&masq](core::Family family) { return masq.ensure(family); });
  }
  // --xdp: the packet engine for -m services, the proxy for the rest (dp/dual).
  std::unique_ptr<dp::xdp::Engine> engine;
  std::unique_ptr<dp::dual::DualDataPlane> dual;
  std::unique_ptr<SecondTimer> expire_timer;
  if (!cfg->xdp_interfaces.empty() && proxy) {
    auto started = start_xdp(*cfg);
    if (!started) {
      std::fprintf(stderr, "lvsd: --xdp %s: %s\n",
                   fmt::format("{}", fmt::join(cfg->xdp_interfaces, ",")).c_str(),
                   started.error().message.c_str());
      return 1;
    }
    engine = std::move(started).value();
    // What the engine does not do yet (a scheduler, fwmark...) stays on the user-space path.
    dual = std::make_unique<dp::dual::DualDataPlane>(*engine, *proxy, dp::xdp::check_service);
    expire_timer = std::make_unique<SecondTimer>(
        clock, [d = dual.get(), e = engine.get(),
                midstream_seen = std::uint64_t{0}](core::TimePoint now) mutable {
          const auto ns =
              std::chrono::duration_cast<std::chrono::nanoseconds>(now.time_since_epoch());
          d->with_packet_engine([e, ns, &midstream_seen] {
            (void)e->expire(static_cast<std::uint64_t>(ns.count()));
            e->estimate_rates(static_cast<std::uint64_t>(ns.count()));
            (void)e->resolve_neighbours();  // direct routing: MACs the program lacked
            // Cluster mode: at most one line a second about segments it could not take over.
            const std::uint64_t dropped = e->midstream_dropped();
            if (dropped != midstream_seen) {
              core::log().info(
                  "XDP engine: {} TCP segments of flows this director never saw were dropped "
                  "(cluster mode takes over only mh services with -g or -i realservers)",
                  dropped - midstream_seen);
              midstream_seen = dropped;
            }
          });
        });
  } else if (!cfg->xdp_interfaces.empty()) {
    core::log().warn("lvsd: --xdp ignored with --test-hooks");
  }
  dp::DataPlane& plane = dual    ? static_cast<dp::DataPlane&>(*dual)
                         : proxy ? static_cast<dp::DataPlane&>(*proxy)
                                 : *fixture;
  // The one answer to "can the data plane forward?" (dp/health.h), for lvsadm --check, BGP,
  // /metrics and /api/v1/health. A second timer attaches the packet engine again where its
  // program was detached from outside lvsd, and logs each change of the answer.
  const auto data_plane_health = [&plane, &clock] { return plane.health(clock.now()); };
  auto health_timer =
      std::make_unique<SecondTimer>(clock, [d = dual.get(), e = engine.get(), &data_plane_health,
                                            last = std::string()](core::TimePoint /*now*/) mutable {
        if (e != nullptr) d->with_packet_engine([e] { (void)e->reattach(); });
        std::string now = dp::problems_text(data_plane_health());
        if (now == last) return;
        if (now.empty()) {
          core::log().warn("lvsd: the data plane forwards again");
        } else {
          core::log().error("lvsd: the data plane cannot forward: {}", now);
        }
        last = std::move(now);
      });
  const auto seconds = [](std::chrono::milliseconds d) {
    return static_cast<std::uint32_t>(std::chrono::duration_cast<std::chrono::seconds>(d).count());
  };
  std::unique_ptr<daemon::Supervisor> supervisor;
  ctl::DirectorOptions dopts{.scheduler_exists = sched::scheduler_exists,
                             .timeouts = {.tcp = seconds(cfg->proxy.tcp_established_timeout),
                                          .tcpfin = seconds(cfg->proxy.tcp_fin_timeout),
                                          .udp = seconds(cfg->proxy.udp_timeout)}};
  if (engine) {
    // --xdp: direct routing (-g) and tunnelling (-i) exist only in the packet engine.
    dopts.served_methods.push_back(model::ForwardMethod::kRoute);
    dopts.served_methods.push_back(model::ForwardMethod::kTunnel);
  }
  if (fixture) {
    dopts.served_methods = {model::ForwardMethod::kMasq, model::ForwardMethod::kLocal,
                            model::ForwardMethod::kTunnel, model::ForwardMethod::kRoute,
                            model::ForwardMethod::kFullNat};
  }
  if (file) {
    dopts.reload = [&supervisor]() -> ctl::Outcome {
      bin::sd_notify("RELOADING=1");
      auto r = supervisor->reload();
      bin::sd_notify("READY=1");
      if (!r) {
        return ctl::Outcome{.err = "lvsadm: --reload: " + r.error().message + "\n", .exit_code = 1};
      }
      return ctl::Outcome{.out = "lvsd: reloaded: " + *r + "\n"};
    };
  }
  dopts.cluster_seed = cfg->cluster_seed;
  // --start-daemon: the sync daemons read and write the packet engine under the dual data
  // plane's lock; with the proxy only they carry no flows (ctl/sync_control.h).
  ctl::SyncHooks sync_hooks;
  sync_hooks.local = cfg->sync_address;
  if (dual) {
    sync_hooks.source = [d = dual.get(), e = engine.get()] {
      std::vector<sync::Entry> out;
      d->with_packet_engine([&] { out = e->sync_entries(steady_ns()); });
      return out;
    };
    sync_hooks.sink = [d = dual.get(), e = engine.get()](const std::vector<sync::Entry>& in) {
      d->with_packet_engine([&] {
        const std::uint64_t now = steady_ns();
        for (const sync::Entry& x : in) {
          if (auto r = e->sync_import(x, now); !r) core::log().debug("{}", r.error().message);
        }
      });
    };
  }
  ctl::SyncControl sync_control(std::move(sync_hooks));
  dopts.sync = &sync_control;
  ctl::Director director(plane, std::move(dopts));
  if (file) {
    daemon::HealthRunnerOptions hopts{};
    hopts.monitor.jitter_percent = cfg->check_jitter_percent;
    if (cfg->rise != 0 || cfg->fall != 0) {
      // HAProxy-style: both counted from start-up, no fail-fast first probe.
      hopts.monitor.counts = health::RiseFallCounts{.rise = cfg->rise != 0 ? cfg->rise : 1,
                                                    .fall = cfg->fall != 0 ? cfg->fall : 1,
                                                    .fail_fast_at_start = false};
    }
    supervisor = std::make_unique<daemon::Supervisor>(director, cfg->config_file, hopts);
    // A reload applies conn_log / conn_log_rate (unless a flag set them); a file that cannot be
    // opened keeps the running log.
    supervisor->on_reloaded([&conn_log, &cfg](const config::Config& next) {
      const auto want = conn_log_settings(*cfg, next.global);
      if (want == conn_log.settings()) return;
      if (auto r = conn_log.configure(want); !r) {
        core::log().error("reload: {}; the connection log stays as it was", r.error().message);
      } else {
        core::log().info("reload: conn_log is now {} at {} lines/s",
                         want.target.empty() ? std::string("off") : want.target, want.rate);
      }
    });
    if (auto r = supervisor->start(*file); !r) {
      std::fprintf(stderr, "lvsd: %s\n", r.error().message.c_str());
      return 1;
    }
  } else if (auto r = director.start(cfg->table); !r) {
    std::fprintf(stderr, "lvsd: %s\n", r.error().message.c_str());
    return 1;
  }
  // --vrrp-fifo (or global_defs lvsd_vrrp_fifo): follow keepalived. The packet engine serves
  // or stands by as ha::serves says (serving until a role is heard). The proxy's listeners
  // stay open in every role: the VIP is keepalived's, so on a backup the kernel delivers
  // nothing to them (bound with IP_FREEBIND), and they are ready the moment the VIP arrives.
  // The role is also reported (lvsadm --ha-status, /metrics, /api/v1/health).
  std::unique_ptr<ha::VrrpFollower> follower;
  if (cfg->vrrp_fifo) {
    auto started = ha::VrrpFollower::start(
        *cfg->vrrp_fifo, cfg->vrrp_instance.value_or("VI_LVSD"),
        [d = dual.get(), e = engine.get()](ha::Role from, ha::Role to) {
          const bool standby = !ha::serves(to);
          std::string packet;
          if (e != nullptr) {
            core::Result<void> r;
            d->with_packet_engine([&] {
              if (e->standby() != standby) r = e->set_standby(standby);
            });
            packet = !r        ? "; the packet engine's mode was not changed: " + r.error().message
                     : standby ? "; packet engine standing by"
                               : "; packet engine serving";
          }
          core::log().warn("lvsd: VRRP role {} -> {}: {}{}", ha::role_name(from), ha::role_name(to),
                           standby ? "serving nothing" : "serving the VIPs", packet);
        });
    if (!started) {
      std::fprintf(stderr, "lvsd: %s\n", started.error().message.c_str());
      if (supervisor) supervisor->stop(false);
      return 1;
    }
    follower = std::move(started).value();
  }
  auto server = ctl::ControlServer::start(
      ctl::control_socket_path(cfg->socket_path),
      [&director, &fixture, &follower, &sync_control, &data_plane_health, d = dual.get(),
       e = engine.get()](const ctl::Request& req) {
        if (req.argv.size() >= 2 && req.argv[1] == kTestHook) return test_hook(fixture.get(), req);
        if (req.argv.size() >= 2 && req.argv[1] == kHaStatus) {
          std::optional<PacketMode> packet;
          if (e != nullptr) {
            d->with_packet_engine([&] {
              packet = PacketMode{.standby = e->standby(), .standby_passed = e->standby_passed()};
            });
          }
          return ha_status(follower.get(), packet);
        }
        if (req.argv.size() == 2 && req.argv[1] == kCheckDataPlane) {
          return check_data_plane(data_plane_health());
        }
        if (req.argv.size() == 2 && req.argv[1] == kCheckSync) {
          const auto o = ctl::sync_readiness(sync_control.views());
          return ctl::Reply{.exit_code = o.exit_code, .out = o.out, .err = o.err};
        }
        const auto o = director.run(req.argv, req.input);
        return ctl::Reply{.exit_code = o.exit_code, .out = o.out, .err = o.err};
      });
  if (!server) {
    std::fprintf(stderr, "lvsd: %s\n", server.error().message.c_str());
    if (supervisor) supervisor->stop(false);  // the health thread calls the Director
    return 1;
  }
  // The HTTP listener (--http-listen / global_defs http_listen): its own threads, reading the
  // Director. Bound once: a reload that changes http_listen logs that a restart is needed.
  std::unique_ptr<web::HttpServer> http;
  if (cfg->http_listen && !cfg->api_token_file.empty()) {
    if (auto t = read_token_file(cfg->api_token_file); !t) {
      std::fprintf(stderr, "lvsd: %s\n", t.error().message.c_str());
      (*server)->stop();
      if (supervisor) supervisor->stop(false);
      return 1;
    }
  }
  if (cfg->http_listen) {
    web::Sources sources{
        .listing = [&director] { return director.listing(); },
        .process = []() -> std::optional<web::ProcessStats> {
          auto p = web::read_process_stats();
          return p ? std::optional<web::ProcessStats>(*p) : std::nullopt;
        },
        .reloads = [&supervisor]() -> std::optional<web::ReloadStats> {
          if (!supervisor) return std::nullopt;
          const auto r = supervisor->reload_stats();
          const std::chrono::duration<double> since_epoch = r.loaded_at.time_since_epoch();
          return web::ReloadStats{.success = r.success,
                                  .failure = r.failure,
                                  .last_successful = r.last_successful,
                                  .last_success_seconds = since_epoch.count()};
        },
        .health = [&supervisor]() -> std::optional<ctl::HealthMap> {
          if (!supervisor) return std::nullopt;
          return supervisor->health();
        },
        .version = std::string(web::lvsd_version()),
        .dataplane_errors = [&plane]() -> std::optional<dp::ErrorCounts> { return plane.errors(); },
        .vrrp = [&follower]() -> std::optional<ha::FollowerStatus> {
          if (!follower) return std::nullopt;
          return follower->status();
        },
        .data_plane = data_plane_health,
        .packet_engine = [d = dual.get(),
                          e = engine.get()]() -> std::optional<web::PacketEngineCounters> {
          if (e == nullptr) return std::nullopt;
          lvs_global g{};
          d->with_packet_engine([&] { g = e->totals(); });
          return web::PacketEngineCounters{.passed = g.passed,
                                           .refused = g.refused,
                                           .unresolved = g.unresolved,
                                           .unrouted = g.unrouted,
                                           .tunnel_dropped = g.tun_dropped,
                                           .midstream_dropped = g.midstream_dropped,
                                           .standby_passed = g.standby_passed};
        },
        // Writes: the lvsadm path, and the token of --api-token-file (read at
        // each write, so rotating it needs no reload) or of global_defs.
        .run = [&director](const std::vector<std::string>& words) { return director.run(words); },
        .api_token = [&supervisor, file = cfg->api_token_file]() -> std::string {
          if (!file.empty()) {
            auto t = read_token_file(file);
            if (t) return *t;
            core::log().warn("http: write refused: {}", t.error().message);
            return {};
          }
          return supervisor ? supervisor->api_token() : std::string{};
        }};
    auto started = web::HttpServer::start(*cfg->http_listen, std::move(sources));
    if (!started) {
      std::fprintf(stderr, "lvsd: %s\n", started.error().message.c_str());
      (*server)->stop();
      if (supervisor) supervisor->stop(false);
      return 1;
    }
    http = std::move(started).value();
  }
  // BGP (--bgp-bird-socket): announce what this director serves; withdrawn first on stop.
  std::optional<bgp::LivenessLink> liveness;  // declared first: outlives the announcer
  std::unique_ptr<bgp::Announcer> announcer;
  if (!cfg->bgp.bird.control_socket.empty()) {
    bgp::BirdSettings bird = cfg->bgp.bird;
    if (!cfg->bgp.liveness_link.empty()) {
      auto link = bgp::LivenessLink::create(cfg->bgp.liveness_link);
      if (!link) {
        std::fprintf(stderr, "lvsd: %s\n", link.error().message.c_str());
        if (http) http->stop();
        (*server)->stop();
        if (supervisor) supervisor->stop(false);
        return 1;
      }
      liveness.emplace(std::move(link).value());
      bird.via_interface = liveness->name();
    }
    announcer = std::make_unique<bgp::Announcer>(bgp::AnnouncerOptions{
        .bird = bird,
        .drain_file = cfg->bgp.drain_file,
        .period = std::chrono::milliseconds(100),
        .table = [&director] { return director.table(); },
        .data_plane_ok = [&data_plane_health] { return dp::forwards(data_plane_health()); }});
    announcer->start();
  }
  const auto table = director.table();
  core::log().info("lvsd: {} workers, {} services, file descriptor limit {}, control socket {}",
                   proxy ? proxy->workers() : 0, table.services.size(), nofile, (*server)->path());
  for (const auto& svc : table.services) {
    core::log().info("{} {} with {} realservers", svc.key.to_string(), svc.scheduler,
                     svc.dests.size());
  }
  bin::sd_notify("READY=1");
  int sig = 0;
  for (;;) {
    sigwait(&signals, &sig);
    if (sig != SIGHUP) break;
    conn_log.reopen();  // logrotate's postrotate signal
    if (!supervisor) {
      core::log().warn("lvsd: SIGHUP ignored: started without a configuration file (-f)");
      continue;
    }
    bin::sd_notify("RELOADING=1");
    (void)supervisor->reload();  // logs its outcome
    bin::sd_notify("READY=1");
  }
  bin::sd_notify("STOPPING=1");
  if (announcer) announcer->stop();  // routers move new flows away before the grace period
  core::log().info("lvsd: signal {}, stopping: no new connections, {} s for open ones", sig,
                   cfg->grace_seconds);
  director.stop_accepting();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(cfg->grace_seconds);
  std::uint64_t open = director.open_connections();
  while (open != 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    open = director.open_connections();
  }
  if (open != 0) {
    core::log().warn("lvsd: grace period over, closing {} open connections", open);
  }
  if (supervisor) supervisor->stop(true);  // omega notifiers
  if (http) http->stop();
  (*server)->stop();
  sync_control.stop_all();         // before the engine its threads read and write goes
  if (follower) follower->stop();  // its role changes call the engine
  health_timer.reset();
  expire_timer.reset();
  if (engine) {
    engine.reset();  // detaches from every interface
    core::log().info("lvsd: XDP engine detached from {}", fmt::join(cfg->xdp_interfaces, ", "));
  }
  if (proxy) proxy->stop();
  if (masq.installed()) {
    if (auto removed = masq.remove(); !removed) {
      core::log().error("lvsd: masquerading state: {}", removed.error().message);
    } else {
      for (const auto& item : removed->items) core::log().info("lvsd: removed {}", item);
    }
  }
  core::log().info("lvsd: stopped");
  return 0;
}
