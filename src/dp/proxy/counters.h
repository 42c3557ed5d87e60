#pragma once
// Traffic counters of one realserver, cheap on the data path: one cache-line-aligned slot per
// worker, written only by that worker (a relaxed load and store, no read-modify-write, no
// shared cache line), summed on read by the control thread. The 2 s rate estimator (spec §1.4)
// runs on worker 0's tick over those sums and publishes its state through atomics.

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "conn/stats.h"
#include "dp/data_plane.h"

namespace lvs::dp::proxy {

struct alignas(64) WorkerCounters {
  std::atomic<std::uint64_t> conns{0};
  std::atomic<std::uint64_t> failed{0};
  std::atomic<std::uint64_t> inpkts{0};
  std::atomic<std::uint64_t> outpkts{0};
  std::atomic<std::uint64_t> inbytes{0};
  std::atomic<std::uint64_t> outbytes{0};

  // Only the slot's own worker calls this.
  static void add(std::atomic<std::uint64_t>& c, std::uint64_t n) {
    c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
};

class CounterSlots {
 public:
  explicit CounterSlots(std::size_t workers)
      : size_(workers == 0 ? 1 : workers), slots_(std::make_unique<WorkerCounters[]>(size_)) {}
  // The slot of worker `w`; only that worker writes it.
  WorkerCounters& at(std::size_t w) { return slots_[w < size_ ? w : 0]; }
  // Any thread: the sum over the workers (each counter a recent value, not a snapshot).
  Counters read() const;

 private:
  std::size_t size_;
  std::unique_ptr<WorkerCounters[]> slots_;
};

// The estimator state of one realserver: conns, inpkts, outpkts, inbytes, outbytes.
inline constexpr std::size_t kRateCounters = 5;
using RateSums = std::array<std::int64_t, kRateCounters>;

class RateState {
 public:
  // The ticking thread only (worker 0, every 2 s): one estimator period with these totals.
  void tick(const Counters& now);
  // Under the same serialization as tick() (the Service mutex): `-Z` restarts the estimator
  // from 0 with `now` as its last totals.
  void reset(const Counters& now);
  // Any thread: the published estimator values. Estimators are linear, so a service's
  // estimate is the sum of its realservers' values.
  RateSums read() const;

 private:
  std::array<conn::RateEstimator, kRateCounters> est_{};
  std::array<std::atomic<std::int64_t>, kRateCounters> published_{};
};

// Reported rates (per second, bytes as bytes per second) from summed estimator values.
Rates rates_of(const RateSums& est);
void add_to(RateSums& to, const RateSums& from);

}  // namespace lvs::dp::proxy
