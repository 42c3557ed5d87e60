#pragma once
// Test helper for lblc and lblcr (spec §2): flows from one fixed client to cache targets (both
// schedulers key on the destination address) and the two-cache pool of their worked examples.

#include <string_view>

#include "core/clock.h"
#include "unit/sched/pool.h"

namespace lvs::sched::testing {

inline constexpr core::TimePoint kT0{};

// A new flow from a fixed client to the cache target `daddr`.
inline Flow to(std::string_view daddr) {
  return Flow{.client = ep("203.0.113.7:40000"), .dest = ep(daddr)};
}

inline const Flow kD = to("192.0.2.10:80");
inline const Flow kE = to("192.0.2.20:80");

// Order [S1 w1, S2 w1], counters 0.
inline Pool two_caches(std::string_view sched) {
  Pool p(sched);
  p.init({{"S1", "10.0.0.11:80"}, {"S2", "10.0.0.12:80"}});
  return p;
}

}  // namespace lvs::sched::testing
