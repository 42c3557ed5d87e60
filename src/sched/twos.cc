// PLACEHOLDER: replaced by the real twos scheduler before anything lands on main.
#include "sched/registry.h"

namespace lvs::sched {
namespace {
class Placeholder final : public Scheduler {
 public:
  std::string_view name() const override { return "twos"; }
  core::Result<void> rebuild(DestList /*dests*/, DestChange /*change*/) override { return {}; }
  std::optional<std::size_t> pick(const PickInput& /*in*/) override { return std::nullopt; }
};
}  // namespace
std::unique_ptr<Scheduler> make_twos(const SchedulerDeps& /*deps*/) {
  return std::make_unique<Placeholder>();
}
}  // namespace lvs::sched
