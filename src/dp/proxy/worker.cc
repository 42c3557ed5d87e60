#include "dp/proxy/worker.h"

#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "core/log.h"

namespace lvs::dp::proxy {

namespace {

constexpr int kMaxEvents = 256;
constexpr int kMaxWaitMs = 1000;
// The rate estimator's period (spec §1.4); templates are swept on the same beat.
constexpr std::chrono::seconds kTickPeriod{2};

}  // namespace

bool LogLimiter::allow(core::TimePoint now, std::uint64_t& suppressed) {
  if (now - window_ >= std::chrono::seconds(1)) {
    window_ = now;
    in_window_ = 0;
  }
  if (++in_window_ > kBurst) {
    ++suppressed_;
    return false;
  }
  suppressed = std::exchange(suppressed_, 0);
  return true;
}

Worker::Worker(std::size_t index, const ProxyOptions& opts, const core::Clock& clock,
               const SnapshotBox& box, std::atomic<std::uint64_t>& refused)
    : index_(index), opts_(opts), clock_(&clock), box_(&box), refused_(&refused) {}

core::Result<std::unique_ptr<Worker>> Worker::create(std::size_t index, const ProxyOptions& opts,
                                                     const core::Clock& clock,
                                                     const SnapshotBox& box,
                                                     std::atomic<std::uint64_t>& refused) {
  std::unique_ptr<Worker> w(new Worker(index, opts, clock, box, refused));
  w->epoll_.reset(::epoll_create1(EPOLL_CLOEXEC));
  w->wake_fd_.reset(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  w->spare_fd_.reset(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  if (!w->epoll_ || !w->wake_fd_) {
    return core::fail(errno, fmt::format("worker {}: cannot create its event loop: {}", index,
                                         std::strerror(errno)));
  }
  w->wake_tag_ = Tag{.kind = TagKind::kWake, .owner = w.get()};
  if (!w->epoll_add(w->wake_fd_.get(), EPOLLIN, &w->wake_tag_)) {
    return core::fail(errno, fmt::format("worker {}: epoll_ctl: {}", index, std::strerror(errno)));
  }
  // Not zero-filled: pages become resident only as reads touch them.
  w->scratch_.reset(new char[kScratch]);
  return w;
}

Worker::~Worker() { stop(); }

ErrorCounts Worker::errors() const {
  ErrorCounts out;
  for (std::size_t k = 0; k < kErrorKinds; ++k) {
    out.n[k] = errors_[k].load(std::memory_order_relaxed);
  }
  return out;
}

void Worker::start() {
  thread_ = std::thread([this] { run(); });
}

void Worker::wake() {
  const std::uint64_t one = 1;
  // A full counter (EAGAIN) still wakes the loop; nothing else can fail here.
  [[maybe_unused]] const auto n = ::write(wake_fd_.get(), &one, sizeof(one));
}

void Worker::stop() {
  if (!thread_.joinable()) return;
  stopping_.store(true, std::memory_order_relaxed);
  wake();
  thread_.join();
}

WorkerBeat Worker::beat() const {
  return WorkerBeat{
      .worker = index_,
      .running = running_.load(std::memory_order_acquire),
      .last_turn = core::TimePoint(core::Duration(last_turn_ns_.load(std::memory_order_relaxed)))};
}

bool Worker::epoll_add(int fd, std::uint32_t events, Tag* tag) {
  epoll_event ev{};
  ev.events = events;
  ev.data.ptr = tag;
  return ::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &ev) == 0;
}

void Worker::epoll_del(int fd) {
  if (fd >= 0) ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, fd, nullptr);
}

int Worker::wait_timeout_ms() const {
  core::TimePoint next = now_ + std::chrono::milliseconds(kMaxWaitMs);
  const std::array<std::chrono::milliseconds, 3> timeouts{
      opts_.connect_timeout, opts_.tcp_established_timeout, opts_.tcp_fin_timeout};
  for (std::size_t t = 0; t < timeouts.size(); ++t) {
    if (!tcp_[t].empty()) next = std::min(next, tcp_[t].front()->last + timeouts[t]);
  }
  if (!udp_lru_.empty()) next = std::min(next, udp_lru_.front()->last + opts_.udp_timeout);
  for (const auto& list : lingering_) {
    if (!list.empty()) next = std::min(next, list.front().expires);
  }
  if (index_ == 0) next = std::min(next, next_tick_);
  if (next <= now_ || !repump_.empty()) return 0;
  // Round up so a wake-up never lands just before the deadline.
  const auto ms = std::chrono::ceil<std::chrono::milliseconds>(next - now_).count();
  return static_cast<int>(std::clamp<std::int64_t>(ms, 0, kMaxWaitMs));
}

void Worker::run() {
  std::array<epoll_event, kMaxEvents> events{};
  now_ = clock_->now();
  last_turn_ns_.store(now_.time_since_epoch().count(), std::memory_order_relaxed);
  running_.store(true, std::memory_order_release);
  while (!stopping_.load(std::memory_order_relaxed)) {
    if (woken_) {
      reconcile();
      answer_mailbox();
    }
    const int n = ::epoll_wait(epoll_.get(), events.data(), kMaxEvents, wait_timeout_ms());
    now_ = clock_->now();
    last_turn_ns_.store(now_.time_since_epoch().count(), std::memory_order_relaxed);
    for (int i = 0; i < n; ++i) {
      const epoll_event& ev = events[static_cast<std::size_t>(i)];
      const Tag* tag = static_cast<const Tag*>(ev.data.ptr);
      switch (tag->kind) {
        case TagKind::kWake: {
          std::uint64_t v = 0;
          [[maybe_unused]] const auto r = ::read(wake_fd_.get(), &v, sizeof(v));
          woken_ = true;
          break;
        }
        case TagKind::kTcpListener:
          on_tcp_accept(*static_cast<ListenerReg*>(tag->owner));
          break;
        case TagKind::kUdpListener:
          on_udp_datagram(*static_cast<ListenerReg*>(tag->owner));
          break;
        case TagKind::kTcpClient:
          on_tcp_event(*static_cast<TcpConn*>(tag->owner), false, ev.events);
          break;
        case TagKind::kTcpUpstream:
          on_tcp_event(*static_cast<TcpConn*>(tag->owner), true, ev.events);
          break;
        case TagKind::kUdpUpstream:
          on_udp_reply(*static_cast<UdpFlow*>(tag->owner));
          break;
      }
    }
    run_repumps();
    expire();
    if (index_ == 0 && now_ >= next_tick_) tick();
    // Objects closed during this turn die only now: later events of the same batch may
    // still have pointed at them.
    tcp_[static_cast<std::size_t>(TimerClass::kDead)].clear();
    dead_flows_.clear();
    dead_regs_.clear();
  }
  running_.store(false, std::memory_order_release);
  // Shutting down: close everything this worker owns while the thread still runs.
  for (std::size_t t = 0; t < kTimerClasses; ++t) {
    if (t == static_cast<std::size_t>(TimerClass::kDead)) continue;
    while (!tcp_[t].empty()) {
      close_conn(*tcp_[t].front(), true, Linger::kNone, connlog::EndReason::kShutdown);
    }
  }
  for (auto& list : tcp_) list.clear();
  for (auto& list : lingering_) list.clear();
  for (auto& [svc, reg] : regs_) {
    epoll_del(reg->fd);
    // Stop listening now rather than when the last connection lets go of the Service: SYNs
    // are refused instead of queueing in a backlog nobody accepts from.
    if (svc->key().protocol == model::Protocol::kTcp) ::shutdown(reg->fd, SHUT_RD);
    while (!reg->flows.empty()) {
      kill_udp_flow(*reg->flows.begin()->second, connlog::EndReason::kShutdown);
    }
  }
  regs_.clear();
  dead_flows_.clear();
}

void Worker::reconcile() {
  woken_ = false;
  auto snap = box_->get();
  if (snap == snapshot_) return;
  std::unordered_map<const Service*, std::unique_ptr<ListenerReg>> next;
  for (const auto& svc : snap->services) {
    auto it = regs_.find(svc.get());
    if (it != regs_.end()) {
      next.emplace(svc.get(), std::move(it->second));
      regs_.erase(it);
      continue;
    }
    auto reg = std::make_unique<ListenerReg>();
    const bool udp = svc->key().protocol == model::Protocol::kUdp;
    reg->tag = Tag{.kind = udp ? TagKind::kUdpListener : TagKind::kTcpListener, .owner = reg.get()};
    reg->svc = svc;
    reg->fd = svc->listener(index_);
    if (!epoll_add(reg->fd, EPOLLIN, &reg->tag)) {
      core::log().error("worker {}: cannot watch the listener of {}: {}", index_,
                        svc->key().to_string(), std::strerror(errno));
      continue;
    }
    next.emplace(svc.get(), std::move(reg));
  }
  // Services gone from the table: stop listening; their UDP flows go (no listener to answer
  // from), their TCP connections keep running until they close.
  for (auto& [svc, reg] : regs_) {
    epoll_del(reg->fd);
    // Stop listening now rather than when the last connection lets go of the Service: SYNs
    // are refused instead of queueing in a backlog nobody accepts from.
    if (svc->key().protocol == model::Protocol::kTcp) ::shutdown(reg->fd, SHUT_RD);
    while (!reg->flows.empty()) {
      kill_udp_flow(*reg->flows.begin()->second, connlog::EndReason::kServiceRemoved);
    }
    dead_regs_.push_back(std::move(reg));
  }
  regs_ = std::move(next);
  snapshot_ = std::move(snap);
}

void Worker::tick() {
  next_tick_ = now_ + kTickPeriod;
  for (const auto& svc : snapshot_->services) svc->tick(now_);
}

void Worker::expire() {
  const std::array<std::chrono::milliseconds, 3> timeouts{
      opts_.connect_timeout, opts_.tcp_established_timeout, opts_.tcp_fin_timeout};
  for (std::size_t t = 0; t < timeouts.size(); ++t) {
    auto& list = tcp_[t];
    while (!list.empty() && list.front()->last + timeouts[t] <= now_) {
      TcpConn& c = *list.front();
      // An IPVS entry whose timer runs out is gone: nothing lingers.
      if (c.timer == TimerClass::kConnecting) {
        connect_failed(c, ETIMEDOUT, Linger::kNone);
      } else {
        close_conn(c, true, Linger::kNone, connlog::EndReason::kIdleTimeout);
      }
    }
  }
  for (std::size_t k = 0; k < kLingerKinds; ++k) {
    auto& list = lingering_[k];
    while (!list.empty() && list.front().expires <= now_) drop_lingering(static_cast<Linger>(k));
  }
  while (!udp_lru_.empty() && udp_lru_.front()->last + opts_.udp_timeout <= now_) {
    kill_udp_flow(*udp_lru_.front(), connlog::EndReason::kIdleTimeout);
  }
}

}  // namespace lvs::dp::proxy
