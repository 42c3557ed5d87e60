// The proxy's answers to `-L -c` and `--set` (DataPlane::connections(), set_timeouts()).
//
// Each worker owns its tables, so the control thread never reads them: it leaves a request
// in the worker's Mailbox and wakes it; the worker answers between events with a list built
// from its own tables and its own clock reading, and applies new timeouts there too.
//
// States are mapped onto IPVS's names (spec §3) by what the relay knows:
//   connecting to the realserver           SYN_RECV   (the client's handshake is done, the
//                                                      realserver's is not: IPVS's NAT entry
//                                                      is SYN_RECV until the handshake ends)
//   relaying both ways                     ESTABLISHED
//   the client sent FIN, the realserver not CLOSE_WAIT
//   the realserver sent FIN, the client not FIN_WAIT
//   both sent FIN, bytes still draining    TIME_WAIT
//   ended after both FINs                  TIME_WAIT  (lingering, inactive, 120 s)
//   ended by a reset from either side or   CLOSE      (lingering, inactive, 10 s)
//     an I/O error, or a failed connect
//   a UDP flow                             UDP
//   a persistence template                 NONE (client network, port 0)
// Expiry is the time left on the entry's idle timer, rounded up to whole seconds; a template
// controlling live flows shows the time to its next re-arm.

#include <algorithm>

#include "dp/proxy/net.h"
#include "dp/proxy/proxy.h"
#include "dp/proxy/worker.h"

