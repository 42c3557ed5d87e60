#include "bin/sd_notify.h"

#include <sys/socket.h>
#include <sys/un.h>

#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <string>

#include "core/fd.h"

namespace lvs::bin {

bool sd_notify(std::string_view state) {
  // NOLINTNEXTLINE(concurrency-mt-unsafe): nothing in lvsd changes the environment
  const char* path = std::getenv("NOTIFY_SOCKET");
  if (path == nullptr || *path == '\0') return true;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  const std::size_t len = std::strlen(path);
  if (len >= sizeof(addr.sun_path)) return false;
  std::memcpy(addr.sun_path, path, len);
  if (addr.sun_path[0] == '@') addr.sun_path[0] = '\0';
  const core::Fd fd(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return false;
  const auto addr_len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + len);
  const std::string msg(state);
  return ::sendto(fd.get(), msg.data(), msg.size(), MSG_NOSIGNAL,
                  reinterpret_cast<const sockaddr*>(&addr),  // NOLINT: the sockets API
                  addr_len) == static_cast<ssize_t>(msg.size());
}

}  // namespace lvs::bin
