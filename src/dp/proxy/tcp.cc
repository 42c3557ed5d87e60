// The TCP relay of a worker: accept, schedule, non-blocking connect, then relay both ways:
// small reads by recv+send through the worker's scratch buffer, bulk streams by splice(2)
// through a pipe per direction (see Relay). Half-close: a FIN read from one side becomes
// shutdown(SHUT_WR) on the other once its pending bytes are sent; the other direction keeps
// flowing. A reset or error on either side becomes an RST (SO_LINGER 0) on the other.
// Sockets are registered once, edge-triggered for both directions; an event pumps only the
// direction(s) it concerns (see on_tcp_event), so a request costs one recv and one send.

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <new>

#include "core/log.h"
#include "dp/proxy/admission.h"
#include "dp/proxy/net.h"
#include "dp/proxy/proxy_protocol.h"
#include "dp/proxy/worker.h"

namespace lvs::dp::proxy {

namespace {

constexpr int kAcceptBurst = 64;
constexpr int kPumpRounds = 64;
constexpr std::size_t kMaxPooledPipes = 256;
constexpr std::uint32_t kSocketEvents = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;

// Small messages go out at once (TCP_NODELAY; accepted sockets inherit it from the listener).
void tune(int fd, int buffer, bool nodelay) {
  const int one = 1;
  if (nodelay) ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  if (buffer > 0) {
    ::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buffer, sizeof(buffer));
    ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buffer, sizeof(buffer));
  }
}

int socket_error(int fd) {
  int err = 0;
  socklen_t len = sizeof(err);
  if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) return errno;
  return err;
}

}  // namespace

void Worker::on_tcp_accept(ListenerReg& reg) {
  for (int i = 0; i < kAcceptBurst; ++i) {
    SockAddr sa;
    sa.len = sizeof(sa.storage);
    const int fd = ::accept4(reg.fd, sa.get(), &sa.len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
        if (!refuse_with_spare(reg.fd, errno)) return;  // nothing was pending
        continue;
      }
      return;  // EAGAIN: drained
    }
    accept_one(reg, core::Fd(fd), from_sockaddr(sa.storage));
  }
}

// Out of descriptors or kernel memory (`err` from accept): the pending connection would make
// the level-triggered listener fire forever. Give back the spare descriptor, accept the
// connection and reset it at once. accept4 reports EMFILE before it looks at the queue, so
// false (nothing refused, nothing counted) means no connection was pending.
bool Worker::refuse_with_spare(int listener, int err) {
  spare_fd_.reset();
  core::Fd victim(::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC));
  const bool pending = victim.valid();
  abort_fd(victim);
  spare_fd_.reset(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  if (!pending) return false;
  refused_->fetch_add(1, std::memory_order_relaxed);
  count(err == EMFILE || err == ENFILE ? ErrorKind::kDescriptors : ErrorKind::kMemory);
  std::uint64_t skipped = 0;
  if (log_refuse_.allow(now_, skipped)) {
    core::log().warn("worker {}: accept failed ({}), refusing new connections ({} more)", index_,
                     std::strerror(err), skipped);
  }
  return true;
}

