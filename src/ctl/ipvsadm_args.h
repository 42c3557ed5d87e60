#pragma once
// ipvsadm's command line (spec §4.1-§4.3) as a pure function: argv -> a Command value, or a
// CliError carrying ipvsadm's exact text and exit status. Nothing here touches the running
// director; name lookups (hosts, service ports) go through an injectable Resolver.
//
// Parsing rules (spec §4.1):
// * argv[0] is the program name (PROG in the "Try `PROG -h' ..." text). No further words at
//   all means `-L` with names resolved.
// * The first option must be a command (-A -E -D -C -R -S -a -e -d -L/-l -Z --set
//   --start-daemon --stop-daemon -h -v, and the extension --drain); otherwise "Try ..." exit 255.
//   A command option later -> "invalid option `WORD'" exit 2 (WORD = the whole argv word).
// * Short options bundle (`-Ln`); a short option that takes a value takes the rest of its
//   bundle (`-w5`) or the next word. Long options take `--opt=value` or the next word.
//   `-p/--persistent` takes a value only when the next word does not start with '-'.
// * An unknown later option prints "WORD: unknown option"; a missing value prints
//   "WORD: missing argument" (popt's wording), exit 255.
//
// `-b` on servers (DPVS uses `-b` for full-NAT realservers, ipvsadm for the service's
// --sched-flags): when the command is -a/--add-server or -e/--edit-server, `-b` takes no value
// and means `--fullnat`; with every other command it is --sched-flags and needs a value.
// ipvsadm rejects sched-flags with -a/-e ("Illegal 'sched-flags' option ..."), so no script
// that ipvsadm accepts changes meaning. The long form `--sched-flags` is always sched-flags.
//
// Extensions (not in ipvsadm): `-L --json` (the list modifier `json`), `--drain -t V -r R
// [--wait SECONDS]` (command "drain", option "wait"), `--reload` (lvsd re-reads its -f file),
// `--fullnat` (forwarding FullNat).

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "core/endpoint.h"
#include "model/service.h"

namespace lvs::ctl {

// A validation failure: the one line ipvsadm prints on stderr and its exit status.
struct CliError {
  std::string text{};
  int exit_code = 2;
  int line = 0;  // restore input line (1-based) the error comes from; 0 = the command line

  bool operator==(const CliError&) const = default;
};

// A value or a CliError (shaped like Result<T>, but with an exit status instead of an errno).
template <typename T>
class [[nodiscard]] CliResult {
 public:
  CliResult(T value) : v_(std::in_place_index<0>, std::move(value)) {}         // NOLINT: implicit
  CliResult(CliError error) : v_(std::in_place_index<1>, std::move(error)) {}  // NOLINT: implicit

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  const T& value() const& { return std::get<0>(v_); }
  T& value() & { return std::get<0>(v_); }
  const T& operator*() const& { return value(); }
  const T* operator->() const { return &value(); }
  const CliError& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, CliError> v_;
};

enum class CommandKind : std::uint8_t {
  kAddService,
  kEditService,
  kDeleteService,
  kFlush,
  kList,
  kAddServer,
  kEditServer,
  kDeleteServer,
  kZero,
  kSet,
  kStartDaemon,
  kStopDaemon,
  kRestore,
  kSave,
  kHelp,
  kVersion,
  kDrain,   // extension
  kReload,  // extension: lvsd re-reads its configuration file
};
// ipvsadm's name for a command in messages: "add-service", "flush", "list", ...
std::string_view command_name(CommandKind kind);

// The options in ipvsadm's legality-check order (spec §4.3); extensions come last.
enum class Option : std::uint8_t {
  kNumeric,
  kConnection,
  kServiceAddress,
  kScheduler,
  kPersistent,
  kNetmask,
  kRealServer,
  kForwardingMethod,
  kWeight,
  kUThreshold,
  kLThreshold,
  kMcastInterface,
  kTimeout,
  kDaemon,
  kStats,
  kRate,
  kThresholds,
  kPersistentConn,
  kNoSort,
  kSyncId,
  kExact,
  kOps,
  kPe,
  kSchedFlags,
  kMcastGroup,
  kMcastPort,
  kMcastTtl,
  kSyncMaxLen,
  kTunInfo,
  kTunType,
  kTunPort,
  kTunNoCsum,
  kTunCsum,
  kTunRemCsum,
  kJson,      // extension: -L --json
  kWait,      // extension: --drain --wait SECONDS
  kProgress,  // extension: --drain --progress (the live view even when not on a terminal)
  kCount,
};
std::string_view option_name(Option opt);  // "service-address", "forwarding-method", ...

// Which options were given, as a bit set.
struct OptionSet {
  std::uint64_t bits = 0;

