#include "dp/xdp/loader.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <optional>
#include <set>

#include "core/log.h"
#include "dp/xdp/bpf/tcp_state.h"
#include "dp/xdp/neigh.h"
#include "dp/xdp/plan.h"
#include "lvs_xdp.skel.h"

namespace lvs::dp::xdp {

namespace {

std::string errno_text(int err) { return std::strerror(err); }

// The bpf_xdp_attach/detach flag of an attachment mode (flags 0 would mean native on a driver
// with XDP support, and so miss a generic-mode program).
std::uint32_t mode_flag(AttachMode mode) {
  return mode == AttachMode::kGeneric ? XDP_FLAGS_SKB_MODE : XDP_FLAGS_DRV_MODE;
}

core::Unexpected map_error(std::string_view what, int err) {
  return core::fail(err, fmt::format("XDP engine: writing {} failed: {}", what, errno_text(err)));
}

// Nanoseconds an entry has been idle at `now_ns`. The program stamps last_seen with
// bpf_ktime_get_coarse_ns on every packet, so an entry a packet refreshed after `now_ns` was read
// (a busy flow, while user space waited for the engine's lock or walked the map) is newer than
// `now_ns`: idle 0, not an unsigned wrap-around that made it look idle for centuries (expire
// deleted such busy flows, and the next segment was reset by the kernel holding the VIP).
std::uint64_t idle_ns(std::uint64_t now_ns, std::uint64_t last_seen_ns) {
  return now_ns > last_seen_ns ? now_ns - last_seen_ns : 0;
}

// CLOCK_MONOTONIC: the program stamps entries with CLOCK_MONOTONIC_COARSE
// (bpf_ktime_get_coarse_ns), the same clock at most a tick behind.
std::uint64_t monotonic_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1000000000ULL +
         static_cast<std::uint64_t>(ts.tv_nsec);
}

template <typename Map>
bool slot_in_use(const Map& slots, std::uint32_t slot) {
  return std::any_of(slots.begin(), slots.end(),
                     [slot](const auto& kv) { return kv.second == slot; });
}

// The first free slot not in `used` below `limit`.
std::optional<std::uint32_t> free_slot(const std::set<std::uint32_t>& used, std::uint32_t limit) {
  for (std::uint32_t i = 0; i < limit; ++i) {
    if (used.count(i) == 0) return i;
  }
  return std::nullopt;
}

ConnState public_state(std::uint8_t s) {
  switch (s) {
    case LVS_TCP_S_ES:
      return ConnState::kEstablished;
    case LVS_TCP_S_SS:
    case LVS_TCP_S_SR:
    case LVS_TCP_S_SA:
      return ConnState::kSynRecv;
    case LVS_TCP_S_FW:
      return ConnState::kFinWait;
    case LVS_TCP_S_TW:
      return ConnState::kTimeWait;
    case LVS_TCP_S_CL:
      return ConnState::kClose;
    case LVS_TCP_S_CW:
    case LVS_TCP_S_LA:
      return ConnState::kCloseWait;
    case LVS_TCP_S_UDP:
      return ConnState::kUdp;
    default:
      return ConnState::kNone;
  }
}

model::Counters to_counters(const lvs_counters& c) {
  return model::Counters{.conns = c.conns,
                         .failed = 0,
                         .inpkts = c.inpkts,
                         .outpkts = c.outpkts,
                         .inbytes = c.inbytes,
                         .outbytes = c.outbytes};
}

using RateKind = conn::RateEstimator::Kind;
constexpr std::array<RateKind, 5> kRateKinds = {
    RateKind::kCount, RateKind::kCount, RateKind::kCount, RateKind::kBytes, RateKind::kBytes};
constexpr std::uint64_t kRatePeriodNs = 2000000000ULL;  // spec §1.4: one period every 2 s

std::array<std::uint64_t, 5> rate_inputs(const lvs_counters& c) {
  return {c.conns, c.inpkts, c.outpkts, c.inbytes, c.outbytes};
}

// Estimators are linear: a sum of estimator values is the estimator of the summed counters.
using EstSums = std::array<std::int64_t, 5>;

EstSums est_values(const std::array<conn::RateEstimator, 5>& e) {
  return {e[0].est, e[1].est, e[2].est, e[3].est, e[4].est};
}

Rates rates_of(const EstSums& est) {
  std::array<std::uint64_t, 5> r{};
  for (std::size_t i = 0; i < r.size(); ++i) {
    r.at(i) = conn::RateEstimator{.last = 0, .est = est.at(i)}.rate(kRateKinds.at(i));
  }
  return Rates{.cps = r[0], .inpps = r[1], .outpps = r[2], .inbps = r[3], .outbps = r[4]};
}

}  // namespace

Engine::Engine(lvs_xdp* skel, bool cluster) : skel_(skel), cluster_(cluster) {}

Engine::~Engine() {
  // The mode flag must match the attachment: flags 0 means native on a driver with XDP
  // support, which would leave a generic-mode program behind.
  for (const auto& a : attached_) {
    if (bpf_xdp_detach(a.ifindex, mode_flag(a.mode), nullptr) != 0) {
      core::log().warn("XDP engine: detaching from {} failed: {}", a.name, errno_text(errno));
    }
  }
  lvs_xdp::destroy(skel_);
  // Unlinked while still held: the next lvsd makes a fresh file (attach_owned checks it locked
  // the file at the path, not this one).
  for (const Lock& l : locks_) unlink(l.path.c_str());
}

