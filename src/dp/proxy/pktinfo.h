#pragma once
// UDP services bound to a wildcard VIP (0.0.0.0 or ::) answer from the address the client sent
// to: the listener asks for IP_PKTINFO / IPV6_RECVPKTINFO, each datagram's destination address
// is read from its control message, and replies carry it back as the source (IP_PKTINFO /
// IPV6_PKTINFO in sendmsg). A listener bound to one address needs none of this.

#include <sys/socket.h>
#include <sys/types.h>

#include <cstddef>
#include <optional>

#include "core/endpoint.h"
#include "dp/proxy/net.h"

namespace lvs::dp::proxy {

bool is_wildcard(const core::IpAddress& addr);

// Asks the kernel for the destination address of every datagram on `fd` (a UDP socket of
// `family` AF_INET/AF_INET6). Returns false when the option cannot be set.
bool enable_pktinfo(int fd, int family);

// recvfrom() that also reports the datagram's destination address (nullopt when the socket
// does not deliver IP_PKTINFO/IPV6_PKTINFO). Non-blocking.
ssize_t recv_with_local(int fd, char* buf, std::size_t len, SockAddr& from,
                        std::optional<core::IpAddress>& local);

// sendto() from `local` as the source address (the family of `to`). Non-blocking.
ssize_t send_from(int fd, const char* buf, std::size_t len, const SockAddr& to,
                  const core::IpAddress& local);

}  // namespace lvs::dp::proxy
