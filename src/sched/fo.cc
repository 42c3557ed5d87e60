// fo — weighted fail-over (spec §2 "fo"). Every new connection goes to the usable dest with
// the highest weight; loads are ignored, so lower weights only serve when it is unusable.

#include "sched/registry.h"

namespace lvs::sched {

namespace {

class WeightedFailOver final : public Scheduler {
 public:
  std::string_view name() const override { return "fo"; }

  // Stateless: the choice depends only on weights and overload flags.
  core::Result<void> rebuild(DestList /*dests*/, DestChange /*change*/) override { return {}; }

  std::optional<std::size_t> pick(const PickInput& in) override {
    std::optional<std::size_t> best;
    for (std::size_t i = 0; i < in.dests.size(); ++i) {
      const Dest& d = in.dests[i];
      if (!usable(d)) continue;
      // Strict >: among equal weights the earlier dest in iteration order stays.
      if (!best || d.weight > in.dests[*best].weight) best = i;
    }
    return best;
  }
};

}  // namespace

std::unique_ptr<Scheduler> make_fo(const SchedulerDeps& /*deps*/) {
  return std::make_unique<WeightedFailOver>();
}

}  // namespace lvs::sched
