#include "conn/engine.h"

#include <algorithm>
#include <functional>
#include <map>
#include <unordered_map>
#include <utility>

#include <fmt/format.h>

#include "core/assert.h"
#include "model/dest_load.h"
#include "model/overload.h"
#include "model/table_ops.h"
#include "sched/registry.h"

namespace lvs::conn {

namespace {

using core::Endpoint;
using core::fail;
using core::IpAddress;
using core::Result;
using core::TimePoint;

constexpr std::uint16_t kFtpPort = 21;
constexpr std::uint16_t kFtpDataPort = 20;
constexpr std::uint16_t kFirstUnprivilegedPort = 1024;
constexpr std::uint16_t kUnreachablePort = 0xFFFF;  // an invalidated template's ports
constexpr std::string_view kNoScheduler = "none";
constexpr std::uint32_t kNoSlot = ConnId::kNoSlot;

constexpr std::uint8_t proto_number(model::Protocol p) { return static_cast<std::uint8_t>(p); }

// Realserver runtime state. Entries hold it by shared_ptr, so a deleted dest lives on (in its
// service's trash) while connections use it.
struct DestRuntime {
  model::RealServer config{};
  model::DestLoad load{};
  Stats stats{};
  std::shared_ptr<Stats> service_stats{};  // the owning service's statistics
  bool available = true;                   // false once deleted from its service
};
using DestPtr = std::shared_ptr<DestRuntime>;

struct ServiceRuntime {
  model::VirtualService config{};             // config.dests is kept empty
  std::unique_ptr<sched::Scheduler> sched{};  // null for scheduler "none"
  std::vector<DestPtr> dests{};               // iteration order
  std::vector<sched::Dest> sched_dests{};     // parallel to dests, what the scheduler sees
  std::vector<DestPtr> trash{};               // deleted dests still referenced by entries
  std::shared_ptr<Stats> stats = std::make_shared<Stats>();

  std::optional<std::size_t> find(const Endpoint& addr) const {
    for (std::size_t i = 0; i < dests.size(); ++i) {
      if (dests[i]->config.addr == addr) return i;
    }
    return std::nullopt;
  }
  Result<void> rebuild(sched::DestChange change) {
    if (!sched) return {};
    return sched->rebuild(sched_dests, change);
  }
  void purge_trash() {
    std::erase_if(trash, [](const DestPtr& d) { return d.use_count() == 1; });
  }
};

sched::Dest sched_view(const DestRuntime& d) {
  return sched::Dest{.addr = d.config.addr,
                     .weight = d.config.weight,
                     .last_weight = d.config.last_weight,
                     .load = &d.load};
}

// Entry lookup key: (protocol, client, virtual). Templates use their own index and key
// (protocol or IP, masked client:0, vaddr or fwmark-as-address, vport').
struct ConnKey {
  std::uint8_t protocol = 0;
  Endpoint client{};
  Endpoint vip{};

  bool operator==(const ConnKey&) const = default;
};

struct ConnKeyHash {
  std::size_t operator()(const ConnKey& k) const {
    const std::hash<Endpoint> h;
    return (h(k.client) * 1000003U) ^ h(k.vip) ^ k.protocol;
  }
};

struct Entry {
  ConnKey key{};
  Endpoint dest_addr{};
  DestPtr dest{};
  model::ForwardMethod forward = model::ForwardMethod::kRoute;
  ConnState state = ConnState::kNone;
  core::Duration timeout{};
  TimePoint expires{};
  TimePoint armed{};                // when this entry's current timer node fires
  std::uint32_t control = kNoSlot;  // the controlling template's slot
  std::uint32_t n_control = 0;      // templates: how many entries it controls
  std::uint32_t generation = 0;
  std::uint32_t slot = kNoSlot;
  bool live = false;
  bool is_template = false;
  bool inactive = true;
  bool no_output = false;
  bool unreachable = false;  // invalidated template, out of the index
  bool in_out_index = false;
};

struct TimerNode {
  TimePoint when{};
  std::uint32_t slot = kNoSlot;
  std::uint32_t generation = 0;
};
// Min-heap order for std::push_heap/pop_heap.
bool later(const TimerNode& a, const TimerNode& b) { return a.when > b.when; }

// The client network a template covers: IPv4 address AND mask, IPv6 prefix.
IpAddress masked(const IpAddress& a, std::uint32_t netmask) {
  if (a.is_v4()) return IpAddress::v4(a.v4_host() & netmask);
  auto bytes = a.bytes();
  const std::uint32_t prefix = std::min<std::uint32_t>(netmask, 128);
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    const auto bit = static_cast<std::uint32_t>(i * 8);
    if (bit >= prefix) {
      bytes.at(i) = 0;
    } else if (prefix - bit < 8) {
      const auto keep = static_cast<std::uint8_t>(0xFF << (8 - (prefix - bit)));
      bytes.at(i) = static_cast<std::uint8_t>(bytes.at(i) & keep);
    }
  }
  return IpAddress::v6(bytes);
}

// fwmark templates show the mark as an address: 0.0.0.7 (IPv6: ::7).
IpAddress mark_address(std::uint32_t mark, core::Family af) {
  if (af == core::Family::kInet4) return IpAddress::v4(mark);
  std::array<std::uint8_t, 16> b{};
  b[12] = static_cast<std::uint8_t>(mark >> 24);
  b[13] = static_cast<std::uint8_t>(mark >> 16);
  b[14] = static_cast<std::uint8_t>(mark >> 8);
  b[15] = static_cast<std::uint8_t>(mark);
  return IpAddress::v6(b);
}

// Replies reach the director only with NAT (and lvsd's own full-NAT proxy).
bool sees_output(model::ForwardMethod f) {
  return f == model::ForwardMethod::kMasq || f == model::ForwardMethod::kFullNat;
}

core::Duration seconds(std::uint32_t s) { return std::chrono::seconds{s}; }

bool same_attributes(const model::VirtualService& a, const model::VirtualService& b) {
  auto x = a;
  auto y = b;
  x.dests.clear();
  y.dests.clear();
  return x == y;
}

struct ReasonInfo {
  Reason reason;
  std::string_view name;
};
constexpr std::array kReasons{
    ReasonInfo{Reason::kExisting, "existing"},        ReasonInfo{Reason::kScheduled, "scheduled"},
    ReasonInfo{Reason::kTemplateHit, "template-hit"}, ReasonInfo{Reason::kNoService, "no-service"},
    ReasonInfo{Reason::kNotSyn, "not-syn"},           ReasonInfo{Reason::kRst, "rst"},
    ReasonInfo{Reason::kNoEntry, "no-entry"},         ReasonInfo{Reason::kFtpPassUp, "ftp-pass-up"},
    ReasonInfo{Reason::kCacheBypass, "cache-bypass"}, ReasonInfo{Reason::kNoDest, "no-dest"},
    ReasonInfo{Reason::kDestGone, "dest-gone"},
};

}  // namespace

