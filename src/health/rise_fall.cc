#include "health/rise_fall.h"

#include <algorithm>

namespace lvs::health {

RiseFallCounts keepalived_counts(std::uint32_t retry) {
  return RiseFallCounts{.rise = 1, .fall = retry + 1, .fail_fast_at_start = true};
}

RiseFallCounts haproxy_counts(std::uint32_t rise, std::uint32_t fall) {
  return RiseFallCounts{
      .rise = std::max(rise, 1U), .fall = std::max(fall, 1U), .fail_fast_at_start = false};
}

// keepalived starts retry_it at `retry`, so the streak is already one failure short of `fall`.
RiseFall::RiseFall(RiseFallCounts counts, bool start_up)
    : counts_(counts),
      up_(start_up),
      failures_(start_up && counts.fail_fast_at_start ? std::max(counts.fall, 1U) - 1 : 0) {}

RiseFall::Step RiseFall::record(Outcome outcome) {
  Step step;
  if (outcome == Outcome::kSuccess) {
    failures_ = 0;
    ++successes_;
    if (!up_ && successes_ >= counts_.rise) {
      up_ = true;
      step.changed = true;
    }
    return step;
  }
  successes_ = 0;
  if (!up_) return step;  // already down: stay down, normal interval
  ++failures_;
  if (failures_ >= counts_.fall) {
    failures_ = 0;
    up_ = false;
    step.changed = false;
  } else {
    step.retry = true;
  }
  return step;
}

}  // namespace lvs::health
