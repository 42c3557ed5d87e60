#include "sync/daemon.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <span>
#include <utility>

#include "core/log.h"

namespace lvs::sync {
namespace {

bool is_multicast(const core::IpAddress& a) {
  return a.is_v4() ? (a.bytes()[0] & 0xf0) == 0xe0 : a.bytes()[0] == 0xff;
}

sockaddr_in v4_sockaddr(const core::IpAddress& a, std::uint16_t port) {
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  sa.sin_addr.s_addr = htonl(a.v4_host());
  return sa;
}

core::Unexpected sys_error(int err, const std::string& what) {
  return core::fail(err, fmt::format("sync daemon: {}: {}", what, std::strerror(err)));
}

core::Result<core::Fd> open_socket(const DaemonConfig& c) {
  if (!c.group.is_v4()) {
    return core::fail(EAFNOSUPPORT,
                      fmt::format("sync daemon: IPv6 group {} is not supported yet; use an IPv4 "
                                  "multicast group or peer",
                                  c.group.to_string()));
  }
  const bool multicast = is_multicast(c.group);
  unsigned int ifindex = 0;
  if (multicast) {
    if (c.interface.empty()) {
      return core::fail(EINVAL, fmt::format("sync daemon: multicast group {} needs an interface "
                                            "(--mcast-interface)",
                                            c.group.to_string()));
    }
    ifindex = if_nametoindex(c.interface.c_str());
    if (ifindex == 0) {
      return core::fail(ENODEV, fmt::format("sync daemon: interface '{}' does not exist "
                                            "(--mcast-interface)",
                                            c.interface));
    }
  }
  core::Fd fd(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd) return sys_error(errno, "socket");
  const int one = 1;
  // Master and backup may share a host (tests, or both roles at once as IPVS allows).
  ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (multicast) ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  const core::IpAddress bind_addr = multicast ? c.group : c.local.value_or(core::IpAddress::v4(0));
  const sockaddr_in local = v4_sockaddr(bind_addr, c.port);
  if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&local), sizeof local) != 0) {
    return sys_error(errno,
                     fmt::format("binding {}:{} (--mcast-port)", bind_addr.to_string(), c.port));
  }
  if (multicast) {
    ip_mreqn join{};
    join.imr_multiaddr.s_addr = htonl(c.group.v4_host());
    join.imr_ifindex = static_cast<int>(ifindex);
    if (::setsockopt(fd.get(), IPPROTO_IP, IP_ADD_MEMBERSHIP, &join, sizeof join) != 0) {
      return sys_error(errno, fmt::format("joining {} on {}", c.group.to_string(), c.interface));
    }
    ip_mreqn out{};
    out.imr_ifindex = static_cast<int>(ifindex);
    if (::setsockopt(fd.get(), IPPROTO_IP, IP_MULTICAST_IF, &out, sizeof out) != 0) {
      return sys_error(errno, fmt::format("sending on {}", c.interface));
    }
    const int ttl = c.ttl;
    ::setsockopt(fd.get(), IPPROTO_IP, IP_MULTICAST_TTL, &ttl, sizeof ttl);
    // No copy of our own datagrams to this host's sockets (IPVS does the same): a director
    // running both roles would otherwise have its backup apply its own master's table and
    // take the master's "resync done", sent from an empty table after a restart, as in sync.
    const int loop = 0;
    ::setsockopt(fd.get(), IPPROTO_IP, IP_MULTICAST_LOOP, &loop, sizeof loop);
  }
  return fd;
}

}  // namespace

std::vector<Entry> ChangeTracker::changes(const std::vector<Entry>& table, core::TimePoint now,
                                          std::size_t limit) {
  std::vector<Entry> out;
  std::map<Key, Sent> next;
  for (const Entry& e : table) {
    const Key key{e.kind, e.protocol, e.client, e.vip};
    const core::TimePoint deadline = now + std::chrono::seconds(e.timeout);
    auto it = sent_.find(key);
    const bool changed = it == sent_.end() || it->second.dest != e.dest ||
                         it->second.state != e.state || it->second.persistent != e.persistent ||
                         deadline >= it->second.deadline + refresh_;
    if (changed && out.size() < limit) {
      out.push_back(e);
      next[key] =
          Sent{.dest = e.dest, .state = e.state, .persistent = e.persistent, .deadline = deadline};
    } else if (it != sent_.end()) {
      next[key] = it->second;  // unchanged, or changed but over the limit: stays as last sent
    }
  }
  sent_ = std::move(next);
  return out;
}