std::string_view protocol_label(std::uint8_t protocol) {
  switch (protocol) {
    case proto_number(model::Protocol::kTcp):
      return "TCP";
    case proto_number(model::Protocol::kUdp):
      return "UDP";
    case proto_number(model::Protocol::kSctp):
      return "SCTP";
    case kIpProtoIp:
      return "IP";
    default:
      return "?";
  }
}

std::string_view reason_name(Reason r) {
  for (const auto& info : kReasons) {
    if (info.reason == r) return info.name;
  }
  return "?";
}

struct Engine::Impl {
  Sysctls sysctls{};
  sched::SchedulerDeps deps{};
  Timeouts timeouts{};
  Stats totals{};

  std::vector<std::unique_ptr<ServiceRuntime>> services{};  // creation order
  std::map<model::ServiceKey, ServiceRuntime*> by_key{};

  std::vector<Entry> entries{};  // slots; free ones listed in free_slots
  std::vector<std::uint32_t> free_slots{};
  std::size_t live = 0;
  std::unordered_map<ConnKey, std::uint32_t, ConnKeyHash> in_index{};
  std::unordered_map<ConnKey, std::uint32_t, ConnKeyHash> out_index{};
  std::unordered_map<ConnKey, std::uint32_t, ConnKeyHash> templates{};
  // Timer nodes, a min-heap. Each live entry has one current node (at Entry::armed).
  // Refreshing an entry to a later time only moves Entry::expires; the node is re-pushed when
  // it surfaces early (lazy re-arm: no heap work and no allocation per packet). Only a move
  // to an earlier time (a shorter state timeout) pushes a new node; the old one is then
  // dropped when it surfaces.
  std::vector<TimerNode> timers{};

  // ---- services -------------------------------------------------------------------------

  ServiceRuntime* find_service(const model::ServiceKey& key) const {
    const auto it = by_key.find(key);
    return it == by_key.end() ? nullptr : it->second;
  }

  // Spec §1.1: fwmark, exact, FTP data rule (TCP), port-0 wildcard. First match wins.
  ServiceRuntime* lookup_service(const Packet& p) const {
    const auto af = p.dst.addr.family();
    if (p.fwmark != 0) {
      if (auto* s = find_service(model::ServiceKey::mark(p.fwmark, af))) return s;
    }
    if (auto* s = find_service(model::ServiceKey::address(p.protocol, p.dst))) return s;
    if (p.protocol == model::Protocol::kTcp &&
        (p.dst.port == kFtpDataPort || p.dst.port >= kFirstUnprivilegedPort)) {
      const Endpoint ftp{.addr = p.dst.addr, .port = kFtpPort};
      if (auto* s = find_service(model::ServiceKey::address(p.protocol, ftp))) return s;
    }
    const Endpoint any_port{.addr = p.dst.addr, .port = 0};
    return find_service(model::ServiceKey::address(p.protocol, any_port));
  }

  Result<std::unique_ptr<sched::Scheduler>> make_sched(const std::string& name) const {
    if (name == kNoScheduler) return std::unique_ptr<sched::Scheduler>{};
    return sched::make_scheduler(name, deps);
  }

