#pragma once
// The scheduler seam (spec §2). One scheduler object per virtual service. The owner calls
// rebuild() after every change to the service's realserver list or weights (and once at
// creation), then pick() for each new flow with the same list. Counters and overload flags
// change between picks without a rebuild: schedulers read them live through Dest::load.
// A Scheduler is not thread-safe; its owner serializes calls.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string_view>

#include "core/clock.h"
#include "core/endpoint.h"
#include "core/result.h"
#include "core/rng.h"
#include "model/dest_load.h"

namespace lvs::sched {

// One realserver as a scheduler sees it. `load` is never null in a list given to a scheduler.
struct Dest {
  core::Endpoint addr{};
  std::int32_t weight = 1;
  std::int32_t last_weight = 1;  // last non-zero weight (mh builds its table from it)
  const model::DestLoad* load = nullptr;
};

// Realservers in iteration order (newest first).
using DestList = std::span<const Dest>;

// What a rebuild follows. For kAdded the new dest is at `index` of the new list (always 0:
// new dests go to the front); for kRemoved `index` is where the dest was in the old list;
// for kEdited it is the edited dest's position. kInit: a whole new list.
enum class ChangeKind : std::uint8_t { kInit, kAdded, kRemoved, kEdited };
struct DestChange {
  ChangeKind kind = ChangeKind::kInit;
  std::size_t index = 0;
};

// The packet that opens a new flow: who sent it and where it was going.
struct Flow {
  core::Endpoint client{};  // source address and port
  core::Endpoint dest{};    // destination (the VIP, or for lblc/dh the cache target) and port
};

struct PickInput {
  DestList dests{};
  Flow flow{};
  std::uint32_t flags = 0;  // model::sched_flag bits of the service
  core::TimePoint now{};    // for lblc/lblcr expiry; never read from a clock here
};

class Scheduler {
 public:
  virtual ~Scheduler() = default;
  virtual std::string_view name() const = 0;
  // Rebuilds derived state (tables, pointers) for a changed list. Fails only where the spec
  // says the engine fails (mh with more realservers than table slots).
  virtual core::Result<void> rebuild(DestList dests, DestChange change) = 0;
  // Index into in.dests of the chosen realserver, or nullopt for "no destination".
  virtual std::optional<std::size_t> pick(const PickInput& in) = 0;
};

// Things a scheduler may need from its environment. `rng` outlives the scheduler.
struct SchedulerDeps {
  core::Rng* rng = nullptr;
  // mh's stateless cluster mode (model::VirtualService::cluster_seed): set, the table is built
  // from the dests sorted by (address, port) with this seed in the offset/skip hashes.
  std::optional<std::uint32_t> mh_cluster_seed{};
};

// Shared arithmetic (spec §2 "Common definitions").
inline std::uint32_t active(const Dest& d) { return d.load->active_now(); }
inline std::uint32_t inactive(const Dest& d) { return d.load->inactive_now(); }
inline bool overloaded(const Dest& d) { return d.load->overloaded_now(); }
// overhead = active*256 + inactive, 64-bit signed like the kernel's products.
inline std::int64_t overhead(const Dest& d) {
  return std::int64_t{active(d)} * 256 + std::int64_t{inactive(d)};
}
// "Eligible": not overloaded and weight > 0.
inline bool usable(const Dest& d) { return !overloaded(d) && d.weight > 0; }

// The low 32 bits of the IPVS golden-ratio multiplicative hash, `(x * 2654435761) mod 2^32`.
inline constexpr std::uint32_t kGoldenRatio = 2654435761U;

// Index of the weighted-least-connection dest over `dests` (spec wlc), or nullopt.
// `load_of` maps a dest to its load (overhead for wlc, active+1 for sed).
template <typename LoadOf>
std::optional<std::size_t> weighted_least(DestList dests, LoadOf load_of) {
  // The first usable dest is the first candidate; later dests only need to be not
  // overloaded, since a weight-0 dest can never win the cross-multiplied comparison.
  const std::size_t n = dests.size();
  std::size_t i = 0;
  while (i < n && !usable(dests[i])) ++i;
  if (i == n) return std::nullopt;
  std::size_t least = i;
  std::int64_t least_load = load_of(dests[i]);
  std::int64_t least_weight = dests[i].weight;
  for (++i; i < n; ++i) {
    const Dest& d = dests[i];
    const std::int64_t l = load_of(d);
    // least_load/w(least) > l/w(d), cross-multiplied: no division, no float. Written without
    // a branch on the comparison (selects instead): the outcome is data-dependent, and a
    // mispredicted branch costs more than the two selects.
    const bool better = (least_load * d.weight > l * least_weight) && !overloaded(d);
    least = better ? i : least;
    least_load = better ? l : least_load;
    least_weight = better ? d.weight : least_weight;
  }
  return least;
}

}  // namespace lvs::sched
