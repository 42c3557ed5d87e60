#include "health/monitor.h"

#include <fmt/format.h>

#include <algorithm>
#include <utility>

#include "config/config.h"

namespace lvs::health {

using std::chrono::milliseconds;

struct Monitor::Real {
  RealId id{};
  std::uint32_t failed = 0;  // checkers currently down (keepalived's num_failed_checkers)
  std::optional<std::int32_t> weight{};
};

// One scheduled checker. Realservers of several services that configure the same probe (same
// kind, target and settings, wherever it was written) share one Check: one probe, one RiseFall.
struct Monitor::Check {
  std::vector<Real*> reals{};
  bool start_up = true;
  config::CheckerSpec spec{};
  std::unique_ptr<Checker> checker{};
  RiseFall state;
  core::TimePoint due{};
  bool in_flight = false;
};

Monitor::Monitor(const core::Clock& clock, core::Rng& rng, CheckerFactory factory,
                 MonitorOptions options)
    : clock_(clock),
      rng_(rng),
      factory_(std::move(factory)),
      options_(options),
      token_(std::make_shared<bool>(true)) {}

Monitor::~Monitor() = default;

namespace {

bool same_probe(config::CheckerSpec a, config::CheckerSpec b) {
  a.where = {};
  b.where = {};
  return a == b;
}

}  // namespace

core::Duration Monitor::jittered(core::Duration d) {
  if (options_.jitter_percent == 0) return d;
  const auto span = std::chrono::duration_cast<milliseconds>(d).count() *
                    static_cast<std::int64_t>(options_.jitter_percent) / 100;
  if (span <= 0) return d;
  const auto pick =
      static_cast<std::int64_t>(rng_.next_u32() % static_cast<std::uint64_t>(2 * span + 1));
  return d + milliseconds(pick - span);
}

core::Result<void> Monitor::add_service(const config::ServiceHealth& service) {
  std::vector<std::unique_ptr<Real>> reals;
  std::vector<std::unique_ptr<Check>> checks;
  const core::TimePoint now = clock_.now();
  std::vector<std::pair<Check*, Real*>> joins;  // shared probes, applied once nothing failed
  for (const config::RealServerHealth& rs : service.reals) {
    auto real = std::make_unique<Real>();
    real->id = RealId{.service = service.key, .real = rs.addr};
    for (const config::CheckerSpec& spec : rs.checkers) {
      const bool start_up = !(spec.timing.alpha || rs.alpha || service.alpha);
      Check* shared = nullptr;
      for (const auto* list : {&checks_, &checks}) {
        for (const auto& c : *list) {
          if (shared == nullptr && c->start_up == start_up && same_probe(c->spec, spec)) {
            shared = c.get();
          }
        }
      }
      if (shared != nullptr) {
        joins.emplace_back(shared, real.get());
        continue;
      }
      auto checker = factory_(spec);
      if (!checker.ok()) {
        return core::fail(
            checker.error().code,
            fmt::format("{} for {} of {}: {}", config::checker_name(spec.kind), rs.addr.to_string(),
                        service.key.to_string(), checker.error().message));
      }
      const RiseFallCounts counts = options_.counts.value_or(keepalived_counts(spec.timing.retry));
      core::Duration warmup{};
      if (spec.timing.warmup) {
        warmup = *spec.timing.warmup;
      } else {
        const auto loop_ms = static_cast<std::uint64_t>(spec.timing.delay_loop.count());
        warmup = milliseconds(static_cast<std::int64_t>(rng_.next_u32() % (loop_ms + 1)));
      }
      if (!start_up) ++real->failed;
      checks.push_back(std::make_unique<Check>(Check{.reals = {real.get()},
                                                     .start_up = start_up,
                                                     .spec = spec,
                                                     .checker = std::move(*checker),
                                                     .state = RiseFall(counts, start_up),
                                                     .due = now + warmup,
                                                     .in_flight = false}));
    }
    reals.push_back(std::move(real));
  }
  for (auto [check, real] : joins) {
    check->reals.push_back(real);
    if (!check->state.up()) ++real->failed;
  }
  for (auto& r : reals) reals_.push_back(std::move(r));
  for (auto& c : checks) checks_.push_back(std::move(c));
  return {};
}

std::optional<core::TimePoint> Monitor::next_due() const {
  std::optional<core::TimePoint> best;
  for (const auto& c : checks_) {
    if (!c->in_flight && (!best || c->due < *best)) best = c->due;
  }
  return best;
}

void Monitor::run_due() {
  const core::TimePoint now = clock_.now();
  // Index loop: callbacks may add services (and grow checks_) while we iterate.
  for (std::size_t i = 0; i < checks_.size(); ++i) {
    Check& c = *checks_[i];
    if (c.in_flight || c.due > now) continue;
    c.in_flight = true;
    const core::Duration timeout =
        c.spec.kind == config::CheckerKind::kMisc
            ? core::Duration(c.spec.misc_timeout.value_or(c.spec.timing.delay_loop))
            : core::Duration(c.spec.timing.connect_timeout);
    std::weak_ptr<bool> token = token_;
    Check* check = &c;
    c.checker->probe(c.spec.target, timeout, [this, token, check](ProbeResult result) {
      if (token.expired()) return;
      completed(*check, std::move(result));
    });
  }
}

void Monitor::completed(Check& check, ProbeResult result) {
  check.in_flight = false;
  const core::TimePoint now = clock_.now();
  const RiseFall::Step step = check.state.record(result.outcome);
  check.due = now + (step.retry ? core::Duration(check.spec.timing.delay_before_retry)
                                : jittered(check.spec.timing.delay_loop));
  const std::string reason =
      fmt::format("{} {}: {}", config::checker_name(check.spec.kind), check.spec.target.to_string(),
                  result.reason.empty() ? (result.ok() ? "success" : "failure") : result.reason);
  // Copy: callbacks may add services, and a shared Check may gain reals meanwhile.
  const std::vector<Real*> reals = check.reals;
  for (Real* real : reals) {
    if (on_probe_) on_probe_(real->id, result);
    if (step.changed) {
      if (!*step.changed) {
        if (real->failed++ == 0 && on_change_) on_change_(real->id, false, reason);
      } else if (real->failed > 0) {
        if (--real->failed == 0 && on_change_) on_change_(real->id, true, reason);
      }
    }
    if (result.ok() && result.weight && real->weight != result.weight) {
      real->weight = result.weight;
      if (on_weight_) on_weight_(real->id, *result.weight);
    }
  }
  if (on_reschedule_) on_reschedule_();
}

bool Monitor::alive(const RealId& real) const {
  for (const auto& r : reals_) {
    if (r->id == real) return r->failed == 0;
  }
  return false;
}

std::size_t Monitor::in_flight() const {
  return static_cast<std::size_t>(
      std::count_if(checks_.begin(), checks_.end(), [](const auto& c) { return c->in_flight; }));
}

}  // namespace lvs::health