  Result<void> check_scheduler(const model::VirtualService& svc) const {
    if (svc.scheduler == kNoScheduler || sched::scheduler_exists(svc.scheduler)) return {};
    return fail(ENOENT, fmt::format("scheduler '{}' for service {} does not exist", svc.scheduler,
                                    svc.key.to_string()));
  }

  Result<void> add_service(const model::VirtualService& svc) {
    if (find_service(svc.key) != nullptr) {
      return fail(EEXIST, fmt::format("service {} already exists", svc.key.to_string()));
    }
    if (auto ok = check_scheduler(svc); !ok) return ok;
    for (const auto& d : svc.dests) {
      if (auto ok = model::check_dest(svc.key, d); !ok) return ok;
    }
    auto made = make_sched(svc.scheduler);
    if (!made) return core::Unexpected{made.error()};
    auto rt = std::make_unique<ServiceRuntime>();
    rt->config = svc;
    rt->config.dests.clear();
    rt->sched = std::move(*made);
    if (auto ok = rt->rebuild({sched::ChangeKind::kInit, 0}); !ok) return ok;
    ServiceRuntime* raw = rt.get();
    services.push_back(std::move(rt));
    by_key.emplace(svc.key, raw);
    // Newest first: adding from the back reproduces the given iteration order.
    for (auto it = svc.dests.rbegin(); it != svc.dests.rend(); ++it) {
      if (auto ok = add_dest(*raw, *it); !ok) {
        erase_service(svc.key);
        return ok;
      }
    }
    return {};
  }

  Result<void> edit_service(const model::VirtualService& svc) {
    auto* rt = find_service(svc.key);
    if (rt == nullptr) {
      return fail(ESRCH, fmt::format("service {} does not exist", svc.key.to_string()));
    }
    if (auto ok = check_scheduler(svc); !ok) return ok;
    if (svc.scheduler != rt->config.scheduler) {
      auto made = make_sched(svc.scheduler);
      if (!made) return core::Unexpected{made.error()};
      if (*made) {
        if (auto ok = (*made)->rebuild(rt->sched_dests, {sched::ChangeKind::kInit, 0}); !ok) {
          return ok;
        }
      }
      rt->sched = std::move(*made);
    }
    rt->config = svc;
    rt->config.dests.clear();
    return {};
  }

  void erase_service(const model::ServiceKey& key) {
    auto* rt = find_service(key);
    LVS_ASSERT(rt != nullptr);
    for (auto& d : rt->dests) d->available = false;
    by_key.erase(key);
    std::erase_if(services, [rt](const auto& s) { return s.get() == rt; });
  }

  Result<void> delete_service(const model::ServiceKey& key) {
    if (find_service(key) == nullptr) {
      return fail(ESRCH, fmt::format("service {} does not exist", key.to_string()));
    }
    erase_service(key);
    return {};
  }

  Result<void> add_dest(ServiceRuntime& rt, const model::RealServer& rs) {
    const auto& key = rt.config.key;
    if (rt.find(rs.addr)) {
      return fail(EEXIST, fmt::format("dest {} already exists in service {}", rs.addr.to_string(),
                                      key.to_string()));
    }
    if (auto ok = model::check_dest(key, rs); !ok) return ok;
    rt.purge_trash();
    DestPtr d;
    // A deleted dest still referenced by entries comes back as it was (counters, stats).
    const auto old = std::find_if(rt.trash.begin(), rt.trash.end(),
                                  [&](const DestPtr& t) { return t->config.addr == rs.addr; });
    if (old != rt.trash.end()) {
      d = *old;
      rt.trash.erase(old);
    } else {
      d = std::make_shared<DestRuntime>();
      d->service_stats = rt.stats;
    }
    d->config = rs;
    d->config.last_weight = rs.weight;
    d->available = true;
    rt.dests.insert(rt.dests.begin(), d);
    rt.sched_dests.insert(rt.sched_dests.begin(), sched_view(*d));
    if (auto ok = rt.rebuild({sched::ChangeKind::kAdded, 0}); !ok) {
      rt.dests.erase(rt.dests.begin());
      rt.sched_dests.erase(rt.sched_dests.begin());
      (void)rt.rebuild({sched::ChangeKind::kRemoved, 0});
      return ok;
    }
    return {};
  }

  Result<void> edit_dest(ServiceRuntime& rt, const model::RealServer& rs) {
    const auto i = rt.find(rs.addr);
    if (!i) {
      return fail(ENOENT, fmt::format("dest {} does not exist in service {}", rs.addr.to_string(),
                                      rt.config.key.to_string()));
    }
    if (auto ok = model::check_dest(rt.config.key, rs); !ok) return ok;
    DestRuntime& d = *rt.dests[*i];
    const auto old = d.config;
    d.config = rs;
    d.config.last_weight = rs.weight != 0 ? rs.weight : old.last_weight;
    d.load.set_overloaded(
        model::overload_after_edit(d.load.overloaded_now(), old.u_threshold, rs.u_threshold));
    rt.sched_dests[*i] = sched_view(d);
    if (auto ok = rt.rebuild({sched::ChangeKind::kEdited, *i}); !ok) {
      d.config = old;
      rt.sched_dests[*i] = sched_view(d);
      (void)rt.rebuild({sched::ChangeKind::kEdited, *i});
      return ok;
    }
    return {};
  }

