#include "dp/xdp/neigh.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "core/fd.h"

namespace lvs::dp::xdp {

core::Result<void> nudge_neighbour(const core::IpAddress& addr) {
  constexpr std::uint16_t kDiscardPort = 9;
  sockaddr_storage ss{};
  socklen_t len = 0;
  if (addr.is_v4()) {
    sockaddr_in sin{};
    sin.sin_family = AF_INET;
    sin.sin_port = htons(kDiscardPort);
    std::memcpy(&sin.sin_addr, addr.bytes().data(), 4);
    std::memcpy(&ss, &sin, sizeof(sin));
    len = sizeof(sin);
  } else {
    sockaddr_in6 sin6{};
    sin6.sin6_family = AF_INET6;
    sin6.sin6_port = htons(kDiscardPort);
    std::memcpy(&sin6.sin6_addr, addr.bytes().data(), 16);
    std::memcpy(&ss, &sin6, sizeof(sin6));
    len = sizeof(sin6);
  }
  const core::Fd fd(::socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd) {
    return core::fail(errno, fmt::format("resolving realserver {}: socket: {}", addr.to_string(),
                                         std::strerror(errno)));
  }
  if (::sendto(fd.get(), "", 0, 0, reinterpret_cast<const sockaddr*>(&ss), len) != 0) {
    return core::fail(errno, fmt::format("resolving realserver {}: send: {}", addr.to_string(),
                                         std::strerror(errno)));
  }
  return {};
}

}  // namespace lvs::dp::xdp
