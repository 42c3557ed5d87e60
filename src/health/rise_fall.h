#pragma once
// RiseFall: the one place that turns probe outcomes into up/down for one checker.
// keepalived semantics (spec §5.3) are rise = 1, fall = retry + 1 with no retries at start-up;
// HAProxy-style counts are the same machine with other numbers and no start-up shortcut.

#include <cstdint>
#include <optional>

#include "health/checker.h"

namespace lvs::health {

struct RiseFallCounts {
  std::uint32_t rise = 1;  // consecutive successes that bring a down checker up
  std::uint32_t fall = 2;  // consecutive failures that take an up checker down
  // keepalived: the first failure after start-up takes the checker down without retries.
  bool fail_fast_at_start = true;
  bool operator==(const RiseFallCounts&) const = default;
};

// keepalived's numbers for `retry`: rise 1, fall retry+1, fail fast at start-up.
RiseFallCounts keepalived_counts(std::uint32_t retry);
// HAProxy's `rise N fall M`: no start-up shortcut.
RiseFallCounts haproxy_counts(std::uint32_t rise, std::uint32_t fall);

class RiseFall {
 public:
  // `start_up` false is keepalived's alpha: down (counted failed) until the first rise.
  RiseFall(RiseFallCounts counts, bool start_up);

  struct Step {
    std::optional<bool> changed{};  // set when the checker flipped: the new state
    bool retry = false;             // still up, inside a failure streak: probe again soon
    bool operator==(const Step&) const = default;
  };
  Step record(Outcome outcome);
  bool up() const { return up_; }

 private:
  RiseFallCounts counts_;
  bool up_;
  std::uint32_t successes_ = 0;
  std::uint32_t failures_ = 0;
};

}  // namespace lvs::health