  bool has(Option o) const { return (bits >> static_cast<unsigned>(o) & 1U) != 0; }
  void set(Option o) { bits |= std::uint64_t{1} << static_cast<unsigned>(o); }
  bool operator==(const OptionSet&) const = default;
};

// List modifiers (spec §4.3, §4.6).
struct ListOptions {
  bool numeric = false;
  bool connection = false;  // -c
  bool timeout = false;     // --timeout
  bool daemon = false;      // --daemon
  bool stats = false;
  bool rate = false;
  bool thresholds = false;
  bool persistent_conn = false;
  bool tun_info = false;
  bool nosort = false;
  bool exact = false;
  bool json = false;  // extension

  bool operator==(const ListOptions&) const = default;
};

// --set TCP TCPFIN UDP, seconds; 0 = keep the current value.
struct Timeouts {
  std::uint32_t tcp = 0;
  std::uint32_t tcpfin = 0;
  std::uint32_t udp = 0;

  bool operator==(const Timeouts&) const = default;
};

enum class SyncState : std::uint8_t { kMaster, kBackup };

// --start-daemon / --stop-daemon and their options.
struct DaemonOptions {
  SyncState state = SyncState::kMaster;
  std::string mcast_interface{};
  std::uint32_t syncid = 0;
  std::optional<core::IpAddress> mcast_group{};
  std::uint16_t mcast_port = 0;   // 0 = not given
  std::uint32_t mcast_ttl = 0;    // 0 = not given
  std::uint32_t sync_maxlen = 0;  // 0 = not given

  bool operator==(const DaemonOptions&) const = default;
};

// One parsed invocation. `service` is the complete service object -E would send (defaults
// plus the given options); `dest` likewise for -a/-e. Only fields of given options differ
// from their defaults; `given` says which options appeared.
struct Command {
  CommandKind kind = CommandKind::kList;
  OptionSet given{};
  model::VirtualService service{};  // key + attributes; `dests` always empty
  model::RealServer dest{};         // -r and its attributes
  ListOptions list{};
  Timeouts timeouts{};
  DaemonOptions daemon{};
  std::uint32_t drain_wait_seconds = 0;  // --drain --wait; 0 = not given
  bool drain_progress = false;           // --drain --progress

  bool has(Option o) const { return given.has(o); }
  bool operator==(const Command&) const = default;
};

// Name lookups, injectable so tests do not depend on /etc/services or DNS.
struct Resolver {
  // Port for a service name under a protocol ("http", TCP -> 80); nullopt if unknown.
  std::function<std::optional<std::uint16_t>(std::string_view name, model::Protocol)>
      service_port{};
  // IPv4 address of a host name; nullopt if it does not resolve.
  std::function<std::optional<core::IpAddress>(std::string_view host)> host_v4{};
};
// getservbyname(3) and getaddrinfo(3) (AF_INET).
Resolver system_resolver();
// Resolves nothing: only numeric addresses and ports parse.
Resolver numeric_resolver();

// argv -> Command (spec §4.1-§4.3, every check up to the engine). The further checks of §4.3
// (zero port, ops, port forcing, address family, tunnel options, list conflicts) are applied.
CliResult<Command> parse_ipvsadm_args(const std::vector<std::string>& argv,
                                      const Resolver& resolver = system_resolver());

// The §4.3 "further checks" alone, in their order; also forces Route/Tunnel dest ports.
// Idempotent; parse_ipvsadm_args() already applied it.
std::optional<CliError> apply_cli_checks(Command& cmd);

// ``Try `PROG -h' or 'PROG --help' for more information.`` (exit 255).
CliError try_help(std::string_view prog);

// `-v`: our version line in ipvsadm's shape.
std::string version_line();
// `-h`: the version line and a usage summary generated from the command and option tables.
std::string help_text(std::string_view prog);

// Scheduler-flag names for a scheduler: sh -> sh-fallback,sh-port; mh -> mh-*; else flag-N.
// Comma-joined, in bit order; empty for no flags.
std::string sched_flag_names(std::uint32_t flags, std::string_view scheduler);

}  // namespace lvs::ctl