void Worker::accept_one(ListenerReg& reg, core::Fd client, const core::Endpoint& client_addr) {
  const auto refuse = [&](const char* why, ErrorKind kind) {
    refused_->fetch_add(1, std::memory_order_relaxed);
    count(kind);
    std::uint64_t skipped = 0;
    if (log_refuse_.allow(now_, skipped)) {
      core::log().warn("{}: refusing {}: {} ({} more not logged)", reg.svc->key().to_string(),
                       client_addr.to_string(), why, skipped);
    }
    abort_fd(client);
  };
  // Admission (admission.h): the connection's share of the relay memory budget and its pipes
  // first, so a shortage refuses this connection and never starves a running one.
  auto lease = BudgetLease::take(budget_, relay_bytes_per_connection(opts_));
  if (!lease.ok()) return refuse("the relay memory budget is used up", ErrorKind::kMemory);
  int shortage_err = 0;
  if (const auto shortage = relay_shortage(shortage_err); !shortage.empty()) {
    return refuse(shortage.c_str(), shortage_err == EMFILE || shortage_err == ENFILE
                                        ? ErrorKind::kDescriptors
                                        : ErrorKind::kMemory);
  }
  // Connecting counts as active: IPVS's NAT entry is SYN_RECV here, an active state (spec §3.1).
  auto flow = reg.svc->pick(client_addr, now_, Count::kActive, index_);
  if (!flow) {
    if (reg.svc->at_cap()) {
      return refuse("the service's connection cap is reached", ErrorKind::kConnLimit);
    }
    return refuse("no realserver available", ErrorKind::kNoRealserver);
  }
  const core::Endpoint dest = flow->dest()->addr;
  // Masq: the realserver sees the client's own address and port (net.h, make_upstream).
  const bool masq = flow->dest()->masq.load(std::memory_order_relaxed);
  auto made = make_upstream(SockType::kStream, dest, masq ? &client_addr : nullptr);
  if (!made) {
    WorkerCounters::add(flow->dest()->counters.at(index_).failed, 1);
    const int err = made.error().code;
    return refuse(made.error().message.c_str(), err == EMFILE || err == ENFILE
                                                    ? ErrorKind::kDescriptors
                                                    : ErrorKind::kConnectError);
  }
  core::Fd upstream = std::move(made).value();
  tune(client.get(), opts_.socket_buffer, false);
  tune(upstream.get(), opts_.socket_buffer, true);
  const SockAddr sa = to_sockaddr(dest);
  const int rc = ::connect(upstream.get(), sa.get(), sa.len);
  const int connect_errno = rc == 0 ? 0 : errno;

  auto& list = tcp_[static_cast<std::size_t>(TimerClass::kConnecting)];
  try {
    list.push_back(std::make_unique<TcpConn>());
  } catch (const std::bad_alloc&) {
    return refuse("out of memory for the connection", ErrorKind::kMemory);
  }
  TcpConn& c = *list.back();
  c.lease = std::move(lease);
  c.self = std::prev(list.end());
  c.timer = TimerClass::kConnecting;
  c.last = now_;
  c.start = now_;
  c.client = std::move(client);
  c.upstream = std::move(upstream);
  c.client_addr = client_addr;
  c.flow = std::move(*flow);
  c.client_tag = Tag{.kind = TagKind::kTcpClient, .owner = &c};
  c.upstream_tag = Tag{.kind = TagKind::kTcpUpstream, .owner = &c};
  c.up = Relay{.src = c.client.get(), .dst = c.upstream.get()};
  c.down = Relay{.src = c.upstream.get(), .dst = c.client.get()};
  c.up.no_splice = c.down.no_splice = !opts_.splice;

  if (rc != 0 && connect_errno != EINPROGRESS) return connect_failed(c, connect_errno);
  if (!epoll_add(c.client.get(), kSocketEvents, &c.client_tag) ||
      !epoll_add(c.upstream.get(), kSocketEvents, &c.upstream_tag)) {
    core::log().error("worker {}: epoll_ctl: {}", index_, std::strerror(errno));
    return close_conn(c, true, Linger::kNone, connlog::EndReason::kError);
  }
  if (rc == 0) on_connected(c, 0);
}

void Worker::connect_failed(TcpConn& c, int err, Linger linger) {
  DestRuntime* d = c.flow.dest();
  WorkerCounters::add(d->counters.at(index_).failed, 1);
  const ErrorKind kind = connect_error_kind(err);
  count(kind);
  std::uint64_t skipped = 0;
  if (log_connect_.allow(now_, skipped)) {
    core::log().warn("realserver {} failed for client {}: {} ({} more not logged)",
                     d->addr.to_string(), c.client_addr.to_string(), std::strerror(err), skipped);
  }
  const auto why = kind == ErrorKind::kConnectRefused   ? connlog::EndReason::kConnectRefused
                   : kind == ErrorKind::kConnectTimeout ? connlog::EndReason::kConnectTimeout
                                                        : connlog::EndReason::kConnectError;
  close_conn(c, true, linger, why);
}

