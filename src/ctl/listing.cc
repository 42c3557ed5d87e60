#include "ctl/listing.h"

#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <tuple>

#include <fmt/format.h>

namespace lvs::ctl {

namespace {

using model::ForwardMethod;
using model::TunnelCsum;
using model::TunnelType;

constexpr std::string_view kVersionFormat = "IP Virtual Server version 1.2.1 (size={})\n";
constexpr std::size_t kServiceLabelCut = 33;
constexpr std::size_t kDestLabelCut = 28;

std::string endpoint_text(const core::Endpoint& ep, model::Protocol proto, const Names& names,
                          bool numeric) {
  std::string host;
  std::string port;
  if (!numeric && names.host) host = names.host(ep.addr);
  if (!numeric && names.service) port = names.service(ep.port, proto);
  if (host.empty()) host = ep.addr.to_string();
  if (port.empty()) port = std::to_string(ep.port);
  return ep.addr.is_v4() ? fmt::format("{}:{}", host, port) : fmt::format("[{}]:{}", host, port);
}

std::string cut(std::string s, std::size_t n) {
  if (s.size() > n) s.resize(n);
  return s;
}

// What the service line says after the label in the default-shaped formats.
std::string service_tail(const model::VirtualService& svc) {
  std::string out = " " + svc.scheduler;
  if (svc.sched_flags != 0) {
    out += fmt::format(" ({})", sched_flag_names(svc.sched_flags, svc.scheduler));
  }
  if (svc.persistent) {
    out += fmt::format(" persistent {}", svc.timeout);
    if (const auto mask = shown_netmask(svc)) out += " mask " + *mask;
    if (!svc.pe_name.empty()) out += " pe " + svc.pe_name;
  }
  if (svc.one_packet) out += " ops";
  return out;
}

std::string tunnel_info(const model::RealServer& d) {
  if (d.forward != ForwardMethod::kTunnel) return "n/a";
  static constexpr std::pair<TunnelCsum, std::string_view> kCsum[] = {
      {TunnelCsum::kNoCsum, "-c"}, {TunnelCsum::kCsum, "+c"}, {TunnelCsum::kRemCsum, "r+c"}};
  std::string_view cs = "-c";
  for (const auto& [c, text] : kCsum) {
    if (c == d.tun_csum) cs = text;
  }
  switch (d.tun_type) {
    case TunnelType::kIpip:
      return "ipip";
    case TunnelType::kGue:
      return fmt::format("gue:{}:{}", d.tun_port, cs);
    case TunnelType::kGre:
      return fmt::format("gre:{}", cs);
  }
  return "?";
}

std::string five_numbers(const std::array<std::uint64_t, 5>& v, bool exact) {
  std::string out;
  for (const auto x : v) out += number_field(x, exact);
  return out;
}

std::array<std::uint64_t, 5> stats_array(const Stats& s) {
  return {s.conns, s.inpkts, s.outpkts, s.inbytes, s.outbytes};
}
std::array<std::uint64_t, 5> rates_array(const Rates& r) {
  return {r.cps, r.inpps, r.outpps, r.inbps, r.outbps};
}

// One listing format: its two title lines and how it prints a service and a dest.
struct Format {
  std::string title1;
  std::string title2;
  std::string (*service)(const ServiceView&, const std::string& label, bool exact);
  std::string (*dest)(const DestView&, const std::string& label, bool exact);
};

std::string default_service(const ServiceView& s, const std::string& label, bool /*exact*/) {
  return label + service_tail(s.service);
}

std::string stats_service(const ServiceView& s, const std::string& label, bool exact) {
  return fmt::format("{:<33}", label) + five_numbers(stats_array(s.stats), exact);
}
std::string rate_service(const ServiceView& s, const std::string& label, bool exact) {
  return fmt::format("{:<33}", label) + five_numbers(rates_array(s.rates), exact);
}

std::string default_dest(const DestView& d, const std::string& label, bool /*exact*/) {
  return fmt::format("  -> {:<28} {:<7} {:<6} {:<10} {:<10}", label,
                     model::forward_name(d.dest.forward), d.dest.weight, d.active, d.inactive);
}
std::string stats_dest(const DestView& d, const std::string& label, bool exact) {
  return fmt::format("  -> {:<28}", label) + five_numbers(stats_array(d.stats), exact);
}
std::string rate_dest(const DestView& d, const std::string& label, bool exact) {
  return fmt::format("  -> {:<28} {:>8} {:>8} {:>8}", label, d.rates.cps, d.rates.inpps,
                     d.rates.outpps) +
         number_field(d.rates.inbps, exact) + number_field(d.rates.outbps, exact);
}
std::string thresholds_dest(const DestView& d, const std::string& label, bool /*exact*/) {
  return fmt::format("  -> {:<28} {:<10} {:<10} {:<10} {:<10}", label, d.dest.u_threshold,
                     d.dest.l_threshold, d.active, d.inactive);
}
std::string persistent_dest(const DestView& d, const std::string& label, bool /*exact*/) {
  return fmt::format("  -> {:<28} {:<9} {:<11} {:<10} {:<10}", label, d.dest.weight, d.persist,
                     d.active, d.inactive);
}
std::string tun_info_dest(const DestView& d, const std::string& label, bool /*exact*/) {
  return fmt::format("  -> {:<28} {:<7} {:<13} {:<6} {:<10} {:<10}", label,
                     model::forward_name(d.dest.forward), tunnel_info(d.dest), d.dest.weight,
                     d.active, d.inactive);
}

const std::string kRemoteTitle = "  -> RemoteAddress:Port";

const Format& pick_format(const ListOptions& o) {
  static const Format kDefault{
      "Prot LocalAddress:Port Scheduler Flags",
      "  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn", default_service,
      default_dest};
  static const Format kStats{
      fmt::format("{:<33} {:>8} {:>8} {:>8} {:>8} {:>8}", "Prot LocalAddress:Port", "Conns",
                  "InPkts", "OutPkts", "InBytes", "OutBytes"),
      kRemoteTitle, stats_service, stats_dest};
  static const Format kRate{
      fmt::format("{:<33} {:>8} {:>8} {:>8} {:>8} {:>8}", "Prot LocalAddress:Port", "CPS", "InPPS",
                  "OutPPS", "InBPS", "OutBPS"),
      kRemoteTitle, rate_service, rate_dest};
  static const Format kThresholds{
      fmt::format("{:<33} {:<10} {:<10} {:<10} {:<10}", "Prot LocalAddress:Port", "Uthreshold",
                  "Lthreshold", "ActiveConn", "InActConn"),
      kRemoteTitle, default_service, thresholds_dest};
  static const Format kPersistent{
      fmt::format("{:<33} {:<9} {:<11} {:<10} {:<10}", "Prot LocalAddress:Port", "Weight",
                  "PersistConn", "ActiveConn", "InActConn"),
      kRemoteTitle, default_service, persistent_dest};
  static const Format kTunInfo{
      "Prot LocalAddress:Port Scheduler Flags",
      "  -> RemoteAddress:Port           Forward TunnelInfo    Weight ActiveConn InActConn",
      default_service, tun_info_dest};
  // Precedence: stats > rate > thresholds > persistent-conn > tun-info > default.
  const std::pair<bool, const Format*> table[] = {
      {o.stats, &kStats},           {o.rate, &kRate},
      {o.thresholds, &kThresholds}, {o.persistent_conn, &kPersistent},
      {o.tun_info, &kTunInfo},      {true, &kDefault},
  };
  for (const auto& [on, f] : table) {
    if (on) return *f;
  }
  return kDefault;
}

std::string service_block(const ServiceView& s, const Format& f, const ListOptions& o,
                          const Names& names) {
  std::string out = f.service(s, service_label(s.service.key, names, o.numeric), o.exact) + "\n";
  std::vector<const DestView*> dests;
  if (o.nosort) {
    for (const auto& d : s.dests) dests.push_back(&d);
  } else {
    dests = sorted_dests(s);
  }
  for (const auto* d : dests) {
    out += f.dest(*d, dest_label(d->dest.addr, s.service.key.protocol, names, o.numeric), o.exact) +
           "\n";
  }
  return out;
}

std::string connections(const ListingInput& in, const ListOptions& o, const Names& names) {
  std::string out = "IPVS connection entries\n";
  if (o.persistent_conn) {
    out += fmt::format("pro expire {:<11} {:<18} {:<18} {:<18} {:<16} {}\n", "state", "source",
                       "virtual", "destination", "pe name", "pe_data");
  } else {
    out += fmt::format("pro expire {:<11} {:<18} {:<18} {}\n", "state", "source", "virtual",
                       "destination");
  }
  for (const auto& c : in.connections) {
    const std::string proto =
        c.fwmark_template ? std::string("IP") : std::string(model::protocol_name(c.protocol));
    const auto text = [&](const core::Endpoint& ep) {
      return endpoint_text(ep, c.protocol, names, o.numeric || c.fwmark_template);
    };
    const auto expire = fmt::format("{:02}:{:02}", c.expire_seconds / 60, c.expire_seconds % 60);
    out += fmt::format("{:<3} {:<6} {:<11} {:<18} {:<18} ", proto, expire, c.state, text(c.client),
                       text(c.virt));
    if (o.persistent_conn) {
      out += fmt::format("{:<18} {:<16} {}\n", text(c.dest), c.pe_name, c.pe_data);
    } else {
      out += text(c.dest) + "\n";
    }
  }
  return out;
}

std::string daemons(const ListingInput& in) {
  std::string out;
  for (const auto& d : in.daemons) {
    out += fmt::format("{} sync daemon (mcast={}, syncid={}",
                       d.state == SyncState::kMaster ? "master" : "backup", d.mcast_interface,
                       d.syncid);
    if (d.sync_maxlen != 0) out += fmt::format(", maxlen={}", d.sync_maxlen);
    if (d.mcast_group) out += ", group=" + d.mcast_group->to_string();
    if (d.mcast_port != 0) out += fmt::format(", port={}", d.mcast_port);
    if (d.mcast_ttl != 0) out += fmt::format(", ttl={}", d.mcast_ttl);
    out += ")\n";
  }
  return out;
}

std::string json_escape(std::string_view s) {
  std::string out;
  for (const char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      out += fmt::format("\\u{:04x}", static_cast<unsigned>(c));
    } else {
      out += c;
    }
  }
  return out;
}

std::string json_counters(const Stats& s, const Rates& r) {
  return fmt::format(
      R"("stats":{{"conns":{},"inpkts":{},"outpkts":{},"inbytes":{},"outbytes":{}}},)"
      R"("rates":{{"cps":{},"inpps":{},"outpps":{},"inbps":{},"outbps":{}}})",
      s.conns, s.inpkts, s.outpkts, s.inbytes, s.outbytes, r.cps, r.inpps, r.outpps, r.inbps,
      r.outbps);
}

// `-L --json` (extension): the whole table with live numbers, one JSON object.
std::string json(const ListingInput& in, const ListOptions& o) {
  std::string out = "{\"services\":[";
  bool first_svc = true;
  for (const auto* s : sorted_services(in)) {
    const auto& v = s->service;
    if (!first_svc) out += ',';
    first_svc = false;
    out += fmt::format(
        R"({{"key":"{}","protocol":"{}","address":"{}","port":{},"fwmark":{},"ipv6":{},)"
        R"("scheduler":"{}","flags":"{}","persistent":{},"timeout":{},"netmask":{},"pe":"{}",)"
        R"("ops":{},{},"dests":[)",
        json_escape(v.key.to_string()), model::protocol_name(v.key.protocol),
        v.key.is_fwmark() ? "" : v.key.vip.addr.to_string(), v.key.vip.port, v.key.fwmark,
        v.key.af == core::Family::kInet6, json_escape(v.scheduler),
        sched_flag_names(v.sched_flags, v.scheduler), v.persistent, v.timeout, v.netmask,
        json_escape(v.pe_name), v.one_packet, json_counters(s->stats, s->rates));
    bool first_dest = true;
    std::vector<const DestView*> dests;
    if (o.nosort) {
      for (const auto& d : s->dests) dests.push_back(&d);
    } else {
      dests = sorted_dests(*s);
    }
    for (const auto* d : dests) {
      if (!first_dest) out += ',';
      first_dest = false;
      out += fmt::format(
          R"({{"address":"{}","port":{},"forward":"{}","weight":{},"u_threshold":{},)"
          R"("l_threshold":{},"tunnel":"{}","active":{},"inactive":{},"persist":{},{}}})",
          d->dest.addr.addr.to_string(), d->dest.addr.port, model::forward_name(d->dest.forward),
          d->dest.weight, d->dest.u_threshold, d->dest.l_threshold, tunnel_info(d->dest), d->active,
          d->inactive, d->persist, json_counters(d->stats, d->rates));
    }
    out += "]}";
  }
  out += fmt::format(R"(],"timeouts":{{"tcp":{},"tcpfin":{},"udp":{}}}}})", in.timeouts.tcp,
                     in.timeouts.tcpfin, in.timeouts.udp);
  return out + "\n";
}

}  // namespace

