#include "ctl/ipvsadm_args.h"

#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <climits>
#include <cstring>
#include <initializer_list>
#include <span>

#include <fmt/format.h>

namespace lvs::ctl {

namespace {

using model::ForwardMethod;
using model::Protocol;
using model::TunnelCsum;
using model::TunnelType;

constexpr OptionSet opts(std::initializer_list<Option> list) {
  OptionSet s;
  for (const auto o : list) s.bits |= std::uint64_t{1} << static_cast<unsigned>(o);
  return s;
}

constexpr std::array<std::string_view, static_cast<std::size_t>(Option::kCount)> kOptionNames = {
    "numeric",
    "connection",
    "service-address",
    "scheduler",
    "persistent",
    "netmask",
    "real-server",
    "forwarding-method",
    "weight",
    "u-threshold",
    "l-threshold",
    "mcast-interface",
    "timeout",
    "daemon",
    "stats",
    "rate",
    "thresholds",
    "persistent-conn",
    "nosort",
    "syncid",
    "exact",
    "ops",
    "pe",
    "sched-flags",
    "mcast-group",
    "mcast-port",
    "mcast-ttl",
    "sync-maxlen",
    "tun-info",
    "tun-type",
    "tun-port",
    "tun-nocsum",
    "tun-csum",
    "tun-remcsum",
    "json",
    "wait",
    "progress",
};

// ---------------------------------------------------------------------------------------------
// Value parsers. Each returns nullopt for a malformed value; the caller owns the message.

std::optional<std::uint64_t> parse_decimal(std::string_view text, std::uint64_t min,
                                           std::uint64_t max) {
  std::uint64_t v = 0;
  const auto* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, v);
  if (text.empty() || ec != std::errc{} || ptr != end || v < min || v > max) return std::nullopt;
  return v;
}

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::optional<std::uint16_t> parse_port(std::string_view text, Protocol proto,
                                        const Resolver& resolver) {
  if (all_digits(text)) {
    const auto v = parse_decimal(text, 0, 65535);
    if (!v) return std::nullopt;
    return static_cast<std::uint16_t>(*v);
  }
  if (text.empty() || !resolver.service_port) return std::nullopt;
  return resolver.service_port(text, proto);
}

std::optional<core::IpAddress> parse_host_v4(std::string_view text, const Resolver& resolver) {
  if (text.empty() || all_digits(text)) return std::nullopt;
  if (auto a = core::IpAddress::parse(text); a && a->is_v4()) return *a;
  if (text.find(':') != std::string_view::npos || !resolver.host_v4) return std::nullopt;
  return resolver.host_v4(text);
}

// ADDR[:PORT] in ipvsadm's forms: dotted quad or IPv4 host name, `[v6][:PORT]`, or a bare
// IPv6 literal (no port). A missing port is 0.
std::optional<core::Endpoint> parse_address(std::string_view text, Protocol proto,
                                            const Resolver& resolver) {
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    const auto addr = core::IpAddress::parse(text.substr(1, close - 1));
    if (!addr || addr->is_v4()) return std::nullopt;
    const auto rest = text.substr(close + 1);
    if (rest.empty()) return core::Endpoint{.addr = *addr, .port = 0};
    if (rest.front() != ':') return std::nullopt;
    const auto port = parse_port(rest.substr(1), proto, resolver);
    if (!port) return std::nullopt;
    return core::Endpoint{.addr = *addr, .port = *port};
  }
  const auto colon = text.find(':');
  if (colon != std::string_view::npos && text.find(':', colon + 1) != std::string_view::npos) {
    const auto addr = core::IpAddress::parse(text);  // bare IPv6 literal
    if (!addr || addr->is_v4()) return std::nullopt;
    return core::Endpoint{.addr = *addr, .port = 0};
  }
  const auto addr = parse_host_v4(text.substr(0, colon), resolver);
  if (!addr) return std::nullopt;
  core::Endpoint ep{.addr = *addr, .port = 0};
  if (colon != std::string_view::npos) {
    const auto port = parse_port(text.substr(colon + 1), proto, resolver);
    if (!port) return std::nullopt;
    ep.port = *port;
  }
  return ep;
}

// ---------------------------------------------------------------------------------------------
// Parser state and option handlers.

struct ParseState {
  Command cmd{};
  const Resolver* resolver = nullptr;
  std::vector<std::string> positionals{};
  std::string sched_flags_text{};  // -b is resolved after the loop, once -s is known
  bool real_has_port = false;
};

using Handler = std::optional<CliError> (*)(ParseState&, std::string_view value);

std::optional<CliError> fail(std::string text) { return CliError{.text = std::move(text)}; }

std::optional<CliError> set_service(ParseState& st, Protocol proto, std::string_view v) {
  const auto ep = parse_address(v, proto, *st.resolver);
  if (!ep) return fail("illegal virtual server address[:port] specified");
  st.cmd.service.key = model::ServiceKey::address(proto, *ep);
  return std::nullopt;
}

std::optional<CliError> on_tcp(ParseState& st, std::string_view v) {
  return set_service(st, Protocol::kTcp, v);
}
std::optional<CliError> on_udp(ParseState& st, std::string_view v) {
  return set_service(st, Protocol::kUdp, v);
}
std::optional<CliError> on_sctp(ParseState& st, std::string_view v) {
  return set_service(st, Protocol::kSctp, v);
}

std::optional<CliError> on_fwmark(ParseState& st, std::string_view v) {
  const auto mark = parse_decimal(v, 1, UINT32_MAX);
  if (!mark) return fail(fmt::format("invalid fwmark value `{}' specified", v));
  st.cmd.service.key = model::ServiceKey::mark(static_cast<std::uint32_t>(*mark));
  return std::nullopt;
}

