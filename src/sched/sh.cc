// sh — source hashing (spec §2). A 256-bucket table maps the golden-ratio hash of the client's
// address (plus its source port with sh-port) to a dest. The table is rebuilt on every list or
// weight change: walking the list cyclically, each dest takes max(weight, 1) consecutive
// buckets until all 256 are filled, so a quiesced dest keeps its bucket and its clients get
// "no destination" (or, with sh-fallback, another dest) instead of being remapped.

#include <algorithm>
#include <cstdint>

#include "model/service.h"
#include "sched/bucket_table.h"
#include "sched/hash.h"
#include "sched/registry.h"

namespace lvs::sched {

namespace {

constexpr std::uint32_t kBuckets = BucketTable::kSize;

class SourceHashing final : public Scheduler {
 public:
  std::string_view name() const override { return "sh"; }

  // Fills the buckets from the current weights; an empty list empties every bucket.
  core::Result<void> rebuild(DestList dests, DestChange /*change*/) override {
    buckets_.clear();
    if (dests.empty()) return {};
    std::size_t d = 0;
    std::int64_t taken = 0;  // buckets the current dest has so far
    for (std::uint32_t b = 0; b < kBuckets; ++b) {
      buckets_.set(b, d);
      // weight <= 0 still gets one bucket; a weight above 256 fills the table.
      if (++taken >= std::max<std::int64_t>(dests[d].weight, 1)) {
        d = (d + 1) % dests.size();
        taken = 0;
      }
    }
    return {};
  }

  // O(1) without sh-fallback; with it, at most 256 more bucket probes.
  std::optional<std::size_t> pick(const PickInput& in) override {
    const std::uint32_t addr = in.flow.client.addr.hash_word();
    const std::uint32_t port =
        (in.flags & model::sched_flag::kShPort) != 0 ? in.flow.client.port : 0U;
    const std::uint32_t ihash = lvs_hash_bucket(addr, port, 0U);
    const auto first = buckets_.dest_at(in.dests, ihash);
    if (!first) return std::nullopt;  // empty table
    if (usable(in.dests[*first])) return first;
    if ((in.flags & model::sched_flag::kShFallback) == 0) return std::nullopt;
    // The reference re-hashes with offset (off + ihash), so the probed bucket is
    // (off + 2*ihash) mod 256 — the first probe is 2*ihash, not ihash + 1. Kept on purpose
    // (Appendix A). off covers 0..255, so every bucket is probed once.
    for (std::uint32_t off = 0; off < kBuckets; ++off) {
      const auto i =
          buckets_.dest_at(in.dests, lvs_hash_bucket(addr, port, (off + ihash) % kBuckets));
      if (!i) return std::nullopt;
      if (usable(in.dests[*i])) return i;
    }
    return std::nullopt;
  }

 private:
  BucketTable buckets_;
};

}  // namespace

std::unique_ptr<Scheduler> make_sh(const SchedulerDeps& /*deps*/) {
  return std::make_unique<SourceHashing>();
}

}  // namespace lvs::sched