ListingInput listing_input(const model::ServiceTable& table) {
  ListingInput in;
  for (const auto& svc : table.services) {
    ServiceView v{.service = svc};
    v.service.dests.clear();
    for (const auto& d : svc.dests) v.dests.push_back(DestView{.dest = d});
    in.services.push_back(std::move(v));
  }
  return in;
}

Names numeric_names() { return Names{}; }

Names system_names() {
  Names n;
  n.host = [](const core::IpAddress& a) -> std::string {
    sockaddr_storage ss{};
    socklen_t len = 0;
    if (a.is_v4()) {
      sockaddr_in sin{};
      sin.sin_family = AF_INET;
      std::memcpy(&sin.sin_addr, a.bytes().data(), 4);
      std::memcpy(&ss, &sin, sizeof(sin));
      len = sizeof(sin);
    } else {
      sockaddr_in6 sin6{};
      sin6.sin6_family = AF_INET6;
      std::memcpy(&sin6.sin6_addr, a.bytes().data(), 16);
      std::memcpy(&ss, &sin6, sizeof(sin6));
      len = sizeof(sin6);
    }
    char host[NI_MAXHOST];
    if (getnameinfo(reinterpret_cast<const sockaddr*>(&ss), len, host, sizeof(host), nullptr, 0,
                    NI_NAMEREQD) != 0) {
      return {};
    }
    return host;
  };
  n.service = [](std::uint16_t port, model::Protocol proto) -> std::string {
    sockaddr_in sin{};
    sin.sin_family = AF_INET;
    sin.sin_port = htons(port);
    char serv[NI_MAXSERV];
    const int flags = proto == model::Protocol::kUdp ? NI_DGRAM : 0;
    if (getnameinfo(reinterpret_cast<const sockaddr*>(&sin), sizeof(sin), nullptr, 0, serv,
                    sizeof(serv), flags) != 0) {
      return {};
    }
    std::string s = serv;
    if (s == std::to_string(port)) return {};
    return s;
  };
  return n;
}