std::optional<CliError> on_ipv6(ParseState& st, std::string_view /*v*/) {
  if (!st.cmd.service.key.is_fwmark()) return fail("-6 used before -f");
  st.cmd.service.key.af = core::Family::kInet6;
  return std::nullopt;
}

std::optional<CliError> on_scheduler(ParseState& st, std::string_view v) {
  st.cmd.service.scheduler = std::string(v);
  return std::nullopt;
}

std::optional<CliError> on_persistent(ParseState& st, std::string_view v) {
  st.cmd.service.persistent = true;
  if (v.empty()) return std::nullopt;
  const auto t = parse_decimal(v, 1, model::kMaxPersistenceTimeout);
  if (!t) return fail(fmt::format("invalid timeout value `{}' specified", v));
  st.cmd.service.timeout = static_cast<std::uint32_t>(*t);
  return std::nullopt;
}

std::optional<CliError> on_netmask(ParseState& st, std::string_view v) {
  if (st.cmd.service.key.af == core::Family::kInet6) {
    const auto len = parse_decimal(v, 1, 128);
    if (!len) return fail("illegal ipv6 netmask specified");
    st.cmd.service.netmask = static_cast<std::uint32_t>(*len);
    return std::nullopt;
  }
  const auto mask = parse_host_v4(v, *st.resolver);
  if (!mask) return fail("illegal virtual server persistent mask specified");
  st.cmd.service.netmask = mask->v4_host();
  return std::nullopt;
}

std::optional<CliError> on_pe(ParseState& st, std::string_view v) {
  st.cmd.service.pe_name = std::string(v);
  return std::nullopt;
}

std::optional<CliError> on_sched_flags(ParseState& st, std::string_view v) {
  st.sched_flags_text = std::string(v);
  return std::nullopt;
}

std::optional<CliError> on_ops(ParseState& st, std::string_view /*v*/) {
  st.cmd.service.one_packet = true;
  return std::nullopt;
}

std::optional<CliError> on_real(ParseState& st, std::string_view v) {
  const auto ep = parse_address(v, st.cmd.service.key.protocol, *st.resolver);
  if (!ep) return fail("illegal real server address[:port] specified");
  st.cmd.dest.addr = *ep;
  // "[v6]" and bare literals carry no port; "A:P" and "[v6]:P" do.
  st.real_has_port = v.find("]:") != std::string_view::npos ||
                     (v.front() != '[' && std::count(v.begin(), v.end(), ':') == 1);
  return std::nullopt;
}

template <ForwardMethod kMethod>
std::optional<CliError> on_forward(ParseState& st, std::string_view /*v*/) {
  st.cmd.dest.forward = kMethod;
  return std::nullopt;
}

std::optional<CliError> on_weight(ParseState& st, std::string_view v) {
  const auto w = parse_decimal(v, 0, 65535);
  if (!w) return fail("illegal weight specified");
  st.cmd.dest.weight = static_cast<std::int32_t>(*w);
  return std::nullopt;
}

std::optional<CliError> on_u_threshold(ParseState& st, std::string_view v) {
  const auto x = parse_decimal(v, 0, INT32_MAX);
  if (!x) return fail("illegal u_threshold specified");
  st.cmd.dest.u_threshold = static_cast<std::uint32_t>(*x);
  return std::nullopt;
}

std::optional<CliError> on_l_threshold(ParseState& st, std::string_view v) {
  const auto y = parse_decimal(v, 0, INT32_MAX);
  if (!y) return fail("illegal l_threshold specified");
  st.cmd.dest.l_threshold = static_cast<std::uint32_t>(*y);
  return std::nullopt;
}

std::optional<CliError> on_tun_type(ParseState& st, std::string_view v) {
  static constexpr std::pair<std::string_view, TunnelType> kTypes[] = {
      {"ipip", TunnelType::kIpip}, {"gue", TunnelType::kGue}, {"gre", TunnelType::kGre}};
  for (const auto& [name, type] : kTypes) {
    if (v == name) {
      st.cmd.dest.tun_type = type;
      return std::nullopt;
    }
  }
  return fail("illegal tunnel type specified");
}

std::optional<CliError> on_tun_port(ParseState& st, std::string_view v) {
  const auto p = parse_decimal(v, 1, 65535);
  if (!p) return fail("illegal tunnel port specified");
  st.cmd.dest.tun_port = static_cast<std::uint16_t>(*p);
  return std::nullopt;
}

template <TunnelCsum kCsum>
std::optional<CliError> on_tun_csum(ParseState& st, std::string_view /*v*/) {
  st.cmd.dest.tun_csum = kCsum;
  return std::nullopt;
}

template <bool ListOptions::*kField>
std::optional<CliError> on_list_flag(ParseState& st, std::string_view /*v*/) {
  st.cmd.list.*kField = true;
  return std::nullopt;
}

std::optional<CliError> on_nothing(ParseState& /*st*/, std::string_view /*v*/) {
  return std::nullopt;
}

std::optional<CliError> on_mcast_interface(ParseState& st, std::string_view v) {
  if (v.empty() || v.size() >= 16) return fail("illegal mcast-interface specified");  // IFNAMSIZ
  st.cmd.daemon.mcast_interface = std::string(v);
  return std::nullopt;
}

std::optional<CliError> on_syncid(ParseState& st, std::string_view v) {
  const auto id = parse_decimal(v, 0, 255);
  if (!id) return fail("illegal syncid specified");
  st.cmd.daemon.syncid = static_cast<std::uint32_t>(*id);
  return std::nullopt;
}

