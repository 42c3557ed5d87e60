// lvs-decap: installs, reconfigures, reports and removes the realserver's decapsulation
// program for tunnelling (-i). This kernel has no IPIP, FOU/GUE or GRE device, so the
// realserver strips the director's outer headers in XDP (src/dp/xdp/bpf/lvs_decap.bpf.c) and
// hands the inner packet, addressed to a VIP on lo, to its stack: IPIP and GRE always, GUE on
// the UDP ports given with --gue-port. The program stays attached after this tool exits;
// lvs-route's tunnel mode (LVS_ROUTE_MODE=tun) runs it.
//
//   lvs-decap attach IFACE --vip VIP[,VIP...] [--vip ...] [--local ADDR[,ADDR...]]
//                          [--gue-port PORT[,PORT...]] [--mode auto|native|generic]
//   lvs-decap detach IFACE
//   lvs-decap status IFACE
//
// attach: installs the program, or replaces the VIPs and local addresses of the one installed.
// --local: the outer destinations accepted (default: IFACE's addresses now).
// --gue-port: the UDP ports GUE is accepted on (the directors' --tun-port; default: none).
// Exit codes: 0 ok, 1 error, 2 usage, 3 not installed (status).

#include <fmt/format.h>

#include <charconv>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "core/endpoint.h"
#include "core/result.h"
#include "dp/xdp/decap.h"

