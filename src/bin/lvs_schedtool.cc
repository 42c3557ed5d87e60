// lvs-schedtool: shows how an IPVS scheduler spreads new connections over realservers.
// It builds one virtual service the way `ipvsadm -a` would (each realserver added at the
// front of the list), opens simulated connections from a set of client addresses, holds a
// few of them open so least-connection schedulers see load, and prints where each went.
// Everything is simulated in memory: no packets, no privileges, deterministic output.

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "core/endpoint.h"
#include "core/result.h"
#include "core/rng.h"
#include "model/dest_load.h"
#include "model/service.h"
#include "sched/registry.h"

namespace lvs::schedtool {
namespace {

constexpr std::uint16_t kServicePort = 80;  // the simulated service is TCP 192.0.2.1:80
constexpr std::uint32_t kVip = 0xC0000201U;
constexpr std::uint32_t kMaxWeight = 65535;  // what ipvsadm accepts
constexpr std::uint32_t kMaxPicks = 10'000'000;
constexpr std::uint32_t kClientsPerNet = 254;                        // .1 .. .254 of each /24
constexpr std::uint32_t kClientNets[] = {0xCB007100U, 0xC6336400U};  // 203.0.113/24, 198.51.100/24
constexpr std::uint32_t kMaxClients = kClientsPerNet * 2;
constexpr std::uint32_t kMaxConcurrent = 1'000'000;
constexpr std::uint64_t kRngSeed = 1;  // twos draws from a fixed seed: runs are repeatable

struct FlagName {
  std::string_view name;
  std::uint32_t bit;
  std::string_view only_for;  // the scheduler the flag belongs to, empty for any
};
constexpr FlagName kFlagNames[] = {
    {"sh-fallback", model::sched_flag::kShFallback, "sh"},
    {"sh-port", model::sched_flag::kShPort, "sh"},
    {"mh-fallback", model::sched_flag::kMhFallback, "mh"},
    {"mh-port", model::sched_flag::kMhPort, "mh"},
    {"flag-1", model::sched_flag::kFlag1, ""},
    {"flag-2", model::sched_flag::kFlag2, ""},
    {"flag-3", model::sched_flag::kFlag3, ""},
};

struct Real {
  core::Endpoint addr{};
  std::int32_t weight = 1;
};

struct Options {
  std::string scheduler = "wlc";  // ipvsadm's default
  std::uint32_t flags = 0;
  std::uint32_t picks = 1000;
  std::uint32_t clients = 100;
  std::uint32_t concurrent = 16;
  bool verbose = false;
  bool help = false;
  std::vector<Real> reals{};  // in the order given on the command line
};

std::string usage() {
  std::string names;
  for (const auto& s : sched::schedulers()) {
    if (!names.empty()) names += ' ';
    names += s.name;
  }
  return fmt::format(
      "Usage: lvs-schedtool [options] REAL[:PORT][,weight=W] ...\n"
      "\n"
      "Simulates new connections to one virtual service (TCP 192.0.2.1:{port}) and shows\n"
      "where the scheduler sends them. Realservers are added in the order given, each at the\n"
      "front of the list as `ipvsadm -a` does, so the last one given is tried first. A\n"
      "realserver without a port gets the service port {port}; the default weight is 1.\n"
      "\n"
      "Options:\n"
      "  -s, --scheduler NAME     scheduler (default wlc), one of:\n"
      "                           {names}\n"
      "  -b, --sched-flags F[,F]  sh-fallback sh-port mh-fallback mh-port flag-1 flag-2 flag-3\n"
      "  -n, --picks N            new connections to simulate, 1..{max_picks} (default 1000)\n"
      "      --clients N          distinct client addresses, 1..{max_clients} (default 100),\n"
      "                           from 203.0.113.0/24 then 198.51.100.0/24, taking turns\n"
      "      --concurrent N       connections held open at once (default 16): the oldest\n"
      "                           closes when a new one would exceed it; 0 closes at once\n"
      "  -v, --verbose            also print one line per connection\n"
      "  -h, --help               print this text\n"
      "\n"
      "Example: lvs-schedtool -s wrr 10.0.0.1,weight=3 10.0.0.2 10.0.0.3:8080,weight=2\n",
      fmt::arg("port", kServicePort), fmt::arg("names", names), fmt::arg("max_picks", kMaxPicks),
      fmt::arg("max_clients", kMaxClients));
}

// A whole decimal number in lo..hi, or an error naming `what` and the accepted range.
core::Result<std::uint32_t> parse_number(std::string_view text, std::string_view what,
                                         std::uint32_t lo, std::uint32_t hi) {
  std::uint32_t v = 0;
  const auto* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, v);
  if (text.empty() || ec != std::errc{} || ptr != end || v < lo || v > hi) {
    return core::fail(EINVAL, fmt::format("{} '{}' is not a number in {}..{}", what, text, lo, hi));
  }
  return v;
}

core::Result<std::uint32_t> parse_flags(std::string_view text, std::string_view scheduler) {
  std::uint32_t flags = 0;
  while (!text.empty()) {
    const auto comma = text.find(',');
    const std::string_view name = text.substr(0, comma);
    text = comma == std::string_view::npos ? std::string_view{} : text.substr(comma + 1);
    const auto* f = std::find_if(std::begin(kFlagNames), std::end(kFlagNames),
                                 [&](const FlagName& n) { return n.name == name; });
    if (f == std::end(kFlagNames)) {
      return core::fail(EINVAL, fmt::format("invalid scheduler flag '{}'; known: sh-fallback "
                                            "sh-port mh-fallback mh-port flag-1 flag-2 flag-3",
                                            name));
    }
    if (!f->only_for.empty() && f->only_for != scheduler) {
      return core::fail(EINVAL, fmt::format("scheduler flag '{}' is for the {} scheduler, not {}",
                                            name, f->only_for, scheduler));
    }
    flags |= f->bit;
  }
  return flags;
}

// REAL[:PORT][,weight=W]
core::Result<Real> parse_real(std::string_view text) {
  const auto comma = text.find(',');
  auto addr = core::Endpoint::parse(text.substr(0, comma), kServicePort);
  if (!addr) {
    return core::fail(EINVAL, fmt::format("realserver {}", addr.error().message));
  }
  Real real{.addr = *addr, .weight = 1};
  std::string_view rest =
      comma == std::string_view::npos ? std::string_view{} : text.substr(comma + 1);
  while (!rest.empty()) {
    const auto next = rest.find(',');
    const std::string_view option = rest.substr(0, next);
    rest = next == std::string_view::npos ? std::string_view{} : rest.substr(next + 1);
    constexpr std::string_view kWeight = "weight=";
    if (option.substr(0, kWeight.size()) != kWeight) {
      return core::fail(EINVAL, fmt::format("unknown realserver option '{}' in '{}'; only "
                                            "weight=W is known",
                                            option, text));
    }
    const std::string_view w_text = option.substr(kWeight.size());
    const auto w = parse_number(w_text, "weight", 0, kMaxWeight);
    if (!w) {
      // Name the realserver too: "weight 'x' for 10.0.0.1:80 is not a number in 0..65535".
      return core::fail(EINVAL, fmt::format("weight '{}' for {} is not a number in 0..{}", w_text,
                                            real.addr.to_string(), kMaxWeight));
    }
    real.weight = static_cast<std::int32_t>(*w);
  }
  return real;
}

// The command line (without argv[0]). Errors name the argument and say what is accepted.
core::Result<Options> parse_args(const std::vector<std::string_view>& args) {
  Options o;
  std::optional<std::string_view> flag_text;
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string_view arg = args[i];
    std::optional<std::string_view> inline_value;
    if (arg.starts_with("--")) {
      if (const auto eq = arg.find('='); eq != std::string_view::npos) {
        inline_value = arg.substr(eq + 1);
        arg = arg.substr(0, eq);
      }
    }
    // The option's value: after '=' or the next argument.
    auto value = [&]() -> core::Result<std::string_view> {
      if (inline_value) return *inline_value;
      if (i + 1 >= args.size()) {
        return core::fail(EINVAL, fmt::format("option '{}' needs a value", arg));
      }
      return args[++i];
    };
    auto number = [&](std::string_view what, std::uint32_t lo,
                      std::uint32_t hi) -> core::Result<std::uint32_t> {
      auto v = value();
      if (!v) return core::Unexpected{v.error()};
      return parse_number(*v, what, lo, hi);
    };

    if (arg == "-h" || arg == "--help") {
      o.help = true;
    } else if (arg == "-v" || arg == "--verbose") {
      o.verbose = true;
    } else if (arg == "-s" || arg == "--scheduler") {
      auto v = value();
      if (!v) return core::Unexpected{v.error()};
      o.scheduler = std::string(*v);
    } else if (arg == "-b" || arg == "--sched-flags") {
      auto v = value();
      if (!v) return core::Unexpected{v.error()};
      flag_text = *v;
    } else if (arg == "-n" || arg == "--picks") {
      auto v = number("number of picks", 1, kMaxPicks);
      if (!v) return core::Unexpected{v.error()};
      o.picks = *v;
    } else if (arg == "--clients") {
      auto v = number("number of clients", 1, kMaxClients);
      if (!v) return core::Unexpected{v.error()};
      o.clients = *v;
    } else if (arg == "--concurrent") {
      auto v = number("number of concurrent connections", 0, kMaxConcurrent);
      if (!v) return core::Unexpected{v.error()};
      o.concurrent = *v;
    } else if (arg.size() > 1 && arg.starts_with('-')) {
      return core::fail(EINVAL, fmt::format("unknown option '{}'; see --help", args[i]));
    } else {
      auto real = parse_real(arg);
      if (!real) return core::Unexpected{real.error()};
      for (const Real& r : o.reals) {
        if (r.addr == real->addr) {
          return core::fail(EEXIST,
                            fmt::format("realserver {} is given twice", r.addr.to_string()));
        }
      }
      o.reals.push_back(*real);
    }
  }
  if (o.help) return o;
  if (!sched::scheduler_exists(o.scheduler)) {
    std::string known;
    for (const auto& s : sched::schedulers()) known += fmt::format(" {}", s.name);
    return core::fail(ENOENT, fmt::format("unknown scheduler '{}'; known:{}", o.scheduler, known));
  }
  if (flag_text) {
    auto flags = parse_flags(*flag_text, o.scheduler);
    if (!flags) return core::Unexpected{flags.error()};
    o.flags = *flags;
  }
  if (o.reals.empty()) return core::fail(EINVAL, "no realservers given; see --help");
  return o;
}