std::optional<CliError> on_mcast_group(ParseState& st, std::string_view v) {
  const auto a = core::IpAddress::parse(v);
  if (!a) return fail("illegal mcast-group specified");
  st.cmd.daemon.mcast_group = *a;
  return std::nullopt;
}

std::optional<CliError> on_mcast_port(ParseState& st, std::string_view v) {
  const auto p = parse_decimal(v, 1, 65535);
  if (!p) return fail("illegal mcast-port specified");
  st.cmd.daemon.mcast_port = static_cast<std::uint16_t>(*p);
  return std::nullopt;
}

std::optional<CliError> on_mcast_ttl(ParseState& st, std::string_view v) {
  const auto t = parse_decimal(v, 1, 255);
  if (!t) return fail("illegal mcast-ttl specified");
  st.cmd.daemon.mcast_ttl = static_cast<std::uint32_t>(*t);
  return std::nullopt;
}

std::optional<CliError> on_sync_maxlen(ParseState& st, std::string_view v) {
  const auto n = parse_decimal(v, 1, 65507);
  if (!n) return fail("illegal sync-maxlen specified");
  st.cmd.daemon.sync_maxlen = static_cast<std::uint32_t>(*n);
  return std::nullopt;
}

std::optional<CliError> on_wait(ParseState& st, std::string_view v) {
  const auto n = parse_decimal(v, 1, model::kMaxPersistenceTimeout);
  if (!n) return fail(fmt::format("invalid wait value `{}' specified", v));
  st.cmd.drain_wait_seconds = static_cast<std::uint32_t>(*n);
  return std::nullopt;
}

std::optional<CliError> on_progress(ParseState& st, std::string_view /*v*/) {
  st.cmd.drain_progress = true;
  return std::nullopt;
}

// master|backup for --start-daemon/--stop-daemon; ipvsadm words each command's error its own way.
std::optional<CliError> set_sync_state(ParseState& st, std::string_view v,
                                       std::string_view error_text) {
  if (v == "master") {
    st.cmd.daemon.state = SyncState::kMaster;
  } else if (v == "backup") {
    st.cmd.daemon.state = SyncState::kBackup;
  } else {
    return fail(std::string(error_text));
  }
  return std::nullopt;
}

std::optional<CliError> on_start_daemon(ParseState& st, std::string_view v) {
  return set_sync_state(st, v, "illegal start-daemon parameter specified");
}

std::optional<CliError> on_stop_daemon(ParseState& st, std::string_view v) {
  return set_sync_state(st, v, "illegal start_daemon specified");
}

// ---------------------------------------------------------------------------------------------
// The tables.

enum class Arg : std::uint8_t { kNone, kRequired, kOptional };

struct CommandSpec {
  char short_name = 0;
  std::string_view long_name{};
  CommandKind kind = CommandKind::kList;
  Arg arg = Arg::kNone;
  Handler handle = nullptr;
  std::string_view help{};
};

constexpr CommandSpec kCommands[] = {
    {'A', "add-service", CommandKind::kAddService, Arg::kNone, nullptr,
     "add virtual service with options"},
    {'E', "edit-service", CommandKind::kEditService, Arg::kNone, nullptr,
     "edit virtual service with options"},
    {'D', "delete-service", CommandKind::kDeleteService, Arg::kNone, nullptr,
     "delete virtual service"},
    {'C', "clear", CommandKind::kFlush, Arg::kNone, nullptr, "clear the whole table"},
    {'R', "restore", CommandKind::kRestore, Arg::kNone, nullptr, "restore rules from stdin"},
    {'S', "save", CommandKind::kSave, Arg::kNone, nullptr, "save rules to stdout"},
    {'a', "add-server", CommandKind::kAddServer, Arg::kNone, nullptr,
     "add real server with options"},
    {'e', "edit-server", CommandKind::kEditServer, Arg::kNone, nullptr,
     "edit real server with options"},
    {'d', "delete-server", CommandKind::kDeleteServer, Arg::kNone, nullptr, "delete real server"},
    {'L', "list", CommandKind::kList, Arg::kNone, nullptr, "list the table"},
    {'l', "", CommandKind::kList, Arg::kNone, nullptr, "list the table"},
    {'Z', "zero", CommandKind::kZero, Arg::kNone, nullptr, "zero counters in a service or all"},
    {0, "set", CommandKind::kSet, Arg::kNone, nullptr,
     "set connection timeout values (tcp tcpfin udp)"},
    {0, "start-daemon", CommandKind::kStartDaemon, Arg::kRequired, on_start_daemon,
     "start connection sync daemon (master|backup)"},
    {0, "stop-daemon", CommandKind::kStopDaemon, Arg::kRequired, on_stop_daemon,
     "stop connection sync daemon (master|backup)"},
    {'h', "help", CommandKind::kHelp, Arg::kNone, nullptr, "display this help message"},
    {'v', "version", CommandKind::kVersion, Arg::kNone, nullptr, "show version"},
    {0, "drain", CommandKind::kDrain, Arg::kNone, nullptr,
     "quiesce a real server and wait for its connections to end (extension)"},
    {0, "reload", CommandKind::kReload, Arg::kNone, nullptr,
     "make lvsd re-read its configuration file (extension)"},
};

struct OptionSpec {
  char short_name = 0;
  std::string_view long_name{};
  std::optional<Option> option{};  // nullopt: not tracked (-6, --sort)
  Arg arg = Arg::kNone;
  Handler handle = nullptr;
  std::string_view help{};
};

