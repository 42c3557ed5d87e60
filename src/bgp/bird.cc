#include "bgp/bird.h"

#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <spawn.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>
#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "core/fd.h"

extern char** environ;  // NOLINT(readability-redundant-declaration): posix_spawn's environment

namespace lvs::bgp {

namespace {

std::string routes(const std::vector<core::IpAddress>& announce, bool v4, const std::string& via) {
  const std::string target =
      via.empty() ? std::string("blackhole") : fmt::format("via \"{}\"", via);
  std::string out;
  for (const core::IpAddress& a : announce) {
    if (a.is_v4() != v4) continue;
    out += fmt::format("  route {}/{} {};\n", a.to_string(), v4 ? 32 : 128, target);
  }
  return out;
}

core::Result<void> write_file(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  core::Fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!fd) {
    return core::fail(errno, fmt::format("bgp: cannot write {}: {}; check the directory exists "
                                         "and lvsd may write it",
                                         tmp, std::strerror(errno)));
  }
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd.get(), text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int err = n < 0 ? errno : EIO;
      return core::fail(err, fmt::format("bgp: writing {}: {}", tmp, std::strerror(err)));
    }
    done += static_cast<std::size_t>(n);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    return core::fail(
        errno, fmt::format("bgp: cannot rename {} to {}: {}", tmp, path, std::strerror(errno)));
  }
  return {};
}

// Runs argv, returns its exit status and what it printed (stdout and stderr, at most 4 KiB).
core::Result<std::pair<int, std::string>> run(const std::vector<std::string>& argv) {
  std::array<int, 2> p{};
  if (::pipe2(p.data(), O_CLOEXEC) != 0) return core::fail(errno, "bgp: pipe for birdc");
  core::Fd rd(p[0]);
  core::Fd wr(p[1]);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, wr.get(), 1);
  posix_spawn_file_actions_adddup2(&fa, wr.get(), 2);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  std::vector<char*> args;
  args.reserve(argv.size() + 1);
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));  // NOLINT
  args.push_back(nullptr);
  pid_t pid = 0;
  const int rc = ::posix_spawnp(&pid, args[0], &fa, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) {
    return core::fail(rc, fmt::format("bgp: cannot run {}: {}; install bird2 or give its path",
                                      argv[0], std::strerror(rc)));
  }
  wr = core::Fd{};
  std::string out;
  std::array<char, 512> buf{};
  while (true) {
    const ssize_t n = ::read(rd.get(), buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    if (out.size() < 4096) out.append(buf.data(), static_cast<std::size_t>(n));
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return std::pair{WIFEXITED(status) ? WEXITSTATUS(status) : 128, out};
}

}  // namespace

std::string bird_fragment(const std::vector<core::IpAddress>& announce,
                          const std::string& via_interface) {
  return fmt::format(
      "# Written by lvsd: the VIPs this director announces. Do not edit; lvsd rewrites it.\n"
      "protocol static {} {{\n  ipv4;\n{}}}\n"
      "protocol static {} {{\n  ipv6;\n{}}}\n",
      kProtoV4, routes(announce, true, via_interface), kProtoV6,
      routes(announce, false, via_interface));
}

core::Result<void> push_to_bird(const BirdSettings& s,
                                const std::vector<core::IpAddress>& announce) {
  if (auto r = write_file(s.fragment_path, bird_fragment(announce, s.via_interface)); !r) {
    return r;
  }
  auto ran = run({s.birdc, "-s", s.control_socket, "configure"});
  if (!ran) return core::Unexpected{ran.error()};
  const auto& [status, text] = *ran;
  // bird answers 0003 "Reconfigured" (or 0004 "Reconfiguration in progress", 0018/0019 for
  // soft/undo states); a configuration error is 8002, an unreachable socket an exit status.
  if (status != 0 || text.find("Reconfigur") == std::string::npos) {
    std::string said = text;
    while (!said.empty() && (said.back() == '\n' || said.back() == '\r')) said.pop_back();
    return core::fail(EIO, fmt::format("bgp: bird did not take {} (birdc -s {} configure, exit "
                                       "{}): {}",
                                       s.fragment_path, s.control_socket, status, said));
  }
  return {};
}

core::Result<LivenessLink> LivenessLink::create(const std::string& name) {
  if (name.empty() || name.size() >= IFNAMSIZ) {
    return core::fail(EINVAL, fmt::format("bgp: liveness link '{}': an interface name is 1..{} "
                                          "characters",
                                          name, IFNAMSIZ - 1));
  }
  core::Fd fd(::open("/dev/net/tun", O_RDWR | O_CLOEXEC));
  if (!fd) {
    return core::fail(errno, fmt::format("bgp: liveness link {}: cannot open /dev/net/tun: {}; "
                                         "load the tun module",
                                         name, std::strerror(errno)));
  }
  ifreq ifr{};
  std::memcpy(ifr.ifr_name, name.data(), name.size());
  ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
  if (::ioctl(fd.get(), TUNSETIFF, &ifr) != 0) {
    return core::fail(errno, fmt::format("bgp: liveness link {}: cannot create the TUN device: "
                                         "{}; lvsd needs CAP_NET_ADMIN, and no other interface "
                                         "may have this name",
                                         name, std::strerror(errno)));
  }
  core::Fd sock(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!sock || ::ioctl(sock.get(), SIOCGIFFLAGS, &ifr) != 0) {
    return core::fail(errno, fmt::format("bgp: liveness link {}: cannot read its flags: {}", name,
                                         std::strerror(errno)));
  }
  ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP);
  if (::ioctl(sock.get(), SIOCSIFFLAGS, &ifr) != 0) {
    return core::fail(errno, fmt::format("bgp: liveness link {}: cannot set it up: {}", name,
                                         std::strerror(errno)));
  }
  return LivenessLink(std::move(fd), name);
}

}  // namespace lvs::bgp
