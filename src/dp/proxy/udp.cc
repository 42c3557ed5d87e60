// The UDP relay of a worker. A flow is keyed by the client's address and port; it owns a
// socket connected to its realserver, so replies are matched by the kernel, and they go back
// through the listener socket, i.e. from the VIP:port the client sent to. One-packet
// services schedule every datagram; their flows are keyed by (client, realserver) and only
// carry replies. A flow whose realserver left the service is rescheduled on its next
// datagram (ProxyOptions::udp_reschedule).

#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <new>

#include "core/log.h"
#include "dp/proxy/net.h"
#include "dp/proxy/pktinfo.h"
#include "dp/proxy/proxy_protocol.h"
#include "dp/proxy/worker.h"

namespace lvs::dp::proxy {

bool Worker::udp_flow_stale(const UdpFlow& f) const {
  const DestRuntime* d = f.flow.dest();
  switch (opts_.udp_reschedule) {
    case UdpReschedule::kNever:
      return false;
    case UdpReschedule::kWhenRemoved:
      return !d->available.load(std::memory_order_relaxed);
    case UdpReschedule::kWhenRemovedOrQuiesced:
      return !d->available.load(std::memory_order_relaxed) ||
             d->weight.load(std::memory_order_relaxed) == 0;
  }
  return false;
}

UdpFlow* Worker::new_udp_flow(ListenerReg& reg, const FlowKey& key, FlowHandle handle) {
  const core::Endpoint dest = handle.dest()->addr;
  // Masq: bound to the client's own address and port (net.h, make_upstream).
  const bool masq = handle.dest()->masq.load(std::memory_order_relaxed);
  auto made = make_upstream(SockType::kDatagram, dest, masq ? &key.client : nullptr);
  const SockAddr sa = to_sockaddr(dest);
  std::string why;
  if (!made) {
    why = made.error().message;
  } else if (::connect(made->get(), sa.get(), sa.len) != 0) {
    why = std::strerror(errno);
  }
  if (!why.empty()) {
    WorkerCounters::add(handle.dest()->counters.at(index_).failed, 1);
    const int err = made ? errno : made.error().code;
    count(err == EMFILE || err == ENFILE ? ErrorKind::kDescriptors : ErrorKind::kConnectError);
    std::uint64_t skipped = 0;  // the caller counts the datagram as refused
    if (log_refuse_.allow(now_, skipped)) {
      core::log().warn("{}: no upstream socket for {}: {} ({} more not logged)",
                       reg.svc->key().to_string(), key.client.to_string(), why, skipped);
    }
    return nullptr;
  }
  core::Fd up = std::move(made).value();
  std::unique_ptr<UdpFlow> flow(new (std::nothrow) UdpFlow());
  if (!flow) {
    udp_out_of_memory(reg, key.client);
    return nullptr;
  }
  UdpFlow& f = *flow;
  f.tag = Tag{.kind = TagKind::kUdpUpstream, .owner = &f};
  f.upstream = std::move(up);
  f.flow = std::move(handle);
  f.client = key.client;
  f.dest = key.dest;
  f.owner = &reg;
  f.header_pending =
      f.flow.dest()->proxy_protocol.load(std::memory_order_relaxed) == model::ProxyProtocol::kV2;
  f.last = now_;
  f.start = now_;
  if (!epoll_add(f.upstream.get(), EPOLLIN, &f.tag)) return nullptr;
  // Out of memory for the bookkeeping: this new flow is refused, the running ones go on. On
  // the way out the flow closes its socket, which leaves the epoll set with it.
  try {
    udp_lru_.push_back(&f);
  } catch (const std::bad_alloc&) {
    udp_out_of_memory(reg, key.client);
    return nullptr;
  }
  f.lru = std::prev(udp_lru_.end());
  try {
    reg.flows.emplace(key, std::move(flow));
  } catch (const std::bad_alloc&) {
    udp_lru_.pop_back();  // `flow` (or the node it moved into) is gone or goes at return
    udp_out_of_memory(reg, key.client);
    return nullptr;
  }
  return &f;
}

void Worker::udp_out_of_memory(const ListenerReg& reg, const core::Endpoint& client) {
  count(ErrorKind::kMemory);
  std::uint64_t skipped = 0;  // the caller counts the datagram as refused
  if (log_refuse_.allow(now_, skipped)) {
    core::log().warn("{}: out of memory for a flow of {} ({} more not logged)",
                     reg.svc->key().to_string(), client.to_string(), skipped);
  }
}

void Worker::kill_udp_flow(UdpFlow& f, connlog::EndReason why) {
  log_udp_end(f, why);
  epoll_del(f.upstream.get());
  udp_lru_.erase(f.lru);
  f.flow.release();
  auto it = f.owner->flows.find(FlowKey{.client = f.client, .dest = f.dest});
  LVS_ASSERT(it != f.owner->flows.end());
  dead_flows_.push_back(std::move(it->second));
  f.owner->flows.erase(it);
}

void Worker::log_udp_end(const UdpFlow& f, connlog::EndReason why) {
  if (log_queue_ == nullptr || !conn_log_->enabled() || !f.flow) return;
  const DestRuntime* d = f.flow.dest();
  core::Endpoint vip = f.owner->svc->key().vip;
  if (f.local) vip.addr = *f.local;
  log_queue_->push(connlog::ConnRecord{.proto = connlog::Proto::kUdp,
                                       .method = d->masq.load(std::memory_order_relaxed)
                                                     ? connlog::Method::kMasq
                                                     : connlog::Method::kFullNat,
                                       .end = why,
                                       .client = f.client,
                                       .vip = vip,
                                       .real = d->addr,
                                       .in_bytes = f.in_bytes,
                                       .out_bytes = f.out_bytes,
                                       .start = f.start,
                                       .end_time = now_});
}

// Counts why no realserver was found for a new flow of `svc`.
UdpFlow* Worker::no_udp_dest(const Service& svc) {
  count(svc.at_cap() ? ErrorKind::kConnLimit : ErrorKind::kNoRealserver);
  return nullptr;
}

UdpFlow* Worker::udp_flow_for(ListenerReg& reg, const core::Endpoint& client) {
  Service& svc = *reg.svc;
  if (svc.one_packet()) {
    auto handle = svc.pick(client, now_, Count::kNone, index_);
    if (!handle) return no_udp_dest(svc);
    const FlowKey key{.client = client, .dest = handle->dest()->addr};
    auto it = reg.flows.find(key);
    if (it != reg.flows.end()) return it->second.get();
    return new_udp_flow(reg, key, std::move(*handle));
  }
  const FlowKey key{.client = client};
  if (auto it = reg.flows.find(key); it != reg.flows.end()) {
    if (!udp_flow_stale(*it->second)) return it->second.get();
    kill_udp_flow(*it->second, connlog::EndReason::kRealDeleted);
  }
  auto handle = svc.pick(client, now_, Count::kInactive, index_);
  if (!handle) return no_udp_dest(svc);
  return new_udp_flow(reg, key, std::move(*handle));
}

void UdpBatch::arm(std::size_t i, bool from) {
  iov[i] = iovec{.iov_base = data.get() + i * kScratch, .iov_len = kScratch};
  msghdr& h = msgs[i].msg_hdr;
  h = msghdr{};
  h.msg_iov = &iov[i];
  h.msg_iovlen = 1;
  if (from) {
    h.msg_name = &addr[i];
    h.msg_namelen = sizeof(addr[i]);
  }
  msgs[i].msg_len = 0;
}

// The listener is level-triggered: one recvmmsg per event takes what is queued (up to a
// batch); anything left is reported by the next epoll_wait. A wildcard VIP reads datagram by
// datagram instead, each with the address the client sent to (pktinfo.h).
void Worker::on_udp_datagram(ListenerReg& reg) {
  if (is_wildcard(reg.svc->key().vip.addr)) {
    char* data = requests_.data.get();
    for (std::size_t i = 0; i < kUdpBatch; ++i) {
      SockAddr sa;
      sa.len = sizeof(sa.storage);
      std::optional<core::IpAddress> local;
      const ssize_t n = recv_with_local(reg.fd, data, kScratch, sa, local);
      if (n < 0) {
        if (errno == EINTR) continue;
        return;  // EAGAIN, or an ICMP error for an earlier reply: nothing to relay
      }
      relay_request(reg, sa.storage, &local, data, static_cast<std::size_t>(n));
    }
    return;
  }
  for (std::size_t i = 0; i < kUdpBatch; ++i) requests_.arm(i, true);
  const int n = ::recvmmsg(reg.fd, requests_.msgs.data(), kUdpBatch, MSG_DONTWAIT, nullptr);
  // n < 0: EAGAIN, or an ICMP error for an earlier reply: nothing to relay.
  for (int i = 0; i < n; ++i) {
    const auto k = static_cast<std::size_t>(i);
    relay_request(reg, requests_.addr[k], nullptr, static_cast<char*>(requests_.iov[k].iov_base),
                  requests_.msgs[k].msg_len);
  }
}

// `local`: for a wildcard VIP, the address the client sent to (nullptr otherwise).
void Worker::relay_request(ListenerReg& reg, const sockaddr_storage& from,
                           const std::optional<core::IpAddress>* local, char* data, std::size_t n) {
  const core::Endpoint client = from_sockaddr(from);
  UdpFlow* f = udp_flow_for(reg, client);
  if (f == nullptr) {
    refused_->fetch_add(1, std::memory_order_relaxed);
    return;
  }
  if (local != nullptr) f->local = *local;
  DestRuntime& d = *f->flow.dest();
  ssize_t sent = 0;
  if (f->header_pending) {
    // PROXY v2 rides in front of the flow's first datagram (one sendmsg, no copy).
    core::Endpoint vip = reg.svc->key().vip;
    if (f->local) vip.addr = *f->local;
    std::string header =
        proxy_header(model::ProxyProtocol::kV2, model::Protocol::kUdp, client, vip);
    std::array<iovec, 2> iov{iovec{.iov_base = header.data(), .iov_len = header.size()},
                             iovec{.iov_base = data, .iov_len = n}};
    msghdr msg{};
    msg.msg_iov = iov.data();
    msg.msg_iovlen = iov.size();
    sent = ::sendmsg(f->upstream.get(), &msg, MSG_DONTWAIT);
    f->header_pending = sent < 0;
  } else {
    sent = ::send(f->upstream.get(), data, n, MSG_DONTWAIT);
  }
  if (sent >= 0) {
    WorkerCounters::add(d.counters.at(index_).inpkts, 1);
    WorkerCounters::add(d.counters.at(index_).inbytes, n);
    f->in_bytes += n;
  }
  f->last = now_;
  udp_lru_.splice(udp_lru_.end(), udp_lru_, f->lru);
}

// The flow's socket is level-triggered: one recvmmsg per event takes the replies queued (up to
// a batch) and one sendmmsg passes them on through the listener at once. (Holding replies to
// the end of the loop turn for bigger batches measured slower: the client waits meanwhile.)
void Worker::on_udp_reply(UdpFlow& f) {
  if (f.owner == nullptr || !f.flow) return;
  for (std::size_t i = 0; i < kUdpBatch; ++i) replies_.arm(i, false);
  const int n =
      ::recvmmsg(f.upstream.get(), replies_.msgs.data(), kUdpBatch, MSG_DONTWAIT, nullptr);
  // n < 0: EAGAIN, or ECONNREFUSED from the realserver's ICMP: keep the flow.
  if (n <= 0) return;
  const auto count = static_cast<std::size_t>(n);
  const SockAddr to = to_sockaddr(f.client);
  WorkerCounters& counters = f.flow.dest()->counters.at(index_);
  for (std::size_t k = 0; k < count; ++k) {
    std::memcpy(&replies_.addr[k], &to.storage, sizeof(to.storage));
    msghdr& h = replies_.msgs[k].msg_hdr;
    h.msg_name = &replies_.addr[k];
    h.msg_namelen = to.len;
    replies_.iov[k].iov_len = replies_.msgs[k].msg_len;
  }
  if (f.local) {  // a wildcard VIP answers from the address the client sent to
    for (std::size_t k = 0; k < count; ++k) {
      const auto len = static_cast<std::size_t>(replies_.msgs[k].msg_len);
      if (send_from(f.owner->fd, static_cast<const char*>(replies_.iov[k].iov_base), len, to,
                    *f.local) >= 0) {
        WorkerCounters::add(counters.outpkts, 1);
        WorkerCounters::add(counters.outbytes, len);
        f.out_bytes += len;
      }
    }
    f.last = now_;
    udp_lru_.splice(udp_lru_.end(), udp_lru_, f.lru);
    return;
  }
  std::size_t i = 0;
  while (i < count) {
    const int sent = ::sendmmsg(f.owner->fd, replies_.msgs.data() + i,
                                static_cast<unsigned>(count - i), MSG_DONTWAIT);
    if (sent <= 0) {  // the listener refused this one (full, unreachable): dropped, as UDP may
      ++i;
      continue;
    }
    for (std::size_t k = i; k < i + static_cast<std::size_t>(sent); ++k) {
      WorkerCounters::add(counters.outpkts, 1);
      WorkerCounters::add(counters.outbytes, replies_.msgs[k].msg_len);
      f.out_bytes += replies_.msgs[k].msg_len;
    }
    i += static_cast<std::size_t>(sent);
  }
  f.last = now_;
  udp_lru_.splice(udp_lru_.end(), udp_lru_, f.lru);
}

}  // namespace lvs::dp::proxy