namespace lvs::decaptool {
namespace {

constexpr int kUsage = 2;
constexpr int kNotInstalled = 3;

constexpr std::string_view kUsageText =
    "usage: lvs-decap attach IFACE --vip VIP[,VIP...] [--local ADDR[,ADDR...]] "
    "[--gue-port PORT[,PORT...]] [--mode auto|native|generic]\n"
    "       lvs-decap detach IFACE\n"
    "       lvs-decap status IFACE\n";

int usage(std::string_view why) {
  std::fprintf(stderr, "lvs-decap: %.*s\n%.*s", static_cast<int>(why.size()), why.data(),
               static_cast<int>(kUsageText.size()), kUsageText.data());
  return kUsage;
}

int error(const core::Error& e) {
  std::fprintf(stderr, "%s\n", e.message.c_str());
  return 1;
}

// "A,B,C" into addresses, appended to `out`; the first bad one is the error.
core::Result<void> parse_list(std::string_view text, std::string_view flag,
                              std::vector<core::IpAddress>& out) {
  while (!text.empty()) {
    const std::size_t comma = text.find(',');
    const std::string_view one = text.substr(0, comma);
    auto a = core::IpAddress::parse(one);
    if (!a) {
      return core::fail(EINVAL, fmt::format("{} '{}' is not an IPv4 or IPv6 address", flag, one));
    }
    out.push_back(*a);
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return {};
}

// "P,Q" into UDP ports (1-65535), appended to `out`.
core::Result<void> parse_ports(std::string_view text, std::vector<std::uint16_t>& out) {
  while (!text.empty()) {
    const std::size_t comma = text.find(',');
    const std::string_view one = text.substr(0, comma);
    unsigned int port = 0;
    const auto [ptr, ec] = std::from_chars(one.data(), one.data() + one.size(), port);
    if (ec != std::errc{} || ptr != one.data() + one.size() || port == 0 || port > 65535) {
      return core::fail(EINVAL, fmt::format("--gue-port '{}' is not a UDP port (1-65535)", one));
    }
    out.push_back(static_cast<std::uint16_t>(port));
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return {};
}

std::string ports_text(const std::vector<std::uint16_t>& ports) {
  std::string s;
  for (const std::uint16_t p : ports) s += (s.empty() ? "" : ",") + std::to_string(p);
  return s.empty() ? "(none)" : s;
}

std::string joined(const std::vector<core::IpAddress>& addrs) {
  std::string s;
  for (const core::IpAddress& a : addrs) s += (s.empty() ? "" : " ") + a.to_string();
  return s.empty() ? "(none)" : s;
}

std::string_view mode_name(dp::xdp::AttachMode m) {
  return m == dp::xdp::AttachMode::kNative ? "native" : "generic";
}

int attach(std::string_view ifname, const std::vector<std::string_view>& args) {
  std::vector<core::IpAddress> vips;
  std::vector<core::IpAddress> locals;
  std::vector<std::uint16_t> gue_ports;
  auto policy = dp::xdp::AttachPolicy::kAuto;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string_view flag = args[i];
    if (i + 1 >= args.size()) return usage(fmt::format("{} needs a value", flag));
    const std::string_view value = args[++i];
    if (flag == "--vip" || flag == "--local") {
      if (auto r = parse_list(value, flag, flag == "--vip" ? vips : locals); !r) {
        return usage(r.error().message);
      }
    } else if (flag == "--gue-port") {
      if (auto r = parse_ports(value, gue_ports); !r) return usage(r.error().message);
    } else if (flag == "--mode") {
      if (value == "auto") {
        policy = dp::xdp::AttachPolicy::kAuto;
      } else if (value == "native") {
        policy = dp::xdp::AttachPolicy::kNative;
      } else if (value == "generic") {
        policy = dp::xdp::AttachPolicy::kGeneric;
      } else {
        return usage(fmt::format("--mode '{}' is not auto, native or generic", value));
      }
    } else {
      return usage(fmt::format("unknown option '{}'", flag));
    }
  }
  if (vips.empty()) return usage("attach needs at least one --vip");
  if (locals.empty()) {
    auto own = dp::xdp::interface_addresses(ifname);
    if (!own) return error(own.error());
    locals = std::move(*own);
  }
  auto mode = dp::xdp::decap_attach(ifname, vips, locals, gue_ports, policy);
  if (!mode) return error(mode.error());
  const std::string gue = gue_ports.empty() ? "" : " and GUE on UDP " + ports_text(gue_ports);
  std::printf("lvs-decap: %.*s decapsulates IPIP, GRE%s to %s (accepted on %s; %.*s XDP)\n",
              static_cast<int>(ifname.size()), ifname.data(), gue.c_str(), joined(vips).c_str(),
              joined(locals).c_str(), static_cast<int>(mode_name(*mode).size()),
              mode_name(*mode).data());
  return 0;
}

int run(const std::vector<std::string_view>& argv) {
  if (argv.size() == 1 && (argv[0] == "-h" || argv[0] == "--help")) {
    std::fputs(kUsageText.data(), stdout);
    return 0;
  }
  if (argv.size() < 2) return usage("a command and an interface are needed");
  const std::string_view cmd = argv[0];
  const std::string_view ifname = argv[1];
  const std::vector<std::string_view> rest(argv.begin() + 2, argv.end());
  if (cmd == "attach") return attach(ifname, rest);
  if (!rest.empty()) return usage(fmt::format("{} takes only the interface", cmd));
  if (cmd == "detach") {
    auto r = dp::xdp::decap_detach(ifname);
    if (!r) return error(r.error());
    std::printf("lvs-decap: %.*s: %s\n", static_cast<int>(ifname.size()), ifname.data(),
                *r ? "decapsulation removed" : "no decapsulation was installed");
    return 0;
  }
  if (cmd == "status") {
    auto s = dp::xdp::decap_status(ifname);
    if (!s) return error(s.error());
    if (!s->installed) {
      std::printf("lvs-decap: %.*s: not installed\n", static_cast<int>(ifname.size()),
                  ifname.data());
      return kNotInstalled;
    }
    std::printf(
        "lvs-decap: %.*s: installed (program %u, %.*s XDP)\n  VIPs: %s\n  local addresses: "
        "%s\n  GUE ports: %s\n  decapsulated: %llu\n  tunnelled, not for us: %llu\n",
        static_cast<int>(ifname.size()), ifname.data(), s->prog_id,
        static_cast<int>(mode_name(s->mode).size()), mode_name(s->mode).data(),
        joined(s->vips).c_str(), joined(s->locals).c_str(), ports_text(s->gue_ports).c_str(),
        static_cast<unsigned long long>(s->counters.decapped),  // NOLINT(google-runtime-int)
        static_cast<unsigned long long>(s->counters.foreign));  // NOLINT(google-runtime-int)
    return 0;
  }
  return usage(fmt::format("unknown command '{}'", cmd));
}

}  // namespace
}  // namespace lvs::decaptool

int main(int argc, char** argv) {
  std::vector<std::string_view> args;
  for (int i = 1; i < argc; ++i) args.emplace_back(argv[i]);  // NOLINT: main's argv
  return lvs::decaptool::run(args);
}
