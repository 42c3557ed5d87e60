#include "bin/lvsd_flags.h"

#include <charconv>
#include <functional>
#include <optional>
#include <vector>

#include <fmt/format.h>

#include "bin/long_flag.h"
#include "dp/connlog/conn_log.h"
#include "model/table_ops.h"
#include "sched/registry.h"

namespace lvs::bin {

namespace {

using core::fail;
using core::Result;
using std::chrono::milliseconds;

struct State {
  LvsdConfig cfg{};
  std::optional<model::ServiceKey> current{};  // the service -s/-o/-r apply to
};

using Handler = std::function<Result<void>(State&, std::string_view value)>;

struct Flag {
  std::string_view long_name;
  std::string_view short_name;  // empty: none
  std::string_view arg;         // empty: takes no value
  std::string_view help;
  Handler handle;
};

Result<std::uint64_t> parse_uint(std::string_view text, std::string_view what, std::uint64_t max) {
  std::uint64_t v = 0;
  const auto* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, v);
  if (text.empty() || ec != std::errc{} || ptr != end || v > max) {
    return fail(EINVAL, fmt::format("{} '{}' is not a number in 0..{}", what, text, max));
  }
  return v;
}

// "90" or "90s" = seconds, "250ms" = milliseconds.
Result<milliseconds> parse_duration(std::string_view text, std::string_view what) {
  std::uint64_t scale = 1000;
  std::string_view num = text;
  if (num.ends_with("ms")) {
    scale = 1;
    num.remove_suffix(2);
  } else if (num.ends_with("s")) {
    num.remove_suffix(1);
  }
  auto v = parse_uint(num, what, 100'000'000);
  if (!v || *v == 0) {
    return fail(EINVAL, fmt::format("{} '{}' is not a duration like 90, 90s or 250ms", what, text));
  }
  return milliseconds(static_cast<milliseconds::rep>(*v * scale));
}

Result<void> add_service(State& st, model::Protocol proto, std::string_view value) {
  auto ep = core::Endpoint::parse(value);
  if (!ep) return fail(EINVAL, fmt::format("service '{}': {}", value, ep.error().message));
  model::VirtualService svc{.key = model::ServiceKey::address(proto, *ep)};
  svc.netmask = model::default_netmask(svc.key.af);
  svc.scheduler = "wlc";
  if (auto r = model::add_service(st.cfg.table, svc, sched::scheduler_exists); !r) {
    return fail(r.error().code, fmt::format("service '{}': {}", value, r.error().message));
  }
  st.current = svc.key;
  return {};
}

Result<model::VirtualService*> current_service(State& st, std::string_view flag) {
  if (!st.current) {
    return fail(EINVAL, fmt::format("{} must follow a service (-t or -u)", flag));
  }
  return st.cfg.table.find(*st.current);
}

Result<void> add_real(State& st, std::string_view value) {
  auto svc = current_service(st, "-r");
  if (!svc) return core::Unexpected{svc.error()};
  const auto bad = [&](const core::Error& e) {
    return fail(e.code, fmt::format("realserver '{}': {}", value, e.message));
  };
  std::string_view addr = value;
  std::string_view opts;
  if (const auto comma = value.find(','); comma != std::string_view::npos) {
    addr = value.substr(0, comma);
    opts = value.substr(comma + 1);
  }
  auto ep = core::Endpoint::parse(addr, (*svc)->key.vip.port);
  if (!ep) return bad(ep.error());
  model::RealServer real{.addr = *ep, .forward = model::ForwardMethod::kFullNat};
  while (!opts.empty()) {
    const auto comma = opts.find(',');
    const std::string_view opt = opts.substr(0, comma);
    opts = comma == std::string_view::npos ? std::string_view{} : opts.substr(comma + 1);
    const auto eq = opt.find('=');
    const std::string_view key = opt.substr(0, eq);
    const std::string_view val = eq == std::string_view::npos ? "" : opt.substr(eq + 1);
    if ((key == "masq" || key == "m" || key == "fullnat") && eq == std::string_view::npos) {
      real.forward =
          key == "fullnat" ? model::ForwardMethod::kFullNat : model::ForwardMethod::kMasq;
    } else if (key == "weight" || key == "w") {
      auto w = parse_uint(val, "weight", 65535);
      if (!w) return bad(w.error());
      real.weight = static_cast<std::int32_t>(*w);
    } else if (key == "x" || key == "u-threshold") {
      auto u = parse_uint(val, "upper threshold", 65535);
      if (!u) return bad(u.error());
      real.u_threshold = static_cast<std::uint32_t>(*u);
    } else if (key == "y" || key == "l-threshold") {
      auto l = parse_uint(val, "lower threshold", 65535);
      if (!l) return bad(l.error());
      real.l_threshold = static_cast<std::uint32_t>(*l);
    } else if (key == "proxy") {
      if (val == "v1") {
        real.proxy_protocol = model::ProxyProtocol::kV1;
      } else if (val == "v2") {
        real.proxy_protocol = model::ProxyProtocol::kV2;
      } else {
        return bad(core::Error{EINVAL, fmt::format("proxy '{}' is not v1 or v2", val)});
      }
      if (real.proxy_protocol == model::ProxyProtocol::kV1 &&
          (*svc)->key.protocol == model::Protocol::kUdp) {
        return bad(core::Error{EINVAL, "PROXY protocol v1 has no UDP form; use proxy=v2"});
      }
    } else {
      return bad(core::Error{
          EINVAL,
          fmt::format("unknown option '{}' (known: masq, fullnat, weight=, x=, y=, proxy=)", opt)});
    }
  }
  if (auto r = model::add_dest(st.cfg.table, (*svc)->key, real); !r) return bad(r.error());
  return {};
}

// -p [SECONDS]: persistence with ipvsadm's default timeout (360 s) or the one given.
Result<void> set_persistent(State& st, std::string_view value) {
  auto svc = current_service(st, "-p");
  if (!svc) return core::Unexpected{svc.error()};
  std::uint32_t timeout = model::kDefaultPersistenceTimeout;
  if (!value.empty()) {
    auto t = parse_uint(value, "persistence timeout", model::kMaxPersistenceTimeout);
    if (!t || *t == 0) {
      return fail(EINVAL, fmt::format("persistence timeout '{}' is not a number in 1..{}", value,
                                      model::kMaxPersistenceTimeout));
    }
    timeout = static_cast<std::uint32_t>(*t);
  }
  (*svc)->persistent = true;
  (*svc)->timeout = timeout;
  return {};
}

// -M MASK: an IPv4 netmask (255.255.255.0) or an IPv6 prefix length (1..128).
Result<void> set_netmask(State& st, std::string_view value) {
  auto svc = current_service(st, "-M");
  if (!svc) return core::Unexpected{svc.error()};
  if ((*svc)->key.af == core::Family::kInet4) {
    auto ip = core::IpAddress::parse(value);
    const std::uint32_t m = ip && ip->is_v4() ? ip->v4_host() : 0;
    // A netmask is contiguous ones from the top: its complement plus one is a power of two.
    const std::uint32_t rest = ~m;
    if (!ip || !ip->is_v4() || m == 0 || (rest & (rest + 1)) != 0) {
      return fail(EINVAL,
                  fmt::format("netmask '{}' is not an IPv4 netmask like 255.255.255.0", value));
    }
    (*svc)->netmask = m;
    return {};
  }
  auto prefix = parse_uint(value, "IPv6 prefix length", 128);
  if (!prefix || *prefix == 0) {
    return fail(EINVAL, fmt::format("netmask '{}' is not an IPv6 prefix length in 1..128", value));
  }
  (*svc)->netmask = static_cast<std::uint32_t>(*prefix);
  return {};
}

// A 32-bit number in decimal or 0x hex (marks are usually written in hex).
Result<std::uint32_t> parse_mark(std::string_view text, std::string_view flag) {
  std::string_view digits = text;
  int base = 10;
  if (digits.starts_with("0x") || digits.starts_with("0X")) {
    digits.remove_prefix(2);
    base = 16;
  }
  std::uint64_t v = 0;
  const auto* end = digits.data() + digits.size();
  const auto [ptr, ec] = std::from_chars(digits.data(), end, v, base);
  if (digits.empty() || ec != std::errc{} || ptr != end || v > 0xFFFFFFFFU) {
    return fail(EINVAL, fmt::format("{} '{}' is not a number in 1..4294967295 (decimal or 0x hex)",
                                    flag, text));
  }
  return static_cast<std::uint32_t>(v);
}

template <typename F>
Handler duration_into(std::string_view what, F field) {
  return [what, field](State& st, std::string_view v) -> Result<void> {
    auto d = parse_duration(v, what);
    if (!d) return core::Unexpected{d.error()};
    st.cfg.proxy.*field = *d;
    return {};
  };
}

const std::vector<Flag>& flags() {
  using dp::proxy::ProxyOptions;
  static const std::vector<Flag> kFlags = {
      {"--tcp-service", "-t", "VIP:PORT", "add a TCP virtual service (IPv6: [addr]:port)",
       [](State& st, std::string_view v) { return add_service(st, model::Protocol::kTcp, v); }},
      {"--udp-service", "-u", "VIP:PORT", "add a UDP virtual service",
       [](State& st, std::string_view v) { return add_service(st, model::Protocol::kUdp, v); }},
      {"--scheduler", "-s", "NAME", "scheduler of the preceding service (default wlc)",
       [](State& st, std::string_view v) -> Result<void> {
         auto svc = current_service(st, "-s");
         if (!svc) return core::Unexpected{svc.error()};
         if (auto m = sched::make_scheduler(v); !m) return core::Unexpected{m.error()};
         (*svc)->scheduler = std::string(v);
         return {};
       }},
      {"--ops", "-o", "", "one-packet scheduling for the preceding UDP service",
       [](State& st, std::string_view) -> Result<void> {
         auto svc = current_service(st, "-o");
         if (!svc) return core::Unexpected{svc.error()};
         if ((*svc)->key.protocol != model::Protocol::kUdp) {
           return fail(EINVAL, "-o (one-packet scheduling) applies to UDP services only");
         }
         (*svc)->one_packet = true;
         return {};
       }},
      {"--persistent", "-p", "[SECONDS]",
       "persistence for the preceding service: a client network keeps its realserver "
       "(default 360)",
       set_persistent},
      {"--netmask", "-M", "MASK",
       "persistence granularity of the preceding service (IPv4 mask, IPv6 prefix length)",
       set_netmask},
      {"--max-conns", "", "N",
       "connection cap of the preceding service: more are reset (default 0 = none)",
       [](State& st, std::string_view v) -> Result<void> {
         auto svc = current_service(st, "--max-conns");
         if (!svc) return core::Unexpected{svc.error()};
         auto n = parse_uint(v, "connection cap", 0xFFFFFFFFU);
         if (!n) return core::Unexpected{n.error()};
         (*svc)->conn_limit = static_cast<std::uint32_t>(*n);
         return {};
       }},
      {"--real-server", "-r", "ADDR:PORT[,masq][,weight=N][,x=N][,y=N][,proxy=v1|v2]",
       "add a realserver to the preceding service (full-NAT; ,masq: masquerading, needs root)",
       add_real},
      {"--workers", "-w", "N", "worker threads (default: one per core)",
       [](State& st, std::string_view v) -> Result<void> {
         auto n = parse_uint(v, "workers", 256);
         if (!n) return core::Unexpected{n.error()};
         st.cfg.proxy.workers = static_cast<unsigned>(*n);
         st.cfg.workers_set = true;
         return {};
       }},
      {"--connect-timeout", "", "DURATION", "realserver connect timeout (default 5s)",
       duration_into("connect timeout", &ProxyOptions::connect_timeout)},
      {"--tcp-timeout", "", "DURATION", "idle timeout of established TCP (default 900s)",
       duration_into("tcp timeout", &ProxyOptions::tcp_established_timeout)},
      {"--tcpfin-timeout", "", "DURATION", "idle timeout once a side sent FIN (default 120s)",
       duration_into("tcpfin timeout", &ProxyOptions::tcp_fin_timeout)},
      {"--udp-timeout", "", "DURATION", "idle timeout of a UDP flow (default 300s)",
       duration_into("udp timeout", &ProxyOptions::udp_timeout)},
      {"--time-wait-linger", "", "DURATION",
       "how long a TCP connection ended by FINs stays listed as TIME_WAIT, counted inactive "
       "(default 120s)",
       duration_into("time-wait linger", &ProxyOptions::linger_time_wait)},
      {"--close-linger", "", "DURATION",
       "how long a TCP connection ended by a reset stays listed as CLOSE, counted inactive "
       "(default 10s)",
       duration_into("close linger", &ProxyOptions::linger_close)},
      {"--linger-max", "", "N",
       "most ended connections each worker keeps as TIME_WAIT/CLOSE; the one nearest expiry "
       "goes first (default 262144, 0 = none)",
       [](State& st, std::string_view v) -> Result<void> {
         auto n = parse_uint(v, "linger max", 1U << 26U);
         if (!n) return core::Unexpected{n.error()};
         st.cfg.proxy.linger_max = static_cast<std::size_t>(*n);
         return {};
       }},
      {"--pipe-size", "", "BYTES", "splice pipe size per direction (default 1048576)",
       [](State& st, std::string_view v) -> Result<void> {
         auto n = parse_uint(v, "pipe size", 1U << 24U);
         if (!n || *n < 4096) {
           return fail(EINVAL, fmt::format("pipe size '{}' is not a number in 4096..16777216", v));
         }
         st.cfg.proxy.pipe_size = static_cast<int>(*n);
         return {};
       }},
      {"--socket-buffer", "", "BYTES", "SO_SNDBUF/SO_RCVBUF of proxied sockets (0 = autotune)",
       [](State& st, std::string_view v) -> Result<void> {
         auto n = parse_uint(v, "socket buffer", 1U << 26U);
         if (!n) return core::Unexpected{n.error()};
         st.cfg.proxy.socket_buffer = static_cast<int>(*n);
         return {};
       }},
      {"--relay-memory", "", "MIB",
       "relay memory budget: pipe/buffer capacity all connections may hold; past it new "
       "connections are refused (default 0 = no budget)",
       [](State& st, std::string_view v) -> Result<void> {
         auto n = parse_uint(v, "relay memory", 1U << 20U);
         if (!n) return core::Unexpected{n.error()};
         st.cfg.proxy.relay_memory_budget = *n << 20U;
         return {};
       }},
      {"--no-splice", "", "", "copy through a bounded buffer instead of splice(2)",
       [](State& st, std::string_view) -> Result<void> {
         st.cfg.proxy.splice = false;
         return {};
       }},
      {"--udp-keep-flows", "", "", "keep a UDP flow on its realserver after it was deleted",
       [](State& st, std::string_view) -> Result<void> {
         st.cfg.proxy.udp_reschedule = dp::proxy::UdpReschedule::kNever;
         return {};
       }},
      {"--udp-reschedule-quiesced", "", "", "also move UDP flows off realservers of weight 0",
       [](State& st, std::string_view) -> Result<void> {
         st.cfg.proxy.udp_reschedule = dp::proxy::UdpReschedule::kWhenRemovedOrQuiesced;
         return {};
       }},
      {"--socket", "", "PATH",
       "control socket for lvsadm (default $LVSD_SOCKET, else /run/lvsd/lvsd.sock)",
       [](State& st, std::string_view v) -> Result<void> {
         if (v.empty()) return fail(EINVAL, "--socket needs a path");
         st.cfg.socket_path = std::string(v);
         return {};
       }},
      {"--http-listen", "", "ADDR:PORT",
       "serve the status page /, /metrics (Prometheus) and the JSON API /api/v1/services on "
       "this address (IPv6: [addr]:port); overrides global_defs http_listen (default: off)",
       [](State& st, std::string_view v) -> Result<void> {
         auto ep = core::Endpoint::parse(v);
         if (!ep) return fail(EINVAL, fmt::format("--http-listen '{}': {}", v, ep.error().message));
         if (ep->port == 0) {
           return fail(
               EINVAL,
               fmt::format("--http-listen '{}' needs a port 1..65535, e.g. 127.0.0.1:9100", v));
         }
         st.cfg.http_listen = *ep;
         return {};
       }},
      {"--conn-log", "", "PATH|syslog",
       "one line per finished TCP connection or expired UDP flow, to this file or syslog; "
       "overrides global_defs conn_log (default: off)",
       [](State& st, std::string_view v) -> Result<void> {
         if (v.empty()) return fail(EINVAL, "--conn-log needs a file path or syslog");
         st.cfg.conn_log = std::string(v);
         return {};
       }},
      {"--conn-log-rate", "", "N",
       "connection log lines per second, the rest counted and summarized (default 1000)",
       [](State& st, std::string_view v) -> Result<void> {
         auto r = dp::connlog::parse_rate(v);
         if (!r) {
           return fail(EINVAL, fmt::format("--conn-log-rate '{}' is not a number of lines per "
                                           "second in 1..1000000",
                                           v));
         }
         st.cfg.conn_log_rate = *r;
         return {};
       }},
      {"--conn-log-facility", "", "FACILITY",
       "syslog facility of --conn-log syslog: daemon (default) or local0..local7",
       [](State& st, std::string_view v) -> Result<void> {
         auto f = dp::connlog::parse_facility(v);
         if (!f) {
           return fail(EINVAL, fmt::format("--conn-log-facility '{}' is not daemon or "
                                           "local0..local7",
                                           v));
         }
         st.cfg.conn_log_facility = *f;
         return {};
       }},
      {"--api-token-file", "", "PATH",
       "the HTTP write API's bearer token is this file's content (re-read at every write); "
       "overrides global_defs api_token",
       [](State& st, std::string_view v) -> Result<void> {
         if (v.empty()) return fail(EINVAL, "--api-token-file needs a path");
         st.cfg.api_token_file = std::string(v);
         return {};
       }},
      {"--log-level", "", "LEVEL", "trace, debug, info (default), warn, error, off",
       [](State& st, std::string_view v) -> Result<void> {
         auto l = core::parse_log_level(v);
         if (!l) return core::Unexpected{l.error()};
         st.cfg.log_level = *l;
         st.cfg.log_level_set = true;
         return {};
       }},
      {"--config-file", "-f", "FILE",
       "keepalived-style configuration (global_defs, virtual_server blocks, health checks); "
       "SIGHUP or lvsadm --reload re-reads it",
       [](State& st, std::string_view v) -> Result<void> {
         if (v.empty()) return fail(EINVAL, "-f needs a file name");
         st.cfg.config_file = std::string(v);
         return {};
       }},
      {"--config-test", "", "",
       "check the -f file, print its warnings and errors, exit 0 or 1 (also -t alone)",
       [](State& st, std::string_view) -> Result<void> {
         st.cfg.config_test = true;
         return {};
       }},
      {"--grace", "", "SECONDS",
       "on SIGTERM/SIGINT, how long established connections may take to finish (default 10)",
       [](State& st, std::string_view v) -> Result<void> {
         auto n = parse_uint(v, "grace", 86400);
         if (!n) return core::Unexpected{n.error()};
         st.cfg.grace_seconds = static_cast<std::uint32_t>(*n);
         return {};
       }},
      {"--rise", "", "N",
       "health: consecutive successes that bring a realserver back (HAProxy-style; default: "
       "keepalived's 1)",
       [](State& st, std::string_view v) -> Result<void> {
         auto n = parse_uint(v, "rise", 1000);
         if (!n || *n == 0)
           return fail(EINVAL, fmt::format("rise '{}' is not a number in 1..1000", v));
         st.cfg.rise = static_cast<std::uint32_t>(*n);
         return {};
       }},
      {"--fall", "", "N",
       "health: consecutive failures that take a realserver out (HAProxy-style; default: "
       "keepalived's retry+1)",
       [](State& st, std::string_view v) -> Result<void> {
         auto n = parse_uint(v, "fall", 1000);
         if (!n || *n == 0)
           return fail(EINVAL, fmt::format("fall '{}' is not a number in 1..1000", v));
         st.cfg.fall = static_cast<std::uint32_t>(*n);
         return {};
       }},
      {"--check-jitter", "", "PERCENT",
       "health: spread each delay_loop uniformly over +-PERCENT of itself so probes of many "
       "realservers do not fire together (default 0: keepalived's exact schedule)",
       [](State& st, std::string_view v) -> Result<void> {
         auto n = parse_uint(v, "check jitter", 50);
         if (!n) return core::Unexpected{n.error()};
         st.cfg.check_jitter_percent = static_cast<std::uint32_t>(*n);
         return {};
       }},
      {"--masq-fwmark", "", "N",
       "masquerading: the fwmark lvsd's nftables rule sets and its ip rule matches "
       "(default 0x4c56; decimal or 0x hex)",
       [](State& st, std::string_view v) -> Result<void> {
         auto n = parse_mark(v, "--masq-fwmark");
         if (!n) return core::Unexpected{n.error()};
         st.cfg.masq.fwmark = *n;
         return dp::masq::validate(st.cfg.masq);
       }},
      {"--masq-table", "", "N",
       "masquerading: the routing table holding lvsd's local default route (default 19542)",
       [](State& st, std::string_view v) -> Result<void> {
         auto n = parse_mark(v, "--masq-table");
         if (!n) return core::Unexpected{n.error()};
         st.cfg.masq.table = *n;
         return dp::masq::validate(st.cfg.masq);
       }},
      {"--xdp", "", "IFACE[,IFACE...]",
       "run the XDP packet engine on these interfaces (the director's legs, both ways) for "
       "the services whose realservers are all masqueraded (-m); other services stay on the "
       "user-space data plane. Needs root (CAP_BPF, CAP_NET_ADMIN)",
       [](State& st, std::string_view v) -> Result<void> {
         st.cfg.xdp_interfaces.clear();
         std::string_view rest = v;
         while (true) {
           const auto comma = rest.find(',');
           const std::string_view name = rest.substr(0, comma);
           if (name.empty() || name.size() >= 16 || name.find('/') != std::string_view::npos) {
             return fail(EINVAL, fmt::format("--xdp '{}': '{}' is not an interface name (1..15 "
                                             "characters, no '/'; list them with ip link)",
                                             v, name));
           }
           st.cfg.xdp_interfaces.emplace_back(name);
           if (comma == std::string_view::npos) break;
           rest.remove_prefix(comma + 1);
         }
         return {};
       }},
      {"--xdp-mode", "", "native|generic|auto",
       "how --xdp attaches: native (driver) mode only, generic (kernel) mode only, or auto: "
       "native where the driver has it, else generic with a log line (default auto)",
       [](State& st, std::string_view v) -> Result<void> {
         if (v == "auto") {
           st.cfg.xdp_mode = XdpMode::kAuto;
         } else if (v == "native") {
           st.cfg.xdp_mode = XdpMode::kNative;
         } else if (v == "generic") {
           st.cfg.xdp_mode = XdpMode::kGeneric;
         } else {
           return fail(EINVAL,
                       fmt::format("--xdp-mode '{}' is not one of native, generic, auto", v));
         }
         st.cfg.xdp_mode_set = true;
         return {};
       }},
      {"--xdp-conn-max", "", "ENTRIES",
       "size of the XDP engine's connection table, allocated at start (two entries per flow, "
       "about 150 bytes each; default 524288: 262144 flows; least recently used go first)",
       [](State& st, std::string_view v) -> Result<void> {
         auto n = parse_uint(v, "--xdp-conn-max", std::uint64_t{16} * 1024 * 1024);
         if (!n) return core::Unexpected{n.error()};
         if (*n < 1024) {
           return fail(EINVAL, fmt::format("--xdp-conn-max '{}' is below 1024 entries", v));
         }
         st.cfg.xdp_conn_max = static_cast<std::uint32_t>(*n);
         return {};
       }},
      {"--cluster-seed", "", "N",
       "stateless cluster mode for every mh service: the Maglev table is built from the "
       "realservers sorted by address and port with seed N (0..4294967295), so directors with "
       "the same realservers and seed pick the same realserver for a client (active/active "
       "behind ECMP); with --xdp, a TCP segment of a flow this director never saw is taken "
       "over (mh, -g or -i realservers) or dropped, never reset",
       [](State& st, std::string_view v) -> Result<void> {
         auto n = parse_uint(v, "--cluster-seed", std::uint64_t{0xFFFFFFFF});
         if (!n) return core::Unexpected{n.error()};
         st.cfg.cluster_seed = static_cast<std::uint32_t>(*n);
         return {};
       }},
      {"--sync-address", "", "ADDR",
       "the local IPv4 address the connection-sync sockets bind when lvsadm --start-daemon "
       "gives a unicast --mcast-group (default: any); lets two directors, or two lvsd on one "
       "host, sync to each other on the same --mcast-port",
       [](State& st, std::string_view v) -> Result<void> {
         auto ip = core::IpAddress::parse(v);
         if (!ip || !ip->is_v4()) {
           return fail(EINVAL, fmt::format("--sync-address '{}' is not an IPv4 address", v));
         }
         st.cfg.sync_address = *ip;
         return {};
       }},
      {"--bgp-bird-socket", "", "PATH",
       "announce each VIP this director can serve through bird (BGP): lvsd writes the static "
       "protocols lvsd_vips4/lvsd_vips6 to --bgp-vips-file and runs `birdc -s PATH configure`; "
       "a VIP is withdrawn when no realserver of it is up, when --bgp-drain-file exists, and "
       "when lvsd stops",
       [](State& st, std::string_view v) -> Result<void> {
         if (v.empty()) return fail(EINVAL, "--bgp-bird-socket needs bird's control socket path");
         st.cfg.bgp.bird.control_socket = std::string(v);
         return {};
       }},
      {"--bgp-vips-file", "", "PATH",
       "the bird configuration fragment lvsd owns (default /run/lvsd/bird-vips.conf); bird.conf "
       "must include it",
       [](State& st, std::string_view v) -> Result<void> {
         if (v.empty()) return fail(EINVAL, "--bgp-vips-file needs a path");
         st.cfg.bgp.bird.fragment_path = std::string(v);
         return {};
       }},
      {"--bgp-drain-file", "", "PATH",
       "while this file exists every VIP is withdrawn: the operator's drain of the whole "
       "director (default /run/lvsd/bgp-drain)",
       [](State& st, std::string_view v) -> Result<void> {
         st.cfg.bgp.drain_file = std::string(v);
         return {};
       }},
      {"--bgp-liveness-link", "", "NAME|none",
       "the TUN interface lvsd creates and routes the announced VIPs through (default "
       "lvsd-bgp): it vanishes with the lvsd process, so bird withdraws the VIPs when lvsd is "
       "killed or crashes; none: blackhole routes",
       [](State& st, std::string_view v) -> Result<void> {
         if (v.empty() || v.size() > 15 || v.find('/') != std::string_view::npos) {
           return fail(EINVAL, fmt::format("--bgp-liveness-link '{}' is not an interface name "
                                           "(1..15 characters, no '/') or none",
                                           v));
         }
         st.cfg.bgp.liveness_link = v == "none" ? std::string() : std::string(v);
         return {};
       }},
      {"--birdc", "", "PATH", "the birdc program (default: birdc from PATH)",
       [](State& st, std::string_view v) -> Result<void> {
         if (v.empty()) return fail(EINVAL, "--birdc needs a program");
         st.cfg.bgp.bird.birdc = std::string(v);
         return {};
       }},
      {"--cleanup", "", "",
       "remove the masquerading state (nftables table inet lvsd, its ip rules and routes, IPv4 "
       "and IPv6) a crashed lvsd left, print what was removed, exit",
       [](State& st, std::string_view) -> Result<void> {
         st.cfg.cleanup = true;
         return {};
       }},
      {"--print-lvs-conf", "", "FILE",
       "print an lvs.conf's variables as lvsd reads them (NAME=words, names resolved, ports "
       "as numbers; for lvs-director), exit",
       [](State& st, std::string_view v) -> Result<void> {
         st.cfg.print_lvs_conf = std::string(v);
         return {};
       }},
      {"--vrrp-fifo", "", "PATH",
       "follow keepalived through this vrrp_notify_fifo (created if missing): serve the VIPs "
       "only while the --vrrp-instance is MASTER; overrides global_defs lvsd_vrrp_fifo",
       [](State& st, std::string_view v) -> Result<void> {
         if (v.empty()) return fail(EINVAL, "--vrrp-fifo needs a path");
         st.cfg.vrrp_fifo = std::string(v);
         return {};
       }},
      {"--vrrp-instance", "", "NAME",
       "the keepalived vrrp_instance (or sync group) --vrrp-fifo follows (default VI_LVSD, "
       "the name --gen-vrrp writes); overrides global_defs lvsd_vrrp_instance",
       [](State& st, std::string_view v) -> Result<void> {
         if (v.empty()) return fail(EINVAL, "--vrrp-instance needs a name");
         st.cfg.vrrp_instance = std::string(v);
         return {};
       }},
      {"--gen-vrrp", "", "FILE",
       "print the keepalived VRRP configuration (nopreempt, VRRPv3, vrrp_notify_fifo, "
       "track_script lvsadm --check) for the lvs.conf FILE's VIP and VRRP_* variables, exit",
       [](State& st, std::string_view v) -> Result<void> {
         if (v.empty()) return fail(EINVAL, "--gen-vrrp needs an lvs.conf file");
         st.cfg.gen_vrrp = std::string(v);
         return {};
       }},
      {"--syslog", "", "", "log to syslog (daemon facility) instead of stderr",
       [](State& st, std::string_view) -> Result<void> {
         st.cfg.syslog = true;
         return {};
       }},
      {"--test-hooks", "", "",
       "FOR THE TEST SUITE ONLY: forward nothing, report injected counters and entries",
       [](State& st, std::string_view) -> Result<void> {
         st.cfg.test_hooks = true;
         return {};
       }},
      {"--help", "-h", "", "show this help",
       [](State& st, std::string_view) -> Result<void> {
         st.cfg.help = true;
         return {};
       }},
  };
  return kFlags;
}

}  // namespace