constexpr OptionSpec kOptions[] = {
    {'t', "tcp-service", Option::kServiceAddress, Arg::kRequired, on_tcp,
     "service-address is host[:port]"},
    {'u', "udp-service", Option::kServiceAddress, Arg::kRequired, on_udp,
     "service-address is host[:port]"},
    {0, "sctp-service", Option::kServiceAddress, Arg::kRequired, on_sctp,
     "service-address is host[:port]"},
    {'f', "fwmark-service", Option::kServiceAddress, Arg::kRequired, on_fwmark,
     "fwmark is an integer greater than zero"},
    {'6', "ipv6", std::nullopt, Arg::kNone, on_ipv6, "fwmark uses IPv6"},
    {'s', "scheduler", Option::kScheduler, Arg::kRequired, on_scheduler,
     "scheduler name (default wlc)"},
    {'p', "persistent", Option::kPersistent, Arg::kOptional, on_persistent,
     "persistent service with optional timeout (default 360 s)"},
    {'M', "netmask", Option::kNetmask, Arg::kRequired, on_netmask, "persistent granularity mask"},
    {0, "pe", Option::kPe, Arg::kRequired, on_pe, "persistence engine"},
    {'b', "sched-flags", Option::kSchedFlags, Arg::kRequired, on_sched_flags,
     "scheduler flags (comma list); with -a/-e, -b means --fullnat"},
    {'o', "ops", Option::kOps, Arg::kNone, on_ops, "one-packet scheduling"},
    {'r', "real-server", Option::kRealServer, Arg::kRequired, on_real,
     "server-address is host (and port)"},
    {'g', "gatewaying", Option::kForwardingMethod, Arg::kNone, on_forward<ForwardMethod::kRoute>,
     "gatewaying (direct routing) (default)"},
    {'i', "ipip", Option::kForwardingMethod, Arg::kNone, on_forward<ForwardMethod::kTunnel>,
     "ipip encapsulation (tunneling)"},
    {'m', "masquerading", Option::kForwardingMethod, Arg::kNone, on_forward<ForwardMethod::kMasq>,
     "masquerading (NAT)"},
    {0, "fullnat", Option::kForwardingMethod, Arg::kNone, on_forward<ForwardMethod::kFullNat>,
     "full NAT through lvsd's proxy (extension; short form -b with -a/-e)"},
    {'w', "weight", Option::kWeight, Arg::kRequired, on_weight,
     "capacity of real server (0..65535)"},
    {'x', "u-threshold", Option::kUThreshold, Arg::kRequired, on_u_threshold,
     "upper threshold of connections"},
    {'y', "l-threshold", Option::kLThreshold, Arg::kRequired, on_l_threshold,
     "lower threshold of connections"},
    {0, "tun-type", Option::kTunType, Arg::kRequired, on_tun_type, "ipip|gue|gre"},
    {0, "tun-port", Option::kTunPort, Arg::kRequired, on_tun_port, "tunnel destination port"},
    {0, "tun-nocsum", Option::kTunNoCsum, Arg::kNone, on_tun_csum<TunnelCsum::kNoCsum>,
     "tunnel without checksum"},
    {0, "tun-csum", Option::kTunCsum, Arg::kNone, on_tun_csum<TunnelCsum::kCsum>,
     "tunnel with checksum"},
    {0, "tun-remcsum", Option::kTunRemCsum, Arg::kNone, on_tun_csum<TunnelCsum::kRemCsum>,
     "tunnel with remote checksum"},
    {'n', "numeric", Option::kNumeric, Arg::kNone, on_list_flag<&ListOptions::numeric>,
     "numeric output of addresses and ports"},
    {'c', "connection", Option::kConnection, Arg::kNone, on_list_flag<&ListOptions::connection>,
     "output of current IPVS connections"},
    {0, "timeout", Option::kTimeout, Arg::kNone, on_list_flag<&ListOptions::timeout>,
     "output of timeout (tcp tcpfin udp)"},
    {0, "daemon", Option::kDaemon, Arg::kNone, on_list_flag<&ListOptions::daemon>,
     "output of daemon information"},
    {0, "stats", Option::kStats, Arg::kNone, on_list_flag<&ListOptions::stats>,
     "output of statistics information"},
    {0, "rate", Option::kRate, Arg::kNone, on_list_flag<&ListOptions::rate>,
     "output of rate information"},
    {'X', "exact", Option::kExact, Arg::kNone, on_list_flag<&ListOptions::exact>,
     "expand numbers (display exact values)"},
    {0, "thresholds", Option::kThresholds, Arg::kNone, on_list_flag<&ListOptions::thresholds>,
     "output of thresholds information"},
    {0, "persistent-conn", Option::kPersistentConn, Arg::kNone,
     on_list_flag<&ListOptions::persistent_conn>, "output of persistent connection info"},
    {0, "tun-info", Option::kTunInfo, Arg::kNone, on_list_flag<&ListOptions::tun_info>,
     "output of tunnel information"},
    {0, "nosort", Option::kNoSort, Arg::kNone, on_list_flag<&ListOptions::nosort>,
     "disable sorting output of service/server entries"},
    {0, "sort", std::nullopt, Arg::kNone, on_nothing, "does nothing, for backwards compatibility"},
    {0, "json", Option::kJson, Arg::kNone, on_list_flag<&ListOptions::json>,
     "the whole table as JSON (extension)"},
    {0, "mcast-interface", Option::kMcastInterface, Arg::kRequired, on_mcast_interface,
     "multicast interface for connection sync"},
    {0, "syncid", Option::kSyncId, Arg::kRequired, on_syncid,
     "syncid for connection sync (0..255)"},
    {0, "mcast-group", Option::kMcastGroup, Arg::kRequired, on_mcast_group,
     "multicast group address"},
    {0, "mcast-port", Option::kMcastPort, Arg::kRequired, on_mcast_port, "multicast port"},
    {0, "mcast-ttl", Option::kMcastTtl, Arg::kRequired, on_mcast_ttl, "multicast TTL (1..255)"},
    {0, "sync-maxlen", Option::kSyncMaxLen, Arg::kRequired, on_sync_maxlen,
     "max sync message length"},
    {0, "wait", Option::kWait, Arg::kRequired, on_wait,
     "--drain: seconds to wait for connections to end (extension)"},
    {0, "progress", Option::kProgress, Arg::kNone, on_progress,
     "--drain: one live status line even when stdout is not a terminal (extension)"},
};