core::Result<std::unique_ptr<Engine>> Engine::load(const LoadOptions& options) {
  if (options.max_conns < kMinConns || options.max_conns > kMaxConns) {
    return core::fail(EINVAL, fmt::format("XDP engine: a connection table of {} entries is out "
                                          "of range {}..{}",
                                          options.max_conns, kMinConns, kMaxConns));
  }
  libbpf_set_print(nullptr);  // libbpf's own chatter; failures are reported below
  lvs_xdp* skel = lvs_xdp::open();
  int err = skel == nullptr ? errno : 0;
  if (skel != nullptr) {
    err = -bpf_map__set_max_entries(skel->maps.conns, options.max_conns);
    if (err == 0 && lvs_xdp::load(skel) != 0) err = errno;
    if (err != 0) {
      lvs_xdp::destroy(skel);
      skel = nullptr;
    }
  }
  if (skel == nullptr) {
    if (err == EPERM || err == EACCES) {
      return core::fail(EPERM,
                        "XDP engine: loading the BPF program was refused: run lvsd as root "
                        "or with CAP_BPF, CAP_NET_ADMIN and CAP_PERFMON");
    }
    return core::fail(err, fmt::format("XDP engine: loading the BPF program failed: {} (this "
                                       "kernel needs BPF, XDP and BTF support)",
                                       errno_text(err)));
  }
  std::unique_ptr<Engine> e(new Engine(skel, options.cluster));
  if (auto r = e->write_config(0); !r) return core::Unexpected{r.error()};
  bpf_prog_info info{};
  std::uint32_t len = sizeof(info);
  if (bpf_obj_get_info_by_fd(bpf_program__fd(skel->progs.lvs_xdp), &info, &len) == 0) {
    e->prog_id_ = info.id;
  }
  return e;
}

core::Result<void> Engine::write_config(std::uint32_t bank) {
  lvs_config cfg{};
  cfg.bank = bank;
  cfg.flags = (cluster_ ? LVS_XDP_CFG_CLUSTER : 0U) | (standby_ ? LVS_XDP_CFG_STANDBY : 0U);
  for (std::size_t i = 0; i < conn::kStateCount; ++i) {
    cfg.timeout_s[i] =
        static_cast<std::uint32_t>(timeouts_.of(static_cast<conn::ConnState>(i)).count());
  }
  const std::uint32_t zero = 0;
  if (bpf_map_update_elem(bpf_map__fd(skel_->maps.config), &zero, &cfg, BPF_ANY) != 0) {
    return map_error("the configuration", errno);
  }
  return {};
}