Result<LvsdConfig> parse_lvsd_flags(std::span<const std::string_view> args) {
  State st;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const FlagArg arg = split_long_flag(args[i]);
    const std::string_view name = arg.name;
    const std::optional<std::string_view> inline_value = arg.inline_value;
    const Flag* flag = nullptr;
    for (const auto& f : flags()) {
      if (name == f.long_name || (!f.short_name.empty() && name == f.short_name)) flag = &f;
    }
    // keepalived's `-t` (config test): -t with no value or followed by another option.
    if (name == "-t" && (i + 1 >= args.size() || args[i + 1].starts_with('-'))) {
      st.cfg.config_test = true;
      continue;
    }
    if (flag == nullptr) {
      return fail(EINVAL, fmt::format("unknown option '{}' (see lvsd --help)", args[i]));
    }
    std::string_view value;
    if (flag->arg.starts_with('[')) {
      // An optional value: given inline, or as the next word unless that is another flag.
      if (inline_value) {
        value = *inline_value;
      } else if (i + 1 < args.size() && !args[i + 1].starts_with('-')) {
        value = args[++i];
      }
    } else if (!flag->arg.empty()) {
      if (inline_value) {
        value = *inline_value;
      } else if (i + 1 < args.size()) {
        value = args[++i];
      } else {
        return fail(EINVAL, fmt::format("{} needs a value: {}", name, flag->arg));
      }
    } else if (inline_value) {
      return fail(EINVAL, fmt::format("{} takes no value", name));
    }
    if (auto r = flag->handle(st, value); !r) return core::Unexpected{r.error()};
  }
  if (!st.cfg.config_file.empty() && !st.cfg.table.services.empty()) {
    return fail(EINVAL,
                "-f and services given as flags (-t/-u) exclude each other: put the "
                "services in the file");
  }
  if (st.cfg.config_test && st.cfg.config_file.empty()) {
    return fail(EINVAL, "-t (config test) needs -f FILE");
  }
  return std::move(st.cfg);
}