std::string number_field(std::uint64_t value, bool exact) {
  if (exact) return fmt::format(" {:>8}", value);
  struct Step {
    std::uint64_t below;
    std::uint64_t divisor;
    char suffix;
  };
  static constexpr Step kSteps[] = {
      {100'000'000ULL, 1, 0},
      {1'000'000'000ULL, 1'000ULL, 'K'},
      {100'000'000'000ULL, 1'000'000ULL, 'M'},
      {100'000'000'000'000ULL, 1'000'000'000ULL, 'G'},
  };
  for (const auto& s : kSteps) {
    if (value < s.below) {
      return s.suffix == 0 ? fmt::format(" {:>8}", value)
                           : fmt::format("{:>8}{}", value / s.divisor, s.suffix);
    }
  }
  return fmt::format("{:>8}T", value / 1'000'000'000'000ULL);
}

std::vector<const ServiceView*> sorted_services(const ListingInput& input) {
  std::vector<const ServiceView*> out;
  for (const auto& s : input.services) out.push_back(&s);
  const auto key = [](const ServiceView* s) {
    const auto& k = s->service.key;
    return std::make_tuple(k.fwmark, k.af, static_cast<unsigned>(k.protocol), k.vip.addr,
                           k.vip.port);
  };
  std::stable_sort(out.begin(), out.end(),
                   [&](const ServiceView* a, const ServiceView* b) { return key(a) < key(b); });
  return out;
}

std::vector<const DestView*> sorted_dests(const ServiceView& svc) {
  std::vector<const DestView*> out;
  for (const auto& d : svc.dests) out.push_back(&d);
  std::stable_sort(out.begin(), out.end(), [](const DestView* a, const DestView* b) {
    return a->dest.addr < b->dest.addr;
  });
  return out;
}

std::string service_label(const model::ServiceKey& key, const Names& names, bool numeric) {
  if (key.is_fwmark()) {
    return key.af == core::Family::kInet6 ? fmt::format("FWM  {} IPv6", key.fwmark)
                                          : fmt::format("FWM  {}", key.fwmark);
  }
  auto label = fmt::format("{:<4} {}", model::protocol_name(key.protocol),
                           endpoint_text(key.vip, key.protocol, names, numeric));
  return key.af == core::Family::kInet4 ? cut(std::move(label), kServiceLabelCut) : label;
}

std::string dest_label(const core::Endpoint& ep, model::Protocol proto, const Names& names,
                       bool numeric) {
  auto label = endpoint_text(ep, proto, names, numeric);
  return ep.addr.is_v4() ? cut(std::move(label), kDestLabelCut) : label;
}

CliResult<std::string> format_listing(const ListingInput& input, const ListOptions& opts,
                                      const std::optional<model::ServiceKey>& only,
                                      const Names& names) {
  if (opts.connection) return connections(input, opts, names);
  if (opts.timeout) {
    return fmt::format("Timeout (tcp tcpfin udp): {} {} {}\n", input.timeouts.tcp,
                       input.timeouts.tcpfin, input.timeouts.udp);
  }
  if (opts.daemon) return daemons(input);
  if (opts.json) return json(input, opts);
  const auto& format = pick_format(opts);
  const auto titles = format.title1 + "\n" + format.title2 + "\n";
  if (only) {
    const auto it = std::find_if(input.services.begin(), input.services.end(),
                                 [&](const ServiceView& s) { return s.service.key == *only; });
    if (it == input.services.end()) return CliError{.text = "No such service", .exit_code = 1};
    return titles + service_block(*it, format, opts, names);
  }
  std::string out = fmt::format(kVersionFormat, input.conn_table_size) + titles;
  if (opts.nosort) {
    for (const auto& s : input.services) out += service_block(s, format, opts, names);
  } else {
    for (const auto* s : sorted_services(input)) out += service_block(*s, format, opts, names);
  }
  return out;
}

std::optional<std::string> shown_netmask(const model::VirtualService& svc) {
  if (svc.key.af == core::Family::kInet4 && svc.netmask != model::kV4HostMask) {
    return core::IpAddress::v4(svc.netmask).to_string();
  }
  if (svc.key.af == core::Family::kInet6 && svc.netmask != model::kV6HostPrefix) {
    return std::to_string(svc.netmask);
  }
  return std::nullopt;
}

}  // namespace lvs::ctl
