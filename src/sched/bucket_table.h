#pragma once
// The 256-bucket table that sh and dh share (spec §2): each bucket holds the index of a dest in
// the list given to the last rebuild(), or nothing. Filling it is each scheduler's own rule.

#include <array>
#include <cstdint>
#include <limits>
#include <optional>

#include "sched/hash.h"
#include "sched/scheduler.h"

namespace lvs::sched {

class BucketTable {
 public:
  static constexpr std::uint32_t kSize = LVS_HASH_BUCKETS;

  BucketTable() { clear(); }
  void clear() { buckets_.fill(kNoDest); }
  void set(std::uint32_t bucket, std::size_t dest) {
    buckets_[bucket] = static_cast<std::uint32_t>(dest);
  }

  // The dest of a bucket, or nullopt if the bucket is empty (or stale for this list).
  std::optional<std::size_t> dest_at(DestList dests, std::uint32_t bucket) const {
    const std::uint32_t i = buckets_[bucket];
    if (i == kNoDest || i >= dests.size()) return std::nullopt;
    return i;
  }

 private:
  static constexpr std::uint32_t kNoDest = std::numeric_limits<std::uint32_t>::max();
  std::array<std::uint32_t, kSize> buckets_{};
};

}  // namespace lvs::sched