core::Result<void> Engine::apply(const model::ServiceTable& table) {
  // 1. Everything that can be refused is decided before a map is touched.
  std::vector<SchedSlots> slots;
  if (table.services.size() > LVS_XDP_MAX_SERVICES) {
    return core::fail(E2BIG, fmt::format("XDP engine: {} services; it holds at most {}",
                                         table.services.size(), LVS_XDP_MAX_SERVICES));
  }
  for (const model::VirtualService& vs : table.services) {
    if (auto r = check_service(vs); !r) return core::Unexpected{r.error()};
    auto s = sched_slots(vs);
    if (!s) return core::Unexpected{s.error()};
    slots.push_back(std::move(*s));
  }
  // Counter slots: kept for what stays, the lowest free ones for what is new.
  std::map<model::ServiceKey, std::uint32_t> svc_slots;
  std::map<DestId, std::uint32_t> dest_slots;
  std::set<std::uint32_t> used_svc;
  std::set<std::uint32_t> used_dest;
  for (const model::VirtualService& vs : table.services) {
    if (auto it = svc_slots_.find(vs.key); it != svc_slots_.end()) {
      svc_slots[vs.key] = it->second;
      used_svc.insert(it->second);
    }
    for (const model::RealServer& r : vs.dests) {
      if (auto it = dest_slots_.find({vs.key, r.addr}); it != dest_slots_.end()) {
        dest_slots[{vs.key, r.addr}] = it->second;
        used_dest.insert(it->second);
      }
    }
  }
  std::vector<std::uint32_t> fresh_svc;
  std::vector<std::uint32_t> fresh_dest;
  for (const model::VirtualService& vs : table.services) {
    if (svc_slots.count(vs.key) == 0) {
      const auto s = free_slot(used_svc, LVS_XDP_MAX_SERVICES);
      if (!s) return core::fail(E2BIG, "XDP engine: no free service counter slot");
      svc_slots[vs.key] = *s;
      used_svc.insert(*s);
      fresh_svc.push_back(*s);
    }
    for (const model::RealServer& r : vs.dests) {
      if (dest_slots.count({vs.key, r.addr}) != 0) continue;
      const auto s = free_slot(used_dest, LVS_XDP_DEST_SLOTS);
      if (!s) return core::fail(E2BIG, "XDP engine: no free realserver counter slot");
      dest_slots[{vs.key, r.addr}] = *s;
      used_dest.insert(*s);
      fresh_dest.push_back(*s);
    }
  }

  // 2. The unused bank: clear its old services, write the new table.
  const std::uint32_t bank = 1U - bank_;
  const int svc_fd = bpf_map__fd(skel_->maps.services);
  const int dest_fd = bpf_map__fd(skel_->maps.dests);
  const int slot_fd = bpf_map__fd(skel_->maps.sched_slots);
  const int cursor_fd = bpf_map__fd(skel_->maps.cursors);
  const int tun_fd = bpf_map__fd(skel_->maps.dest_tun);
  for (const lvs_svc_key& k : bank_keys_.at(bank)) bpf_map_delete_elem(svc_fd, &k);
  bank_keys_.at(bank).clear();
  for (std::uint32_t i = 0; i < table.services.size(); ++i) {
    const model::VirtualService& vs = table.services[i];
    const SchedSlots& sl = slots[i];
    const std::uint32_t svc_index = bank * LVS_XDP_MAX_SERVICES + i;
    lvs_svc svc{};
    svc.sched = sl.kind;
    svc.flags = sl.flags;
    svc.dest_base = svc_index * LVS_XDP_MAX_DESTS;
    svc.dest_count = static_cast<std::uint32_t>(vs.dests.size());
    svc.table_base = svc_index * LVS_XDP_TABLE_STRIDE;
    svc.table_len = static_cast<std::uint32_t>(sl.slots.size());
    svc.cursor = svc_index;
    svc.stat_slot = svc_slots.at(vs.key);
    svc.persist_timeout = vs.persistent ? std::max<std::uint32_t>(vs.timeout, 1U) : 0U;
    // IPv4: the mask as the packet's bytes; IPv6: the prefix length.
    svc.netmask = vs.key.vip.addr.is_v4() ? htonl(vs.netmask) : vs.netmask;
    for (std::uint32_t d = 0; d < vs.dests.size(); ++d) {
      const model::RealServer& r = vs.dests[d];
      lvs_dest dest{};
      wire_addr(r.addr.addr, dest.addr);
      dest.port = wire_dest_port(vs, r);
      dest.family = wire_family(r.addr.addr);
      dest.method = wire_method(r.forward);
      dest.weight = static_cast<std::uint32_t>(r.weight);
      dest.stat_slot = dest_slots.at({vs.key, r.addr});
      // The encapsulation is read per packet by the counter slot (maps.h, lvs_dest_tun).
      const lvs_dest_tun tun = wire_tun(r);
      if (bpf_map_update_elem(tun_fd, &dest.stat_slot, &tun, BPF_ANY) != 0) {
        return map_error(fmt::format("the tunnel of realserver {} of {}", r.addr.to_string(),
                                     vs.key.to_string()),
                         errno);
      }
      const std::uint32_t at = svc.dest_base + d;
      if (bpf_map_update_elem(dest_fd, &at, &dest, BPF_ANY) != 0) {
        return map_error(fmt::format("realserver {} of {}", r.addr.to_string(), vs.key.to_string()),
                         errno);
      }
    }
    for (std::uint32_t k = 0; k < sl.slots.size(); ++k) {
      const std::uint32_t at = svc.table_base + k;
      if (bpf_map_update_elem(slot_fd, &at, &sl.slots[k], BPF_ANY) != 0) {
        return map_error(fmt::format("the scheduling slots of {}", vs.key.to_string()), errno);
      }
    }
    const std::uint32_t start = carried_cursor_of(vs, sl);
    if (bpf_map_update_elem(cursor_fd, &svc.cursor, &start, BPF_ANY) != 0) {
      return map_error(fmt::format("the cursor of {}", vs.key.to_string()), errno);
    }
    const lvs_svc_key key = svc_key(vs.key, bank);
    if (bpf_map_update_elem(svc_fd, &key, &svc, BPF_ANY) != 0) {
      return map_error(fmt::format("service {}", vs.key.to_string()), errno);
    }
    bank_keys_.at(bank).push_back(key);
  }
  // New counter slots start from zero on every CPU.
  const auto ncpu = static_cast<std::size_t>(libbpf_num_possible_cpus());
  const std::vector<lvs_counters> zeros(ncpu, lvs_counters{});
  for (const std::uint32_t s : fresh_svc) {
    if (bpf_map_update_elem(bpf_map__fd(skel_->maps.svc_stats), &s, zeros.data(), BPF_ANY) != 0) {
      return map_error("service counters", errno);
    }
  }
  for (const std::uint32_t s : fresh_dest) {
    if (bpf_map_update_elem(bpf_map__fd(skel_->maps.dest_stats), &s, zeros.data(), BPF_ANY) != 0) {
      return map_error("realserver counters", errno);
    }
  }

  // A reused realserver slot starts with no load (its old flows were deleted with it).
  for (const std::uint32_t s : fresh_dest) set_load(s, lvs_dest_load{});

  // 3. The flip: one array write.
  if (auto r = write_config(bank); !r) return r;
  bank_ = bank;

  // 4. Flows of removed realservers end: their entries go.
  std::set<std::uint32_t> gone;
  for (const auto& [id, s] : dest_slots_) {
    if (dest_slots.count(id) == 0) gone.insert(s);
  }
  if (!gone.empty()) {
    for (const auto& [k, v] : raw_connections()) {
      if (gone.count(v.dest_stat) != 0) bpf_map_delete_elem(bpf_map__fd(skel_->maps.conns), &k);
    }
    for (const auto& [k, v] : raw_templates()) {
      if (gone.count(v.dest_stat) != 0) {
        bpf_map_delete_elem(bpf_map__fd(skel_->maps.templates), &k);
      }
    }
  }
  // A realserver whose method changed (-e ... -g to -m): its templates hold the old method and
  // go, so the client's next connection takes the new one; live flows keep theirs, as in IPVS.
  std::set<std::uint32_t> remethod;
  for (const model::VirtualService& vs : table.services) {
    const model::VirtualService* old = table_.find(vs.key);
    for (const model::RealServer& r : vs.dests) {
      const model::RealServer* was = old == nullptr ? nullptr : old->find_dest(r.addr);
      if (was != nullptr && was->forward != r.forward)
        remethod.insert(dest_slots.at({vs.key, r.addr}));
    }
  }
  if (!remethod.empty()) {
    for (const auto& [k, v] : raw_templates()) {
      if (remethod.count(v.dest_stat) != 0) {
        bpf_map_delete_elem(bpf_map__fd(skel_->maps.templates), &k);
      }
    }
  }
  svc_slots_ = std::move(svc_slots);
  dest_slots_ = std::move(dest_slots);
  // New direct-routing realservers: their MACs are usually known before the first client.
  const std::vector<core::IpAddress> before = route_dests();
  table_ = table;
  cycles_.clear();
  for (std::size_t i = 0; i < table.services.size(); ++i) {
    cycles_[table.services[i].key] = cycle_of(table.services[i], slots[i]);
  }
  // Rate estimators follow the counter slots: new ones start from zero like their counters.
  for (const std::uint32_t s : fresh_svc) svc_rates_[s] = Estimators{};
  for (const std::uint32_t s : fresh_dest) dest_rates_[s] = Estimators{};
  std::erase_if(svc_rates_, [this](const auto& kv) { return !slot_in_use(svc_slots_, kv.first); });
  std::erase_if(dest_rates_,
                [this](const auto& kv) { return !slot_in_use(dest_slots_, kv.first); });
  std::vector<core::IpAddress> added = route_dests();
  std::erase_if(added, [&before](const core::IpAddress& a) {
    return std::find(before.begin(), before.end(), a) != before.end();
  });
  nudge(added);
  return {};
}