void Worker::on_connected(TcpConn& c, std::uint32_t upstream_events) {
  if (const auto version = c.flow.dest()->proxy_protocol.load(std::memory_order_relaxed);
      version != model::ProxyProtocol::kNone) {
    // The header goes first into an empty send buffer of a fresh connection, so it is sent
    // whole or the connection is useless; a partial send counts as a failed connect.
    auto vip = local_endpoint(c.client.get());
    const std::string header =
        vip ? proxy_header(version, model::Protocol::kTcp, c.client_addr, *vip) : std::string{};
    const ssize_t n = header.empty() ? -1
                                     : ::send(c.upstream.get(), header.data(), header.size(),
                                              MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n != static_cast<ssize_t>(header.size())) return connect_failed(c, n < 0 ? errno : EAGAIN);
  }
  c.connected = true;
  c.flow.set_count(Count::kActive);
  move_to(c, TimerClass::kEstablished);
  // Pump what this event and the client's edges seen while connecting say is readable.
  constexpr std::uint32_t kReadable = EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR;
  if (upstream_events == 0) return on_tcp_event(c, false, 0);
  if ((upstream_events & kReadable) != 0) {
    on_tcp_event(c, true, upstream_events);
    if (c.timer == TimerClass::kDead) return;
  }
  if ((c.client_seen & kReadable) != 0) on_tcp_event(c, false, c.client_seen);
}

void Worker::move_to(TcpConn& c, TimerClass t) {
  auto& to = tcp_[static_cast<std::size_t>(t)];
  to.splice(to.end(), tcp_[static_cast<std::size_t>(c.timer)], c.self);
  c.timer = t;
  c.last = now_;
}

void Worker::close_conn(TcpConn& c, bool reset, Linger linger, connlog::EndReason why) {
  if (c.timer == TimerClass::kDead) return;
  log_tcp_end(c, why);
  if (linger != Linger::kNone) start_lingering(c, linger);
  // No EPOLL_CTL_DEL: closing a descriptor nobody duplicated removes it from the epoll set.
  if (c.repump) std::erase(repump_, &c);  // it dies at the end of this turn
  c.repump = false;
  if (reset) {
    abort_fd(c.client);
    abort_fd(c.upstream);
  } else {
    c.client.reset();
    c.upstream.reset();
  }
  release_pipe(c.up);
  release_pipe(c.down);
  c.flow.release();  // nothing left when it lingers: start_lingering() took the handle
  c.lease.reset();
  move_to(c, TimerClass::kDead);
}

// IPVS moves the entry to TIME_WAIT or CLOSE, inactive, and it expires later (spec §3.1): the
// realserver keeps counting it in InActConn, so lc/wlc/sed/nq spread even sequential clients.
void Worker::start_lingering(TcpConn& c, Linger kind) {
  if (opts_.linger_max == 0 || !c.flow) return;
  auto& list = lingering_[static_cast<std::size_t>(kind)];
  const auto timeout = kind == Linger::kTimeWait ? opts_.linger_time_wait : opts_.linger_close;
  if (lingering_[0].size() + lingering_[1].size() >= opts_.linger_max) {
    // Full: the record nearest its expiry goes now.
    const bool first =
        lingering_[1].empty() ||
        (!lingering_[0].empty() && lingering_[0].front().expires <= lingering_[1].front().expires);
    drop_lingering(first ? Linger::kTimeWait : Linger::kClose);
  }
  auto vip = local_endpoint(c.client.get());
  try {
    list.push_back(Lingering{.client = c.client_addr,
                             .virt = vip ? *vip : core::Endpoint{},
                             .flow = {},
                             .expires = now_ + timeout});
  } catch (const std::bad_alloc&) {
    return;  // out of memory: the connection is just forgotten, as before
  }
  list.back().flow = std::move(c.flow);
  list.back().flow.linger();
}

