#pragma once
// Attempt: one in-flight probe. It keeps itself alive through the loop callbacks it registers,
// owns its timeout timer, and finish() delivers the verdict exactly once, after unwatching every
// descriptor and cancelling the timer. Checkers derive from it, one class per protocol exchange.

#include <sys/epoll.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "health/checker.h"
#include "health/event_loop.h"

namespace lvs::health {

class Attempt : public std::enable_shared_from_this<Attempt> {
 public:
  Attempt(EventLoop& loop, ProbeDone done)
      : loop_(loop), done_(std::move(done)), start_(loop.now()) {}
  virtual ~Attempt() = default;
  Attempt(const Attempt&) = delete;
  Attempt& operator=(const Attempt&) = delete;

 protected:
  EventLoop& loop() { return loop_; }
  bool finished() const { return finished_; }

  void arm_timeout(core::Duration timeout) {
    timeout_ = timeout;
    timer_ = loop_.after(timeout, [self = shared_from_this()] {
      self->timer_.reset();
      if (!self->finished_) self->on_timeout();
    });
  }
  // Default: a failure that says how long we waited.
  virtual void on_timeout() {
    finish(Outcome::kFailure,
           "timed out after " +
               std::to_string(
                   std::chrono::duration_cast<std::chrono::milliseconds>(timeout_).count()) +
               " ms");
  }

  // Calls fn(events) on readiness until finish(). A failed registration finishes the attempt.
  void watch(int fd, std::uint32_t events, std::function<void(std::uint32_t)> fn) {
    auto r =
        loop_.watch(fd, events, [self = shared_from_this(), fn = std::move(fn)](std::uint32_t ev) {
          if (!self->finished_) fn(ev);
        });
    if (!r.ok()) {
      finish(Outcome::kFailure, r.error().message);
      return;
    }
    if (std::find(fds_.begin(), fds_.end(), fd) == fds_.end()) fds_.push_back(fd);
  }

  void finish(Outcome outcome, std::string reason, std::optional<std::int32_t> weight = {}) {
    if (finished_) return;
    finished_ = true;
    if (timer_) loop_.cancel(*timer_);
    timer_.reset();
    for (int fd : fds_) loop_.unwatch(fd);
    fds_.clear();
    release();
    ProbeDone done = std::move(done_);
    done(ProbeResult{.outcome = outcome,
                     .reason = std::move(reason),
                     .latency = loop_.now() - start_,
                     .weight = weight});
  }
  // Frees protocol resources (sockets, TLS state, children) once the verdict is known.
  virtual void release() {}

 private:
  EventLoop& loop_;
  ProbeDone done_;
  core::TimePoint start_;
  core::Duration timeout_{};
  std::optional<EventLoop::TimerId> timer_{};
  std::vector<int> fds_{};
  bool finished_ = false;
};

}  // namespace lvs::health
