// The packet engine's side of connection sync (loader.h sync_entries / sync_import): the maps'
// entries to and from sync::Entry values. Counter slots are local to each director, so entries
// travel as addresses and are re-keyed here against this director's own table.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fmt/format.h>

#include <cerrno>
#include <cstring>

#include "dp/xdp/bpf/tcp_state.h"
#include "dp/xdp/loader.h"
#include "dp/xdp/plan.h"
#include "lvs_xdp.skel.h"

namespace lvs::dp::xdp {
namespace {

constexpr std::uint64_t kNs = 1000000000ULL;

std::uint32_t seconds_left(std::uint64_t timeout_ns, std::uint64_t idle_ns) {
  return static_cast<std::uint32_t>((timeout_ns - idle_ns + kNs - 1) / kNs);
}

// last_seen_ns such that the entry expires `left` seconds after `now_ns` given `timeout_s`.
std::uint64_t last_seen_for(std::uint64_t now_ns, std::uint64_t timeout_s, std::uint32_t left) {
  const std::uint64_t idle_s = timeout_s > left ? timeout_s - left : 0;
  return now_ns > idle_s * kNs ? now_ns - idle_s * kNs : 0;
}

core::Unexpected not_synced(const sync::Entry& e, std::string_view why) {
  return core::fail(ENOENT,
                    fmt::format("sync: {} {} -> {} -> {}: {}",
                                e.kind == sync::EntryKind::kTemplate ? "template" : "flow",
                                e.client.to_string(), e.vip.to_string(), e.dest.to_string(), why));
}

}  // namespace

std::vector<sync::Entry> Engine::sync_entries(std::uint64_t now_ns) const {
  std::vector<sync::Entry> out;
  std::map<SyncKey, std::uint64_t> still_imported;
  // An entry as received and untouched since stays out (and stays remembered).
  const auto received_only = [&](const sync::Entry& e, std::uint64_t last_seen_ns) {
    const SyncKey key{e.kind, e.protocol, e.client, e.vip};
    const auto it = imported_.find(key);
    if (it == imported_.end() || it->second != last_seen_ns) return false;
    still_imported.emplace(key, last_seen_ns);
    return true;
  };
  for (const auto& [k, v] : raw_connections()) {
    if ((v.flags & LVS_XDP_CONN_REPLY) != 0 || v.state >= LVS_XDP_STATE_COUNT) continue;
    const std::uint64_t timeout_ns =
        static_cast<std::uint64_t>(timeouts_.of(static_cast<conn::ConnState>(v.state)).count()) *
        kNs;
    const std::uint64_t idle = now_ns > v.last_seen_ns ? now_ns - v.last_seen_ns : 0;
    if (idle > timeout_ns) continue;
    sync::Entry e{.kind = sync::EntryKind::kConnection,
                  .protocol = k.proto,
                  .state = v.state,
                  .persistent = (v.flags & LVS_XDP_CONN_PERSIST) != 0,
                  .client = {.addr = from_wire(k.family, k.saddr), .port = host_port(k.sport)},
                  .vip = {.addr = from_wire(k.family, k.daddr), .port = host_port(k.dport)},
                  .dest = {.addr = from_wire(k.family, v.nat_addr), .port = host_port(v.nat_port)},
                  .netmask = v.netmask,
                  .timeout = seconds_left(timeout_ns, idle)};
    if (!received_only(e, v.last_seen_ns)) out.push_back(e);
  }
  for (const auto& [k, v] : raw_templates()) {
    const model::VirtualService* vs = service_at(k.svc_stat);
    if (vs == nullptr || !vs->persistent || vs->key.is_fwmark()) continue;
    const std::uint64_t timeout_ns = std::uint64_t{vs->timeout} * kNs;
    const std::uint64_t idle = now_ns > v.last_seen_ns ? now_ns - v.last_seen_ns : 0;
    if (idle > timeout_ns) continue;
    sync::Entry e{
        .kind = sync::EntryKind::kTemplate,
        .protocol = static_cast<std::uint8_t>(vs->key.protocol),
        .state = 0,
        .persistent = true,
        .client = {.addr = from_wire(k.family, k.snet), .port = 0},
        .vip = vs->key.vip,
        .dest = {.addr = from_wire(k.family, v.dest_addr), .port = host_port(v.dest_port)},
        .netmask = 0,
        .timeout = seconds_left(timeout_ns, idle)};
    if (!received_only(e, v.last_seen_ns)) out.push_back(e);
  }
  imported_ = std::move(still_imported);
  return out;
}

core::Result<void> Engine::sync_import(const sync::Entry& e, std::uint64_t now_ns) {
  if (e.client.addr.family() != e.vip.addr.family() ||
      e.vip.addr.family() != e.dest.addr.family()) {
    return not_synced(e, "its addresses mix IPv4 and IPv6");
  }
  const auto protocol = static_cast<model::Protocol>(e.protocol);
  const model::ServiceKey key = model::ServiceKey::address(protocol, e.vip);
  const model::VirtualService* vs = nullptr;
  for (const model::VirtualService& s : table_.services) {
    if (s.key == key) vs = &s;
  }
  if (vs == nullptr) return not_synced(e, "this director has no such service");
  // The flow's realserver as this director has it; a direct-routing flow carries the service
  // port, whatever port the realserver was given (wire_dest_port).
  const model::RealServer* real = vs->find_dest(e.dest);
  for (const model::RealServer& r : vs->dests) {
    if (real == nullptr && r.forward == model::ForwardMethod::kRoute && r.addr.addr == e.dest.addr)
      real = &r;
  }
  if (real == nullptr) return not_synced(e, "this director has no such realserver");
  const auto dest = dest_slots_.find({key, real->addr});
  if (dest == dest_slots_.end()) return not_synced(e, "this director has no such realserver");
  const std::uint8_t method = wire_method(real->forward);
  // Direct routing and tunnelling: the replies bypass the director, no reply entry.
  const bool no_output = method == LVS_XDP_ROUTE || method == LVS_XDP_TUNNEL;
  const std::uint32_t svc_slot = svc_slots_.at(key);
  const std::uint8_t family = wire_family(e.vip.addr);

  if (e.kind == sync::EntryKind::kTemplate) {
    lvs_tpl_key tk{};
    tk.svc_stat = svc_slot;
    wire_addr(e.client.addr, tk.snet);
    tk.family = family;
    lvs_tpl tv{};
    tv.last_seen_ns = last_seen_for(now_ns, vs->timeout, e.timeout);
    wire_addr(e.dest.addr, tv.dest_addr);
    tv.dest_port = wire_port(e.dest.port);
    tv.method = method;
    tv.dest_stat = dest->second;
    if (auto r = put_raw_template(tk, tv); !r) return r;
    imported_[SyncKey{e.kind, e.protocol, e.client, e.vip}] = tv.last_seen_ns;
    return {};
  }
  if (e.state >= LVS_XDP_STATE_COUNT)
    return not_synced(e, fmt::format("unknown state {}", e.state));

  lvs_conn_key fk{};
  wire_addr(e.client.addr, fk.saddr);
  wire_addr(e.vip.addr, fk.daddr);
  fk.sport = wire_port(e.client.port);
  fk.dport = wire_port(e.vip.port);
  fk.proto = e.protocol;
  fk.family = family;
  lvs_conn fwd{};
  const auto timeout_s =
      static_cast<std::uint64_t>(timeouts_.of(static_cast<conn::ConnState>(e.state)).count());
  fwd.last_seen_ns = last_seen_for(now_ns, timeout_s, e.timeout);
  wire_addr(e.dest.addr, fwd.nat_addr);
  fwd.nat_port = wire_port(e.dest.port);
  fwd.state = e.state;
  fwd.flags =
      (e.persistent ? LVS_XDP_CONN_PERSIST : 0U) | (no_output ? LVS_XDP_CONN_NO_OUTPUT : 0U);
  fwd.method = method;
  fwd.svc_stat = svc_slot;
  fwd.dest_stat = dest->second;
  fwd.counted = 1;
  fwd.netmask = e.netmask;

  lvs_conn_key rk{};
  wire_addr(e.dest.addr, rk.saddr);
  wire_addr(e.client.addr, rk.daddr);
  rk.sport = fwd.nat_port;
  rk.dport = fk.sport;
  rk.proto = e.protocol;
  rk.family = family;
  lvs_conn rev{};
  rev.last_seen_ns = fwd.last_seen_ns;
  wire_addr(e.vip.addr, rev.nat_addr);
  rev.nat_port = fk.dport;
  rev.flags = LVS_XDP_CONN_REPLY;
  rev.svc_stat = svc_slot;
  rev.dest_stat = dest->second;

  // The realserver load lc/wlc read is dest_load - dest_released. User space is the only
  // writer of dest_released, so the flow is counted by taking one off it (unsigned arithmetic
  // wraps back when expire() later releases it), and an entry it replaces is released first.
  const int conns = bpf_map__fd(skel_->maps.conns);
  const int released = bpf_map__fd(skel_->maps.dest_released);
  const auto adjust = [released](std::uint32_t slot, std::uint8_t state, std::uint32_t delta) {
    lvs_dest_load r{};
    if (bpf_map_lookup_elem(released, &slot, &r) != 0) return;
    (lvs_tcp_state_active(state) != 0 ? r.active : r.inactive) += delta;
    bpf_map_update_elem(released, &slot, &r, BPF_ANY);
  };
  lvs_conn old{};
  const bool existed = bpf_map_lookup_elem(conns, &fk, &old) == 0;
  if (!no_output) {
    if (auto r = put_raw_connection(rk, rev); !r) return r;
  }
  if (auto r = put_raw_connection(fk, fwd); !r) return r;
  if (existed && old.counted != 0) adjust(old.dest_stat, old.state, 1);
  adjust(fwd.dest_stat, fwd.state, static_cast<std::uint32_t>(-1));
  imported_[SyncKey{e.kind, e.protocol, e.client, e.vip}] = fwd.last_seen_ns;
  return {};
}

}  // namespace lvs::dp::xdp
