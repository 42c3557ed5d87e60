#pragma once
// Which VIPs a director announces to its routers (issue 9, active/active behind ECMP). Pure:
// the service table as the data plane serves it, the data plane's health and the operator's
// drain in; the VIPs to announce, and why each other VIP is withdrawn, out.

#include <string>
#include <vector>

#include "core/endpoint.h"
#include "model/service.h"

namespace lvs::bgp {

struct AnnounceInput {
  model::ServiceTable table{};
  bool data_plane_ok = true;  // false: the data plane cannot forward; withdraw everything
  bool drained = false;       // the operator drains this director; withdraw everything
};

struct Withdrawn {
  core::IpAddress vip{};
  std::string reason{};  // "director drained", "data plane down", "no realserver up"
  bool operator==(const Withdrawn&) const = default;
};

struct Decision {
  std::vector<core::IpAddress> announce{};  // sorted, unique
  std::vector<Withdrawn> withdrawn{};       // sorted by VIP
  bool operator==(const Decision&) const = default;
};

// A VIP is announced when the data plane is up, the director is not drained, and at least one
// of the VIP's services has a realserver with weight > 0 (health takes dead realservers out or
// sets them to 0). Routers route a whole address, so one serving port keeps the VIP (a VIP
// with two ports where one has lost every realserver stays announced: withdrawing it would
// take the working port down too on every director that shares the realservers).
// Firewall-mark services have no VIP and announce nothing.
Decision decide(const AnnounceInput& in);

}  // namespace lvs::bgp