// The lc/wlc loads cannot drift: the program counts (atomic adds in dest_load) as entries
// are made, change between active and inactive, or are found expired, but an entry the LRU
// evicts, or one expire() deletes while a packet finds it expired, would leave a count
// behind. So each pass recounts the live counted forward entries per realserver slot from the
// walk it makes anyway, then sets dest_released = dest_load - recount: the load the program
// reads (dest_load - dest_released) becomes the recount, and what the program adds after the
// read keeps counting on top. Only the changes racing one pass can be off, and the next pass
// recounts them; no error carries over.
std::size_t Engine::expire(std::uint64_t now_ns) {
  const int conns = bpf_map__fd(skel_->maps.conns);
  std::size_t n = 0;
  std::map<std::uint32_t, lvs_dest_load> live;
  for (const auto& [k, v] : raw_connections()) {
    if ((v.flags & LVS_XDP_CONN_REPLY) != 0 || v.state >= LVS_XDP_STATE_COUNT) continue;
    const auto timeout =
        static_cast<std::uint64_t>(timeouts_.of(static_cast<conn::ConnState>(v.state)).count());
    if (idle_ns(now_ns, v.last_seen_ns) <= timeout * 1000000000ULL) {
      if (v.counted != 0)
        ++(lvs_tcp_state_active(v.state) != 0 ? live[v.dest_stat].active
                                              : live[v.dest_stat].inactive);
      continue;
    }
    // Taken out with its value as of the deletion: a packet may have refreshed it meanwhile.
    lvs_conn gone{};
    if (bpf_map_lookup_and_delete_elem(conns, &k, &gone) != 0) continue;
    ++n;
    // Direct routing and tunnelling (no output) have no reply entry to take out.
    if ((gone.flags & LVS_XDP_CONN_NO_OUTPUT) == 0) {
      lvs_conn_key reply{};
      std::memcpy(reply.saddr, gone.nat_addr, sizeof(reply.saddr));
      std::memcpy(reply.daddr, k.saddr, sizeof(reply.daddr));
      reply.sport = gone.nat_port;
      reply.dport = k.sport;
      reply.proto = k.proto;
      reply.family = k.family;
      bpf_map_delete_elem(conns, &reply);
    }
  }
  for (const auto& [id, slot] : dest_slots_) set_load(slot, live[slot]);
  return n;
}

void Engine::set_load(std::uint32_t slot, const lvs_dest_load& load) {
  lvs_dest_load counted{};
  if (bpf_map_lookup_elem(bpf_map__fd(skel_->maps.dest_load), &slot, &counted) != 0) return;
  // Unsigned wrap-around is the arithmetic the program's difference uses.
  const lvs_dest_load released{.active = counted.active - load.active,
                               .inactive = counted.inactive - load.inactive};
  bpf_map_update_elem(bpf_map__fd(skel_->maps.dest_released), &slot, &released, BPF_ANY);
}

lvs_dest_load Engine::load_of(const model::ServiceKey& service, const core::Endpoint& dest) const {
  lvs_dest_load out{};
  const auto it = dest_slots_.find({service, dest});
  if (it == dest_slots_.end()) return out;
  lvs_dest_load counted{};
  lvs_dest_load released{};
  if (bpf_map_lookup_elem(bpf_map__fd(skel_->maps.dest_load), &it->second, &counted) != 0 ||
      bpf_map_lookup_elem(bpf_map__fd(skel_->maps.dest_released), &it->second, &released) != 0) {
    return out;
  }
  out.active = counted.active - released.active;
  out.inactive = counted.inactive - released.inactive;
  return out;
}

std::uint32_t Engine::carried_cursor_of(const model::VirtualService& vs,
                                        const SchedSlots& slots) const {
  const auto before = cycles_.find(vs.key);
  if (before == cycles_.end()) return 0;
  for (std::uint32_t j = 0; j < table_.services.size(); ++j) {
    if (table_.services[j].key != vs.key) continue;
    // The picks made so far, read from the bank in use (packets still move it: a pick racing
    // the apply may be repeated once).
    const std::uint32_t at = bank_ * LVS_XDP_MAX_SERVICES + j;
    std::uint32_t picks = 0;
    if (bpf_map_lookup_elem(bpf_map__fd(skel_->maps.cursors), &at, &picks) != 0) return 0;
    return carried_cursor(before->second, picks, cycle_of(vs, slots));
  }
  return 0;
}

lvs_counters Engine::summed(const bpf_map* map, std::uint32_t slot) const {
  const auto ncpu = static_cast<std::size_t>(libbpf_num_possible_cpus());
  std::vector<lvs_counters> per_cpu(ncpu);
  lvs_counters total{};
  if (bpf_map_lookup_elem(bpf_map__fd(map), &slot, per_cpu.data()) != 0) return total;
  for (const lvs_counters& c : per_cpu) {
    total.conns += c.conns;
    total.inpkts += c.inpkts;
    total.outpkts += c.outpkts;
    total.inbytes += c.inbytes;
    total.outbytes += c.outbytes;
  }
  return total;
}

void Engine::estimate_rates(std::uint64_t now_ns) {
  if (!next_period_ns_) {
    next_period_ns_ = now_ns + kRatePeriodNs;
    return;
  }
  if (now_ns < *next_period_ns_) return;
  // A late timer makes one longer period (as a late kernel timer would), not several.
  *next_period_ns_ += kRatePeriodNs;
  if (*next_period_ns_ <= now_ns) next_period_ns_ = now_ns + kRatePeriodNs;
  const auto tick = [this](const bpf_map* map, std::uint32_t slot, Estimators& est) {
    const auto in = rate_inputs(summed(map, slot));
    for (std::size_t i = 0; i < est.size(); ++i) est.at(i).tick(in.at(i), kRateKinds.at(i));
  };
  for (const auto& [key, slot] : svc_slots_) tick(skel_->maps.svc_stats, slot, svc_rates_[slot]);
  for (const auto& [id, slot] : dest_slots_) {
    tick(skel_->maps.dest_stats, slot, dest_rates_[slot]);
  }
}