// Client k (0-based): 203.0.113.1.. then 198.51.100.1.., with an ephemeral port per connection.
core::Endpoint client_of(std::uint32_t k, std::uint32_t conn) {
  const std::uint32_t host = kClientNets[k / kClientsPerNet] + k % kClientsPerNet + 1;
  return core::Endpoint{.addr = core::IpAddress::v4(host),
                        .port = static_cast<std::uint16_t>(32768 + conn % 28232)};
}

// Runs the simulation and prints to `out`. Fails only if the scheduler refuses the list.
core::Result<void> run(const Options& o, std::FILE* out) {
  core::SystemRng rng(kRngSeed);
  auto made = sched::make_scheduler(o.scheduler, sched::SchedulerDeps{.rng = &rng});
  if (!made) return core::Unexpected{made.error()};
  sched::Scheduler& scheduler = **made;
  if (auto r = scheduler.rebuild({}, {sched::ChangeKind::kInit, 0}); !r) return r;

  // Like `ipvsadm -a` for each realserver in turn: insert at the front, tell the scheduler.
  const std::size_t n = o.reals.size();
  auto loads = std::make_unique<model::DestLoad[]>(n);  // atomics: fixed addresses
  std::vector<sched::Dest> dests;
  std::vector<model::DestLoad*> load_at;  // parallel to dests: the writable load
  dests.reserve(n);
  load_at.reserve(n);
  for (std::size_t k = 0; k < n; ++k) {
    const Real& r = o.reals[k];
    dests.insert(dests.begin(), sched::Dest{.addr = r.addr,
                                            .weight = r.weight,
                                            .last_weight = r.weight == 0 ? 1 : r.weight,
                                            .load = &loads[k]});
    load_at.insert(load_at.begin(), &loads[k]);
    if (auto rb = scheduler.rebuild(dests, {sched::ChangeKind::kAdded, 0}); !rb) {
      return core::fail(rb.error().code, fmt::format("adding realserver {}: {}", r.addr.to_string(),
                                                     rb.error().message));
    }
  }

  // Open connections hold their dest's active count until they close, oldest first.
  std::deque<model::DestLoad*> open;
  std::vector<std::uint64_t> picks(n, 0);
  std::uint64_t failed = 0;
  const sched::Flow base{.client = {},
                         .dest = {.addr = core::IpAddress::v4(kVip), .port = kServicePort}};
  core::TimePoint now{};
  for (std::uint32_t c = 0; c < o.picks; ++c) {
    if (!open.empty() && open.size() >= o.concurrent) {
      open.front()->active.fetch_sub(1);
      open.pop_front();
    }
    sched::Flow flow = base;
    flow.client = client_of(c % o.clients, c);
    const auto chosen = scheduler.pick(
        sched::PickInput{.dests = dests, .flow = flow, .flags = o.flags, .now = now});
    now += std::chrono::milliseconds(100);  // one new connection every 100 ms
    if (o.verbose) {
      fmt::print(out, "{:>7}  {:<21} -> {}\n", c + 1, flow.client.to_string(),
                 chosen ? dests[*chosen].addr.to_string() : std::string("no destination"));
    }
    if (!chosen) {
      ++failed;
      continue;
    }
    ++picks[*chosen];
    if (o.concurrent > 0) {
      load_at[*chosen]->active.fetch_add(1);
      open.push_back(load_at[*chosen]);
    }
  }

  // Summary in iteration order (the order the scheduler scans), shares in tenths of a percent.
  auto share = [&](std::uint64_t k) {
    const std::uint64_t tenths = (k * 1000 + o.picks / 2) / o.picks;
    return fmt::format("{}.{}%", tenths / 10, tenths % 10);
  };
  std::size_t width = std::string_view("RealServer").size();
  for (const auto& d : dests) width = std::max(width, d.addr.to_string().size());
  fmt::print(out, "Scheduler {}, {} connections from {} clients, at most {} open at a time\n",
             o.scheduler, o.picks, o.clients, o.concurrent);
  fmt::print(out, "{:<{}}  {:>6}  {:>9}  {:>6}\n", "RealServer", width, "Weight", "Picks", "Share");
  for (std::size_t i = 0; i < n; ++i) {
    fmt::print(out, "{:<{}}  {:>6}  {:>9}  {:>6}\n", dests[i].addr.to_string(), width,
               dests[i].weight, picks[i], share(picks[i]));
  }
  if (failed > 0) {
    fmt::print(out, "{:<{}}  {:>6}  {:>9}  {:>6}\n", "no destination", width, "", failed,
               share(failed));
  }
  return {};
}

}  // namespace
}  // namespace lvs::schedtool

int main(int argc, char** argv) {
  const std::vector<std::string_view> args(argv + 1, argv + argc);
  const auto options = lvs::schedtool::parse_args(args);
  if (!options) {
    fmt::print(stderr, "lvs-schedtool: {}\n", options.error().message);
    return 2;
  }
  if (options->help) {
    fmt::print("{}", lvs::schedtool::usage());
    return 0;
  }
  if (auto r = lvs::schedtool::run(*options, stdout); !r) {
    fmt::print(stderr, "lvs-schedtool: {}\n", r.error().message);
    return 1;
  }
  return 0;
}
