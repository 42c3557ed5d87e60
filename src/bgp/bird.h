#pragma once
// The bird side of the announcements: a configuration fragment lvsd owns (one static protocol
// per address family whose routes are the announced VIPs) and `birdc configure` to make bird
// read it. The operator's bird.conf includes the fragment and exports these protocols to its
// BGP neighbours (README "Active/active directors").

#include <string>
#include <utility>
#include <vector>

#include "core/endpoint.h"
#include "core/fd.h"
#include "core/result.h"

namespace lvs::bgp {

// Protocol names in the fragment (bird filters match on them: `proto = "lvsd_vips4"`).
inline constexpr const char* kProtoV4 = "lvsd_vips4";
inline constexpr const char* kProtoV6 = "lvsd_vips6";

// The fragment for these VIPs: both protocols always exist (possibly without routes), so the
// operator's configuration can name them whatever is announced. Pure. `via_interface` empty:
// blackhole routes; otherwise routes through that interface (lvsd's liveness link, below),
// which bird drops by itself when the interface goes away.
std::string bird_fragment(const std::vector<core::IpAddress>& announce,
                          const std::string& via_interface = {});

struct BirdSettings {
  std::string fragment_path{};   // the file the operator's bird.conf includes
  std::string control_socket{};  // bird's control socket (birdc -s)
  std::string birdc = "birdc";   // the birdc program
  // The routes go through this interface (empty: blackhole routes). lvsd creates it as a
  // non-persistent TUN device (LivenessLink), so it vanishes with the lvsd process, and bird
  // withdraws the VIPs even when lvsd is killed or crashes.
  std::string via_interface{};
};

// A TUN interface that lives exactly as long as this object (and so as the process): the
// kernel removes a non-persistent TUN device when its last descriptor closes. Set up, no
// address. Needs CAP_NET_ADMIN.
class LivenessLink {
 public:
  // EPERM/ENOENT/EBUSY... naming the interface and what to do.
  static core::Result<LivenessLink> create(const std::string& name);
  const std::string& name() const { return name_; }

 private:
  LivenessLink(core::Fd fd, std::string name) : fd_(std::move(fd)), name_(std::move(name)) {}
  core::Fd fd_;
  std::string name_;
};

// Writes the fragment (a temporary file renamed over the old one: bird never reads half a file)
// then runs `birdc -s SOCKET configure` and checks bird accepted it. Errors name the file or
// quote bird's answer.
core::Result<void> push_to_bird(const BirdSettings& s,
                                const std::vector<core::IpAddress>& announce);

}  // namespace lvs::bgp
