#include "dp/proxy/net.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/resource.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "dp/proxy/pktinfo.h"

namespace lvs::dp::proxy {

SockAddr to_sockaddr(const core::Endpoint& ep) {
  SockAddr sa;
  if (ep.addr.is_v4()) {
    sockaddr_in sin{};
    sin.sin_family = AF_INET;
    sin.sin_port = htons(ep.port);
    std::memcpy(&sin.sin_addr, ep.addr.bytes().data(), 4);
    std::memcpy(&sa.storage, &sin, sizeof(sin));
    sa.len = sizeof(sin);
  } else {
    sockaddr_in6 sin6{};
    sin6.sin6_family = AF_INET6;
    sin6.sin6_port = htons(ep.port);
    std::memcpy(&sin6.sin6_addr, ep.addr.bytes().data(), 16);
    std::memcpy(&sa.storage, &sin6, sizeof(sin6));
    sa.len = sizeof(sin6);
  }
  return sa;
}

core::Endpoint from_sockaddr(const sockaddr_storage& ss) {
  core::Endpoint ep;
  if (ss.ss_family == AF_INET) {
    sockaddr_in sin{};
    std::memcpy(&sin, &ss, sizeof(sin));
    ep.addr = core::IpAddress::v4(ntohl(sin.sin_addr.s_addr));
    ep.port = ntohs(sin.sin_port);
  } else if (ss.ss_family == AF_INET6) {
    sockaddr_in6 sin6{};
    std::memcpy(&sin6, &ss, sizeof(sin6));
    std::array<std::uint8_t, 16> bytes{};
    std::memcpy(bytes.data(), &sin6.sin6_addr, 16);
    if (IN6_IS_ADDR_V4MAPPED(&sin6.sin6_addr)) {
      ep.addr =
          core::IpAddress::v4((std::uint32_t{bytes[12]} << 24) | (std::uint32_t{bytes[13]} << 16) |
                              (std::uint32_t{bytes[14]} << 8) | std::uint32_t{bytes[15]});
    } else {
      ep.addr = core::IpAddress::v6(bytes);
    }
    ep.port = ntohs(sin6.sin6_port);
  }
  return ep;
}

int family_of(const core::Endpoint& ep) { return ep.addr.is_v4() ? AF_INET : AF_INET6; }

core::Result<core::Fd> make_listener(SockType type, const core::Endpoint& ep, int backlog) {
  const int kind = type == SockType::kStream ? SOCK_STREAM : SOCK_DGRAM;
  core::Fd fd(::socket(family_of(ep), kind | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  const auto failure = [&](const char* what) {
    return core::fail(errno, fmt::format("{} {}: {}", what, ep.to_string(), std::strerror(errno)));
  };
  if (!fd) return failure("cannot create a socket for");
  const int one = 1;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0) {
    return failure("cannot set SO_REUSEPORT on");
  }
  if (!ep.addr.is_v4()) ::setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
  // A VIP need not be on this host yet: on a standby director keepalived holds it on the other
  // node (issue 9), and it arrives here at failover without lvsd re-binding anything.
  ::setsockopt(fd.get(), SOL_IP, IP_FREEBIND, &one, sizeof(one));
  // Accepted sockets inherit TCP_NODELAY from their listener: one setsockopt per connection less.
  if (type == SockType::kStream) {
    ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  }
  if (type == SockType::kDatagram && is_wildcard(ep.addr) &&
      !enable_pktinfo(fd.get(), family_of(ep))) {
    return failure("cannot ask for the destination address (IP_PKTINFO) of datagrams on");
  }
  const SockAddr sa = to_sockaddr(ep);
  if (::bind(fd.get(), sa.get(), sa.len) != 0) return failure("cannot bind");
  if (type == SockType::kStream && ::listen(fd.get(), backlog) != 0) {
    return failure("cannot listen on");
  }
  return fd;
}

core::Result<core::Fd> make_upstream(SockType type, const core::Endpoint& dest,
                                     const core::Endpoint* as_client) {
  const int kind = type == SockType::kStream ? SOCK_STREAM : SOCK_DGRAM;
  core::Fd fd(::socket(family_of(dest), kind | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) {
    return core::fail(errno, fmt::format("cannot create a socket for realserver {}: {}",
                                         dest.to_string(), std::strerror(errno)));
  }
  if (as_client == nullptr) return fd;
  const int one = 1;
  const bool v4 = dest.addr.is_v4();
  if ((v4 ? ::setsockopt(fd.get(), SOL_IP, IP_TRANSPARENT, &one, sizeof(one))
          : ::setsockopt(fd.get(), SOL_IPV6, IPV6_TRANSPARENT, &one, sizeof(one))) != 0) {
    return core::fail(errno, fmt::format("{} refused for realserver {}: {}",
                                         v4 ? "IP_TRANSPARENT" : "IPV6_TRANSPARENT",
                                         dest.to_string(), std::strerror(errno)));
  }
  ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  const SockAddr sa = to_sockaddr(*as_client);
  if (::bind(fd.get(), sa.get(), sa.len) != 0) {
    return core::fail(
        errno, fmt::format("cannot bind to client {} for realserver {}: {}", as_client->to_string(),
                           dest.to_string(), std::strerror(errno)));
  }
  return fd;
}

core::Result<core::Endpoint> local_endpoint(int fd) {
  SockAddr sa;
  sa.len = sizeof(sa.storage);
  if (::getsockname(fd, sa.get(), &sa.len) != 0) {
    return core::fail(errno, fmt::format("getsockname: {}", std::strerror(errno)));
  }
  return from_sockaddr(sa.storage);
}

void abort_fd(core::Fd& fd) {
  if (!fd) return;
  const linger lg{.l_onoff = 1, .l_linger = 0};
  ::setsockopt(fd.get(), SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
  fd.reset();
}

std::uint64_t raise_nofile_limit() {
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0) return 0;
  if (rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &rl);
  }
  return rl.rlim_cur;
}

}  // namespace lvs::dp::proxy
