// twos — weighted random "power of two choices" (spec §2 "twos"). Draws two dests at random
// with probability proportional to weight and keeps the one with the lower overhead/weight.
// Randomness comes from SchedulerDeps::rng so tests can script it.

#include <cstdint>
#include <memory>

#include "sched/registry.h"

namespace lvs::sched {

namespace {

class TwoChoices final : public Scheduler {
 public:
  // `rng` outlives the scheduler; without one the scheduler owns a randomly seeded SystemRng.
  explicit TwoChoices(core::Rng* rng)
      : owned_(rng ? nullptr : std::make_unique<core::SystemRng>()),
        rng_(rng ? rng : owned_.get()) {}

  std::string_view name() const override { return "twos"; }

  // Stateless apart from the RNG: the choice depends on weights, loads and the draws.
  core::Result<void> rebuild(DestList /*dests*/, DestChange /*change*/) override { return {}; }

  // Draws r1 then r2, each `next_u32() % (T+1)` over T = the usable weight total, so r may
  // equal T; the walk below still ends on a dest because the weights sum to exactly T.
  // Sums and products are 64-bit so 2^31-1 weights cannot overflow.
  std::optional<std::size_t> pick(const PickInput& in) override {
    std::int64_t total = 0;
    for (const Dest& d : in.dests) {
      if (usable(d)) total += d.weight;
    }
    if (total == 0) return std::nullopt;
    std::int64_t r1 = std::int64_t{rng_->next_u32()} % (total + 1);
    std::int64_t r2 = std::int64_t{rng_->next_u32()} % (total + 1);

    std::optional<std::size_t> c1;
    std::optional<std::size_t> c2;
    for (std::size_t i = 0; i < in.dests.size() && !(c1 && c2); ++i) {
      const Dest& d = in.dests[i];
      if (!usable(d)) continue;
      r1 -= d.weight;
      r2 -= d.weight;
      if (!c1 && r1 <= 0) c1 = i;
      if (!c2 && r2 <= 0) c2 = i;
    }
    // r1, r2 <= T and the usable weights sum to T, so both are found unless an overload flag
    // flipped between the two loops (workers update it live); then settle for what was found.
    if (!c1 || !c2) return c1 ? c1 : c2;
    const Dest& d1 = in.dests[*c1];
    const Dest& d2 = in.dests[*c2];
    // overhead1/w1 > overhead2/w2, cross-multiplied: no division, no float. Ties keep c1.
    return d2.weight * overhead(d1) > d1.weight * overhead(d2) ? c2 : c1;
  }

 private:
  std::unique_ptr<core::SystemRng> owned_;
  core::Rng* rng_;
};

}  // namespace

std::unique_ptr<Scheduler> make_twos(const SchedulerDeps& deps) {
  return std::make_unique<TwoChoices>(deps.rng);
}

}  // namespace lvs::sched
