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

void BackupLink::heard(core::TimePoint now, bool resync_done) {
  if (!synced(now)) synced_ = false;  // a silence ended the sync: only "resync done" restores it
  last_heard_ = now;
  if (resync_done) synced_ = true;
}

bool BackupLink::request_due(core::TimePoint now) {
  if (synced_ && !synced(now)) {
    synced_ = false;  // the master went silent: ask at once
    next_request_ = now;
  }
  if (synced_ || now < next_request_) return false;
  next_request_ = now + request_interval_;
  return true;
}

core::TimePoint BackupLink::next_event() const {
  return synced_ ? last_heard_ + silence_ : next_request_;
}

core::Result<std::unique_ptr<Daemon>> Daemon::start(const DaemonConfig& config, Hooks hooks) {
  LVS_ASSERT(config.role == Role::kMaster ? static_cast<bool>(hooks.source)
                                          : static_cast<bool>(hooks.sink));
  auto fd = open_socket(config);
  if (!fd) return core::Unexpected{fd.error()};
  std::unique_ptr<Daemon> d(new Daemon(config, std::move(*fd), std::move(hooks)));
  d->thread_ = std::thread([p = d.get()] { p->run(); });
  return d;
}

Daemon::Daemon(DaemonConfig config, core::Fd fd, Hooks hooks)
    : config_(std::move(config)), fd_(std::move(fd)), hooks_(std::move(hooks)) {}

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
  last_sent_ = std::chrono::steady_clock::now();
  if (n < 0) {
    ++errors_;
    return;
  }
  ++sent_messages_;
}

void Daemon::receive(bool& resync_requested, BackupLink* link) {
  std::array<std::uint8_t, kMaxDatagram> buf{};
  // Bounded: at most 1024 datagrams per wake-up, so a flood cannot starve the master's ticks.
  for (int i = 0; i < 1024; ++i) {
    sockaddr_in from{};
    socklen_t from_len = sizeof from;
    const ssize_t n = ::recvfrom(fd_.get(), buf.data(), buf.size(), 0,
                                 reinterpret_cast<sockaddr*>(&from), &from_len);
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
    if (request || link == nullptr) continue;  // a backup's own request, looped back
    ++received_messages_;
    const auto now = std::chrono::steady_clock::now();
    link->heard(now, (m->flags & kFlagResyncDone) != 0);
    synced_ = link->synced(now);
    if (!m->counters.empty() && hooks_.counters_in) {
      hooks_.counters_in(core::IpAddress::v4(ntohl(from.sin_addr.s_addr)), m->counters, now);
    }
    received_entries_ += m->entries.size() + m->counters.size();
    if (!m->entries.empty()) hooks_.sink(m->entries);
  }
}

void Daemon::tick_master(ChangeTracker& tracker, bool& answer_resync) {
  const std::vector<Entry> table = hooks_.source();
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

bool Daemon::wait(core::TimePoint until) const {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::max(core::Duration::zero(), until - std::chrono::steady_clock::now()));
  // Bounded so stop_ is seen within 100 ms.
  const int ms = static_cast<int>(std::min<std::int64_t>(left.count(), 100));
  pollfd p{.fd = fd_.get(), .events = POLLIN, .revents = 0};
  return ::poll(&p, 1, ms) > 0;
}

void Daemon::run() {
  if (config_.role == Role::kMaster) {
    run_master();
  } else {
    run_backup();
  }
}

void Daemon::run_master() {
  ChangeTracker tracker(config_.refresh);
  bool answer_resync = false;
  auto next_tick = std::chrono::steady_clock::now();
  auto next_counters = next_tick;
  last_sent_ = next_tick;
  while (!stop_) {
    const auto now = std::chrono::steady_clock::now();
    if (now >= next_tick) {
      tick_master(tracker, answer_resync);
      next_tick = now + config_.interval;
      if (hooks_.counters_out && now >= next_counters) {
        // nullopt (the Director is busy): asked again at the next tick.
        if (auto counters = hooks_.counters_out(now)) {
          for (const auto& d : encode_counters(config_.syncid, *counters, config_.maxlen)) send(d);
          sent_entries_ += counters->size();
          next_counters = now + config_.counters_interval;
        }
      }
      if (now - last_sent_ >= config_.heartbeat) send(encode_control(config_.syncid, 0));
    }
    if (wait(next_tick)) {
      bool resync = false;
      receive(resync, nullptr);
      // A request while a bulk resync goes out is answered by that one's end, not by starting
      // over (backups repeat their request every second; a large table takes longer).
      if (resync && !answer_resync) {
        tracker.reset();
        answer_resync = true;
        ++resyncs_;
        next_tick = std::chrono::steady_clock::now();
      }
    }
  }
}

void Daemon::run_backup() {
  BackupLink link(std::chrono::steady_clock::now(), config_.request_interval, config_.silence);
  while (!stop_) {
    const auto now = std::chrono::steady_clock::now();
    if (link.request_due(now)) {
      send(encode_control(config_.syncid, kFlagResyncRequest));
      ++resyncs_;
    }
    synced_ = link.synced(now);
    if (wait(link.next_event())) {
      bool unused = false;
      receive(unused, &link);
    }
  }
}

}  // namespace lvs::sync
