#pragma once
// Traffic statistics (spec §1.4): five u64 counters per service, per dest and in total, the
// 2 s rate estimator, and zeroing (-Z) by remembering a zero point. Not thread-safe: the owner
// of the connection engine updates and reads them.

#include <cstdint>

#include "model/stats.h"

namespace lvs::conn {

using Counters = model::Counters;
using Rates = model::Rates;

// One counter's estimator. Every 2 s: delta = now - last; last = now; then
// conns/packets: est += ((delta << 9) - est) >> 2, reported (est + 511) >> 10;
// bytes:         est += ((delta << 4) - est) >> 2, reported (est + 15) >> 5.
// The shifts are signed (arithmetic), as in the reference: est may fall as well as rise.
struct RateEstimator {
  enum class Kind : std::uint8_t { kCount, kBytes };

  std::uint64_t last = 0;
  std::int64_t est = 0;

  void tick(std::uint64_t now, Kind kind);
  std::uint64_t rate(Kind kind) const;
};

class Stats {
 public:
  // Data-path updates.
  void add_conn() { ++raw_.conns; }
  void add_in(std::uint64_t bytes) {
    ++raw_.inpkts;
    raw_.inbytes += bytes;
  }
  void add_out(std::uint64_t bytes) {
    ++raw_.outpkts;
    raw_.outbytes += bytes;
  }

  // Counters since the last zero().
  Counters counters() const;
  Rates rates() const;

  // One 2 s estimator period has passed.
  void tick();
  // -Z: the current values become the zero point; estimates restart from 0.
  void zero();

 private:
  Counters raw_{};
  Counters zero_{};
  RateEstimator conns_{};
  RateEstimator inpkts_{};
  RateEstimator outpkts_{};
  RateEstimator inbytes_{};
  RateEstimator outbytes_{};
};

}  // namespace lvs::conn