void Engine::zero_rates(const std::optional<model::ServiceKey>& only) {
  const auto restart = [this](const bpf_map* map, std::uint32_t slot, Estimators& est) {
    const auto in = rate_inputs(summed(map, slot));
    for (std::size_t i = 0; i < est.size(); ++i) {
      est.at(i) = conn::RateEstimator{.last = in.at(i), .est = 0};
    }
  };
  for (const auto& [key, slot] : svc_slots_) {
    if (!only || key == *only) restart(skel_->maps.svc_stats, slot, svc_rates_[slot]);
  }
  for (const auto& [id, slot] : dest_slots_) {
    if (!only || id.first == *only) restart(skel_->maps.dest_stats, slot, dest_rates_[slot]);
  }
}

void Engine::set_timeouts(const IdleTimeouts& t) {
  timeouts_.set(t.tcp, t.tcpfin, t.udp);
  if (auto r = write_config(bank_); !r) core::log().warn("{}", r.error().message);
}

std::vector<std::pair<lvs_conn_key, lvs_conn>> Engine::raw_connections() const {
  std::vector<std::pair<lvs_conn_key, lvs_conn>> out;
  const int fd = bpf_map__fd(skel_->maps.conns);
  lvs_conn_key key{};
  lvs_conn_key next{};
  const void* prev = nullptr;
  // Bounded: an LRU map never holds more than its size.
  for (std::uint32_t n = 0; n < LVS_XDP_MAX_CONNS; ++n) {
    if (bpf_map_get_next_key(fd, prev, &next) != 0) break;
    lvs_conn v{};
    if (bpf_map_lookup_elem(fd, &next, &v) == 0) out.emplace_back(next, v);
    key = next;
    prev = &key;
  }
  return out;
}

std::vector<std::pair<lvs_tpl_key, lvs_tpl>> Engine::raw_templates() const {
  std::vector<std::pair<lvs_tpl_key, lvs_tpl>> out;
  const int fd = bpf_map__fd(skel_->maps.templates);
  lvs_tpl_key key{};
  lvs_tpl_key next{};
  const void* prev = nullptr;
  for (std::uint32_t n = 0; n < LVS_XDP_MAX_TEMPLATES; ++n) {
    if (bpf_map_get_next_key(fd, prev, &next) != 0) break;
    lvs_tpl v{};
    if (bpf_map_lookup_elem(fd, &next, &v) == 0) out.emplace_back(next, v);
    key = next;
    prev = &key;
  }
  return out;
}

const model::VirtualService* Engine::service_at(std::uint32_t svc_stat) const {
  for (const model::VirtualService& vs : table_.services) {
    if (svc_slots_.at(vs.key) == svc_stat) return &vs;
  }
  return nullptr;
}

core::Result<void> Engine::put_raw_connection(const lvs_conn_key& key, const lvs_conn& value) {
  if (bpf_map_update_elem(bpf_map__fd(skel_->maps.conns), &key, &value, BPF_ANY) != 0) {
    return map_error("a connection entry", errno);
  }
  return {};
}

lvs_global Engine::global() const {
  const auto ncpu = static_cast<std::size_t>(libbpf_num_possible_cpus());
  std::vector<lvs_global> per_cpu(ncpu);
  const std::uint32_t zero = 0;
  lvs_global sum{};
  if (bpf_map_lookup_elem(bpf_map__fd(skel_->maps.global_stats), &zero, per_cpu.data()) != 0) {
    return sum;
  }
  for (const lvs_global& g : per_cpu) {
    sum.refused += g.refused;
    sum.passed += g.passed;
    sum.tun_dropped += g.tun_dropped;
    sum.unresolved += g.unresolved;
    sum.unrouted += g.unrouted;
    sum.midstream_dropped += g.midstream_dropped;
    sum.standby_passed += g.standby_passed;
  }
  return sum;
}

core::Result<void> Engine::put_raw_template(const lvs_tpl_key& key, const lvs_tpl& value) {
  if (bpf_map_update_elem(bpf_map__fd(skel_->maps.templates), &key, &value, BPF_ANY) != 0) {
    return map_error("a persistence template", errno);
  }
  return {};
}

std::uint64_t Engine::refused() const { return global().refused; }
std::uint64_t Engine::passed() const { return global().passed; }
std::uint64_t Engine::tun_dropped() const { return global().tun_dropped; }
std::uint64_t Engine::unresolved() const { return global().unresolved; }
std::uint64_t Engine::unrouted() const { return global().unrouted; }
std::uint64_t Engine::midstream_dropped() const { return global().midstream_dropped; }
std::uint64_t Engine::standby_passed() const { return global().standby_passed; }

core::Result<void> Engine::set_standby(bool standby) {
  const bool was = standby_;
  standby_ = standby;
  if (auto r = write_config(bank_); !r) {
    standby_ = was;
    return r;
  }
  return {};
}

std::vector<core::IpAddress> Engine::route_dests() const {
  std::vector<core::IpAddress> out;
  for (const model::VirtualService& vs : table_.services) {
    for (const model::RealServer& r : vs.dests) {
      if (r.forward == model::ForwardMethod::kRoute &&
          std::find(out.begin(), out.end(), r.addr.addr) == out.end()) {
        out.push_back(r.addr.addr);
      }
    }
  }
  return out;
}

