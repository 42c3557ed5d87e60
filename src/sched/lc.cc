// lc — least connection (spec §2 "lc"). The usable dest with the smallest overhead
// (active*256 + inactive); weights only decide usability.

#include "sched/registry.h"

namespace lvs::sched {

namespace {

class LeastConnection final : public Scheduler {
 public:
  std::string_view name() const override { return "lc"; }

  // Stateless: the choice depends only on the live loads.
  core::Result<void> rebuild(DestList /*dests*/, DestChange /*change*/) override { return {}; }

  std::optional<std::size_t> pick(const PickInput& in) override {
    std::optional<std::size_t> least;
    std::int64_t least_overhead = 0;
    for (std::size_t i = 0; i < in.dests.size(); ++i) {
      const Dest& d = in.dests[i];
      if (!usable(d)) continue;
      const std::int64_t oh = overhead(d);
      // Strict <: on equal overhead the earlier dest in iteration order stays.
      if (!least || oh < least_overhead) {
        least = i;
        least_overhead = oh;
      }
    }
    return least;
  }
};

}  // namespace

std::unique_ptr<Scheduler> make_lc(const SchedulerDeps& /*deps*/) {
  return std::make_unique<LeastConnection>();
}

}  // namespace lvs::sched
