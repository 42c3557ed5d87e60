// mh — Maglev hashing (spec §2). A 4093-slot lookup table, rebuilt on every list or weight
// change from each dest's SipHash-derived permutation; a client's slot is a SipHash of its
// address (plus source port with mh-port). Quiescing keeps the table (it is built from
// last_weight), so a weight-0 dest's clients get "no destination", or another dest with
// mh-fallback, and come back to it when the weight returns.

#include "sched/mh.h"

#include <algorithm>
#include <bit>
#include <cstdint>
#include <numeric>

#include <fmt/format.h>

#include "core/assert.h"
#include "model/service.h"
#include "sched/registry.h"

namespace lvs::sched {

namespace {

// A dest's own address and port as the hash sees them.
std::uint32_t dest_hash(std::uint64_t key, const Dest& d) {
  return lvs_mh_hash(key, d.addr.addr.hash_word(), d.addr.port, 0U);
}

std::uint32_t positive_last_weight(const Dest& d) {
  return d.last_weight > 0 ? static_cast<std::uint32_t>(d.last_weight) : 0U;
}

bool unavailable(const Dest& d) { return d.weight <= 0 || overloaded(d); }

// Fills the table from a plan (rounds in the order of plan.dests).
std::vector<std::uint16_t> maglev_table_of(const MaglevPlan& plan);

class MaglevHashing final : public Scheduler {
 public:
  explicit MaglevHashing(std::optional<std::uint32_t> cluster_seed) : cluster_seed_(cluster_seed) {}

  std::string_view name() const override { return "mh"; }

  // EINVAL with more dests than slots; the table is then empty (every pick is "none") until a
  // rebuild succeeds, so no stale index can outlive the list it was built for.
  core::Result<void> rebuild(DestList dests, DestChange /*change*/) override {
    if (dests.size() > kMaglevSize) {
      table_.assign(kMaglevSize, kMaglevNoDest);
      return core::fail(EINVAL, fmt::format("mh: {} realservers do not fit the {}-slot Maglev "
                                            "table; remove at least {}",
                                            dests.size(), kMaglevSize, dests.size() - kMaglevSize));
    }
    table_ = maglev_table(dests, cluster_seed_);
    return {};
  }

  // O(1) (one SipHash, one table read) unless mh-fallback has to probe further.
  std::optional<std::size_t> pick(const PickInput& in) override {
    const std::uint32_t addr = in.flow.client.addr.hash_word();
    const std::uint32_t port =
        (in.flags & model::sched_flag::kMhPort) != 0 ? in.flow.client.port : 0U;
    const std::uint32_t ihash = lvs_mh_slot(addr, port);
    const auto first = dest_at(in.dests, ihash);
    if (!first) return std::nullopt;  // empty table
    if (!unavailable(in.dests[*first])) return first;
    if ((in.flags & model::sched_flag::kMhFallback) == 0) return std::nullopt;
    // As the reference: re-hash with offsets ihash, ihash+1, ... (mod M) until an available
    // dest turns up. Bounded by M probes; only taken when the first choice is unavailable.
    for (std::uint32_t off = 0; off < kMaglevSize; ++off) {
      const std::uint32_t slot =
          lvs_mh_hash(LVS_MH_KEY1, addr, port, (off + ihash) % kMaglevSize) % kMaglevSize;
      const auto i = dest_at(in.dests, slot);
      if (!i) return std::nullopt;
      if (!unavailable(in.dests[*i])) return i;
    }
    return std::nullopt;
  }

 private:
  std::optional<std::size_t> dest_at(DestList dests, std::uint32_t slot) const {
    if (table_.empty()) return std::nullopt;
    const std::uint16_t i = table_[slot];
    if (i == kMaglevNoDest || i >= dests.size()) return std::nullopt;
    return i;
  }

