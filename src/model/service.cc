#include "model/service.h"

#include <algorithm>

#include <fmt/format.h>

namespace lvs::model {

std::string_view protocol_name(Protocol p) {
  switch (p) {
    case Protocol::kTcp:
      return "TCP";
    case Protocol::kUdp:
      return "UDP";
    case Protocol::kSctp:
      return "SCTP";
  }
  return "?";
}

std::string_view forward_name(ForwardMethod f) {
  switch (f) {
    case ForwardMethod::kMasq:
      return "Masq";
    case ForwardMethod::kRoute:
      return "Route";
    case ForwardMethod::kTunnel:
      return "Tunnel";
    case ForwardMethod::kLocal:
      return "Local";
    case ForwardMethod::kFullNat:
      return "FullNat";
  }
  return "?";
}

ServiceKey ServiceKey::address(Protocol p, const core::Endpoint& vip) {
  return ServiceKey{.af = vip.addr.family(), .protocol = p, .vip = vip, .fwmark = 0};
}

ServiceKey ServiceKey::mark(std::uint32_t fwmark, core::Family af) {
  return ServiceKey{.af = af, .protocol = Protocol::kTcp, .vip = {}, .fwmark = fwmark};
}

std::string ServiceKey::to_string() const {
  if (is_fwmark()) {
    return af == core::Family::kInet6 ? fmt::format("FWM {} IPv6", fwmark)
                                      : fmt::format("FWM {}", fwmark);
  }
  return fmt::format("{} {}", protocol_name(protocol), vip.to_string());
}

const RealServer* VirtualService::find_dest(const core::Endpoint& addr) const {
  const auto it =
      std::find_if(dests.begin(), dests.end(), [&](const RealServer& d) { return d.addr == addr; });
  return it == dests.end() ? nullptr : &*it;
}

RealServer* VirtualService::find_dest(const core::Endpoint& addr) {
  return const_cast<RealServer*>(std::as_const(*this).find_dest(addr));  // NOLINT
}

const VirtualService* ServiceTable::find(const ServiceKey& key) const {
  const auto it = std::find_if(services.begin(), services.end(),
                               [&](const VirtualService& s) { return s.key == key; });
  return it == services.end() ? nullptr : &*it;
}

VirtualService* ServiceTable::find(const ServiceKey& key) {
  return const_cast<VirtualService*>(std::as_const(*this).find(key));  // NOLINT
}

std::uint32_t default_netmask(core::Family af) {
  return af == core::Family::kInet6 ? kV6HostPrefix : kV4HostMask;
}

}  // namespace lvs::model