std::size_t Engine::nudge(const std::vector<core::IpAddress>& addrs) {
  for (const core::IpAddress& a : addrs) {
    if (auto r = nudge_neighbour(a); !r) core::log().debug("XDP engine: {}", r.error().message);
  }
  return addrs.size();
}

std::size_t Engine::resolve_neighbours() {
  const std::uint64_t now = unresolved();
  if (now == unresolved_seen_) return 0;
  unresolved_seen_ = now;
  return nudge(route_dests());
}

Stats Engine::stats() const {
  const auto ncpu = static_cast<std::size_t>(libbpf_num_possible_cpus());
  std::vector<lvs_counters> per_cpu(ncpu);
  auto sum = [&](const bpf_map* map, std::uint32_t slot) {
    lvs_counters total{};
    if (bpf_map_lookup_elem(bpf_map__fd(map), &slot, per_cpu.data()) != 0) return total;
    for (const lvs_counters& c : per_cpu) {
      total.conns += c.conns;
      total.inpkts += c.inpkts;
      total.outpkts += c.outpkts;
      total.inbytes += c.inbytes;
      total.outbytes += c.outbytes;
    }
    return total;
  };
  // Active and inactive per realserver: the live forward entries by state.
  std::map<std::uint32_t, std::pair<std::uint32_t, std::uint32_t>> load;
  const std::uint64_t now = monotonic_ns();
  for (const auto& [k, v] : raw_connections()) {
    if ((v.flags & LVS_XDP_CONN_REPLY) != 0 || v.state >= LVS_XDP_STATE_COUNT) continue;
    const auto timeout =
        static_cast<std::uint64_t>(timeouts_.of(static_cast<conn::ConnState>(v.state)).count());
    if (idle_ns(now, v.last_seen_ns) > timeout * 1000000000ULL) continue;
    auto& [active, inactive] = load[v.dest_stat];
    ++(lvs_tcp_state_active(v.state) != 0 ? active : inactive);
  }
  // Persistence templates per realserver: the live ones.
  std::map<std::uint32_t, std::uint32_t> persist;
  for (const auto& [k, v] : raw_templates()) {
    const model::VirtualService* vs = service_at(k.svc_stat);
    if (vs == nullptr || !vs->persistent) continue;
    if (idle_ns(now, v.last_seen_ns) > std::uint64_t{vs->timeout} * 1000000000ULL) continue;
    ++persist[v.dest_stat];
  }
  Stats out;
  EstSums total_est{};
  out.refused = refused();
  for (const model::VirtualService& vs : table_.services) {
    ServiceStats ss;
    ss.key = vs.key;
    for (const model::RealServer& r : vs.dests) {
      DestStats ds;
      ds.addr = r.addr;
      const std::uint32_t slot = dest_slots_.at({vs.key, r.addr});
      ds.counters = to_counters(sum(skel_->maps.dest_stats, slot));
      if (auto it = load.find(slot); it != load.end()) {
        ds.active = it->second.first;
        ds.inactive = it->second.second;
      }
      if (auto it = persist.find(slot); it != persist.end()) ds.persistconns = it->second;
      if (auto it = dest_rates_.find(slot); it != dest_rates_.end()) {
        ds.rates = rates_of(est_values(it->second));
      }
      ss.dests.push_back(ds);
    }
    ss.counters = to_counters(sum(skel_->maps.svc_stats, svc_slots_.at(vs.key)));
    if (auto it = svc_rates_.find(svc_slots_.at(vs.key)); it != svc_rates_.end()) {
      const EstSums e = est_values(it->second);
      ss.rates = rates_of(e);
      for (std::size_t i = 0; i < total_est.size(); ++i) total_est.at(i) += e.at(i);
    }
    out.total += ss.counters;
    out.services.push_back(std::move(ss));
  }
  out.rates = rates_of(total_est);
  return out;
}

std::vector<ConnEntry> Engine::connections() const {
  std::map<std::uint32_t, std::pair<model::Protocol, core::Endpoint>> dest_by_slot;
  for (const model::VirtualService& vs : table_.services) {
    for (const model::RealServer& r : vs.dests) {
      dest_by_slot[dest_slots_.at({vs.key, r.addr})] = {vs.key.protocol, r.addr};
    }
  }
  std::vector<ConnEntry> out;
  const std::uint64_t now = monotonic_ns();
  for (const auto& [k, v] : raw_connections()) {
    if ((v.flags & LVS_XDP_CONN_REPLY) != 0 || v.state >= LVS_XDP_STATE_COUNT) continue;
    const auto timeout_ns =
        static_cast<std::uint64_t>(timeouts_.of(static_cast<conn::ConnState>(v.state)).count()) *
        1000000000ULL;
    const std::uint64_t idle = idle_ns(now, v.last_seen_ns);
    if (idle > timeout_ns) continue;
    ConnEntry e;
    e.protocol = k.proto == 17 ? model::Protocol::kUdp : model::Protocol::kTcp;
    e.state = public_state(v.state);
    e.client = {.addr = from_wire(k.family, k.saddr), .port = host_port(k.sport)};
    e.virt = {.addr = from_wire(k.family, k.daddr), .port = host_port(k.dport)};
    e.dest = {.addr = from_wire(k.family, v.nat_addr), .port = host_port(v.nat_port)};
    e.expire_seconds =
        static_cast<std::uint32_t>((timeout_ns - idle + 999999999ULL) / 1000000000ULL);
    out.push_back(e);
  }
  for (const auto& [k, v] : raw_templates()) {
    const model::VirtualService* vs = service_at(k.svc_stat);
    if (vs == nullptr || !vs->persistent) continue;
    const std::uint64_t timeout_ns = std::uint64_t{vs->timeout} * 1000000000ULL;
    const std::uint64_t idle = idle_ns(now, v.last_seen_ns);
    if (idle > timeout_ns) continue;
    ConnEntry e;
    e.protocol = vs->key.protocol;
    e.state = ConnState::kNone;
    e.is_template = true;
    e.client = {.addr = from_wire(k.family, k.snet), .port = 0};
    e.virt = vs->key.vip;
    e.dest = {.addr = from_wire(k.family, v.dest_addr), .port = host_port(v.dest_port)};
    e.expire_seconds =
        static_cast<std::uint32_t>((timeout_ns - idle + 999999999ULL) / 1000000000ULL);
    out.push_back(e);
  }
  return out;
}

