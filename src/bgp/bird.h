#pragma once
// The bird side of the announcements: a configuration fragment lvsd owns (one static protocol
// per address family whose routes are the announced VIPs) and `birdc configure` to make bird
// read it. The operator's bird.conf includes the fragment and exports these protocols to its
// BGP neighbours (README "Active/active directors").

#include <string>
#include <vector>

#include "core/endpoint.h"
#include "core/result.h"

namespace lvs::bgp {

// Protocol names in the fragment (bird filters match on them: `proto = "lvsd_vips4"`).
inline constexpr const char* kProtoV4 = "lvsd_vips4";
inline constexpr const char* kProtoV6 = "lvsd_vips6";

// The fragment for these VIPs: both protocols always exist (possibly without routes), so the
// operator's configuration can name them whatever is announced. Pure.
std::string bird_fragment(const std::vector<core::IpAddress>& announce);

struct BirdSettings {
  std::string fragment_path{};   // the file the operator's bird.conf includes
  std::string control_socket{};  // bird's control socket (birdc -s)
  std::string birdc = "birdc";   // the birdc program
};

// Writes the fragment (a temporary file renamed over the old one: bird never reads half a file)
// then runs `birdc -s SOCKET configure` and checks bird accepted it. Errors name the file or
// quote bird's answer.
core::Result<void> push_to_bird(const BirdSettings& s,
                                const std::vector<core::IpAddress>& announce);

}  // namespace lvs::bgp
