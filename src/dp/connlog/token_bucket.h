#pragma once
// A token bucket on passed-in time (pure): `rate` tokens per second, holding at most one
// second's worth (the burst). Integer arithmetic: the bucket holds nanoseconds of credit and a
// token costs 1e9 / rate of them, so no rounding drifts over time.

#include <cstdint>

#include "core/clock.h"

namespace lvs::dp::connlog {

class TokenBucket {
 public:
  // `rate` >= 1 (0 is taken as 1). The bucket starts full.
  explicit TokenBucket(std::uint32_t rate);
  // True (and one token spent) when a token is available at `now`. `now` never goes back;
  // a `now` before the previous call is taken as the previous call's time.
  bool take(core::TimePoint now);
  std::uint32_t rate() const { return rate_; }

 private:
  std::uint32_t rate_;
  std::int64_t cost_ns_;
  std::int64_t cap_ns_;
  std::int64_t credit_ns_;
  bool started_ = false;
  core::TimePoint last_{};
};

}  // namespace lvs::dp::connlog