core::Result<AttachMode> Engine::attach(std::string_view ifname, AttachPolicy policy) {
  const std::string name(ifname);
  const unsigned int ifindex = if_nametoindex(name.c_str());
  if (ifindex == 0) {
    return core::fail(ENODEV, fmt::format("XDP engine: interface '{}' does not exist", name));
  }
  const int prog = bpf_program__fd(skel_->progs.lvs_xdp);
  const int idx = static_cast<int>(ifindex);
  const auto refused = [&name](int err) -> std::optional<core::Error> {
    if (err == EPERM || err == EACCES) {
      return core::Error{.code = EPERM,
                         .message = fmt::format("XDP engine: attaching to {} was refused: run "
                                                "lvsd as root or with CAP_NET_ADMIN and CAP_BPF",
                                                name)};
    }
    if (err == EBUSY || err == EEXIST) {
      return core::Error{.code = EBUSY,
                         .message = fmt::format("XDP engine: {} already has an XDP program; "
                                                "detach it first (ip link set dev {} xdp off)",
                                                name, name)};
    }
    return std::nullopt;
  };
  AttachMode mode = AttachMode::kNative;
  int native_err = 0;
  if (policy != AttachPolicy::kGeneric) {
    if (bpf_xdp_attach(idx, prog, XDP_FLAGS_DRV_MODE | XDP_FLAGS_UPDATE_IF_NOEXIST, nullptr) == 0) {
      attached_.push_back(Attached{.ifindex = idx, .name = name, .mode = mode});
      return mode;
    }
    native_err = errno;
    if (auto e = refused(native_err)) return core::Unexpected{*e};
    if (policy == AttachPolicy::kNative) {
      return core::fail(native_err, fmt::format("XDP engine: {} has no native XDP ({}); use "
                                                "generic mode (--xdp-mode generic or auto)",
                                                name, errno_text(native_err)));
    }
  }
  if (bpf_xdp_attach(idx, prog, XDP_FLAGS_SKB_MODE | XDP_FLAGS_UPDATE_IF_NOEXIST, nullptr) != 0) {
    const int err = errno;
    if (auto e = refused(err)) return core::Unexpected{*e};
    if (policy == AttachPolicy::kGeneric) {
      return core::fail(err, fmt::format("XDP engine: attaching to {} failed in generic mode ({})",
                                         name, errno_text(err)));
    }
    return core::fail(err, fmt::format("XDP engine: attaching to {} failed in native mode ({}) "
                                       "and in generic mode ({})",
                                       name, errno_text(native_err), errno_text(err)));
  }
  if (policy == AttachPolicy::kAuto) {
    core::log().warn("XDP engine: {} has no native XDP ({}); attached in generic mode", name,
                     errno_text(native_err));
  }
  mode = AttachMode::kGeneric;
  attached_.push_back(Attached{.ifindex = idx, .name = name, .mode = mode});
  return mode;
}

namespace {

// The name of the BPF program with kernel id `id`, or nullopt.
std::optional<std::string> program_name(std::uint32_t id) {
  const core::Fd fd(bpf_prog_get_fd_by_id(id));
  if (fd.get() < 0) return std::nullopt;
  bpf_prog_info info{};
  std::uint32_t len = sizeof(info);
  if (bpf_obj_get_info_by_fd(fd.get(), &info, &len) != 0) return std::nullopt;
  return std::string(info.name);
}

// The name of the XDP program attached to `ifindex` (and its id), or nullopt.
std::optional<std::pair<std::string, std::uint32_t>> attached_program(int ifindex) {
  std::uint32_t id = 0;
  if (bpf_xdp_query_id(ifindex, 0, &id) != 0 || id == 0) return std::nullopt;
  auto name = program_name(id);
  if (!name) return std::nullopt;
  return std::pair{std::move(*name), id};
}

}  // namespace

