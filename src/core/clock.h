#pragma once
// Time is passed in: only the event loop (or a test) reads a Clock; everything else takes a
// TimePoint argument. FakeClock lets tests advance virtual time without sleeping.

#include <chrono>

namespace lvs::core {

using Duration = std::chrono::nanoseconds;
using TimePoint = std::chrono::steady_clock::time_point;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual TimePoint now() const = 0;
};

class SteadyClock final : public Clock {
 public:
  TimePoint now() const override { return std::chrono::steady_clock::now(); }
};

// Starts at the steady clock's epoch; moves only when advance() is called.
class FakeClock final : public Clock {
 public:
  TimePoint now() const override { return now_; }
  void advance(Duration d) { now_ += d; }

 private:
  TimePoint now_{};
};

}  // namespace lvs::core
