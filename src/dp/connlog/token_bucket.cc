#include "dp/connlog/token_bucket.h"

#include <algorithm>

namespace lvs::dp::connlog {

namespace {
constexpr std::int64_t kSecondNs = 1'000'000'000;
}  // namespace

TokenBucket::TokenBucket(std::uint32_t rate)
    : rate_(std::max<std::uint32_t>(rate, 1)),
      cost_ns_(kSecondNs / rate_),
      cap_ns_(cost_ns_ * rate_),  // exactly `rate` tokens: one second's worth
      credit_ns_(cap_ns_) {}

bool TokenBucket::take(core::TimePoint now) {
  if (!started_) {
    started_ = true;
    last_ = now;
  }
  if (now > last_) {
    const auto elapsed = std::chrono::duration_cast<std::chrono::nanoseconds>(now - last_).count();
    credit_ns_ = std::min(cap_ns_, credit_ns_ + std::min<std::int64_t>(elapsed, cap_ns_));
    last_ = now;
  }
  if (credit_ns_ < cost_ns_) return false;
  credit_ns_ -= cost_ns_;
  return true;
}

}  // namespace lvs::dp::connlog