  Result<void> delete_dest(ServiceRuntime& rt, const Endpoint& addr) {
    const auto i = rt.find(addr);
    if (!i) {
      return fail(ENOENT, fmt::format("dest {} does not exist in service {}", addr.to_string(),
                                      rt.config.key.to_string()));
    }
    DestPtr d = rt.dests[*i];
    d->available = false;
    const auto at = static_cast<std::ptrdiff_t>(*i);
    rt.dests.erase(rt.dests.begin() + at);
    rt.sched_dests.erase(rt.sched_dests.begin() + at);
    // Removal cannot fail for any scheduler (only growth can exceed a table).
    (void)rt.rebuild({sched::ChangeKind::kRemoved, *i});
    rt.purge_trash();
    if (d.use_count() > 1) rt.trash.push_back(std::move(d));
    return {};
  }

  Result<void> apply(const model::ServiceTable& table) {
    // Validate first so that a bad table changes nothing.
    for (const auto& svc : table.services) {
      if (auto ok = check_scheduler(svc); !ok) return ok;
      for (const auto& d : svc.dests) {
        if (auto ok = model::check_dest(svc.key, d); !ok) return ok;
      }
    }
    std::vector<model::ServiceKey> gone;
    for (const auto& s : services) {
      if (table.find(s->config.key) == nullptr) gone.push_back(s->config.key);
    }
    for (const auto& key : gone) erase_service(key);
    for (const auto& svc : table.services) {
      auto* rt = find_service(svc.key);
      if (rt == nullptr) {
        if (auto ok = add_service(svc); !ok) return ok;
        continue;
      }
      if (!same_attributes(rt->config, svc)) {
        if (auto ok = edit_service(svc); !ok) return ok;
      }
      if (auto ok = sync_dests(*rt, svc.dests); !ok) return ok;
    }
    return {};
  }

  Result<void> sync_dests(ServiceRuntime& rt, const std::vector<model::RealServer>& want) {
    std::vector<Endpoint> gone;
    for (const auto& d : rt.dests) {
      const bool kept = std::any_of(want.begin(), want.end(),
                                    [&](const auto& w) { return w.addr == d->config.addr; });
      if (!kept) gone.push_back(d->config.addr);
    }
    for (const auto& addr : gone) {
      if (auto ok = delete_dest(rt, addr); !ok) return ok;
    }
    for (const auto& w : want) {
      const auto i = rt.find(w.addr);
      if (!i) continue;
      // last_weight is the engine's own (it follows non-zero weights), not compared.
      auto have = rt.dests[*i]->config;
      have.last_weight = w.last_weight;
      if (have != w) {
        if (auto ok = edit_dest(rt, w); !ok) return ok;
      }
    }
    for (auto it = want.rbegin(); it != want.rend(); ++it) {
      if (!rt.find(it->addr)) {
        if (auto ok = add_dest(rt, *it); !ok) return ok;
      }
    }
    // The incremental steps give the wanted order unless the table reordered kept dests.
    bool same_order = rt.dests.size() == want.size();
    for (std::size_t i = 0; same_order && i < want.size(); ++i) {
      same_order = rt.dests[i]->config.addr == want[i].addr;
    }
    if (!same_order) {
      std::vector<DestPtr> ordered;
      ordered.reserve(want.size());
      for (const auto& w : want) ordered.push_back(rt.dests[*rt.find(w.addr)]);
      rt.dests = std::move(ordered);
      rt.sched_dests.clear();
      for (const auto& d : rt.dests) rt.sched_dests.push_back(sched_view(*d));
      return rt.rebuild({sched::ChangeKind::kInit, 0});
    }
    return {};
  }

  // ---- entries: binding, counters, timers --------------------------------------------------

  // Spec §1.3: a new entry counts where its inactive flag says; templates in persistconns.
  // Binding any entry may set the overload flag (§1.2).
  static void bind(Entry& e) {
    model::DestLoad& load = e.dest->load;
    if (e.is_template) {
      load.persistent.fetch_add(1, std::memory_order_relaxed);
    } else if (e.inactive) {
      load.inactive.fetch_add(1, std::memory_order_relaxed);
    } else {
      load.active.fetch_add(1, std::memory_order_relaxed);
    }
    load.set_overloaded(model::overload_after_bind(load.overloaded_now(), load.total_now(),
                                                   e.dest->config.u_threshold));
  }

  static void unbind(Entry& e) {
    model::DestLoad& load = e.dest->load;
    auto& counter = e.is_template ? load.persistent : e.inactive ? load.inactive : load.active;
    LVS_ASSERT(counter.load(std::memory_order_relaxed) > 0);
    counter.fetch_sub(1, std::memory_order_relaxed);
    const auto& c = e.dest->config;
    load.set_overloaded(model::overload_after_unbind(load.overloaded_now(), load.total_now(),
                                                     c.u_threshold, c.l_threshold));
  }

