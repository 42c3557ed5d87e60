#pragma once
// Maglev table construction for the mh scheduler (spec §2 "mh"), a pure function of the
// realserver list so tests can check offsets, turns and slot counts against the spec.

#include <cstdint>
#include <optional>
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
// `cluster_seed` set: the seed is mixed into the offset/skip hash keys (the clients' slot hash
// is unchanged, so the XDP engine computes it as before).
MaglevPlan maglev_plan(DestList dests, std::optional<std::uint32_t> cluster_seed = {});

// Slot -> index into `dests` (kMaglevSize entries, all kMaglevNoDest when no dest has a
// last_weight > 0). Rounds go over the dests in list order until every slot is claimed.
// Requires dests.size() <= kMaglevSize.
//
// `cluster_seed` set (the stateless cluster mode): the rounds go over the dests sorted by
// (address, port) instead, with the seeded walks, so the table maps every slot to the same
// realserver whatever order the realservers were added in: two directors with the same
// realserver set and seed give each client the same realserver. Indexes still refer to
// `dests` as given.
std::vector<std::uint16_t> maglev_table(DestList dests,
                                        std::optional<std::uint32_t> cluster_seed = {});

// The hash key of the offset (key1) or skip (key2) walk under a cluster seed: the seed in the
// key's high 32 bits (the spec's keys are below 2^32, so seed 0 keeps the spec's keys).
std::uint64_t maglev_cluster_key(std::uint64_t key, std::uint32_t seed);

}  // namespace lvs::sched
