#pragma once
// The Checker seam: a checker only probes. probe(target, timeout, done) starts one attempt and
// calls `done` exactly once (possibly before probe() returns) with the outcome. Thresholds,
// retries and timing live in RiseFall and Monitor, never in a checker.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "core/clock.h"
#include "core/endpoint.h"

namespace lvs::health {

enum class Outcome : std::uint8_t { kFailure, kSuccess };

struct ProbeResult {
  Outcome outcome = Outcome::kFailure;
  std::string reason{};                  // "connection refused", "HTTP status 500 not in 200-299"
  core::Duration latency{};              // from probe() to the verdict
  std::optional<std::int32_t> weight{};  // MISC_CHECK misc_dynamic: the weight the RS should get

  bool ok() const { return outcome == Outcome::kSuccess; }
  bool operator==(const ProbeResult&) const = default;
};

using ProbeDone = std::function<void(ProbeResult)>;

class Checker {
 public:
  virtual ~Checker() = default;
  // Starts one attempt against `target`, bounded by `timeout`. Runs on the event loop's thread.
  // The checker may be destroyed only when no attempt is in flight, or from inside `done`.
  virtual void probe(const core::Endpoint& target, core::Duration timeout, ProbeDone done) = 0;
};

}  // namespace lvs::health
