#pragma once
// Thin, checked wrappers over the socket calls the proxy needs. Every descriptor comes back
// owned by a core::Fd; errors come back as Results naming the endpoint.

#include <sys/socket.h>

#include <cstdint>

#include "core/endpoint.h"
#include "core/fd.h"
#include "core/result.h"

namespace lvs::dp::proxy {

struct SockAddr {
  sockaddr_storage storage{};
  socklen_t len = 0;

  const sockaddr* get() const { return reinterpret_cast<const sockaddr*>(&storage); }
  sockaddr* get() { return reinterpret_cast<sockaddr*>(&storage); }
};

SockAddr to_sockaddr(const core::Endpoint& ep);
// AF_INET / AF_INET6 only; IPv4-mapped IPv6 addresses are returned as IPv4.
core::Endpoint from_sockaddr(const sockaddr_storage& ss);
int family_of(const core::Endpoint& ep);

enum class SockType : std::uint8_t { kStream, kDatagram };

// A non-blocking socket bound to `ep` with SO_REUSEADDR and SO_REUSEPORT (so every worker can
// own one listener on the same VIP:port); IPv6 sockets are IPV6_V6ONLY. Streams also listen()
// and set TCP_NODELAY, which their accepted sockets inherit.
core::Result<core::Fd> make_listener(SockType type, const core::Endpoint& ep, int backlog);

// A non-blocking socket for talking to realserver `dest`. With `as_client` (Masq) it is
// transparent (IP_TRANSPARENT / IPV6_TRANSPARENT) with SO_REUSEADDR and bound to that address
// and port, so the realserver sees the client; the director's policy routing (dp/masq) brings
// the replies back to it. Errors name the step and the endpoints.
core::Result<core::Fd> make_upstream(SockType type, const core::Endpoint& dest,
                                     const core::Endpoint* as_client);

// The address a socket is bound to (getsockname).
core::Result<core::Endpoint> local_endpoint(int fd);

// Closes `fd` with an RST instead of a FIN (SO_LINGER with a zero timeout).
void abort_fd(core::Fd& fd);

// Soft RLIMIT_NOFILE raised to the hard limit; returns the new soft limit.
std::uint64_t raise_nofile_limit();

}  // namespace lvs::dp::proxy
