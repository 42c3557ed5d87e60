#include "bgp/announce.h"

#include <algorithm>
#include <map>

namespace lvs::bgp {

Decision decide(const AnnounceInput& in) {
  // VIP -> does any of its services have a realserver that takes new connections?
  std::map<core::IpAddress, bool> vips;
  for (const model::VirtualService& svc : in.table.services) {
    if (svc.key.is_fwmark()) continue;
    bool& up = vips[svc.key.vip.addr];
    up = up || std::any_of(svc.dests.begin(), svc.dests.end(),
                           [](const model::RealServer& r) { return r.weight > 0; });
  }
  Decision out;
  for (const auto& [vip, up] : vips) {
    if (in.drained) {
      out.withdrawn.push_back({.vip = vip, .reason = "director drained"});
    } else if (!in.data_plane_ok) {
      out.withdrawn.push_back({.vip = vip, .reason = "data plane down"});
    } else if (!up) {
      out.withdrawn.push_back({.vip = vip, .reason = "no realserver up"});
    } else {
      out.announce.push_back(vip);
    }
  }
  return out;
}

}  // namespace lvs::bgp