// `-b` on -a/-e: --fullnat (see the header).
constexpr OptionSpec kFullNatShort = {
    'b', "fullnat", Option::kForwardingMethod, Arg::kNone, on_forward<ForwardMethod::kFullNat>, ""};

// Which options a command requires, allows, or allows at most one of (spec §4.3).
struct Legality {
  CommandKind kind = CommandKind::kList;
  OptionSet required{};
  OptionSet allowed{};
  OptionSet one_of{};
};

constexpr OptionSet kServiceAttrs = opts({Option::kScheduler, Option::kPersistent, Option::kNetmask,
                                          Option::kOps, Option::kPe, Option::kSchedFlags});
constexpr OptionSet kServerAttrs =
    opts({Option::kForwardingMethod, Option::kWeight, Option::kUThreshold, Option::kLThreshold,
          Option::kTunType, Option::kTunPort, Option::kTunNoCsum, Option::kTunCsum,
          Option::kTunRemCsum});
constexpr OptionSet kServiceAndReal = opts({Option::kServiceAddress, Option::kRealServer});

constexpr Legality kLegality[] = {
    {CommandKind::kAddService, opts({Option::kServiceAddress}), kServiceAttrs, {}},
    {CommandKind::kEditService, opts({Option::kServiceAddress}), kServiceAttrs, {}},
    {CommandKind::kDeleteService, opts({Option::kServiceAddress}), {}, {}},
    {CommandKind::kAddServer, kServiceAndReal, kServerAttrs, {}},
    {CommandKind::kEditServer, kServiceAndReal, kServerAttrs, {}},
    {CommandKind::kDeleteServer, kServiceAndReal, {}, {}},
    {CommandKind::kList,
     {},
     opts({Option::kNumeric, Option::kStats, Option::kRate, Option::kThresholds,
           Option::kPersistentConn, Option::kNoSort, Option::kSyncId, Option::kExact,
           Option::kTunInfo, Option::kJson}),
     opts({Option::kConnection, Option::kServiceAddress, Option::kTimeout, Option::kDaemon})},
    {CommandKind::kZero, {}, opts({Option::kServiceAddress}), {}},
    {CommandKind::kSave, {}, opts({Option::kNumeric}), {}},
    {CommandKind::kFlush, {}, {}, {}},
    {CommandKind::kRestore, {}, {}, {}},
    {CommandKind::kSet, {}, {}, {}},
    {CommandKind::kStartDaemon,
     {},
     opts({Option::kMcastInterface, Option::kSyncId, Option::kMcastGroup, Option::kMcastPort,
           Option::kMcastTtl, Option::kSyncMaxLen}),
     {}},
    {CommandKind::kStopDaemon, {}, opts({Option::kSyncId}), {}},
    {CommandKind::kDrain, kServiceAndReal, opts({Option::kWait, Option::kProgress}), {}},
    {CommandKind::kReload, {}, {}, {}},
};

// Checks `given` against one legality row over `order`; the first violation in that order is
// reported. `what` is "'add-service' command" or "'gue' tunnel type".
std::optional<CliError> check_legality(OptionSet given, const Legality& row,
                                       std::span<const Option> order, std::string_view what) {
  std::optional<Option> first_of_group;
  for (const auto o : order) {
    const auto name = option_name(o);
    if (row.required.has(o) && !given.has(o)) {
      return fail(fmt::format("You need to supply the '{}' option for the {}", name, what));
    }
    if (!given.has(o)) continue;
    if (row.one_of.has(o)) {
      if (first_of_group) {
        return fail(fmt::format("The option '{}' conflicts with the '{}' option in the {}", name,
                                option_name(*first_of_group), what));
      }
      first_of_group = o;
    } else if (!row.required.has(o) && !row.allowed.has(o)) {
      return fail(fmt::format("Illegal '{}' option with the {}", name, what));
    }
  }
  return std::nullopt;
}

std::vector<Option> all_options() {
  std::vector<Option> v;
  for (unsigned i = 0; i < static_cast<unsigned>(Option::kCount); ++i) {
    v.push_back(static_cast<Option>(i));
  }
  return v;
}

struct SchedFlagName {
  std::string_view name;
  std::uint32_t bit;
  std::string_view scheduler;  // empty: any scheduler
};

constexpr SchedFlagName kSchedFlagNames[] = {
    {"flag-1", model::sched_flag::kFlag1, ""},
    {"flag-2", model::sched_flag::kFlag2, ""},
    {"flag-3", model::sched_flag::kFlag3, ""},
    {"sh-fallback", model::sched_flag::kShFallback, "sh"},
    {"sh-port", model::sched_flag::kShPort, "sh"},
    {"mh-fallback", model::sched_flag::kMhFallback, "mh"},
    {"mh-port", model::sched_flag::kMhPort, "mh"},
};