  std::optional<std::uint32_t> cluster_seed_;
  std::vector<std::uint16_t> table_;  // empty until the first rebuild
};

}  // namespace

std::uint64_t maglev_cluster_key(std::uint64_t key, std::uint32_t seed) {
  return key ^ (std::uint64_t{seed} << 32U);
}

MaglevPlan maglev_plan(DestList dests, std::optional<std::uint32_t> cluster_seed) {
  const std::uint64_t key1 =
      cluster_seed ? maglev_cluster_key(LVS_MH_KEY1, *cluster_seed) : LVS_MH_KEY1;
  const std::uint64_t key2 =
      cluster_seed ? maglev_cluster_key(LVS_MH_KEY2, *cluster_seed) : LVS_MH_KEY2;
  MaglevPlan plan;
  std::uint32_t max_weight = 0;
  for (const Dest& d : dests) {
    const std::uint32_t w = positive_last_weight(d);
    if (w == 0) continue;
    plan.gcd = std::gcd(plan.gcd, w);  // gcd(0, w) = w
    max_weight = std::max(max_weight, w);
  }
  if (plan.gcd != 0) {
    // Turns keep at most kMaglevTabBits significant bits, so one round never claims more
    // than 2^6 - 1 slots per dest and small weights are not starved by large ones.
    const auto bits = static_cast<std::uint32_t>(std::bit_width(max_weight / plan.gcd));
    plan.shift = bits > kMaglevTabBits ? bits - kMaglevTabBits : 0U;
  }
  plan.dests.reserve(dests.size());
  for (const Dest& d : dests) {
    const std::uint32_t w = positive_last_weight(d);
    std::uint32_t turns = plan.gcd != 0 ? (w / plan.gcd) >> plan.shift : 0U;
    if (turns == 0 && w != 0) turns = 1;  // a shifted-away small weight still gets a turn
    // skip is 1..M-1 and M is prime, so every walk visits every slot: a dest always finds a
    // free slot while one is left.
    plan.dests.push_back(MaglevDestPlan{.offset = dest_hash(key1, d) % kMaglevSize,
                                        .skip = dest_hash(key2, d) % (kMaglevSize - 1) + 1,
                                        .turns = turns});
  }
  return plan;
}

std::vector<std::uint16_t> maglev_table(DestList dests, std::optional<std::uint32_t> cluster_seed) {
  LVS_ASSERT(dests.size() <= kMaglevSize);
  if (cluster_seed) {
    // Build over the sorted list, then map its indexes back to the caller's order. Addresses
    // and ports are unique within a service, so the order is total.
    std::vector<std::uint16_t> order(dests.size());
    std::iota(order.begin(), order.end(), std::uint16_t{0});
    std::sort(order.begin(), order.end(),
              [&](std::uint16_t a, std::uint16_t b) { return dests[a].addr < dests[b].addr; });
    std::vector<Dest> sorted;
    sorted.reserve(dests.size());
    for (const std::uint16_t i : order) sorted.push_back(dests[i]);
    std::vector<std::uint16_t> table = maglev_table_of(maglev_plan(sorted, cluster_seed));
    for (std::uint16_t& slot : table) {
      if (slot != kMaglevNoDest) slot = order[slot];
    }
    return table;
  }
  return maglev_table_of(maglev_plan(dests));
}

namespace {

std::vector<std::uint16_t> maglev_table_of(const MaglevPlan& plan) {
  std::vector<std::uint16_t> table(kMaglevSize, kMaglevNoDest);
  if (plan.gcd == 0) return table;  // no dest has a last_weight: leave every slot empty
  std::vector<std::uint32_t> pos(plan.dests.size());
  for (std::size_t i = 0; i < pos.size(); ++i) pos[i] = plan.dests[i].offset;
  // Some dest has turns >= 1, so every round claims a slot and the loop ends.
  std::uint32_t filled = 0;
  while (true) {
    for (std::size_t i = 0; i < plan.dests.size(); ++i) {
      for (std::uint32_t t = 0; t < plan.dests[i].turns; ++t) {
        while (table[pos[i]] != kMaglevNoDest) {
          pos[i] += plan.dests[i].skip;
          if (pos[i] >= kMaglevSize) pos[i] -= kMaglevSize;
        }
        table[pos[i]] = static_cast<std::uint16_t>(i);
        if (++filled == kMaglevSize) return table;
      }
    }
  }
}

}  // namespace

std::unique_ptr<Scheduler> make_mh(const SchedulerDeps& deps) {
  return std::make_unique<MaglevHashing>(deps.mh_cluster_seed);
}

}  // namespace lvs::sched
