#include "bin/realserver_flags.h"

#include <algorithm>
#include <charconv>

#include <fmt/format.h>

#include "bin/long_flag.h"

namespace lvs::bin {

namespace {

using core::fail;
using core::Result;

constexpr std::size_t kMaxNameLength = 64;
constexpr std::uint32_t kMaxCount = 1'000'000;

Result<std::uint64_t> parse_uint(std::string_view text, std::string_view what, std::uint64_t min,
                                 std::uint64_t max) {
  std::uint64_t v = 0;
  const auto* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, v);
  if (text.empty() || ec != std::errc{} || ptr != end || v < min || v > max) {
    return fail(EINVAL, fmt::format("{} '{}' is not a number in {}..{}", what, text, min, max));
  }
  return v;
}

// "2" or "2s" = seconds, "250ms" = milliseconds; 1ms..1h.
Result<std::chrono::milliseconds> parse_wait(std::string_view text) {
  std::uint64_t scale = 1000;
  std::string_view num = text;
  if (num.ends_with("ms")) {
    scale = 1;
    num.remove_suffix(2);
  } else if (num.ends_with("s")) {
    num.remove_suffix(1);
  }
  auto v = parse_uint(num, "--wait", 1, 3'600'000);
  if (!v || *v * scale > 3'600'000) {
    return fail(
        EINVAL,
        fmt::format("--wait '{}' is not a duration like 2, 2s or 250ms (at most 1h)", text));
  }
  return std::chrono::milliseconds(static_cast<std::chrono::milliseconds::rep>(*v * scale));
}

Result<core::Endpoint> parse_endpoint(std::string_view flag, std::string_view text) {
  auto ep = core::Endpoint::parse(text);
  if (!ep) return fail(EINVAL, fmt::format("{} '{}': {}", flag, text, ep.error().message));
  return ep;
}

// The name is echoed in every answer and in HTTP bodies: keep it one printable word.
Result<void> check_name(std::string_view name) {
  const bool printable = std::all_of(name.begin(), name.end(), [](char c) {
    return static_cast<unsigned char>(c) > 0x20 && static_cast<unsigned char>(c) < 0x7f;
  });
  if (name.empty() || name.size() > kMaxNameLength || !printable) {
    return fail(EINVAL, fmt::format("--name '{}' must be 1..{} printable characters without spaces",
                                    name, kMaxNameLength));
  }
  return {};
}

// Which flags were given, for the cross-checks after the loop.
struct Seen {
  bool name = false;
  bool http = false;
  bool query = false;
  bool count = false;
  bool wait = false;
  bool message = false;
};

}  // namespace

