// rr — round robin (spec §2). A position pointer, initially "head" (before the first dest).
// A pick scans circularly from the dest after the pointer and ends with the pointer's own
// dest, returning the first usable one and moving the pointer there.

#include "sched/registry.h"

namespace lvs::sched {

namespace {

class RoundRobin final : public Scheduler {
 public:
  std::string_view name() const override { return "rr"; }

  core::Result<void> rebuild(DestList /*dests*/, DestChange change) override {
    switch (change.kind) {
      case ChangeKind::kInit:
        pos_.reset();
        break;
      case ChangeKind::kAdded:
        // New dests go in front; the pointer stays on the same dest.
        if (pos_) ++*pos_;
        break;
      case ChangeKind::kRemoved:
        // Removing the dest under the pointer moves it to the previous dest (or head).
        if (pos_ && change.index <= *pos_) {
          if (*pos_ == 0) {
            pos_.reset();
          } else {
            --*pos_;
          }
        }
        break;
      case ChangeKind::kEdited:
        break;
    }
    return {};
  }

  std::optional<std::size_t> pick(const PickInput& in) override {
    const std::size_t n = in.dests.size();
    if (n == 0) return std::nullopt;
    // From head: scan the list once. Else: the n dests after the pointer, wrapping, so the
    // pointer's own dest comes last.
    const std::size_t start = pos_ ? (*pos_ + 1) % n : 0;
    for (std::size_t k = 0; k < n; ++k) {
      const std::size_t i = (start + k) % n;
      if (usable(in.dests[i])) {
        pos_ = i;
        return i;
      }
    }
    return std::nullopt;
  }

 private:
  std::optional<std::size_t> pos_;  // nullopt = head
};

}  // namespace

std::unique_ptr<Scheduler> make_rr(const SchedulerDeps& /*deps*/) {
  return std::make_unique<RoundRobin>();
}

}  // namespace lvs::sched
