#include "health/event_loop.h"

#include <sys/epoll.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

namespace lvs::health {

namespace {
const core::SteadyClock kSteady;
}  // namespace

core::Result<std::unique_ptr<EventLoop>> EventLoop::create(const core::Clock* clock) {
  core::Fd ep(::epoll_create1(EPOLL_CLOEXEC));
  if (!ep) return core::fail(errno, std::string("epoll_create1: ") + std::strerror(errno));
  return std::unique_ptr<EventLoop>(
      new EventLoop(clock != nullptr ? *clock : kSteady, std::move(ep)));
}

EventLoop::EventLoop(const core::Clock& clock, core::Fd epoll)
    : clock_(&clock), epoll_(std::move(epoll)) {}

core::Result<void> EventLoop::watch(int fd, std::uint32_t events, IoCallback cb) {
  const bool known = watches_.count(fd) != 0;
  Watch w{.generation = ++generation_, .cb = std::make_shared<IoCallback>(std::move(cb))};
  epoll_event ev{};
  ev.events = events;
  // The generation tells a stale event (fd unwatched and reused in the same batch) apart.
  ev.data.u64 = (static_cast<std::uint64_t>(w.generation) << 32U) | static_cast<std::uint32_t>(fd);
  if (::epoll_ctl(epoll_.get(), known ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd, &ev) != 0) {
    return core::fail(errno, std::string("epoll_ctl: ") + std::strerror(errno));
  }
  watches_[fd] = std::move(w);
  return {};
}

void EventLoop::unwatch(int fd) {
  if (watches_.erase(fd) != 0) ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, fd, nullptr);
}

EventLoop::TimerId EventLoop::at(core::TimePoint when, std::function<void()> cb) {
  const TimerId id = next_timer_++;
  timers_.emplace(when, std::make_pair(id, std::move(cb)));
  return id;
}

void EventLoop::cancel(TimerId id) {
  auto it = std::find_if(timers_.begin(), timers_.end(),
                         [id](const auto& t) { return t.second.first == id; });
  if (it != timers_.end()) timers_.erase(it);
}

void EventLoop::run_once(core::Duration max_wait) {
  core::Duration wait = max_wait;
  if (!timers_.empty()) wait = std::min(wait, timers_.begin()->first - now());
  wait = std::max(wait, core::Duration::zero());
  const auto ms = std::chrono::ceil<std::chrono::milliseconds>(wait).count();
  std::array<epoll_event, 64> events{};
  const int n = ::epoll_wait(epoll_.get(), events.data(), static_cast<int>(events.size()),
                             static_cast<int>(ms));
  for (int i = 0; i < n; ++i) {
    const epoll_event& ev = events[static_cast<std::size_t>(i)];
    const int fd = static_cast<int>(ev.data.u64 & 0xFFFFFFFFU);
    const auto gen = static_cast<std::uint32_t>(ev.data.u64 >> 32U);
    auto it = watches_.find(fd);
    if (it == watches_.end() || it->second.generation != gen) continue;
    const std::shared_ptr<IoCallback> cb = it->second.cb;  // survives an unwatch inside
    (*cb)(ev.events);
  }
  const core::TimePoint t = now();
  while (!timers_.empty() && timers_.begin()->first <= t) {
    auto cb = std::move(timers_.begin()->second.second);
    timers_.erase(timers_.begin());
    cb();
  }
}

bool EventLoop::run_until(const std::function<bool()>& done, core::Duration limit) {
  const core::TimePoint deadline = now() + limit;
  while (!done()) {
    const core::TimePoint t = now();
    if (t >= deadline) break;
    run_once(deadline - t);
  }
  return done();
}

}  // namespace lvs::health
