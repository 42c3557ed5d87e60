#pragma once
// Maglev table construction for the mh scheduler (spec §2 "mh"), a pure function of the
// realserver list so tests can check offsets, turns and slot counts against the spec.

#include <cstdint>
#include <vector>

#include "sched/hash.h"
#include "sched/scheduler.h"

namespace lvs::sched {

inline constexpr std::uint32_t kMaglevSize = LVS_MH_TABLE_SIZE;  // M, prime
inline constexpr std::uint32_t kMaglevTabBits = 6;      // turns keep at most this many bits
inline constexpr std::uint16_t kMaglevNoDest = 0xFFFF;  // an empty slot (M < 0xFFFF)

// One dest's walk: it starts at `offset`, steps by `skip` (mod M) and claims `turns` free
// slots per round.
struct MaglevDestPlan {
  std::uint32_t offset = 0;
  std::uint32_t skip = 0;
  std::uint32_t turns = 0;
  bool operator==(const MaglevDestPlan&) const = default;
};

struct MaglevPlan {
  std::uint32_t gcd = 0;                // of the last_weights > 0; 0 = none, the table stays empty
  std::uint32_t shift = 0;              // max(0, bitlen(max_last_weight / gcd) - kMaglevTabBits)
  std::vector<MaglevDestPlan> dests{};  // parallel to the dest list
};

// The walk of every dest, from its own address/port and last_weight (never the live weight:
// quiescing a dest must not reshuffle the table). Accepts any list; callers enforce <= M.
MaglevPlan maglev_plan(DestList dests);

// Slot -> index into `dests` (kMaglevSize entries, all kMaglevNoDest when no dest has a
// last_weight > 0). Rounds go over the dests in list order until every slot is claimed.
// Requires dests.size() <= kMaglevSize.
std::vector<std::uint16_t> maglev_table(DestList dests);

}  // namespace lvs::sched
