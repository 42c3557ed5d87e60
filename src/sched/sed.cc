// sed — shortest expected delay (spec §2 "sed"). As wlc, but a dest's load is active + 1:
// the delay a new connection would see there. Inactive connections are ignored.

#include "sched/registry.h"

namespace lvs::sched {

namespace {

class ShortestExpectedDelay final : public Scheduler {
 public:
  std::string_view name() const override { return "sed"; }

  // Stateless: the choice depends only on the live loads and weights.
  core::Result<void> rebuild(DestList /*dests*/, DestChange /*change*/) override { return {}; }

  std::optional<std::size_t> pick(const PickInput& in) override {
    return weighted_least(in.dests, [](const Dest& d) { return std::int64_t{active(d)} + 1; });
  }
};

}  // namespace

std::unique_ptr<Scheduler> make_sed(const SchedulerDeps& /*deps*/) {
  return std::make_unique<ShortestExpectedDelay>();
}

}  // namespace lvs::sched
