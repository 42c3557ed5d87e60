// lblc — locality-based least connection (spec §2 "lblc"). Meant for cache clusters: flows
// to the same destination address go to the same dest while it copes. A table remembers
// daddr -> dest; a hit is used unless that dest has left the service, is quiesced or is
// lblc-overloaded, in which case the wlc choice replaces it. GC: see locality::Table.

#include "sched/locality_table.h"
#include "sched/registry.h"

namespace lvs::sched {

namespace {

struct Entry {
  core::IpAddress daddr{};
  core::Endpoint dest{};  // the dest's identity; its position is looked up per pick
  core::TimePoint lastuse{};
};

class LocalityLeastConnection final : public Scheduler {
 public:
  explicit LocalityLeastConnection(const LocalityOptions& options) : table_(options.expiration) {}

  std::string_view name() const override { return "lblc"; }

  core::Result<void> rebuild(DestList dests, DestChange /*change*/) override {
    index_.rebuild(dests);
    return {};
  }

  // Runs the GC ticks due at in.now first (the lazy stand-in for the kernel's timer).
  std::optional<std::size_t> pick(const PickInput& in) override {
    table_.collect(in.now);
    const core::IpAddress& daddr = in.flow.dest.addr;
    Entry* entry = table_.find(daddr);
    if (entry != nullptr) {
      entry->lastuse = in.now;
      const auto cached = index_.find(in.dests, entry->dest);
      // The threshold flag is not checked here: only lblc-overload moves a cached flow.
      if (cached && in.dests[*cached].weight > 0 &&
          !locality::lblc_overloaded(in.dests, in.dests[*cached])) {
        return cached;
      }
    }
    const auto chosen = locality::wlc_pick(in.dests);
    if (!chosen) return std::nullopt;  // the entry, if any, is left as it was
    if (entry != nullptr) {
      entry->dest = in.dests[*chosen].addr;
    } else {
      table_.insert(Entry{.daddr = daddr, .dest = in.dests[*chosen].addr, .lastuse = in.now});
    }
    return chosen;
  }

 private:
  locality::Table<Entry> table_;
  locality::DestIndex index_;
};

}  // namespace

std::unique_ptr<Scheduler> make_lblc_with(const LocalityOptions& options) {
  return std::make_unique<LocalityLeastConnection>(options);
}

std::unique_ptr<Scheduler> make_lblc(const SchedulerDeps& /*deps*/) {
  return make_lblc_with(LocalityOptions{});
}

}  // namespace lvs::sched
