// dh — destination hashing (spec §2). Like sh, but keyed by the packet's destination address
// (port never used) and with dests assigned to the 256 buckets round-robin, one bucket each:
// weights do not shape the table. A bucket whose dest is quiesced or overloaded gives
// "no destination"; there is no fallback.

#include <cstdint>

#include "sched/bucket_table.h"
#include "sched/hash.h"
#include "sched/registry.h"

namespace lvs::sched {

namespace {

class DestinationHashing final : public Scheduler {
 public:
  std::string_view name() const override { return "dh"; }

  // Bucket b belongs to dest b mod n; an empty list empties every bucket. With more than 256
  // dests the later ones get no bucket, as in the reference.
  core::Result<void> rebuild(DestList dests, DestChange /*change*/) override {
    buckets_.clear();
    if (dests.empty()) return {};
    for (std::uint32_t b = 0; b < BucketTable::kSize; ++b) buckets_.set(b, b % dests.size());
    return {};
  }

  // O(1): one multiply and one table read.
  std::optional<std::size_t> pick(const PickInput& in) override {
    const auto i =
        buckets_.dest_at(in.dests, lvs_hash_bucket(in.flow.dest.addr.hash_word(), 0U, 0U));
    if (!i || !usable(in.dests[*i])) return std::nullopt;
    return i;
  }

 private:
  BucketTable buckets_;
};

}  // namespace

std::unique_ptr<Scheduler> make_dh(const SchedulerDeps& /*deps*/) {
  return std::make_unique<DestinationHashing>();
}

}  // namespace lvs::sched
