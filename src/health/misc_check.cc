// MISC_CHECK: run misc_path (see run_script) bounded by misc_timeout (default delay_loop).
// Exit 0 = success, anything else = failure; with misc_dynamic: 1 = failure, 2..255 = success
// with weight exit-2. A script still running at the timeout fails and its group is killed.
#include <cerrno>

#include "health/registry.h"
#include "health/script.h"

namespace lvs::health {

namespace {

class MiscChecker final : public Checker {
 public:
  MiscChecker(const config::CheckerSpec& spec, EventLoop& loop) : spec_(spec), loop_(loop) {}
  void probe(const core::Endpoint& /*target*/, core::Duration timeout, ProbeDone done) override {
    run_script(loop_, spec_.misc_path, timeout,
               spec_.misc_dynamic ? ExitCodes::kMiscDynamic : ExitCodes::kZeroIsSuccess,
               std::move(done));
  }

 private:
  config::CheckerSpec spec_;
  EventLoop& loop_;
};

}  // namespace

core::Result<std::unique_ptr<Checker>> make_misc_checker(const config::CheckerSpec& spec,
                                                         const CheckerContext& ctx) {
  if (spec.misc_path.empty()) return core::fail(EINVAL, "MISC_CHECK needs misc_path");
  return std::unique_ptr<Checker>(std::make_unique<MiscChecker>(spec, *ctx.loop));
}

}  // namespace lvs::health