core::Result<std::unique_ptr<Daemon>> Daemon::start(const DaemonConfig& config, Source source,
                                                    Sink sink) {
  LVS_ASSERT(config.role == Role::kMaster ? static_cast<bool>(source) : static_cast<bool>(sink));
  auto fd = open_socket(config);
  if (!fd) return core::Unexpected{fd.error()};
  std::unique_ptr<Daemon> d(new Daemon(config, std::move(*fd), std::move(source), std::move(sink)));
  d->thread_ = std::thread([p = d.get()] { p->run(); });
  return d;
}

Daemon::Daemon(DaemonConfig config, core::Fd fd, Source source, Sink sink)
    : config_(std::move(config)),
      fd_(std::move(fd)),
      source_(std::move(source)),
      sink_(std::move(sink)) {}

Daemon::~Daemon() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

DaemonCounters Daemon::counters() const {
  return DaemonCounters{.sent_messages = sent_messages_.load(),
                        .sent_entries = sent_entries_.load(),
                        .received_messages = received_messages_.load(),
                        .received_entries = received_entries_.load(),
                        .errors = errors_.load(),
                        .resyncs = resyncs_.load()};
}

void Daemon::send(const std::vector<std::uint8_t>& datagram) {
  const std::uint16_t port = config_.peer_port != 0 ? config_.peer_port : config_.port;
  const sockaddr_in to = v4_sockaddr(config_.group, port);
  const ssize_t n = ::sendto(fd_.get(), datagram.data(), datagram.size(), 0,
                             reinterpret_cast<const sockaddr*>(&to), sizeof to);
  if (n < 0) {
    ++errors_;
    return;
  }
  ++sent_messages_;
}

void Daemon::receive(bool& resync_requested, bool& heard_master) {
  std::array<std::uint8_t, kMaxDatagram> buf{};
  // Bounded: at most 1024 datagrams per wake-up, so a flood cannot starve the master's ticks.
  for (int i = 0; i < 1024; ++i) {
    const ssize_t n = ::recv(fd_.get(), buf.data(), buf.size(), 0);
    if (n < 0) return;  // EAGAIN: drained
    auto m = decode(std::span<const std::uint8_t>(buf.data(), static_cast<std::size_t>(n)));
    if (!m) {
      ++errors_;
      core::log().debug("{}", m.error().message);
      continue;
    }
    const bool request = (m->flags & kFlagResyncRequest) != 0;
    const bool ours = config_.syncid == 0 || m->syncid == config_.syncid;
    if (!ours) continue;
    if (config_.role == Role::kMaster) {
      if (request) resync_requested = true;  // its own data looped back is ignored
      continue;
    }
    if (request) continue;  // a backup's own request, looped back
    ++received_messages_;
    heard_master = true;
    if ((m->flags & kFlagResyncDone) != 0) synced_ = true;
    if (m->entries.empty()) continue;
    received_entries_ += m->entries.size();
    sink_(m->entries);
  }
}

void Daemon::tick_master(ChangeTracker& tracker, bool& answer_resync) {
  const std::vector<Entry> table = source_();
  const std::vector<Entry> changed =
      tracker.changes(table, std::chrono::steady_clock::now(), config_.max_entries_per_tick);
  const auto datagrams = encode(config_.syncid, changed, config_.maxlen);
  for (const auto& d : datagrams) send(d);
  sent_entries_ += changed.size();
  // Below the per-tick bound, everything since the request went out.
  if (answer_resync && changed.size() < config_.max_entries_per_tick) {
    send(encode_control(config_.syncid, kFlagResyncDone));
    answer_resync = false;
  }
}

void Daemon::run() {
  ChangeTracker tracker(config_.refresh);
  bool answer_resync = false;
  bool heard_master = false;
  auto next_tick = std::chrono::steady_clock::now();
  auto next_request = next_tick;
  while (!stop_) {
    const auto now = std::chrono::steady_clock::now();
    if (config_.role == Role::kMaster && now >= next_tick) {
      tick_master(tracker, answer_resync);
      next_tick = now + config_.interval;
    }
    if (config_.role == Role::kBackup && !heard_master && now >= next_request) {
      send(encode_control(config_.syncid, kFlagResyncRequest));
      ++resyncs_;
      next_request = now + std::chrono::seconds(1);
    }
    pollfd p{.fd = fd_.get(), .events = POLLIN, .revents = 0};
    const auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::max(std::chrono::steady_clock::duration::zero(),
                 std::min(next_tick, next_request) - std::chrono::steady_clock::now()));
    // Bounded so stop_ is seen within 100 ms.
    const int ms = static_cast<int>(std::min<std::int64_t>(wait.count(), 100));
    if (::poll(&p, 1, config_.role == Role::kBackup ? 100 : ms) > 0) {
      bool resync = false;
      receive(resync, heard_master);
      if (resync) {
        tracker.reset();
        answer_resync = true;
        ++resyncs_;
        next_tick = std::chrono::steady_clock::now();
      }
    }
  }
}

}  // namespace lvs::sync