core::Result<AttachMode> Engine::attach_owned(std::string_view ifname, AttachPolicy policy,
                                              const std::string& lock_dir) {
  const std::string name(ifname);
  const unsigned int ifindex = if_nametoindex(name.c_str());
  if (ifindex == 0) return attach(ifname, policy);  // its message names the interface
  struct stat ns {};
  if (stat("/proc/self/ns/net", &ns) != 0) {
    return core::fail(errno, fmt::format("XDP engine: reading this network namespace's identity "
                                         "(/proc/self/ns/net) failed: {}",
                                         errno_text(errno)));
  }
  std::error_code ec;
  std::filesystem::create_directories(lock_dir, ec);
  const std::string path = fmt::format("{}/{}-{}.lock", lock_dir, ns.st_ino, ifindex);
  // A stopping lvsd unlinks its lock file: a lock won on an unlinked file is no claim, so
  // the file must still be the one at `path` (bounded retries).
  core::Fd lock;
  for (int attempt = 0; attempt < 3 && lock.get() < 0; ++attempt) {
    core::Fd fd(open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
    if (fd.get() < 0) {
      return core::fail(errno, fmt::format("XDP engine: creating the lock file {} failed: {} "
                                           "(lvsd needs a writable {})",
                                           path, errno_text(errno), lock_dir));
    }
    if (flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
      std::array<char, 32> pid{};
      const ssize_t n = pread(fd.get(), pid.data(), pid.size() - 1, 0);
      return core::fail(EBUSY, fmt::format("XDP engine: {} is in use by another lvsd (pid {}, "
                                           "lock {}); stop that one first",
                                           name, n > 0 ? std::string(pid.data()) : "?", path));
    }
    struct stat held {};
    struct stat now {};
    if (fstat(fd.get(), &held) == 0 && stat(path.c_str(), &now) == 0 && held.st_ino == now.st_ino &&
        held.st_dev == now.st_dev) {
      lock = std::move(fd);
    }
  }
  if (lock.get() < 0) {
    return core::fail(EAGAIN, fmt::format("XDP engine: the lock file {} of {} kept being "
                                          "replaced; try again",
                                          path, name));
  }
  const std::string me = std::to_string(getpid());
  if (ftruncate(lock.get(), 0) != 0 || pwrite(lock.get(), me.data(), me.size(), 0) < 0) {
    core::log().warn("XDP engine: writing our pid into {} failed: {}", path, errno_text(errno));
  }
  auto mode = attach(ifname, policy);
  if (!mode && mode.error().code == EBUSY) {
    const int idx = static_cast<int>(ifindex);
    const auto old = attached_program(idx);
    if (!old || old->first != "lvs_xdp") {
      return core::fail(EBUSY, fmt::format("XDP engine: {} already has an XDP program ({}) that "
                                           "is not lvsd's; detach it first (ip link set dev {} "
                                           "xdp off)",
                                           name,
                                           old ? fmt::format("{}, id {}", old->first, old->second)
                                               : std::string("unknown"),
                                           name));
    }
    // Nobody holds the lock: the lvsd that attached it is gone. Detach exactly that program
    // (in whichever mode it is), then attach ours.
    const core::Fd old_fd(bpf_prog_get_fd_by_id(old->second));
    bpf_xdp_attach_opts opts{};
    opts.sz = sizeof(opts);
    opts.old_prog_fd = old_fd.get();
    for (const std::uint32_t flags : {XDP_FLAGS_DRV_MODE, XDP_FLAGS_SKB_MODE}) {
      (void)bpf_xdp_detach(idx, flags | XDP_FLAGS_REPLACE, &opts);
    }
    core::log().warn(
        "XDP engine: {} had the XDP program of an lvsd that is gone (id {}); "
        "replacing it",
        name, old->second);
    mode = attach(ifname, policy);
  }
  if (mode) locks_.push_back(Lock{.path = path, .fd = std::move(lock)});
  return mode;
}

XdpHook Engine::hook(const Attached& a) const {
  XdpHook h{.ifname = a.name, .ours = prog_id_};
  std::array<char, IF_NAMESIZE> name{};
  bpf_xdp_query_opts q{};
  q.sz = sizeof(q);
  if (if_indextoname(static_cast<unsigned int>(a.ifindex), name.data()) == nullptr ||
      bpf_xdp_query(a.ifindex, 0, &q) != 0) {
    h.exists = false;
    return h;
  }
  // The program in our mode; else whatever another tool attached in another mode.
  const std::uint32_t in_mode = a.mode == AttachMode::kGeneric ? q.skb_prog_id : q.drv_prog_id;
  for (const std::uint32_t id : {in_mode, q.drv_prog_id, q.skb_prog_id, q.hw_prog_id}) {
    if (id != 0) {
      h.found = id;
      break;
    }
  }
  if (h.found != 0 && h.found != h.ours) h.found_name = program_name(h.found).value_or("");
  return h;
}

std::vector<EngineHealth> Engine::health(core::TimePoint /*now*/) const {
  if (attached_.empty()) return {};
  EngineHealth h{.engine = "xdp"};
  for (const Attached& a : attached_) {
    if (auto p = hook_problem(hook(a))) h.problems.push_back(std::move(*p));
  }
  return {h};
}

std::size_t Engine::reattach() {
  std::size_t n = 0;
  const int prog = bpf_program__fd(skel_->progs.lvs_xdp);
  for (const Attached& a : attached_) {
    const XdpHook h = hook(a);
    if (!h.exists || h.found != 0) continue;  // gone, ours, or another tool's: health() says
    if (bpf_xdp_attach(a.ifindex, prog, mode_flag(a.mode) | XDP_FLAGS_UPDATE_IF_NOEXIST, nullptr) !=
        0) {
      core::log().debug("XDP engine: attaching to {} again failed: {}", a.name, errno_text(errno));
      continue;
    }
    core::log().warn(
        "XDP engine: {} lost lvsd's XDP program (detached from outside lvsd); "
        "attached it again in {} mode",
        a.name, a.mode == AttachMode::kGeneric ? "generic" : "native");
    ++n;
  }
  return n;
}

core::Result<TestRun> Engine::test_run(std::span<const std::uint8_t> frame) const {
  return test_run(frame, 0);
}

core::Result<TestRun> Engine::test_run(std::span<const std::uint8_t> frame,
                                       std::uint32_t ingress_ifindex) const {
  TestRun out;
  // The kernel wants a context that covers exactly the frame (no metadata before it).
  xdp_md ctx{};
  ctx.data_end = static_cast<std::uint32_t>(frame.size());
  ctx.ingress_ifindex = ingress_ifindex;
  out.frame.resize(frame.size() + 256);
  // What LIBBPF_OPTS does, without its C99 compound literal (-Wpedantic under clang++).
  bpf_test_run_opts opts{};
  opts.sz = sizeof(opts);
  opts.data_in = frame.data();
  opts.data_size_in = static_cast<std::uint32_t>(frame.size());
  opts.data_out = out.frame.data();
  opts.data_size_out = static_cast<std::uint32_t>(out.frame.size());
  opts.repeat = 1;
  if (ingress_ifindex != 0) {
    opts.ctx_in = &ctx;
    opts.ctx_size_in = sizeof(ctx);
  }
  if (bpf_prog_test_run_opts(bpf_program__fd(skel_->progs.lvs_xdp), &opts) != 0) {
    return core::fail(errno, fmt::format("XDP engine: test run failed: {}", errno_text(errno)));
  }
  out.verdict = opts.retval;
  out.frame.resize(opts.data_size_out);
  return out;
}

}  // namespace lvs::dp::xdp
