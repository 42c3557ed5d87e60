// dh — destination hashing (spec §2). Like sh, but keyed by the packet's destination address
// (port never used) and with dests assigned to the 256 buckets round-robin, one bucket each:
// weights do not shape the table. A bucket whose dest is quiesced or overloaded gives
// "no destination"; there is no fallback.

#include <array>
#include <cstdint>
#include <limits>

#include "sched/hash.h"
#include "sched/registry.h"

namespace lvs::sched {

namespace {

constexpr std::uint32_t kBuckets = LVS_HASH_BUCKETS;
constexpr std::uint32_t kNoDest = std::numeric_limits<std::uint32_t>::max();

class DestinationHashing final : public Scheduler {
 public:
  std::string_view name() const override { return "dh"; }

  // Bucket b belongs to dest b mod n; an empty list empties every bucket. With more than 256
  // dests the later ones get no bucket, as in the reference.
  core::Result<void> rebuild(DestList dests, DestChange /*change*/) override {
    for (std::uint32_t b = 0; b < kBuckets; ++b) {
      buckets_[b] = dests.empty() ? kNoDest : static_cast<std::uint32_t>(b % dests.size());
    }
    return {};
  }

  // O(1): one multiply and one table read.
  std::optional<std::size_t> pick(const PickInput& in) override {
    const std::uint32_t i = buckets_[lvs_hash_bucket(in.flow.dest.addr.hash_word(), 0U, 0U)];
    if (i == kNoDest || i >= in.dests.size()) return std::nullopt;
    const Dest& d = in.dests[i];
    if (d.weight <= 0 || overloaded(d)) return std::nullopt;
    return i;
  }

 private:
  std::array<std::uint32_t, kBuckets> buckets_ = filled_empty();

  static std::array<std::uint32_t, kBuckets> filled_empty() {
    std::array<std::uint32_t, kBuckets> b{};
    b.fill(kNoDest);
    return b;
  }
};

}  // namespace

std::unique_ptr<Scheduler> make_dh(const SchedulerDeps& /*deps*/) {
  return std::make_unique<DestinationHashing>();
}

}  // namespace lvs::sched