  // Moves the entry to `s` with that state's timeout; crossing the active/inactive boundary
  // moves the dest's counters (§3.1).
  void set_state(Entry& e, ConnState s) {
    const bool active = is_active(s);
    if (active == e.inactive) {
      model::DestLoad& load = e.dest->load;
      if (active) {
        load.inactive.fetch_sub(1, std::memory_order_relaxed);
        load.active.fetch_add(1, std::memory_order_relaxed);
      } else {
        load.active.fetch_sub(1, std::memory_order_relaxed);
        load.inactive.fetch_add(1, std::memory_order_relaxed);
      }
      e.inactive = !active;
    }
    e.state = s;
    e.timeout = timeouts.of(s);
  }

  // The protocol state machine, statistics and timer refresh for one packet on `e`.
  void on_packet(Entry& e, Direction dir, std::uint8_t tcp_flags, std::uint32_t bytes,
                 TimePoint now) {
    if (e.key.protocol == proto_number(model::Protocol::kTcp)) {
      TcpTable table = TcpTable::kInput;
      if (dir == Direction::kOut) {
        table = TcpTable::kOutput;
        e.no_output = false;  // the first reply switches to the two-way tables for good
      } else if (e.no_output) {
        table = TcpTable::kInputOnly;
      }
      set_state(e, next_tcp_state(table, classify(tcp_flags), e.state));
    } else {
      set_state(e, ConnState::kUdp);  // UDP (and SCTP): one state, refreshed by every packet
    }
    if (dir == Direction::kIn) {
      e.dest->stats.add_in(bytes);
      e.dest->service_stats->add_in(bytes);
      totals.add_in(bytes);
    } else {
      e.dest->stats.add_out(bytes);
      e.dest->service_stats->add_out(bytes);
      totals.add_out(bytes);
    }
    e.expires = now + e.timeout;
    if (e.live && e.expires < e.armed) arm(e);
  }

  std::uint32_t store(Entry e, TimePoint now) {
    std::uint32_t slot = 0;
    if (free_slots.empty()) {
      slot = static_cast<std::uint32_t>(entries.size());
      LVS_ASSERT(slot != kNoSlot);
      entries.emplace_back();
    } else {
      slot = free_slots.back();
      free_slots.pop_back();
    }
    e.generation = entries[slot].generation;
    e.live = true;
    e.expires = now + e.timeout;
    entries[slot] = std::move(e);
    entries[slot].slot = slot;
    ++live;
    arm(entries[slot]);
    return slot;
  }

  void arm(Entry& e) {
    e.armed = e.expires;
    timers.push_back(TimerNode{.when = e.expires, .slot = e.slot, .generation = e.generation});
    std::push_heap(timers.begin(), timers.end(), later);
  }

  static ConnKey out_key(const Entry& e) {
    return ConnKey{.protocol = e.key.protocol, .client = e.dest_addr, .vip = e.key.client};
  }

  void release_control(Entry& e) {
    if (e.control == kNoSlot) return;
    Entry& t = entries[e.control];
    LVS_ASSERT(t.live && t.is_template && t.n_control > 0);
    --t.n_control;
    e.control = kNoSlot;
  }

  // Unlinks the entry and frees its slot; its timer node goes stale.
  void remove(std::uint32_t slot) {
    Entry& e = entries[slot];
    LVS_ASSERT(e.live && e.n_control == 0);
    unbind(e);
    if (e.is_template) {
      if (!e.unreachable) templates.erase(e.key);
    } else {
      in_index.erase(e.key);
      if (e.in_out_index) out_index.erase(out_key(e));
    }
    release_control(e);
    const auto generation = e.generation + 1;
    e = Entry{};
    e.generation = generation;
    free_slots.push_back(slot);
    --live;
  }

  std::size_t expire(TimePoint now) {
    std::size_t removed = 0;
    // Each node is dropped, or removes its entry, or is re-pushed later than its old time; a
    // node re-pushed at or before `now` surfaces at most once more. 2n+1 pops bound the loop.
    for (std::size_t budget = 2 * timers.size() + 1;
         budget > 0 && !timers.empty() && timers.front().when <= now; --budget) {
      std::pop_heap(timers.begin(), timers.end(), later);
      const TimerNode node = timers.back();
      timers.pop_back();
      Entry& e = entries[node.slot];
      if (!e.live || e.generation != node.generation) continue;  // entry gone
      if (node.when != e.armed) continue;                        // superseded by an earlier node
      if (e.expires > node.when) {                               // refreshed since armed
        arm(e);
        continue;
      }
      if (e.is_template && e.n_control > 0) {  // still controls connections: full timeout
        e.expires = now + e.timeout;
        arm(e);
        continue;
      }
      remove(node.slot);
      ++removed;
    }
    return removed;
  }

