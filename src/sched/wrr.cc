// wrr — weighted round robin (spec §2 "wrr"), pick for pick the kernel's ip_vs_wrr.
// State: `cl` (the dest of the last pick, or head), `cw` (the weight a dest needs to be
// picked in the current pass), `mw` (max weight - (di - 1)) and `di` (gcd of weights > 0).
// Each pass over the list returns, in order, the dests with weight >= cw; at the end of the
// list cw drops by di and, below 1, wraps to mw. So over one cycle a dest of weight w is
// picked w/di times.

#include <cstdint>
#include <numeric>

#include "core/assert.h"
#include "sched/registry.h"

namespace lvs::sched {

namespace {

class WeightedRoundRobin final : public Scheduler {
 public:
  std::string_view name() const override { return "wrr"; }

  // Every change resets cl to head, so cl_ is always an index into the current list.
  // kInit (a scheduler bound to a whole list) starts the cycle at the top, cw = mw, like the
  // kernel's init_svc. Incremental changes keep cw where it is when still meaningful: that is
  // why a service built by adds starts at cw = 1 (spec Appendix A).
  core::Result<void> rebuild(DestList dests, DestChange change) override {
    cl_.reset();
    std::int32_t g = 0;
    std::int32_t max = 0;
    for (const Dest& d : dests) {
      if (d.weight > 0) g = std::gcd(g, d.weight);
      if (d.weight > max) max = d.weight;
    }
    di_ = g > 0 ? g : 1;
    mw_ = max - (di_ - 1);
    if (change.kind == ChangeKind::kInit || cw_ > mw_ || cw_ == 0) {
      cw_ = mw_;
    } else if (di_ > 1) {
      cw_ = (cw_ / di_) * di_ + 1;
    }
    return {};
  }

  // Termination: every pass ends with cw -= di. Starting from head, the first wrap of cw
  // below 1 fails. Otherwise the first wrap sets `restarted`, then within mw/di more passes
  // cw <= di (`last_pass`) sets `stop = last`, and the next pass returns at or before `last`.
  // Hence at most 2*(mw/di + 2) passes; the bound below only guards that argument.
  std::optional<std::size_t> pick(const PickInput& in) override {
    const DestList dests = in.dests;
    if (mw_ == 0) return std::nullopt;        // no weight > 0 anywhere
    LVS_ASSERT(!cl_ || *cl_ < dests.size());  // the owner rebuilds on every list change
    const std::optional<std::size_t> last = cl_;
    std::optional<std::size_t> stop;
    bool last_pass = false;
    bool restarted = false;
    std::size_t i = cl_ ? *cl_ + 1 : 0;
    const std::int64_t max_passes = 2 * (std::int64_t{mw_} / di_ + 2);
    for (std::int64_t pass = 0; pass <= max_passes; ++pass) {
      for (; i < dests.size(); ++i) {
        const Dest& d = dests[i];
        if (!overloaded(d) && d.weight >= cw_) {
          cl_ = i;
          return i;
        }
        if (stop == i) {  // a full round at cw <= di found nothing usable
          cl_ = i;
          return std::nullopt;
        }
      }
      cw_ -= di_;
      if (cw_ <= 0) {
        cw_ = mw_;
        // Fail if the last pass (cw <= di) already saw every dest: either it was flagged, or
        // this pick started at head so its only round covered the whole list.
        if (last_pass || !last) {
          cl_.reset();
          return std::nullopt;
        }
        restarted = true;
      }
      last_pass = cw_ <= di_;
      // Started mid-list: the round at cw <= di covers the dests after `last` and then,
      // after the wrap, the ones up to `last`; stop there.
      if (last_pass && restarted && last) stop = last;
      i = 0;
    }
    LVS_ASSERT(false && "wrr pick did not terminate");
    return std::nullopt;
  }

 private:
  std::optional<std::size_t> cl_;  // nullopt = head
  std::int32_t cw_ = 0;
  std::int32_t mw_ = 0;
  std::int32_t di_ = 1;
};

}  // namespace

std::unique_ptr<Scheduler> make_wrr(const SchedulerDeps& /*deps*/) {
  return std::make_unique<WeightedRoundRobin>();
}

}  // namespace lvs::sched
