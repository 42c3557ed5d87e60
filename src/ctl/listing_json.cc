#include "ctl/listing_json.h"

#include <nlohmann/json.hpp>

namespace lvs::ctl {

namespace {

using Json = nlohmann::ordered_json;

Json stats_json(const Stats& s) {
  return Json{{"conns", s.conns},     {"failed", s.failed},   {"inpkts", s.inpkts},
              {"outpkts", s.outpkts}, {"inbytes", s.inbytes}, {"outbytes", s.outbytes}};
}

Json rates_json(const Rates& r) {
  return Json{{"cps", r.cps},
              {"inpps", r.inpps},
              {"outpps", r.outpps},
              {"inbps", r.inbps},
              {"outbps", r.outbps}};
}

Json dest_json(const DestView& d) {
  return Json{{"address", d.dest.addr.addr.to_string()},
              {"port", d.dest.addr.port},
              {"forward", std::string(model::forward_name(d.dest.forward))},
              {"weight", d.dest.weight},
              {"u_threshold", d.dest.u_threshold},
              {"l_threshold", d.dest.l_threshold},
              {"active", d.active},
              {"inactive", d.inactive},
              {"stats", stats_json(d.stats)},
              {"rates", rates_json(d.rates)}};
}

Json service_json(const ServiceView& v, bool nosort) {
  const auto& s = v.service;
  const auto& k = s.key;
  Json dests = Json::array();
  if (nosort) {
    for (const auto& d : v.dests) dests.push_back(dest_json(d));
  } else {
    for (const auto* d : sorted_dests(v)) dests.push_back(dest_json(*d));
  }
  return Json{{"protocol", k.is_fwmark() ? "FWM" : std::string(model::protocol_name(k.protocol))},
              {"address", k.is_fwmark() ? "" : k.vip.addr.to_string()},
              {"port", k.is_fwmark() ? 0 : k.vip.port},
              {"fwmark", k.fwmark},
              {"af", k.af == core::Family::kInet6 ? "inet6" : "inet"},
              {"scheduler", s.scheduler},
              {"flags", sched_flag_names(s.sched_flags, s.scheduler)},
              {"persistent", s.persistent},
              {"timeout", s.persistent ? s.timeout : 0},
              {"netmask", s.netmask},
              {"pe", s.pe_name},
              {"ops", s.one_packet},
              {"stats", stats_json(v.stats)},
              {"rates", rates_json(v.rates)},
              {"dests", std::move(dests)}};
}

}  // namespace

std::string format_json(const ListingInput& input, bool nosort) {
  Json services = Json::array();
  if (nosort) {
    for (const auto& v : input.services) services.push_back(service_json(v, nosort));
  } else {
    for (const auto* v : sorted_services(input)) services.push_back(service_json(*v, nosort));
  }
  const Json out{{"timeouts",
                  {{"tcp", input.timeouts.tcp},
                   {"tcpfin", input.timeouts.tcpfin},
                   {"udp", input.timeouts.udp}}},
                 {"services", std::move(services)}};
  return out.dump(2) + "\n";
}

}  // namespace lvs::ctl
