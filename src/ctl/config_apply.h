#pragma once
// How a configuration file, health checks and lvsadm share the running table: pure functions on
// values, used by the Director (under its lock) and by lvsd's reload. The rules (also in
// docs/CONTROL-PROTOCOL.md, "Precedence"):
// * The file says which services and realservers exist and their settings.
// * Health says whether a configured realserver is in the table (or at weight 0 with
//   inhibit_on_failure, or replaced by the sorry server); health actions are "make it so":
//   add and edit insert or update, delete removes what is there.
// * An operator's weight (lvsadm -e -w, --drain) on a realserver of a configured service is an
//   override: health re-adds or re-enables that realserver with the operator's weight instead of
//   the configured one; a health "disable" still sets 0. lvsadm -d / -D / -C forget overrides.
// * A reload rebuilds the configured services from the new file; services lvsadm added that the
//   file does not define survive, realservers lvsadm added to configured services survive
//   (unless the file now defines them), and overrides survive for realservers that still exist.

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "config/config.h"
#include "core/endpoint.h"
#include "core/result.h"
#include "health/effects.h"
#include "model/service.h"

namespace lvs::ctl {

using DestKey = std::pair<model::ServiceKey, core::Endpoint>;
using WeightOverrides = std::map<DestKey, std::int32_t>;
using AliveMap = std::map<DestKey, bool>;
// One configured realserver's health for /metrics: up as its checkers see it (none: always up)
// and how many UP/DOWN transitions it had since lvsd started (reloads keep the count).
// Health-check probes of the realserver (all its checkers) feed a duration histogram over
// kCheckDurationBuckets (seconds; per-bucket counts here, printed cumulative) and the last
// probe's result; reloads keep them, like the transition count.
inline constexpr std::array<double, 9> kCheckDurationBuckets{0.001, 0.005, 0.01, 0.05, 0.1,
                                                             0.5,   1.0,   5.0,  10.0};
struct HealthState {
  bool up = true;
  std::uint64_t transitions = 0;
  std::array<std::uint64_t, kCheckDurationBuckets.size()>
      check_buckets{};                  // d <= le, > the one before
  std::uint64_t checks = 0;             // probes finished (also those above the last bucket)
  double check_seconds = 0;             // their summed duration
  std::optional<bool> last_check_ok{};  // unset: no probe finished yet
  bool operator==(const HealthState&) const = default;
};
using HealthMap = std::map<DestKey, HealthState>;

// The config's table with the realservers of every health-managed service removed: the
// services' Effects::start() actions put them back (alive ones, inhibited dead ones, or the
// sorry server).
model::ServiceTable health_base_table(const config::Config& cfg);

// Applies one health table action (commands and FIFO lines are ignored) with the operator's
// overrides. Returns whether the table changed. A service that is not in the table (the operator
// deleted it) is left alone.
core::Result<bool> apply_health_action(model::ServiceTable& table, const health::Action& action,
                                       const WeightOverrides& overrides);

// Every realserver and sorry server uses a forwarding method the data plane serves; the error
// names the realserver, its file:line and what to write instead.
core::Result<void> check_served_methods(const config::Config& cfg,
                                        std::span<const model::ForwardMethod> served);

// What a reload changes, for the log and for `lvsadm --reload`'s answer.
struct ReloadPlan {
  std::vector<model::ServiceKey> added{};
  std::vector<model::ServiceKey> removed{};
  std::vector<model::ServiceKey> edited{};  // service settings or realserver list/settings differ
  std::size_t unchanged = 0;
  bool operator==(const ReloadPlan&) const = default;
};
ReloadPlan plan_reload(const config::Config& old, const config::Config& next);
// "2 added (TCP 127.0.0.1:80, ...), 1 removed (...), 0 edited, 3 unchanged"
std::string describe(const ReloadPlan& plan);

// The health settings to start `next` with so that realservers whose checkers probe the same
// things (kind, target, probe settings; timing may differ) keep their state across a reload: one
// alive before starts alive, one dead starts dead (alpha), so its first success brings it back.
// Others start as configured. Service-level alpha is pushed down to the realservers (the result has
// alpha off at service level).
config::ServiceHealth carry_health(config::ServiceHealth next, const config::ServiceHealth* old,
                                   const AliveMap& alive);

// The table after a reload: `configured` (the new file's services, health applied) plus every
// service of `running` that the operator added (not in `old_config_keys`) and the new file does
// not define.
model::ServiceTable merge_reload(const model::ServiceTable& running,
                                 const std::set<model::ServiceKey>& old_config_keys,
                                 model::ServiceTable configured);

}  // namespace lvs::ctl