std::string lvsd_usage() {
  std::string out =
      "usage: lvsd [--workers N] [--socket PATH] [-t|-u VIP:PORT [-s SCHED] [-o] [-p [S]] [-M "
      "MASK]\n"
      "            [-r ADDR:PORT[,masq][,weight=N]]...]...\n"
      "       lvsd [-t] -f FILE [--workers N] [--socket PATH] [--grace SECONDS] [--syslog]\n"
      "       lvsd ... --xdp IFACE[,IFACE...] [--xdp-mode native|generic|auto]\n"
      "       lvsd --cleanup [--masq-fwmark N] [--masq-table N]\n"
      "       lvsd --print-lvs-conf FILE\n"
      "       lvsd --gen-vrrp FILE [--vrrp-fifo PATH] [--vrrp-instance NAME]\n"
      "\n"
      "Runs the lvsd director in the foreground with the user-space data plane: full NAT, and\n"
      "masquerading (-m, ,masq) with transparent sockets, which needs root and installs an\n"
      "nftables table and policy routing that lvsd removes when it stops.\n"
      "With --xdp (root), the XDP packet engine on those interfaces forwards the services whose\n"
      "realservers are all masqueraded, in the kernel; the others stay in user space. lvsd\n"
      "detaches it when it stops.\n"
      "Service options (-s, -o, -p, -M, -r) apply to the service given by the preceding -t or -u.\n"
      "Without services it starts with an empty table; lvsadm changes it over the control socket.\n"
      "Durations: 90 or 90s (seconds), 250ms. SIGINT/SIGTERM stop it gracefully, SIGHUP\n"
      "re-reads -f (and reopens the --conn-log file).\n"
      "Flags override the file's global_defs (workers, control_socket, log_level, http_listen,\n"
      "conn_log, conn_log_rate, conn_log_facility).\n"
      "\n"
      "options:\n";
  for (const auto& f : flags()) {
    std::string names = f.short_name.empty() ? fmt::format("    {}", f.long_name)
                                             : fmt::format("{}, {}", f.short_name, f.long_name);
    if (!f.arg.empty()) names += fmt::format(" {}", f.arg);
    out += fmt::format("  {:<48} {}\n", names, f.help);
  }
  out +=
      "\nexample:\n"
      "  lvsd --workers 2 -t 127.0.0.1:8080 -s rr -r 127.0.0.2:9000 -r 127.0.0.3:9000,weight=2 \\\n"
      "       -u 127.0.0.1:5353 -s rr -r 127.0.0.2:53 -r 127.0.0.3:53\n";
  return out;
}

}  // namespace lvs::bin
