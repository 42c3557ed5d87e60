#pragma once
// Monitor: runs every checker of every realserver on schedule and turns outcomes into
// realserver transitions, reported as on_change(real, up, reason). Timing (warm-up, delay_loop,
// delay_before_retry, jitter) and thresholds (RiseFall) live here and nowhere else.
// Time comes from the Clock passed in; randomness (warm-up, jitter) from the Rng passed in.
// Single-threaded: call everything from the event loop's thread.

#include <compare>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/config.h"
#include "core/clock.h"
#include "core/result.h"
#include "core/rng.h"
#include "health/checker.h"
#include "health/rise_fall.h"
#include "model/service.h"

namespace lvs::health {

struct RealId {
  model::ServiceKey service{};
  core::Endpoint real{};
  auto operator<=>(const RealId&) const = default;
  bool operator==(const RealId&) const = default;
};

struct MonitorOptions {
  // Unset: keepalived's rise 1 / fall retry+1 per checker. Set: HAProxy-style counts for all.
  std::optional<RiseFallCounts> counts{};
  // Each delay_loop is spread uniformly over +-jitter_percent of itself (0 = exact schedule).
  std::uint32_t jitter_percent = 0;
  bool operator==(const MonitorOptions&) const = default;
};

using CheckerFactory =
    std::function<core::Result<std::unique_ptr<Checker>>(const config::CheckerSpec&)>;

class Monitor {
 public:
  using OnChange = std::function<void(const RealId&, bool up, const std::string& reason)>;
  using OnWeight = std::function<void(const RealId&, std::int32_t weight)>;
  using OnProbe = std::function<void(const RealId&, const ProbeResult&)>;

  Monitor(const core::Clock& clock, core::Rng& rng, CheckerFactory factory,
          MonitorOptions options = {});
  ~Monitor();
  Monitor(const Monitor&) = delete;
  Monitor& operator=(const Monitor&) = delete;

  void set_on_change(OnChange cb) { on_change_ = std::move(cb); }
  // misc_dynamic: a successful probe asked for this weight (reported when it changes).
  void set_on_weight(OnWeight cb) { on_weight_ = std::move(cb); }
  // Every finished probe, once per realserver it checks (outcome and latency, for metrics).
  void set_on_probe(OnProbe cb) { on_probe_ = std::move(cb); }
  // Called after a probe completes (its next run is now scheduled): re-arm the loop's timer.
  void set_on_reschedule(std::function<void()> cb) { on_reschedule_ = std::move(cb); }

  // Creates the service's checkers and schedules their first probes from clock.now() plus
  // warm-up. Fails (adding nothing) when a checker cannot be created.
  core::Result<void> add_service(const config::ServiceHealth& service);

  // The earliest time a probe that is not in flight is due; unset when nothing is scheduled.
  std::optional<core::TimePoint> next_due() const;
  // Starts every probe due at clock.now(). Probes may complete inside this call.
  void run_due();

  bool alive(const RealId& real) const;
  std::size_t in_flight() const;

 private:
  struct Real;
  struct Check;
  void completed(Check& check, ProbeResult result);
  core::Duration jittered(core::Duration d);

  const core::Clock& clock_;
  core::Rng& rng_;
  CheckerFactory factory_;
  MonitorOptions options_;
  OnChange on_change_{};
  OnWeight on_weight_{};
  OnProbe on_probe_{};
  std::function<void()> on_reschedule_{};
  std::vector<std::unique_ptr<Real>> reals_{};
  std::vector<std::unique_ptr<Check>> checks_{};
  std::shared_ptr<bool> token_;  // expires with the Monitor: late completions are dropped
};

}  // namespace lvs::health