namespace lvs::dp::proxy {

namespace {

std::uint32_t seconds_left(core::TimePoint deadline, core::TimePoint now) {
  if (deadline <= now) return 0;
  const auto s = std::chrono::ceil<std::chrono::seconds>(deadline - now).count();
  return static_cast<std::uint32_t>(std::min<std::int64_t>(s, UINT32_MAX));
}

ConnState tcp_state(const TcpConn& c) {
  switch (c.timer) {
    case TimerClass::kConnecting:
      return ConnState::kSynRecv;
    case TimerClass::kEstablished:
      return ConnState::kEstablished;
    case TimerClass::kFin:
      if (c.up.eof && c.down.eof) return ConnState::kTimeWait;
      return c.up.eof ? ConnState::kCloseWait : ConnState::kFinWait;
    case TimerClass::kDead:
      break;
  }
  return ConnState::kNone;
}

}  // namespace

void Service::list_templates(core::TimePoint now, std::vector<ConnEntry>& out) {
  const std::lock_guard lock(mu_);
  if (!templates_.enabled()) return;
  const auto period = std::max<core::Duration>(templates_.timeout(), std::chrono::seconds(1));
  templates_.each([&](const core::IpAddress& network, const Template& t) {
    if (!t.dest->available.load(std::memory_order_relaxed)) return;  // invalid: dropped soon
    core::TimePoint expires = t.expires;
    if (expires <= now && t.n_control.load(std::memory_order_relaxed) != 0) {
      // The sweep would re-arm it by whole periods; show where that lands.
      expires += period * ((now - expires) / period + 1);
    }
    // Worker 0 lists with its own loop time, which can be older than a template another worker
    // made a moment ago: never show more than the timeout left.
    expires = std::min(expires, now + period);
    out.push_back(ConnEntry{.protocol = key_.protocol,
                            .state = ConnState::kNone,
                            .is_template = true,
                            .client = core::Endpoint{.addr = network, .port = 0},
                            .virt = key_.vip,
                            .dest = t.dest->addr,
                            .expire_seconds = seconds_left(expires, now)});
  });
}

void Worker::ask_connections() {
  {
    const std::lock_guard lock(mailbox_.mu);
    ++mailbox_.asked;
  }
  wake();
}

std::vector<ConnEntry> Worker::collect_connections(std::chrono::steady_clock::time_point deadline) {
  std::unique_lock lock(mailbox_.mu);
  const std::uint64_t want = mailbox_.asked;
  if (!thread_.joinable() || stopping_.load(std::memory_order_relaxed)) return {};
  if (!mailbox_.answered_cv.wait_until(lock, deadline, [&] { return mailbox_.answered >= want; })) {
    return {};
  }
  return std::move(mailbox_.entries);
}

void Worker::set_timeouts(const IdleTimeouts& t) {
  {
    const std::lock_guard lock(mailbox_.mu);
    IdleTimeouts merged = mailbox_.timeouts.value_or(IdleTimeouts{});
    if (t.tcp.count() != 0) merged.tcp = t.tcp;
    if (t.tcpfin.count() != 0) merged.tcpfin = t.tcpfin;
    if (t.udp.count() != 0) merged.udp = t.udp;
    mailbox_.timeouts = merged;
  }
  wake();
}

void Worker::answer_mailbox() {
  std::uint64_t asked = 0;
  {
    const std::lock_guard lock(mailbox_.mu);
    if (mailbox_.timeouts) {
      const IdleTimeouts t = *mailbox_.timeouts;
      mailbox_.timeouts.reset();
      if (t.tcp.count() != 0) opts_.tcp_established_timeout = t.tcp;
      if (t.tcpfin.count() != 0) opts_.tcp_fin_timeout = t.tcpfin;
      if (t.udp.count() != 0) opts_.udp_timeout = t.udp;
    }
    if (mailbox_.answered >= mailbox_.asked) return;
    asked = mailbox_.asked;
  }
  std::vector<ConnEntry> entries;
  list_connections(entries);
  const std::lock_guard lock(mailbox_.mu);
  mailbox_.entries = std::move(entries);
  mailbox_.answered = asked;
  mailbox_.answered_cv.notify_all();
}

void Worker::list_connections(std::vector<ConnEntry>& out) const {
  const std::array<std::chrono::milliseconds, 3> timeouts{
      opts_.connect_timeout, opts_.tcp_established_timeout, opts_.tcp_fin_timeout};
  for (std::size_t t = 0; t < timeouts.size(); ++t) {
    for (const auto& c : tcp_[t]) {
      // The address the client connected to: the service's VIP and port.
      auto vip = local_endpoint(c->client.get());
      out.push_back(ConnEntry{.protocol = model::Protocol::kTcp,
                              .state = tcp_state(*c),
                              .client = c->client_addr,
                              .virt = vip ? *vip : core::Endpoint{},
                              .dest = c->flow.dest()->addr,
                              .expire_seconds = seconds_left(c->last + timeouts[t], now_)});
    }
  }
  for (std::size_t k = 0; k < kLingerKinds; ++k) {
    const ConnState state =
        static_cast<Linger>(k) == Linger::kTimeWait ? ConnState::kTimeWait : ConnState::kClose;
    for (const auto& l : lingering_[k]) {
      out.push_back(ConnEntry{.protocol = model::Protocol::kTcp,
                              .state = state,
                              .client = l.client,
                              .virt = l.virt,
                              .dest = l.flow.dest()->addr,
                              .expire_seconds = seconds_left(l.expires, now_)});
    }
  }
  for (const auto& [svc, reg] : regs_) {
    for (const auto& [key, f] : reg->flows) {
      if (!f->flow) continue;
      out.push_back(ConnEntry{.protocol = model::Protocol::kUdp,
                              .state = ConnState::kUdp,
                              .client = f->client,
                              .virt = reg->svc->key().vip,
                              .dest = f->flow.dest()->addr,
                              .expire_seconds = seconds_left(f->last + opts_.udp_timeout, now_)});
    }
  }
  if (index_ == 0 && snapshot_) {
    for (const auto& svc : snapshot_->services) svc->list_templates(now_, out);
  }
}

std::vector<ConnEntry> Proxy::connections() const {
  // Ask every worker first so they answer in parallel, then collect within one deadline.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  for (const auto& w : workers_) w->ask_connections();
  std::vector<ConnEntry> out;
  for (const auto& w : workers_) {
    auto part = w->collect_connections(deadline);
    out.insert(out.end(), std::make_move_iterator(part.begin()),
               std::make_move_iterator(part.end()));
  }
  return out;
}

void Proxy::set_timeouts(const IdleTimeouts& t) {
  if (t.tcp.count() != 0) opts_.tcp_established_timeout = t.tcp;
  if (t.tcpfin.count() != 0) opts_.tcp_fin_timeout = t.tcpfin;
  if (t.udp.count() != 0) opts_.udp_timeout = t.udp;
  for (const auto& w : workers_) w->set_timeouts(t);
}

}  // namespace lvs::dp::proxy
