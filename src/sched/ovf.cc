// ovf — weighted overflow (spec §2 "ovf"). A dest's weight is also its capacity in active
// connections: among usable dests with active <= weight, the highest weight wins, so traffic
// overflows to the next weight once a dest is full. Reads active connections only, so for
// UDP (never active) it degrades to fo.

#include <cstdint>

#include "sched/registry.h"

namespace lvs::sched {

namespace {

class WeightedOverflow final : public Scheduler {
 public:
  std::string_view name() const override { return "ovf"; }

  // Stateless: the choice depends only on the live loads and weights.
  core::Result<void> rebuild(DestList /*dests*/, DestChange /*change*/) override { return {}; }

  std::optional<std::size_t> pick(const PickInput& in) override {
    std::optional<std::size_t> best;
    for (std::size_t i = 0; i < in.dests.size(); ++i) {
      const Dest& d = in.dests[i];
      // Full means active > weight (equal is still accepted); compared in 64 bits because
      // active is unsigned and weight signed.
      if (!usable(d) || std::int64_t{active(d)} > std::int64_t{d.weight}) continue;
      // Strict >: among equal weights the earlier dest in iteration order stays.
      if (!best || d.weight > in.dests[*best].weight) best = i;
    }
    return best;
  }
};

}  // namespace

std::unique_ptr<Scheduler> make_ovf(const SchedulerDeps& /*deps*/) {
  return std::make_unique<WeightedOverflow>();
}

}  // namespace lvs::sched
