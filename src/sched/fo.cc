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
    std::int32_t best_weight = 0;  // usable dests have weight > 0, so any of them beats this
    for (std::size_t i = 0; i < in.dests.size(); ++i) {
      const Dest& d = in.dests[i];
      // Strict >: among equal weights the earlier dest in iteration order stays. Weight first:
      // it is in the list itself, the overload flag behind a pointer.
      if (d.weight > best_weight && !overloaded(d)) {
        best = i;
        best_weight = d.weight;
      }
    }
    return best;
  }
};

}  // namespace

std::unique_ptr<Scheduler> make_fo(const SchedulerDeps& /*deps*/) {
  return std::make_unique<WeightedFailOver>();
}

}  // namespace lvs::sched
