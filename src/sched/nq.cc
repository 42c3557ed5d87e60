// nq — never queue (spec §2 "nq"). The first usable idle dest (no active connections; inactive
// ones do not count) wins at once; without one, choose as sed does.

#include "sched/registry.h"

namespace lvs::sched {

namespace {

class NeverQueue final : public Scheduler {
 public:
  std::string_view name() const override { return "nq"; }

  // Stateless: the choice depends only on the live loads and weights.
  core::Result<void> rebuild(DestList /*dests*/, DestChange /*change*/) override { return {}; }

  // Equal to the kernel's single pass: its sed comparison only ever runs on the dests before
  // the first idle one, and that idle one is returned regardless of them.
  std::optional<std::size_t> pick(const PickInput& in) override {
    for (std::size_t i = 0; i < in.dests.size(); ++i) {
      const Dest& d = in.dests[i];
      if (usable(d) && active(d) == 0) return i;
    }
    return weighted_least(in.dests, [](const Dest& d) { return std::int64_t{active(d)} + 1; });
  }
};

}  // namespace

std::unique_ptr<Scheduler> make_nq(const SchedulerDeps& /*deps*/) {
  return std::make_unique<NeverQueue>();
}

}  // namespace lvs::sched
