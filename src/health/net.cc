#include "health/net.h"

#include <netinet/in.h>

#include <cctype>
#include <cerrno>
#include <cstring>

namespace lvs::health {

socklen_t to_sockaddr(const core::Endpoint& ep, sockaddr_storage& out) {
  out = sockaddr_storage{};
  if (ep.addr.is_v4()) {
    sockaddr_in sin{};
    sin.sin_family = AF_INET;
    sin.sin_port = htons(ep.port);
    std::memcpy(&sin.sin_addr, ep.addr.bytes().data(), 4);
    std::memcpy(&out, &sin, sizeof sin);
    return sizeof sin;
  }
  sockaddr_in6 sin6{};
  sin6.sin6_family = AF_INET6;
  sin6.sin6_port = htons(ep.port);
  std::memcpy(&sin6.sin6_addr, ep.addr.bytes().data(), 16);
  std::memcpy(&out, &sin6, sizeof sin6);
  return sizeof sin6;
}

int family_of(const core::Endpoint& ep) { return ep.addr.is_v4() ? AF_INET : AF_INET6; }

core::Result<core::Fd> open_socket(const core::Endpoint& target, int type, int protocol,
                                   const config::CheckerSpec& spec) {
  core::Fd fd(::socket(family_of(target), type | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol));
  if (!fd) return core::fail(errno, "socket: " + errno_text(errno));
  if (spec.bindto || spec.bind_port != 0) {
    const core::Endpoint src{.addr = spec.bindto.value_or(core::IpAddress{}),
                             .port = spec.bind_port};
    sockaddr_storage ss{};
    const socklen_t len = to_sockaddr(src, ss);
    if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&ss), len) != 0) {  // NOLINT
      return core::fail(errno, "bind to " + src.to_string() + ": " + errno_text(errno));
    }
  }
  return fd;
}

int start_connect(int fd, const core::Endpoint& target) {
  sockaddr_storage ss{};
  const socklen_t len = to_sockaddr(target, ss);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&ss), len) == 0) return 0;  // NOLINT
  return errno == EINPROGRESS ? 0 : errno;
}

core::Result<core::Fd> open_connected(const core::Endpoint& target, int type, int protocol,
                                      const config::CheckerSpec& spec) {
  auto fd = open_socket(target, type, protocol, spec);
  if (!fd.ok()) return fd;
  if (const int err = start_connect(fd->get(), target); err != 0)
    return core::fail(err, "connect: " + errno_text(err));
  return fd;
}

int socket_error(int fd) {
  int err = 0;
  socklen_t len = sizeof err;
  if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) return errno;
  return err;
}

std::string errno_text(int err) {
  std::string s = std::strerror(err);
  if (!s.empty()) s[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(s[0])));
  return s;
}

}  // namespace lvs::health