void Worker::drop_lingering(Linger kind) {
  auto& list = lingering_[static_cast<std::size_t>(kind)];
  list.pop_front();  // its handle un-counts the realserver's inactive connection
}

void Worker::release_pipe(Relay& r) {
  if (!r.pipe.r) return;
  // A pipe with bytes still in it cannot be reused; it just closes.
  if (r.pending == 0 && pipes_.size() < kMaxPooledPipes) {
    pipes_.push_back(std::move(r.pipe));
  }
  r.pipe = PipePair{};
}

bool Worker::borrow_pipe(Relay& r) {
  if (r.pipe.r) return true;
  if (!pipes_.empty()) {
    r.pipe = std::move(pipes_.back());
    pipes_.pop_back();
    return true;
  }
  // A running connection takes a smaller pipe than configured rather than fail.
  auto p = make_pipe(opts_.pipe_size, false);
  if (!p) return false;
  r.pipe.r = std::move(p->first);
  r.pipe.w = std::move(p->second);
  return true;
}

Worker::PumpResult Worker::pump(Relay& r, bool other_shut, std::uint32_t src_event,
                                std::atomic<std::uint64_t>& bytes, std::atomic<std::uint64_t>& pkts,
                                bool& progress, bool& more) {
  const auto pipe_cap = static_cast<std::size_t>(opts_.pipe_size);
  const std::size_t chunk = std::min(pipe_cap, kScratch);
  // Edge-triggered: a short read drained src, and bytes arriving later raise a new edge. Only
  // when this call answers src's own data edge may it stop there; a FIN (RDHUP) or any other
  // caller reads on until EAGAIN or end of stream.
  const bool short_read_ends =
      src_event != 0 && (src_event & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) == 0;
  int round = 0;
  bool src_empty = false;
  for (; round < kPumpRounds; ++round) {
    bool moved = false;
    // Drain first: bytes already read go out before more are taken in.
    while (r.pending > 0) {
      ssize_t n = 0;
      if (r.buf) {
        n = ::send(r.dst, r.buf.get() + r.buf_off, r.pending, MSG_NOSIGNAL | MSG_DONTWAIT);
      } else {
        n = ::splice(r.pipe.r.get(), nullptr, r.dst, nullptr, r.pending,
                     SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
      }
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN) break;
        return PumpResult::kDstError;
      }
      r.pending -= static_cast<std::size_t>(n);
      r.buf_off += static_cast<std::size_t>(n);
      moved = true;
    }
    if (r.pending == 0) r.buf.reset();
    // Nothing more to read, or copied bytes still wait for dst, or src was read to EAGAIN.
    if (r.eof || r.buf || src_empty) break;

    bool drained = false;
    if (r.pending == 0 && (!r.bulk || r.no_splice)) {
      // Copy: recv into the scratch buffer and send on at once.
      const ssize_t n = ::recv(r.src, scratch_.get(), chunk, MSG_DONTWAIT);
      if (n > 0) {
        const auto got = static_cast<std::size_t>(n);
        WorkerCounters::add(bytes, got);
        WorkerCounters::add(pkts, 1);
        r.moved += got;
        ssize_t sent = ::send(r.dst, scratch_.get(), got, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (sent < 0) {
          if (errno != EAGAIN && errno != EINTR) return PumpResult::kDstError;
          sent = 0;
        }
        if (const std::size_t rest = got - static_cast<std::size_t>(sent); rest > 0) {
          r.buf = make_buffer(rest);
          // Bytes already taken from src with nowhere to keep them: the connection cannot go
          // on intact, so it is reset (the relay budget keeps this from happening under it).
          if (!r.buf) return PumpResult::kSrcError;
          std::memcpy(r.buf.get(), scratch_.get() + sent, rest);
          r.buf_off = 0;
          r.pending = rest;
          r.bulk = true;  // dst pushes back: a stream, not a message
        }
        if (got == chunk) r.bulk = true;  // the read filled the buffer: a bulk stream
        drained = got < chunk && short_read_ends;
        moved = true;
      } else if (n == 0) {
        r.eof = true;
        moved = true;
      } else if (errno == EAGAIN) {
        drained = true;
      } else if (errno != EINTR) {
        return PumpResult::kSrcError;
      }
    } else if (r.pending < pipe_cap) {
      // Bulk: splice src -> pipe; the drain above moves it on.
      if (!borrow_pipe(r)) {
        r.no_splice = true;  // out of descriptors: copy through memory instead
        moved = true;
        continue;
      }
      // Fill the pipe until src is empty or the pipe full, then drain: fewer, bigger sends.
      bool got = false;
      bool refused = false;
      while (r.pending < pipe_cap && !r.eof) {
        const ssize_t n = ::splice(r.src, nullptr, r.pipe.w.get(), nullptr, pipe_cap - r.pending,
                                   SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
        if (n > 0) {
          r.pending += static_cast<std::size_t>(n);
          WorkerCounters::add(bytes, static_cast<std::uint64_t>(n));
          WorkerCounters::add(pkts, 1);
          r.moved += static_cast<std::uint64_t>(n);
          got = true;
        } else if (n == 0) {
          r.eof = true;
          got = true;
        } else if (errno == EINVAL && r.pending == 0) {
          refused = true;
          break;
        } else if (errno == EAGAIN) {
          // From an empty pipe this means src is empty; with bytes in the pipe it may just be
          // out of slots (a page per skb fragment): drain, then read again.
          src_empty = r.pending == 0;
          break;
        } else if (errno != EINTR) {
          return PumpResult::kSrcError;
        }
      }
      if (refused) {
        r.no_splice = true;  // this socket pair cannot splice: copy instead
        release_pipe(r);
        moved = true;
        continue;
      }
      moved = moved || got;
      if (src_empty && r.pending == 0) drained = true;
    }
    if (moved) progress = true;
    if (!moved || drained) break;
  }
  // Stopped by the round limit with src perhaps still readable: no new edge will say so.
  if (round == kPumpRounds) more = true;
  if (r.pending == 0) release_pipe(r);
  if (r.eof && r.pending == 0 && !r.shut) {
    // With the other direction already shut, close_conn follows at once and its close() sends
    // this FIN: both receive queues were read to the end, so the close is graceful.
    if (!other_shut) ::shutdown(r.dst, SHUT_WR);
    r.shut = true;
    progress = true;
  }
  return PumpResult::kOk;
}

void Worker::on_tcp_event(TcpConn& c, bool upstream_side, std::uint32_t events) {
  if (c.timer == TimerClass::kDead) return;
  if (!c.connected) {
    if (!upstream_side) {
      c.client_seen |= events;  // client bytes wait in its socket until the realserver answers
      return;
    }
    if ((events & (EPOLLERR | EPOLLHUP)) != 0) {
      const int err = socket_error(c.upstream.get());
      return connect_failed(c, err != 0 ? err : ECONNREFUSED);
    }
    if ((events & (EPOLLOUT | EPOLLIN)) == 0) return;
    return on_connected(c, events);  // writable without an error: the connect succeeded
  }
  if ((events & EPOLLERR) != 0) {
    const int fd = upstream_side ? c.upstream.get() : c.client.get();
    if (socket_error(fd) != 0) {
      count(upstream_side ? ErrorKind::kRealReset : ErrorKind::kClientReset);
      return close_conn(
          c, true, Linger::kClose,
          upstream_side ? connlog::EndReason::kRealReset : connlog::EndReason::kClientReset);
    }
  }
  // Which directions this event concerns: the one reading this socket when it is readable,
  // the one writing it when it is writable and bytes wait for it. 0 = both (after connect,
  // or a re-pump).
  constexpr std::uint32_t kReadable = EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR;
  constexpr std::uint32_t kWritable = EPOLLOUT | EPOLLHUP | EPOLLERR;
  const auto wanted = [&](const Relay& r, bool reads_this_side) {
    if (events == 0) return true;
    if (reads_this_side) return (events & kReadable) != 0;
    return (events & kWritable) != 0 && r.pending > 0;
  };
  WorkerCounters& counters = c.flow.dest()->counters.at(index_);
  bool progress = false;
  bool more = false;
  if (wanted(c.up, !upstream_side)) {
    const std::uint32_t src_event = upstream_side ? 0 : events;
    // up reads the client and writes the realserver.
    const PumpResult r =
        pump(c.up, c.down.shut, src_event, counters.inbytes, counters.inpkts, progress, more);
    if (r != PumpResult::kOk) return relay_failed(c, r == PumpResult::kSrcError);
  }
  if (wanted(c.down, upstream_side)) {
    const std::uint32_t src_event = upstream_side ? events : 0;
    const PumpResult r =
        pump(c.down, c.up.shut, src_event, counters.outbytes, counters.outpkts, progress, more);
    if (r != PumpResult::kOk) return relay_failed(c, r == PumpResult::kDstError);
  }
  if ((c.up.eof || c.down.eof) && c.timer != TimerClass::kFin) c.client_fin_first = c.up.eof;
  if (c.up.shut && c.down.shut) {
    return close_conn(
        c, false, Linger::kTimeWait,
        c.client_fin_first ? connlog::EndReason::kClientFin : connlog::EndReason::kRealFin);
  }
  if (more && !c.repump) {
    c.repump = true;
    repump_.push_back(&c);
  }
  if (c.up.eof || c.down.eof) {
    if (c.timer != TimerClass::kFin) {
      c.flow.set_count(Count::kInactive);
      move_to(c, TimerClass::kFin);
    } else if (progress) {
      move_to(c, TimerClass::kFin);
    }
  } else if (progress) {
    move_to(c, TimerClass::kEstablished);
  }
}

// A relay direction failed mid-stream; `client_side`: the client's socket failed (else the
// realserver's). The other side gets an RST.
void Worker::relay_failed(TcpConn& c, bool client_side) {
  count(client_side ? ErrorKind::kClientReset : ErrorKind::kRealReset);
  close_conn(c, true, Linger::kClose,
             client_side ? connlog::EndReason::kClientReset : connlog::EndReason::kRealReset);
}

void Worker::log_tcp_end(const TcpConn& c, connlog::EndReason why) {
  if (log_queue_ == nullptr || !conn_log_->enabled() || !c.flow) return;
  const DestRuntime* d = c.flow.dest();
  auto vip = local_endpoint(c.client.get());  // the address the client connected to
  log_queue_->push(connlog::ConnRecord{.proto = connlog::Proto::kTcp,
                                       .method = d->masq.load(std::memory_order_relaxed)
                                                     ? connlog::Method::kMasq
                                                     : connlog::Method::kFullNat,
                                       .end = why,
                                       .client = c.client_addr,
                                       .vip = vip ? *vip : core::Endpoint{},
                                       .real = d->addr,
                                       .in_bytes = c.up.moved,
                                       .out_bytes = c.down.moved,
                                       .start = c.start,
                                       .end_time = now_});
}

// Connections that hit the round limit get another full pump after this turn's events, so one
// busy stream cannot starve the others nor stall waiting for an edge that will not come.
void Worker::run_repumps() {
  std::vector<TcpConn*> batch = std::move(repump_);
  repump_.clear();
  for (TcpConn* c : batch) {
    c->repump = false;
    on_tcp_event(*c, false, 0);  // a closed one (kDead) is ignored; it lives until turn end
  }
}

}  // namespace lvs::dp::proxy