  Entry* entry_of(ConnId id) {
    if (id.slot >= entries.size()) return nullptr;
    Entry& e = entries[id.slot];
    if (!e.live || e.generation != id.generation || e.is_template) return nullptr;
    return &e;
  }

  Verdict forward(const Entry& e, ConnId id, Reason reason) const {
    return Verdict{.action = Action::kForward,
                   .reason = reason,
                   .conn = id,
                   .dest = e.dest_addr,
                   .forward = e.forward,
                   .state = e.state};
  }

  static Verdict verdict(Action a, Reason r) { return Verdict{.action = a, .reason = r}; }

  // A packet on a kept entry. Input on a deleted dest with expire_nodest_conn drops the
  // packet and expires the entry now.
  Verdict existing(std::uint32_t slot, Direction dir, std::uint8_t flags, std::uint32_t bytes,
                   TimePoint now) {
    Entry& e = entries[slot];
    if (dir == Direction::kIn && !e.dest->available && sysctls.expire_nodest_conn) {
      remove(slot);
      return verdict(Action::kDrop, Reason::kDestGone);
    }
    on_packet(e, dir, flags, bytes, now);
    return forward(e, ConnId{.slot = slot, .generation = e.generation}, Reason::kExisting);
  }

  // ---- scheduling -------------------------------------------------------------------------

  // Spec §1.5: what happens when the service has no dest for a new flow.
  Verdict leave(const ServiceRuntime& svc, const Packet& p) const {
    const auto& key = svc.config.key;
    if (key.is_fwmark() && sysctls.cache_bypass) {
      return verdict(Action::kPass, Reason::kCacheBypass);
    }
    if (!key.is_fwmark() && key.vip.port == kFtpPort && p.dst.port != kFtpPort) {
      return verdict(Action::kPass, Reason::kFtpPassUp);
    }
    return verdict(Action::kDropUnreachable, Reason::kNoDest);
  }

  std::optional<std::size_t> pick(ServiceRuntime& svc, const Packet& p, TimePoint now) {
    if (!svc.sched) return std::nullopt;
    const auto i = svc.sched->pick(sched::PickInput{.dests = svc.sched_dests,
                                                    .flow = {.client = p.src, .dest = p.dst},
                                                    .flags = svc.config.sched_flags,
                                                    .now = now});
    LVS_ASSERT(!i || *i < svc.dests.size());
    return i;
  }

  // Creates the connection entry for a new flow to `dest` (counted in conns), runs the first
  // packet through it, and links it to `control` (a template slot) if given.
  Verdict open(ServiceRuntime& svc, const Packet& p, const DestPtr& dest, std::uint16_t dport,
               std::uint32_t control, Reason reason, TimePoint now) {
    Entry e{.key = {.protocol = proto_number(p.protocol), .client = p.src, .vip = p.dst},
            .dest_addr = {.addr = dest->config.addr.addr, .port = dport},
            .dest = dest,
            .forward = dest->config.forward,
            .state = ConnState::kNone,
            .timeout = kNewEntryTimeout,
            .control = control,
            .inactive = true,
            .no_output = !sees_output(dest->config.forward)};
    bind(e);
    dest->stats.add_conn();
    svc.stats->add_conn();
    totals.add_conn();
    if (control != kNoSlot) {
      Entry& t = entries[control];
      ++t.n_control;
      t.expires = now + t.timeout;  // every new connection re-arms its template
      if (t.expires < t.armed) arm(t);
    }
    // One-packet scheduling: the entry serves this datagram only and is never kept.
    if (svc.config.one_packet && p.protocol == model::Protocol::kUdp) {
      on_packet(e, Direction::kIn, p.tcp_flags, p.bytes, now);
      Verdict v = forward(e, ConnId{}, reason);
      release_control(e);
      unbind(e);
      return v;
    }
    const std::uint32_t slot = store(std::move(e), now);
    Entry& kept = entries[slot];
    in_index.emplace(kept.key, slot);
    kept.in_out_index = out_index.emplace(out_key(kept), slot).second;
    return existing_first(slot, p, reason, now);
  }

  Verdict existing_first(std::uint32_t slot, const Packet& p, Reason reason, TimePoint now) {
    Entry& e = entries[slot];
    on_packet(e, Direction::kIn, p.tcp_flags, p.bytes, now);
    return forward(e, ConnId{.slot = slot, .generation = e.generation}, reason);
  }

  bool template_valid(const Entry& t) const {
    if (!t.dest->available) return false;
    return !(sysctls.expire_quiescent_template && t.dest->config.weight == 0);
  }

