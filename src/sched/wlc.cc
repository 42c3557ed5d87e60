// wlc — weighted least connection, the default scheduler (spec §2 "wlc"). The dest with the
// smallest overhead/weight, compared cross-multiplied; ties keep the earlier dest.

#include "sched/registry.h"

namespace lvs::sched {

namespace {

class WeightedLeastConnection final : public Scheduler {
 public:
  std::string_view name() const override { return "wlc"; }

  // Stateless: the choice depends only on the live loads and weights.
  core::Result<void> rebuild(DestList /*dests*/, DestChange /*change*/) override { return {}; }

  // weighted_least starts at the first usable dest; a later weight-0 dest cannot win because
  // `least_overhead * 0 > ...` is never true.
  std::optional<std::size_t> pick(const PickInput& in) override {
    return weighted_least(in.dests, [](const Dest& d) { return overhead(d); });
  }
};

}  // namespace

std::unique_ptr<Scheduler> make_wlc(const SchedulerDeps& /*deps*/) {
  return std::make_unique<WeightedLeastConnection>();
}

}  // namespace lvs::sched
