#pragma once
// Shared test fixtures: a scripted checker whose outcome is a function of virtual time, and the
// spec's example service 192.168.1.100:80 with realservers 10.0.0.x:80.

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "config/config.h"
#include "core/clock.h"
#include "health/checker.h"
#include "model/service.h"

namespace lvs::health::testing {

using std::chrono::seconds;

// Answers synchronously with script(now); records the time of every probe.
class ScriptedChecker final : public Checker {
 public:
  using Script = std::function<ProbeResult(core::TimePoint)>;
  ScriptedChecker(const core::Clock& clock, Script script, std::vector<core::TimePoint>* log)
      : clock_(clock), script_(std::move(script)), log_(log) {}
  void probe(const core::Endpoint& /*target*/, core::Duration /*timeout*/,
             ProbeDone done) override {
    if (log_ != nullptr) log_->push_back(clock_.now());
    done(script_(clock_.now()));
  }

 private:
  const core::Clock& clock_;
  Script script_;
  std::vector<core::TimePoint>* log_;
};

inline ProbeResult ok() { return ProbeResult{.outcome = Outcome::kSuccess}; }
inline ProbeResult fail(std::string reason = "connection refused") {
  return ProbeResult{.outcome = Outcome::kFailure, .reason = std::move(reason)};
}

inline core::Endpoint ep(const char* text) { return *core::Endpoint::parse(text); }

inline model::ServiceKey vs_key() {
  return model::ServiceKey::address(model::Protocol::kTcp, ep("192.168.1.100:80"));
}

inline config::CheckerSpec tcp_check(const char* target, std::uint32_t retry = 2) {
  config::CheckerSpec c;
  c.kind = config::CheckerKind::kTcp;
  c.target = ep(target);
  c.timing.delay_loop = seconds(5);
  c.timing.retry = retry;
  c.timing.delay_before_retry = seconds(1);
  c.timing.warmup = seconds(0);
  return c;
}

inline config::RealServerHealth real(const char* addr, std::int32_t weight,
                                     std::vector<config::CheckerSpec> checkers) {
  config::RealServerHealth r;
  r.addr = ep(addr);
  r.weight = weight;
  r.checkers = std::move(checkers);
  return r;
}

inline config::ServiceHealth service(std::vector<config::RealServerHealth> reals) {
  config::ServiceHealth s;
  s.key = vs_key();
  s.reals = std::move(reals);
  return s;
}

// The table with the service present and no dests, and the dests' forwarding settings.
inline model::ServiceTable empty_table() {
  model::ServiceTable t;
  t.services.push_back(model::VirtualService{.key = vs_key()});
  return t;
}

inline std::vector<model::RealServer> dests_of(const config::ServiceHealth& s) {
  std::vector<model::RealServer> out;
  for (const auto& r : s.reals) {
    out.push_back(model::RealServer{
        .addr = r.addr, .forward = model::ForwardMethod::kMasq, .weight = r.weight});
  }
  return out;
}

}  // namespace lvs::health::testing