  // Spec §1.3 "Persistent scheduling".
  Verdict schedule_persistent(ServiceRuntime& svc, const Packet& p, TimePoint now) {
    const auto& cfg = svc.config;
    const Endpoint snet{.addr = masked(p.src.addr, cfg.netmask), .port = 0};
    const bool at_service_port = !cfg.key.is_fwmark() && p.dst.port == cfg.key.vip.port;
    ConnKey tkey{.protocol = proto_number(p.protocol), .client = snet, .vip = {p.dst.addr, 0}};
    if (cfg.key.is_fwmark()) {
      tkey.protocol = kIpProtoIp;
      tkey.vip = Endpoint{.addr = mark_address(cfg.key.fwmark, cfg.key.af), .port = 0};
    } else if (at_service_port && cfg.key.vip.port != kFtpPort) {
      tkey.vip.port = cfg.key.vip.port;
    }

    std::uint32_t tslot = kNoSlot;
    Reason reason = Reason::kTemplateHit;
    if (const auto it = templates.find(tkey); it != templates.end()) {
      if (template_valid(entries[it->second])) {
        tslot = it->second;
      } else {
        // Unreachable from now on; it expires on its own timer.
        Entry& t = entries[it->second];
        t.unreachable = true;
        t.key.client.port = kUnreachablePort;
        t.key.vip.port = kUnreachablePort;
        t.dest_addr.port = kUnreachablePort;
        templates.erase(it);
      }
    }
    if (tslot == kNoSlot) {
      const auto i = pick(svc, p, now);
      if (!i) return leave(svc, p);
      const DestPtr& dest = svc.dests[*i];
      Entry t{.key = tkey,
              .dest_addr = {.addr = dest->config.addr.addr,
                            .port = tkey.vip.port != 0 ? dest->config.addr.port : std::uint16_t{0}},
              .dest = dest,
              .forward = dest->config.forward,
              .state = ConnState::kNone,
              .timeout = seconds(cfg.timeout),
              .is_template = true,
              .inactive = true};
      bind(t);
      tslot = store(std::move(t), now);
      templates.emplace(tkey, tslot);
      reason = Reason::kScheduled;
    }
    const DestPtr dest = entries[tslot].dest;
    const std::uint16_t dport = (p.dst.port == cfg.key.vip.port && dest->config.addr.port != 0)
                                    ? dest->config.addr.port
                                    : p.dst.port;
    return open(svc, p, dest, dport, tslot, reason, now);
  }

  Verdict schedule(ServiceRuntime& svc, const Packet& p, TimePoint now) {
    if (svc.config.persistent) return schedule_persistent(svc, p, now);
    // Non-persistent services take only their own port (port 0 needs persistence).
    if (!svc.config.key.is_fwmark() && p.dst.port != svc.config.key.vip.port) {
      return leave(svc, p);
    }
    const auto i = pick(svc, p, now);
    if (!i) return leave(svc, p);
    const DestPtr& dest = svc.dests[*i];
    const std::uint16_t port = dest->config.addr.port;
    return open(svc, p, dest, port != 0 ? port : p.dst.port, kNoSlot, Reason::kScheduled, now);
  }

  Verdict in_packet(const Packet& p, TimePoint now) {
    const ConnKey key{.protocol = proto_number(p.protocol), .client = p.src, .vip = p.dst};
    if (const auto it = in_index.find(key); it != in_index.end()) {
      return existing(it->second, Direction::kIn, p.tcp_flags, p.bytes, now);
    }
    if (p.protocol == model::Protocol::kTcp) {
      // RST never schedules; other non-SYN segments only with sloppy_tcp.
      if ((p.tcp_flags & tcp_flag::kRst) != 0) return verdict(Action::kPass, Reason::kRst);
      if ((p.tcp_flags & tcp_flag::kSyn) == 0 && !sysctls.sloppy_tcp) {
        return verdict(Action::kPass, Reason::kNotSyn);
      }
    }
    ServiceRuntime* svc = lookup_service(p);
    if (svc == nullptr) return verdict(Action::kPass, Reason::kNoService);
    return schedule(*svc, p, now);
  }

  Verdict out_packet(const Packet& p, TimePoint now) {
    const ConnKey key{.protocol = proto_number(p.protocol), .client = p.src, .vip = p.dst};
    const auto it = out_index.find(key);
    if (it == out_index.end()) return verdict(Action::kPass, Reason::kNoEntry);
    return existing(it->second, Direction::kOut, p.tcp_flags, p.bytes, now);
  }

  Verdict on_conn(ConnId id, Direction dir, std::uint8_t flags, std::uint32_t bytes,
                  TimePoint now) {
    if (entry_of(id) == nullptr) return verdict(Action::kPass, Reason::kNoEntry);
    return existing(id.slot, dir, flags, bytes, now);
  }

  // ---- views ------------------------------------------------------------------------------

  static DestView view(const DestRuntime& d) {
    return DestView{.config = d.config,
                    .active = d.load.active_now(),
                    .inactive = d.load.inactive_now(),
                    .persistent = d.load.persistent.load(std::memory_order_relaxed),
                    .overloaded = d.load.overloaded_now(),
                    .stats = d.stats.counters(),
                    .rates = d.stats.rates()};
  }

  static ServiceView view(const ServiceRuntime& s) {
    ServiceView v{.config = s.config, .stats = s.stats->counters(), .rates = s.stats->rates()};
    for (const auto& d : s.dests) {
      v.config.dests.push_back(d->config);
      v.dests.push_back(view(*d));
    }
    return v;
  }

