// lblcr — locality-based least connection with replication (spec §2 "lblcr"). Like lblc, but
// a destination address maps to a *set* of dests (newest member first): a hot target can be
// served by several caches. The set grows with the wlc choice whenever its least-loaded member
// is lblc-overloaded, and shrinks by its most loaded member once it has not changed for the
// expiration time. GC: see locality::Table.

#include <utility>
#include <vector>

#include "sched/locality_table.h"
#include "sched/registry.h"

namespace lvs::sched {

namespace {

struct Entry {
  core::IpAddress daddr{};
  std::vector<core::Endpoint> set{};  // dest identities, newest first
  core::TimePoint lastuse{};
  core::TimePoint lastmod{};  // when a member was last added or removed
};

class LocalityReplicated final : public Scheduler {
 public:
  explicit LocalityReplicated(const LocalityOptions& options)
      : expiration_(options.expiration), table_(options.expiration) {}

  std::string_view name() const override { return "lblcr"; }

  core::Result<void> rebuild(DestList dests, DestChange /*change*/) override {
    index_.rebuild(dests);
    return {};
  }

  // Runs the GC ticks due at in.now first (the lazy stand-in for the kernel's timer).
  std::optional<std::size_t> pick(const PickInput& in) override {
    table_.collect(in.now);
    const core::IpAddress& daddr = in.flow.dest.addr;
    Entry* entry = table_.find(daddr);
    if (entry == nullptr) {
      const auto chosen = locality::wlc_pick(in.dests);
      if (!chosen) return std::nullopt;
      table_.insert(Entry{
          .daddr = daddr, .set = {in.dests[*chosen].addr}, .lastuse = in.now, .lastmod = in.now});
      return chosen;
    }

    entry->lastuse = in.now;
    // The least loaded member is chosen before the set may shrink; if it is the member that
    // goes, it still serves this flow (the spec's order).
    const auto least = set_min(in.dests, *entry);
    if (entry->set.size() > 1 && in.now - entry->lastmod > expiration_) {
      if (const auto most = set_max(in.dests, *entry)) {
        entry->set.erase(entry->set.begin() + static_cast<std::ptrdiff_t>(*most));
        entry->lastmod = in.now;
      }
    }
    if (least && !locality::lblc_overloaded(in.dests, in.dests[*least])) return least;

    const auto chosen = locality::wlc_pick(in.dests);
    if (!chosen) return std::nullopt;
    add_member(*entry, in.dests[*chosen].addr, in.now);
    return chosen;
  }

 private:
  // Index into `dests` of the weighted-least member: members that left the service or are
  // overloaded are skipped, the first candidate needs weight > 0, later ones replace it only
  // on a strict improvement (cross-multiplied overhead, as wlc).
  std::optional<std::size_t> set_min(DestList dests, const Entry& entry) const {
    std::optional<std::size_t> least;
    for (const core::Endpoint& id : entry.set) {
      const auto i = index_.find(dests, id);
      if (!i || overloaded(dests[*i])) continue;
      if (!least) {
        if (dests[*i].weight > 0) least = i;
        continue;
      }
      if (overhead(dests[*least]) * dests[*i].weight > overhead(dests[*i]) * dests[*least].weight) {
        least = i;
      }
    }
    return least;
  }

  // Position in entry.set of the weighted-most-loaded member with weight > 0; the overload
  // flag does not matter. A member that has left the service has no weight in it and is
  // ignored like a quiesced one. Ties keep the newer member.
  std::optional<std::size_t> set_max(DestList dests, const Entry& entry) const {
    std::optional<std::size_t> most;        // position in entry.set
    std::optional<std::size_t> most_index;  // position in dests
    for (std::size_t k = 0; k < entry.set.size(); ++k) {
      const auto i = index_.find(dests, entry.set[k]);
      if (!i || dests[*i].weight <= 0) continue;
      // most/w(most) < d/w(d), cross-multiplied: no division, no float.
      if (!most || overhead(dests[*most_index]) * dests[*i].weight <
                       overhead(dests[*i]) * dests[*most_index].weight) {
        most = k;
        most_index = i;
      }
    }
    return most;
  }

  // Adds `id` at the front of the set. Adding a present member changes nothing, lastmod
  // included: the set was not modified.
  static void add_member(Entry& entry, const core::Endpoint& id, core::TimePoint now) {
    for (const core::Endpoint& m : entry.set) {
      if (m == id) return;
    }
    entry.set.insert(entry.set.begin(), id);
    entry.lastmod = now;
  }

  core::Duration expiration_;
  locality::Table<Entry> table_;
  locality::DestIndex index_;
};

}  // namespace

std::unique_ptr<Scheduler> make_lblcr_with(const LocalityOptions& options) {
  return std::make_unique<LocalityReplicated>(options);
}

std::unique_ptr<Scheduler> make_lblcr(const SchedulerDeps& /*deps*/) {
  return make_lblcr_with(LocalityOptions{});
}

}  // namespace lvs::sched
