#pragma once
// Socket helpers shared by the checkers: non-blocking, close-on-exec sockets owned by core::Fd,
// optional source binding (bindto/bind_port), sockaddr conversion and errno text.

#include <sys/socket.h>

#include <string>

#include "config/config.h"
#include "core/endpoint.h"
#include "core/fd.h"
#include "core/result.h"

namespace lvs::health {

socklen_t to_sockaddr(const core::Endpoint& ep, sockaddr_storage& out);
int family_of(const core::Endpoint& ep);  // AF_INET or AF_INET6

// A non-blocking socket of `type`/`protocol` for the target's family, bound to the checker's
// bindto/bind_port when set.
core::Result<core::Fd> open_socket(const core::Endpoint& target, int type, int protocol,
                                   const config::CheckerSpec& spec);

// connect() on a non-blocking socket: 0 when connected or in progress, else errno.
int start_connect(int fd, const core::Endpoint& target);
// open_socket() then start_connect(): the socket whose connect is done or in progress, or the
// error every checker reports ("connect: connection refused").
core::Result<core::Fd> open_connected(const core::Endpoint& target, int type, int protocol,
                                      const config::CheckerSpec& spec);
// The pending error of a socket (SO_ERROR).
int socket_error(int fd);

std::string errno_text(int err);  // "connection refused"

}  // namespace lvs::health