CliResult<std::uint32_t> parse_sched_flags(std::string_view text, std::string_view scheduler) {
  std::uint32_t flags = 0;
  std::size_t start = 0;
  while (true) {
    const auto comma = text.find(',', start);
    const auto token = text.substr(start, comma == std::string_view::npos ? comma : comma - start);
    const auto* it = std::find_if(std::begin(kSchedFlagNames), std::end(kSchedFlagNames),
                                  [&](const SchedFlagName& f) { return f.name == token; });
    if (it == std::end(kSchedFlagNames)) {
      return CliError{.text = fmt::format("invalid scheduler flag `{}'", token)};
    }
    if (!it->scheduler.empty() && it->scheduler != scheduler) {
      return CliError{.text = fmt::format("incompatible scheduler flag `{}'", token)};
    }
    flags |= it->bit;
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return flags;
}

CliError bad_option(std::string_view word, std::string_view why) {
  return CliError{.text = fmt::format("{}: {}", word, why), .exit_code = 255};
}

const CommandSpec* find_command_long(std::string_view name) {
  for (const auto& c : kCommands) {
    if (!c.long_name.empty() && c.long_name == name) return &c;
  }
  return nullptr;
}
const CommandSpec* find_command_short(char ch) {
  for (const auto& c : kCommands) {
    if (c.short_name == ch) return &c;
  }
  return nullptr;
}
const OptionSpec* find_option_long(std::string_view name) {
  for (const auto& o : kOptions) {
    if (o.long_name == name) return &o;
  }
  return nullptr;
}
const OptionSpec* find_option_short(char ch, CommandKind kind) {
  if (ch == 'b' && (kind == CommandKind::kAddServer || kind == CommandKind::kEditServer)) {
    return &kFullNatShort;
  }
  for (const auto& o : kOptions) {
    if (o.short_name == ch) return &o;
  }
  return nullptr;
}

// Walks argv after the command word.
class ArgWalker {
 public:
  ArgWalker(const std::vector<std::string>& argv, std::size_t next) : argv_(argv), next_(next) {}

  bool done() const { return next_ >= argv_.size(); }
  const std::string& take() { return argv_[next_++]; }
  // The next word as an option value, if any (`optional`: only if it does not start with '-').
  std::optional<std::string> take_value(bool optional) {
    if (done()) return std::nullopt;
    if (optional && (argv_[next_].empty() || argv_[next_].front() == '-')) return std::nullopt;
    return argv_[next_++];
  }

 private:
  const std::vector<std::string>& argv_;
  std::size_t next_;
};

// Applies one option occurrence (multiple-check, value, handler).
std::optional<CliError> apply_option(ParseState& st, const OptionSpec& spec,
                                     std::string_view value) {
  if (spec.option) {
    if (st.cmd.given.has(*spec.option)) {
      return fail(fmt::format("multiple '{}' options specified", option_name(*spec.option)));
    }
    st.cmd.given.set(*spec.option);
  }
  return spec.handle(st, value);
}

// Resolves the value of an option: `attached` (after '=' or the rest of a bundle) or the next
// word. Returns nullopt when a required value is missing.
std::optional<std::string> option_value(Arg arg, std::optional<std::string> attached,
                                        ArgWalker& walker) {
  if (arg == Arg::kNone) return std::string{};
  if (attached) return attached;
  auto v = walker.take_value(arg == Arg::kOptional);
  if (!v && arg == Arg::kOptional) return std::string{};
  return v;
}

std::optional<CliError> parse_long(ParseState& st, const std::string& word, ArgWalker& walker) {
  const auto body = std::string_view(word).substr(2);
  const auto eq = body.find('=');
  const auto name = body.substr(0, eq);
  std::optional<std::string> attached;
  if (eq != std::string_view::npos) attached = std::string(body.substr(eq + 1));
  if (find_command_long(name) != nullptr) {
    return fail(fmt::format("invalid option `{}'", word));
  }
  const auto* spec = find_option_long(name);
  if (spec == nullptr) return bad_option(word, "unknown option");
  if (spec->arg == Arg::kNone && attached) return bad_option(word, "option does not take a value");
  const auto value = option_value(spec->arg, attached, walker);
  if (!value) return bad_option(word, "missing argument");
  return apply_option(st, *spec, *value);
}

std::optional<CliError> parse_bundle(ParseState& st, const std::string& word, std::size_t from,
                                     ArgWalker& walker) {
  for (std::size_t k = from; k < word.size(); ++k) {
    const char ch = word[k];
    if (find_command_short(ch) != nullptr) return fail(fmt::format("invalid option `{}'", word));
    const auto* spec = find_option_short(ch, st.cmd.kind);
    if (spec == nullptr) return bad_option(fmt::format("-{}", ch), "unknown option");
    std::optional<std::string> attached;
    if (spec->arg != Arg::kNone && k + 1 < word.size()) attached = word.substr(k + 1);
    const auto value = option_value(spec->arg, attached, walker);
    if (!value) return bad_option(fmt::format("-{}", ch), "missing argument");
    if (auto err = apply_option(st, *spec, *value)) return err;
    if (attached) break;
  }
  return std::nullopt;
}

// Everything after the option loop: --set values, leftovers, deferred values, legality.
std::optional<CliError> finish(ParseState& st) {
  auto& cmd = st.cmd;
  std::size_t used = 0;
  if (cmd.kind == CommandKind::kSet) {
    if (st.positionals.size() < 3) return fail("--set option requires 3 timeout values");
    std::uint32_t* fields[] = {&cmd.timeouts.tcp, &cmd.timeouts.tcpfin, &cmd.timeouts.udp};
    for (auto* field : fields) {
      const auto& text = st.positionals[used++];
      const auto v = parse_decimal(text, 0, model::kMaxPersistenceTimeout);
      if (!v) return fail(fmt::format("invalid timeout value `{}' specified", text));
      *field = static_cast<std::uint32_t>(*v);
    }
  }
  if (used < st.positionals.size()) {
    return fail(fmt::format("unexpected argument {}", st.positionals[used]));
  }
  if (cmd.has(Option::kSchedFlags)) {
    const auto flags = parse_sched_flags(st.sched_flags_text, cmd.service.scheduler);
    if (!flags) return flags.error();
    cmd.service.sched_flags = *flags;
  }
  if (!cmd.has(Option::kNetmask)) cmd.service.netmask = model::default_netmask(cmd.service.key.af);
  if (cmd.has(Option::kRealServer) && !st.real_has_port) {
    cmd.dest.addr.port = cmd.service.key.is_fwmark() ? 0 : cmd.service.key.vip.port;
  }
  const auto* row = std::find_if(std::begin(kLegality), std::end(kLegality),
                                 [&](const Legality& l) { return l.kind == cmd.kind; });
  if (row != std::end(kLegality)) {
    static const auto kOrder = all_options();
    if (auto err = check_legality(cmd.given, *row, kOrder,
                                  fmt::format("'{}' command", command_name(cmd.kind)))) {
      return err;
    }
  }
  return apply_cli_checks(cmd);
}

// Tunnel option rules per tunnel type (spec §4.3 check 2), in the same table shape.
struct TunnelRule {
  TunnelType type = TunnelType::kIpip;
  std::string_view name{};
  Legality legality{};
};

constexpr TunnelRule kTunnelRules[] = {
    {TunnelType::kIpip, "ipip", {}},
    {TunnelType::kGue,
     "gue",
     {CommandKind::kAddServer,
      opts({Option::kTunPort}),
      {},
      opts({Option::kTunNoCsum, Option::kTunCsum, Option::kTunRemCsum})}},
    {TunnelType::kGre,
     "gre",
     {CommandKind::kAddServer, {}, {}, opts({Option::kTunNoCsum, Option::kTunCsum})}},
};

constexpr Option kTunnelOptions[] = {Option::kTunPort, Option::kTunNoCsum, Option::kTunCsum,
                                     Option::kTunRemCsum};

std::optional<CliError> check_server(Command& cmd) {
  const auto& key = cmd.service.key;
  auto& dest = cmd.dest;
  const bool fixed_port =
      dest.forward == ForwardMethod::kRoute || dest.forward == ForwardMethod::kTunnel;
  if (fixed_port && !key.is_fwmark()) dest.addr.port = key.vip.port;
  if (dest.addr.addr.family() != key.af && dest.forward != ForwardMethod::kTunnel) {
    return fail("Different address family is allowed only for tunneling servers");
  }
  const bool tunnel_opts =
      cmd.has(Option::kTunType) || std::any_of(std::begin(kTunnelOptions), std::end(kTunnelOptions),
                                               [&](Option o) { return cmd.has(o); });
  if (dest.forward != ForwardMethod::kTunnel) {
    if (tunnel_opts) return fail("Tunnel options conflict with forward method");
    return std::nullopt;
  }
  for (const auto& rule : kTunnelRules) {
    if (rule.type != dest.tun_type) continue;
    return check_legality(cmd.given, rule.legality, kTunnelOptions,
                          fmt::format("'{}' tunnel type", rule.name));
  }
  return std::nullopt;
}

std::string usage(std::string_view prog) {
  std::string out = version_line() + "\n";
  out += fmt::format("Usage: {} COMMAND [OPTIONS]\n\nCommands:\n", prog);
  for (const auto& c : kCommands) {
    if (c.long_name.empty()) continue;
    const auto flag = c.short_name != 0 ? fmt::format("-{} ", c.short_name) : std::string{};
    out += fmt::format("  {:<22} {}\n", fmt::format("{}--{}", flag, c.long_name), c.help);
  }
  out += "\nOptions:\n";
  for (const auto& o : kOptions) {
    const auto flag = o.short_name != 0 ? fmt::format("-{} ", o.short_name) : std::string{};
    out += fmt::format("  {:<22} {}\n", fmt::format("{}--{}", flag, o.long_name), o.help);
  }
  return out;
}

}  // namespace

