#pragma once
// A small single-threaded epoll loop with one-shot timers: what the checkers run on. It is the
// only code in health that reads the clock. Callbacks may watch, unwatch, add and cancel timers,
// including their own; an unwatched descriptor gets no further callbacks, even from the batch
// already returned by epoll_wait.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <utility>

#include "core/clock.h"
#include "core/fd.h"
#include "core/result.h"

namespace lvs::health {

class EventLoop {
 public:
  using TimerId = std::uint64_t;
  using IoCallback = std::function<void(std::uint32_t events)>;

  // Uses `clock` for timers (the steady clock when null).
  static core::Result<std::unique_ptr<EventLoop>> create(const core::Clock* clock = nullptr);

  const core::Clock& clock() const { return *clock_; }
  core::TimePoint now() const { return clock_->now(); }

  // Registers (or replaces) the callback and interest set (EPOLLIN/EPOLLOUT) for `fd`.
  core::Result<void> watch(int fd, std::uint32_t events, IoCallback cb);
  void unwatch(int fd);

  TimerId at(core::TimePoint when, std::function<void()> cb);
  TimerId after(core::Duration d, std::function<void()> cb) { return at(now() + d, std::move(cb)); }
  void cancel(TimerId id);

  // Waits at most `max_wait` for events or the next timer, then runs what is ready.
  void run_once(core::Duration max_wait);
  // Runs until `done()` is true or `limit` has passed on the loop's clock; returns done(). With
  // a FakeClock the limit only passes if something advances the clock.
  bool run_until(const std::function<bool()>& done, core::Duration limit);

 private:
  EventLoop(const core::Clock& clock, core::Fd epoll);
  struct Watch {
    std::uint32_t generation = 0;
    std::shared_ptr<IoCallback> cb{};
  };

  const core::Clock* clock_;
  core::Fd epoll_;
  std::map<int, Watch> watches_{};
  std::uint32_t generation_ = 0;
  std::multimap<core::TimePoint, std::pair<TimerId, std::function<void()>>> timers_{};
  TimerId next_timer_ = 1;
};

}  // namespace lvs::health