Result<RealserverConfig> parse_realserver_flags(std::span<const std::string_view> args) {
  RealserverConfig cfg;
  Seen seen;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const FlagArg arg = split_long_flag(args[i]);
    const std::string_view flag = arg.name;
    const std::optional<std::string_view> inline_value = arg.inline_value;
    const bool takes_value = flag == "--name" || flag == "--tcp" || flag == "--udp" ||
                             flag == "--query-udp" || flag == "--count" || flag == "--wait";
    const bool no_value =
        flag == "--http" || flag == "--report-peer" || flag == "--help" || flag == "-h";
    if (!takes_value && !no_value) {
      if (flag.starts_with("-") && flag != "-") {
        return fail(EINVAL,
                    fmt::format("unknown option '{}' (see lvs-realserver --help)", args[i]));
      }
      if (!seen.query || seen.message) {
        return fail(EINVAL,
                    fmt::format("unexpected argument '{}' (see lvs-realserver --help)", args[i]));
      }
      cfg.message = std::string(args[i]);
      seen.message = true;
      continue;
    }
    std::string_view value;
    if (takes_value) {
      if (inline_value) {
        value = *inline_value;
      } else if (i + 1 < args.size()) {
        value = args[++i];
      } else {
        return fail(EINVAL, fmt::format("{} needs a value", flag));
      }
    } else if (inline_value) {
      return fail(EINVAL, fmt::format("{} takes no value", flag));
    }

    if (flag == "--help" || flag == "-h") {
      cfg.mode = RealserverMode::kHelp;
      return cfg;
    }
    if (flag == "--name") {
      if (auto r = check_name(value); !r) return core::Unexpected{r.error()};
      cfg.name = std::string(value);
      seen.name = true;
    } else if (flag == "--tcp" || flag == "--udp") {
      auto ep = parse_endpoint(flag, value);
      if (!ep) return core::Unexpected{ep.error()};
      auto& slot = flag == "--tcp" ? cfg.tcp : cfg.udp;
      if (slot) return fail(EINVAL, fmt::format("{} is given twice", flag));
      slot = *ep;
    } else if (flag == "--http") {
      cfg.tcp_protocol = TcpProtocol::kHttp;
      seen.http = true;
    } else if (flag == "--report-peer") {
      cfg.report_peer = true;
    } else if (flag == "--query-udp") {
      auto ep = parse_endpoint(flag, value);
      if (!ep) return core::Unexpected{ep.error()};
      if (ep->port == 0) {
        return fail(EINVAL, fmt::format("--query-udp '{}' needs a port other than 0", value));
      }
      cfg.target = *ep;
      cfg.mode = RealserverMode::kQueryUdp;
      seen.query = true;
    } else if (flag == "--count") {
      auto n = parse_uint(value, "--count", 1, kMaxCount);
      if (!n) return core::Unexpected{n.error()};
      cfg.count = static_cast<std::uint32_t>(*n);
      seen.count = true;
    } else if (flag == "--wait") {
      auto w = parse_wait(value);
      if (!w) return core::Unexpected{w.error()};
      cfg.wait = *w;
      seen.wait = true;
    }
  }

  if (seen.query) {
    if (seen.name || cfg.tcp || cfg.udp || seen.http || cfg.report_peer) {
      return fail(EINVAL,
                  "--query-udp is a client: it takes no --name, --tcp, --udp, --http or "
                  "--report-peer");
    }
    return cfg;
  }
  if (seen.count || seen.wait) {
    return fail(EINVAL, "--count and --wait apply to --query-udp only");
  }
  if (!seen.name) return fail(EINVAL, "--name NAME is required: every answer carries it");
  if (!cfg.tcp && !cfg.udp) {
    return fail(EINVAL, "nothing to serve: give --tcp ADDR:PORT and/or --udp ADDR:PORT");
  }
  if (seen.http && !cfg.tcp) return fail(EINVAL, "--http needs --tcp ADDR:PORT");
  if (seen.http && cfg.report_peer) {
    return fail(EINVAL, "--report-peer works with the echo greeting and UDP, not with --http");
  }
  return cfg;
}

std::string realserver_usage() {
  return "usage: lvs-realserver --name NAME [--tcp ADDR:PORT [--http]] [--udp ADDR:PORT]\n"
         "       lvs-realserver --query-udp ADDR:PORT [--count N] [--wait DURATION] [MESSAGE]\n"
         "\n"
         "A small realserver bundled with lvsd for demos and tests. Every answer carries NAME,\n"
         "so a client sees which realserver the director picked.\n"
         "\n"
         "serve:\n"
         "  --name NAME          the realserver's name (1..64 printable characters)\n"
         "  --tcp ADDR:PORT      TCP: writes 'NAME' and a newline, then echoes what it receives\n"
         "  --http               TCP speaks HTTP/1.x instead: every request gets 200 and "
         "'NAME\\n'\n"
         "  --udp ADDR:PORT      UDP: answers each datagram with 'NAME: <payload>'\n"
         "  --report-peer        name the client as seen here: 'NAME peer=ADDR:PORT' in the TCP\n"
         "                       greeting, 'NAME peer=ADDR:PORT: <payload>' over UDP\n"
         "  Port 0 picks a free port. Once listening it prints one line on stdout, e.g.\n"
         "  'ready tcp=127.0.0.2:41234 udp=127.0.0.2:40000'. SIGINT/SIGTERM stop it.\n"
         "\n"
         "query (a UDP client for scripts):\n"
         "  --query-udp ADDR:PORT send MESSAGE (default 'hello') and print the reply on one line\n"
         "  --count N            N datagrams, each from a new socket (a new flow), default 1\n"
         "  --wait DURATION      how long to wait for each reply: 2, 2s or 250ms (default 1s)\n"
         "  Exits 1 when a reply does not come in time.\n"
         "\n"
         "Argument errors exit with status 2.\n";
}

}  // namespace lvs::bin