std::string_view command_name(CommandKind kind) {
  static constexpr std::pair<CommandKind, std::string_view> kNames[] = {
      {CommandKind::kAddService, "add-service"},
      {CommandKind::kEditService, "edit-service"},
      {CommandKind::kDeleteService, "delete-service"},
      {CommandKind::kFlush, "flush"},
      {CommandKind::kList, "list"},
      {CommandKind::kAddServer, "add-server"},
      {CommandKind::kEditServer, "edit-server"},
      {CommandKind::kDeleteServer, "delete-server"},
      {CommandKind::kZero, "zero"},
      {CommandKind::kSet, "set"},
      {CommandKind::kStartDaemon, "start-daemon"},
      {CommandKind::kStopDaemon, "stop-daemon"},
      {CommandKind::kRestore, "restore"},
      {CommandKind::kSave, "save"},
      {CommandKind::kHelp, "help"},
      {CommandKind::kVersion, "version"},
      {CommandKind::kDrain, "drain"},
      {CommandKind::kReload, "reload"},
  };
  for (const auto& [k, name] : kNames) {
    if (k == kind) return name;
  }
  return "?";
}

std::string_view option_name(Option opt) {
  const auto i = static_cast<std::size_t>(opt);
  return i < kOptionNames.size() ? kOptionNames[i] : "?";
}

CliError try_help(std::string_view prog) {
  return CliError{.text = fmt::format("Try `{0} -h' or '{0} --help' for more information.", prog),
                  .exit_code = 255};
}

std::string version_line() {
  return "ipvsadm v1.31 2019/12/24 (compiled with lvsd and IPVS v1.2.1)";
}

std::string help_text(std::string_view prog) { return usage(prog); }

