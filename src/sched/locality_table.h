#pragma once
// What lblc and lblcr share (spec §2 "lblc", "lblcr"): the 1024-bucket table keyed by the
// flow's destination address, its garbage collector, the "lblc-overloaded" rule and the map
// from a dest's identity to its position in the current list. Both schedulers are built on it;
// nothing else should need it.

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <unordered_map>
#include <vector>

#include "core/clock.h"
#include "core/endpoint.h"
#include "sched/scheduler.h"

namespace lvs::sched {

// Tunables of the locality schedulers, the sysctls lblc_expiration / lblcr_expiration.
struct LocalityOptions {
  // lblc: entries idle longer than this go at the full GC check. lblcr: the same, and also how
  // long a dest set must stay unchanged before its most loaded member is dropped.
  core::Duration expiration = std::chrono::hours(24);
};

// The registry's factories use the defaults; these take explicit options (tests, tools).
std::unique_ptr<Scheduler> make_lblc_with(const LocalityOptions& options);
std::unique_ptr<Scheduler> make_lblcr_with(const LocalityOptions& options);

namespace locality {

inline constexpr std::size_t kBuckets = 1024;
inline constexpr std::size_t kMaxEntries = kBuckets * 16;  // above this, every tick trims
inline constexpr std::chrono::seconds kTick{60};
inline constexpr std::uint64_t kFullCheckEvery = 30;  // every 30th tick: the full check
inline constexpr std::chrono::minutes kTrimIdle{6};   // what a trimming tick may remove
inline constexpr std::size_t kMaxTrim = 8192;         // at most this many per trimming tick

// Bucket of a destination address: the low 10 bits of addr*2654435761 (IPv6: the XOR-folded
// word, as for sh/dh).
inline std::size_t bucket_of(const core::IpAddress& daddr) {
  const std::uint32_t h = daddr.hash_word() * kGoldenRatio;  // wraps: only 10 low bits count
  return std::size_t{h} & (kBuckets - 1);
}

// lblc-overloaded(d): d has more active connections than its weight while some dest in the
// service (any dest, quiesced or flagged ones included) is below half of its weight. The
// threshold overload flag is deliberately not consulted: the cached dest may still be used.
inline bool lblc_overloaded(DestList dests, const Dest& d) {
  if (std::int64_t{active(d)} <= std::int64_t{d.weight}) return false;
  return std::any_of(dests.begin(), dests.end(), [](const Dest& m) {
    return std::int64_t{active(m)} * 2 < std::int64_t{m.weight};
  });
}

// The wlc choice both schedulers fall back to.
inline std::optional<std::size_t> wlc_pick(DestList dests) {
  return weighted_least(dests, overhead);
}

// Entries remember dests by identity (address and port), not by position, so they survive
// adds and removals. rebuild() maps identities to positions in the new list; find() says
// where a remembered dest is now, or nullopt when it has left the service.
class DestIndex {
 public:
  void rebuild(DestList dests) {
    pos_.clear();
    for (std::size_t i = 0; i < dests.size(); ++i) pos_.emplace(dests[i].addr, i);
  }

  // `dests` must be the list of the last rebuild; a list that changed without one is still
  // answered correctly, by a scan.
  std::optional<std::size_t> find(DestList dests, const core::Endpoint& id) const {
    if (const auto it = pos_.find(id); it != pos_.end()) {
      if (it->second < dests.size() && dests[it->second].addr == id) return it->second;
    }
    for (std::size_t i = 0; i < dests.size(); ++i) {
      if (dests[i].addr == id) return i;
    }
    return std::nullopt;
  }

 private:
  std::unordered_map<core::Endpoint, std::size_t> pos_;
};

// The table: at most one entry per destination address. `Entry` needs members
// `core::IpAddress daddr` and `core::TimePoint lastuse`.
//
// Garbage collection runs on GC ticks 60 s apart. The kernel runs them from a timer; here
// time is passed in, so the owner calls collect(now) before every lookup and collect() runs
// every tick that has fallen due since, each at its own tick time. Between two lookups nothing
// but the collector touches the table, so the outcome is exactly what a timer would have left.
// The first collect() call starts the tick schedule (a service has no clock before its first
// flow).
template <typename Entry>
class Table {
 public:
  explicit Table(core::Duration expiration) : expiration_(expiration), buckets_(kBuckets) {}

  Entry* find(const core::IpAddress& daddr) {
    for (Entry& e : buckets_[bucket_of(daddr)]) {
      if (e.daddr == daddr) return &e;
    }
    return nullptr;
  }

  // Adds an entry for an address that has none (find() returned nullptr).
  void insert(Entry e) {
    buckets_[bucket_of(e.daddr)].push_back(std::move(e));
    ++size_;
  }

  std::size_t size() const { return size_; }

  // Runs every GC tick due at `now`. Tick n (counted from 1): if n is a multiple of 30, remove
  // every entry idle longer than the expiration; else, only while there are more than 16384
  // entries, remove entries idle longer than 6 min, at most min((entries-16384)*4/3, 8192).
  void collect(core::TimePoint now) {
    if (!next_tick_) {
      next_tick_ = now + kTick;
      return;
    }
    while (*next_tick_ <= now) {
      const core::TimePoint tick = *next_tick_;
      ++ticks_;
      if (ticks_ % kFullCheckEvery == 0) {
        expire(tick, expiration_, size_);
      } else if (size_ > kMaxEntries) {
        expire(tick, kTrimIdle, std::min((size_ - kMaxEntries) * 4 / 3, kMaxTrim));
      } else {
        // A small table only changes at full checks, an empty one never: jump over the
        // quiet ticks that follow (many only after a long idle spell).
        const std::uint64_t quiet = size_ == 0 ? std::numeric_limits<std::uint64_t>::max()
                                               : kFullCheckEvery - 1 - ticks_ % kFullCheckEvery;
        const auto due = static_cast<std::uint64_t>((now - tick) / kTick);
        const auto skip = std::min<std::uint64_t>(quiet, due);
        ticks_ += skip;
        *next_tick_ += kTick * static_cast<std::int64_t>(skip);
      }
      *next_tick_ += kTick;
    }
  }

 private:
  // Removes up to `goal` entries idle longer than `limit` at time `tick`. Trimming resumes
  // where the previous trim stopped, so a table under pressure is swept evenly.
  void expire(core::TimePoint tick, core::Duration limit, std::size_t goal) {
    std::size_t removed = 0;
    for (std::size_t k = 0; k < kBuckets && removed < goal; ++k) {
      const std::size_t b = (sweep_ + k) % kBuckets;
      auto& bucket = buckets_[b];
      for (auto it = bucket.begin(); it != bucket.end() && removed < goal;) {
        if (tick - it->lastuse > limit) {
          it = bucket.erase(it);
          ++removed;
        } else {
          ++it;
        }
      }
      if (removed == goal && goal < size_) sweep_ = b;
    }
    size_ -= removed;
  }

  core::Duration expiration_;
  std::vector<std::vector<Entry>> buckets_;
  std::size_t size_ = 0;
  std::optional<core::TimePoint> next_tick_;  // nullopt until the first collect()
  std::uint64_t ticks_ = 0;
  std::size_t sweep_ = 0;  // bucket the next trim starts at
};

}  // namespace locality
}  // namespace lvs::sched
