// lc — least connection (spec §2 "lc"). The usable dest with the smallest overhead
// (active*256 + inactive); weights only decide usability.

#include <limits>

#include "sched/registry.h"

namespace lvs::sched {

namespace {

class LeastConnection final : public Scheduler {
 public:
  std::string_view name() const override { return "lc"; }

  // Stateless: the choice depends only on the live loads.
  core::Result<void> rebuild(DestList /*dests*/, DestChange /*change*/) override { return {}; }

  std::optional<std::size_t> pick(const PickInput& in) override {
    const std::size_t n = in.dests.size();
    std::size_t least = n;  // n = none yet
    std::int64_t least_overhead = std::numeric_limits<std::int64_t>::max();
    for (std::size_t i = 0; i < n; ++i) {
      const Dest& d = in.dests[i];
      const std::int64_t oh = overhead(d);
      // Strict <: on equal overhead the earlier dest in iteration order stays. Selects, not a
      // branch: the comparison's outcome is data-dependent.
      const bool better = oh < least_overhead && usable(d);
      least = better ? i : least;
      least_overhead = better ? oh : least_overhead;
    }
    if (least == n) return std::nullopt;
    return least;
  }
};

}  // namespace

std::unique_ptr<Scheduler> make_lc(const SchedulerDeps& /*deps*/) {
  return std::make_unique<LeastConnection>();
}

}  // namespace lvs::sched