std::string sched_flag_names(std::uint32_t flags, std::string_view scheduler) {
  // In bit order; a bit takes the scheduler's own name if it has one, else flag-N.
  std::string out;
  for (const std::uint32_t bit :
       {model::sched_flag::kFlag1, model::sched_flag::kFlag2, model::sched_flag::kFlag3}) {
    if ((flags & bit) == 0) continue;
    std::string_view name;
    for (const auto& f : kSchedFlagNames) {
      if (f.bit != bit) continue;
      if (f.scheduler == scheduler) name = f.name;
      if (f.scheduler.empty() && name.empty()) name = f.name;
    }
    if (!out.empty()) out += ',';
    out += name;
  }
  return out;
}

CliResult<Command> parse_ipvsadm_args(const std::vector<std::string>& argv,
                                      const Resolver& resolver) {
  const std::string prog = argv.empty() ? "ipvsadm" : argv[0];
  ParseState st{.cmd = {}, .resolver = &resolver};
  if (argv.size() <= 1) return st.cmd;  // no arguments: -L with names

  // The command word.
  const std::string& first = argv[1];
  const CommandSpec* spec = nullptr;
  std::optional<std::string> attached;
  std::size_t bundle_rest = std::string::npos;
  if (first.size() > 2 && first.starts_with("--")) {
    const auto body = std::string_view(first).substr(2);
    const auto eq = body.find('=');
    spec = find_command_long(body.substr(0, eq));
    if (eq != std::string_view::npos) attached = std::string(body.substr(eq + 1));
  } else if (first.size() >= 2 && first[0] == '-' && first[1] != '-') {
    spec = find_command_short(first[1]);
    bundle_rest = 2;
  }
  if (spec == nullptr) return try_help(prog);
  st.cmd.kind = spec->kind;
  ArgWalker walker(argv, 2);
  if (spec->arg != Arg::kNone) {
    if (bundle_rest != std::string::npos && bundle_rest < first.size()) {
      attached = first.substr(bundle_rest);
      bundle_rest = std::string::npos;
    }
    const auto value = option_value(spec->arg, attached, walker);
    if (!value) return bad_option(first, "missing argument");
    if (auto err = spec->handle(st, *value)) return *err;
  } else if (attached) {
    return bad_option(first, "option does not take a value");
  }
  if (spec->kind == CommandKind::kHelp || spec->kind == CommandKind::kVersion) return st.cmd;

  if (bundle_rest != std::string::npos && bundle_rest < first.size()) {
    if (auto err = parse_bundle(st, first, bundle_rest, walker)) return *err;
  }
  bool only_positionals = false;
  while (!walker.done()) {
    const std::string& word = walker.take();
    std::optional<CliError> err;
    if (only_positionals || word.size() < 2 || word[0] != '-') {
      st.positionals.push_back(word);
    } else if (word == "--") {
      only_positionals = true;
    } else if (word[1] == '-') {
      err = parse_long(st, word, walker);
    } else {
      err = parse_bundle(st, word, 1, walker);
    }
    if (err) return *err;
  }
  if (auto err = finish(st)) return *err;
  return st.cmd;
}

std::optional<CliError> apply_cli_checks(Command& cmd) {
  const auto& svc = cmd.service;
  switch (cmd.kind) {
    case CommandKind::kAddService:
    case CommandKind::kEditService:
      if (!svc.key.is_fwmark() && svc.key.vip.port == 0 && !svc.persistent) {
        return fail("Zero port specified for non-persistent service");
      }
      if (svc.one_packet && !svc.key.is_fwmark() && svc.key.protocol != Protocol::kUdp) {
        return fail("One-Packet Scheduling is only for UDP virtual services");
      }
      return std::nullopt;
    case CommandKind::kAddServer:
    case CommandKind::kEditServer:
      return check_server(cmd);
    case CommandKind::kList: {
      const auto& l = cmd.list;
      const bool special = l.connection || l.timeout || l.daemon;
      const bool format = l.stats || l.rate || l.thresholds;
      if ((special && format) || ((l.timeout || l.daemon) && l.persistent_conn)) {
        return fail("options conflicts in the list command");
      }
      return std::nullopt;
    }
    default:
      return std::nullopt;
  }
}

Resolver system_resolver() {
  Resolver r;
  r.service_port = [](std::string_view name,
                      model::Protocol proto) -> std::optional<std::uint16_t> {
    addrinfo hints{};
    hints.ai_family = AF_INET;
    hints.ai_socktype = proto == model::Protocol::kUdp ? SOCK_DGRAM : SOCK_STREAM;
    hints.ai_protocol = static_cast<int>(proto);
    addrinfo* res = nullptr;
    const std::string service(name);
    if (getaddrinfo(nullptr, service.c_str(), &hints, &res) != 0 || res == nullptr) {
      return std::nullopt;
    }
    sockaddr_in sin{};
    std::memcpy(&sin, res->ai_addr, sizeof(sin));
    freeaddrinfo(res);
    return ntohs(sin.sin_port);
  };
  r.host_v4 = [](std::string_view host) -> std::optional<core::IpAddress> {
    addrinfo hints{};
    hints.ai_family = AF_INET;
    addrinfo* res = nullptr;
    const std::string name(host);
    if (getaddrinfo(name.c_str(), nullptr, &hints, &res) != 0 || res == nullptr) {
      return std::nullopt;
    }
    sockaddr_in sin{};
    std::memcpy(&sin, res->ai_addr, sizeof(sin));
    freeaddrinfo(res);
    return core::IpAddress::v4(ntohl(sin.sin_addr.s_addr));
  };
  return r;
}

Resolver numeric_resolver() { return Resolver{}; }

}  // namespace lvs::ctl