  std::vector<ConnView> connections(TimePoint now) const {
    std::vector<ConnView> out;
    out.reserve(live);
    for (std::size_t slot = 0; slot < entries.size(); ++slot) {
      const Entry& e = entries[slot];
      if (!e.live) continue;
      out.push_back(
          ConnView{.id = {.slot = static_cast<std::uint32_t>(slot), .generation = e.generation},
                   .protocol = e.key.protocol,
                   .client = e.key.client,
                   .vip = e.key.vip,
                   .dest = e.dest_addr,
                   .state = e.state,
                   .remaining = std::max(core::Duration::zero(), e.expires - now),
                   .is_template = e.is_template,
                   .inactive = e.inactive,
                   .no_output = e.no_output,
                   .n_control = e.n_control});
    }
    return out;
  }
};

Engine::Engine(Sysctls sysctls, sched::SchedulerDeps deps) : impl_(std::make_unique<Impl>()) {
  impl_->sysctls = sysctls;
  impl_->deps = deps;
}
Engine::~Engine() = default;
Engine::Engine(Engine&&) noexcept = default;
Engine& Engine::operator=(Engine&&) noexcept = default;

Result<void> Engine::add_service(const model::VirtualService& svc) {
  return impl_->add_service(svc);
}
Result<void> Engine::edit_service(const model::VirtualService& svc) {
  return impl_->edit_service(svc);
}
Result<void> Engine::delete_service(const model::ServiceKey& key) {
  return impl_->delete_service(key);
}

namespace {
core::Unexpected no_service(const model::ServiceKey& key) {
  return fail(ESRCH, fmt::format("service {} does not exist", key.to_string()));
}
}  // namespace

Result<void> Engine::add_dest(const model::ServiceKey& key, const model::RealServer& dest) {
  auto* rt = impl_->find_service(key);
  if (rt == nullptr) return no_service(key);
  return impl_->add_dest(*rt, dest);
}
Result<void> Engine::edit_dest(const model::ServiceKey& key, const model::RealServer& dest) {
  auto* rt = impl_->find_service(key);
  if (rt == nullptr) return no_service(key);
  return impl_->edit_dest(*rt, dest);
}
Result<void> Engine::delete_dest(const model::ServiceKey& key, const core::Endpoint& addr) {
  auto* rt = impl_->find_service(key);
  if (rt == nullptr) return no_service(key);
  return impl_->delete_dest(*rt, addr);
}
Result<void> Engine::apply(const model::ServiceTable& table) { return impl_->apply(table); }

const Sysctls& Engine::sysctls() const { return impl_->sysctls; }
void Engine::set_sysctls(const Sysctls& s) { impl_->sysctls = s; }
const Timeouts& Engine::timeouts() const { return impl_->timeouts; }
void Engine::set_timeouts(std::chrono::seconds tcp, std::chrono::seconds tcpfin,
                          std::chrono::seconds udp) {
  impl_->timeouts.set(tcp, tcpfin, udp);
}

Verdict Engine::in_packet(const Packet& p, core::TimePoint now) { return impl_->in_packet(p, now); }
Verdict Engine::out_packet(const Packet& p, core::TimePoint now) {
  return impl_->out_packet(p, now);
}
Verdict Engine::on_conn(ConnId id, Direction dir, std::uint8_t tcp_flags, std::uint32_t bytes,
                        core::TimePoint now) {
  return impl_->on_conn(id, dir, tcp_flags, bytes, now);
}

std::size_t Engine::expire(core::TimePoint now) { return impl_->expire(now); }

void Engine::tick_estimators() {
  impl_->totals.tick();
  for (const auto& s : impl_->services) {
    s->stats->tick();
    for (const auto& d : s->dests) d->stats.tick();
  }
}

Result<void> Engine::zero_service(const model::ServiceKey& key) {
  auto* rt = impl_->find_service(key);
  if (rt == nullptr) return no_service(key);
  rt->stats->zero();
  for (const auto& d : rt->dests) d->stats.zero();
  return {};
}

void Engine::zero_all() {
  for (const auto& s : impl_->services) {
    s->stats->zero();
    for (const auto& d : s->dests) d->stats.zero();
  }
  impl_->totals.zero();
}

Counters Engine::totals() const { return impl_->totals.counters(); }
Rates Engine::total_rates() const { return impl_->totals.rates(); }

std::optional<ServiceView> Engine::service(const model::ServiceKey& key) const {
  const auto* rt = impl_->find_service(key);
  if (rt == nullptr) return std::nullopt;
  return Impl::view(*rt);
}

std::vector<ServiceView> Engine::services() const {
  std::vector<ServiceView> out;
  out.reserve(impl_->services.size());
  for (const auto& s : impl_->services) out.push_back(Impl::view(*s));
  return out;
}

std::vector<ConnView> Engine::connections(core::TimePoint now) const {
  return impl_->connections(now);
}

std::size_t Engine::entry_count() const { return impl_->live; }

}  // namespace lvs::conn
