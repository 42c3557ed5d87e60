#include "ctl/save.h"

#include <fmt/format.h>

namespace lvs::ctl {

namespace {

using model::ForwardMethod;
using model::TunnelCsum;
using model::TunnelType;

std::string endpoint_arg(const core::Endpoint& ep, model::Protocol proto, const Names& names,
                         bool numeric) {
  // The dest label without the 28-character cut; IPv6 in brackets.
  std::string host;
  std::string port;
  if (!numeric && names.host) host = names.host(ep.addr);
  if (!numeric && names.service) port = names.service(ep.port, proto);
  if (host.empty()) host = ep.addr.to_string();
  if (port.empty()) port = std::to_string(ep.port);
  return ep.addr.is_v4() ? fmt::format("{}:{}", host, port) : fmt::format("[{}]:{}", host, port);
}

std::string service_arg(const model::ServiceKey& key, const Names& names, bool numeric) {
  if (key.is_fwmark()) {
    return key.af == core::Family::kInet6 ? fmt::format("-f {} -6", key.fwmark)
                                          : fmt::format("-f {}", key.fwmark);
  }
  static constexpr std::pair<model::Protocol, std::string_view> kFlags[] = {
      {model::Protocol::kTcp, "-t"},
      {model::Protocol::kUdp, "-u"},
      {model::Protocol::kSctp, "--sctp-service"},
  };
  std::string_view flag = "-t";
  for (const auto& [p, f] : kFlags) {
    if (p == key.protocol) flag = f;
  }
  return fmt::format("{} {}", flag, endpoint_arg(key.vip, key.protocol, names, numeric));
}

std::string_view forward_arg(ForwardMethod f) {
  static constexpr std::pair<ForwardMethod, std::string_view> kArgs[] = {
      {ForwardMethod::kMasq, "-m"},           {ForwardMethod::kRoute, "-g"},
      {ForwardMethod::kTunnel, "-i"},         {ForwardMethod::kLocal, "-g"},
      {ForwardMethod::kFullNat, "--fullnat"},
  };
  for (const auto& [m, arg] : kArgs) {
    if (m == f) return arg;
  }
  return "-g";
}

std::string_view csum_arg(TunnelCsum c) {
  switch (c) {
    case TunnelCsum::kNoCsum:
      return "--tun-nocsum";
    case TunnelCsum::kCsum:
      return "--tun-csum";
    case TunnelCsum::kRemCsum:
      return "--tun-remcsum";
  }
  return "--tun-nocsum";
}

std::string tunnel_args(const model::RealServer& d) {
  if (d.forward != ForwardMethod::kTunnel) return {};
  switch (d.tun_type) {
    case TunnelType::kIpip:
      return " --tun-type ipip";
    case TunnelType::kGue:
      return fmt::format(" --tun-type gue --tun-port {} {}", d.tun_port, csum_arg(d.tun_csum));
    case TunnelType::kGre:
      return fmt::format(" --tun-type gre {}", csum_arg(d.tun_csum));
  }
  return {};
}

}  // namespace

std::string format_save(const model::ServiceTable& table, bool numeric, const Names& names) {
  const auto input = listing_input(table);
  std::string out;
  for (const auto* view : sorted_services(input)) {
    const auto& s = view->service;
    const auto svc = service_arg(s.key, names, numeric);
    out += fmt::format("-A {} -s {}", svc, s.scheduler);
    if (s.persistent) {
      out += fmt::format(" -p {}", s.timeout);
      if (const auto mask = shown_netmask(s)) out += " -M " + *mask;
    }
    if (!s.pe_name.empty()) out += " --pe " + s.pe_name;
    if (s.one_packet) out += " -o";
    if (s.sched_flags != 0) out += " -b " + sched_flag_names(s.sched_flags, s.scheduler);
    out += '\n';
    for (const auto* d : sorted_dests(*view)) {
      out += fmt::format("-a {} -r {} {} -w {}{}\n", svc,
                         endpoint_arg(d->dest.addr, s.key.protocol, names, numeric),
                         forward_arg(d->dest.forward), d->dest.weight, tunnel_args(d->dest));
    }
  }
  return out;
}

std::vector<RestoreLine> restore_lines(std::string_view text, std::string_view prog) {
  std::vector<RestoreLine> lines;
  int number = 0;
  std::size_t start = 0;
  while (start <= text.size()) {
    const auto nl = text.find('\n', start);
    const auto line = text.substr(start, nl == std::string_view::npos ? nl : nl - start);
    ++number;
    RestoreLine rl{.number = number, .argv = {std::string(prog)}};
    std::size_t i = 0;
    while (i < line.size()) {
      const auto is_blank = [](char c) { return c == ' ' || c == '\t' || c == '\r'; };
      while (i < line.size() && is_blank(line[i])) ++i;
      std::size_t j = i;
      while (j < line.size() && !is_blank(line[j])) ++j;
      if (j > i && line.substr(i, j - i) != "ipvsadm") rl.argv.emplace_back(line.substr(i, j - i));
      i = j;
    }
    if (rl.argv.size() > 1) lines.push_back(std::move(rl));
    if (nl == std::string_view::npos) break;
    start = nl + 1;
  }
  return lines;
}

CliResult<Command> parse_restore_line(const RestoreLine& line, const Resolver& resolver) {
  auto parsed = parse_ipvsadm_args(line.argv, resolver);
  if (parsed && parsed->kind == CommandKind::kRestore) {
    auto err = try_help(line.argv.front());
    err.line = line.number;
    return err;
  }
  if (!parsed) {
    auto err = parsed.error();
    err.line = line.number;
    return err;
  }
  return parsed;
}

CliResult<std::vector<Command>> parse_restore(std::string_view text, std::string_view prog,
                                              const Resolver& resolver) {
  std::vector<Command> out;
  for (const auto& line : restore_lines(text, prog)) {
    auto cmd = parse_restore_line(line, resolver);
    if (!cmd) return cmd.error();
    out.push_back(*cmd);
  }
  return out;
}

}  // namespace lvs::ctl
