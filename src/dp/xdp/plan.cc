#include "dp/xdp/plan.h"

#include <arpa/inet.h>
#include <fmt/format.h>

#include <array>
#include <cstring>
#include <deque>
#include <numeric>
#include <optional>

#include "model/dest_load.h"
#include "sched/hash.h"
#include "sched/registry.h"

namespace lvs::dp::xdp {

namespace {

core::Unexpected unsupported(const model::VirtualService& vs, std::string_view what) {
  return core::fail(EOPNOTSUPP,
                    fmt::format("service {}: {} is not supported by the XDP engine yet; serve it "
                                "with the user-space engine",
                                vs.key.to_string(), what));
}

// The scheduler's view of the list: the loads are all zero (apply() runs on a change of the
// table, and these schedulers only read weights), none is overloaded.
struct SchedView {
  std::deque<model::DestLoad> loads{};
  std::vector<sched::Dest> dests{};

  explicit SchedView(const model::VirtualService& vs) {
    for (const model::RealServer& r : vs.dests) {
      loads.emplace_back();
      dests.push_back(sched::Dest{
          .addr = r.addr, .weight = r.weight, .last_weight = r.last_weight, .load = &loads.back()});
    }
  }
};

std::uint32_t slot_of(std::optional<std::size_t> pick) {
  return pick ? static_cast<std::uint32_t>(*pick) : LVS_XDP_NO_DEST;
}

// One cycle of rr/wrr picks from a freshly built scheduler, checked to repeat.
core::Result<std::vector<std::uint32_t>> cycle(const model::VirtualService& vs, sched::Scheduler& s,
                                               const SchedView& view) {
  std::uint64_t len = 0;
  std::uint32_t gcd = 0;
  for (const model::RealServer& r : vs.dests) {
    if (r.weight > 0) gcd = std::gcd(gcd, static_cast<std::uint32_t>(r.weight));
  }
  for (const model::RealServer& r : vs.dests) {
    if (r.weight <= 0) continue;
    len += vs.scheduler == "rr" ? 1U : static_cast<std::uint32_t>(r.weight) / gcd;
  }
  if (len > LVS_XDP_TABLE_STRIDE) {
    return core::fail(E2BIG, fmt::format("service {}: the wrr weights give a cycle of {} picks; "
                                         "the XDP engine holds at most {}: use smaller weights "
                                         "in the same ratios",
                                         vs.key.to_string(), len, LVS_XDP_TABLE_STRIDE));
  }
  std::vector<std::uint32_t> out;
  const sched::PickInput in{.dests = view.dests, .flow = {}, .flags = vs.sched_flags, .now = {}};
  for (std::uint64_t i = 0; i < 2 * len; ++i) {
    const std::uint32_t picked = slot_of(s.pick(in));
    if (i < len) {
      out.push_back(picked);
    } else if (out[i - len] != picked) {
      return core::fail(EINVAL, fmt::format("service {}: {} did not repeat after {} picks "
                                            "(an engine bug: please report it)",
                                            vs.key.to_string(), vs.scheduler, len));
    }
  }
  return out;
}

// The 256 buckets: bucket b is asked with an address whose hash lands in b.
std::vector<std::uint32_t> buckets(const model::VirtualService& vs, sched::Scheduler& s,
                                   const SchedView& view, bool by_dest) {
  std::array<std::uint32_t, LVS_HASH_BUCKETS> rep{};
  for (std::uint32_t a = 0; a < LVS_HASH_BUCKETS; ++a) rep.at(lvs_hash_bucket(a, 0U, 0U)) = a;
  std::vector<std::uint32_t> out;
  out.reserve(LVS_HASH_BUCKETS);
  for (std::uint32_t b = 0; b < LVS_HASH_BUCKETS; ++b) {
    const core::Endpoint e{.addr = core::IpAddress::v4(rep.at(b)), .port = 0};
    sched::Flow flow{};
    (by_dest ? flow.dest : flow.client) = e;
    out.push_back(
        slot_of(s.pick({.dests = view.dests, .flow = flow, .flags = vs.sched_flags, .now = {}})));
  }
  return out;
}

// The Maglev slots: each slot is asked with an address whose first-choice slot it is.
core::Result<std::vector<std::uint32_t>> maglev(const model::VirtualService& vs,
                                                sched::Scheduler& s, const SchedView& view) {
  std::vector<std::uint32_t> rep(LVS_MH_TABLE_SIZE, LVS_XDP_NO_DEST);
  std::uint32_t missing = LVS_MH_TABLE_SIZE;
  // About M ln M tries fill every slot; the bound is far above that.
  for (std::uint32_t a = 0; missing > 0 && a < (1U << 22U); ++a) {
    std::uint32_t& r = rep.at(lvs_mh_slot(a, 0U));
    if (r == LVS_XDP_NO_DEST) {
      r = a;
      --missing;
    }
  }
  if (missing > 0) {
    return core::fail(EINVAL, fmt::format("service {}: {} Maglev slots have no representative "
                                          "address (an engine bug: please report it)",
                                          vs.key.to_string(), missing));
  }
  std::vector<std::uint32_t> out;
  out.reserve(LVS_MH_TABLE_SIZE);
  for (const std::uint32_t a : rep) {
    sched::Flow flow{};
    flow.client = core::Endpoint{.addr = core::IpAddress::v4(a), .port = 0};
    out.push_back(
        slot_of(s.pick({.dests = view.dests, .flow = flow, .flags = vs.sched_flags, .now = {}})));
  }
  return out;
}

}  // namespace

core::Result<void> check_tunnel(const model::VirtualService& vs, const model::RealServer& r) {
  if (r.forward != model::ForwardMethod::kTunnel) return {};
  const std::string who = fmt::format("realserver {}", r.addr.to_string());
  if (r.tun_type != model::TunnelType::kIpip && r.tun_csum == model::TunnelCsum::kRemCsum) {
    return core::fail(EOPNOTSUPP,
                      fmt::format("service {}: {} has --tun-remcsum (remote checksum offload), "
                                  "which the XDP engine does not build; give it --tun-csum or "
                                  "--tun-nocsum, or serve it with the user-space engine",
                                  vs.key.to_string(), who));
  }
  if (r.tun_type == model::TunnelType::kGue && r.tun_port == 0) {
    return core::fail(EINVAL, fmt::format("service {}: {} tunnels with GUE but has no UDP port; "
                                          "give it --tun-port PORT (the port its lvs-decap "
                                          "--gue-port listens on)",
                                          vs.key.to_string(), who));
  }
  if (r.addr.addr.family() != vs.key.vip.addr.family()) {
    return unsupported(vs, fmt::format("tunnelling between address families ({} for a {} "
                                       "service; IPv4 in IPv4 and IPv6 in IPv6 are)",
                                       who, vs.key.vip.addr.is_v4() ? "IPv4" : "IPv6"));
  }
  if (r.addr.port != vs.key.vip.port) {
    return core::fail(EINVAL, fmt::format("service {}: tunnelled {} has port {}; a tunnelled "
                                          "packet keeps the service port {}, so give the "
                                          "realserver that port",
                                          vs.key.to_string(), who, r.addr.port, vs.key.vip.port));
  }
  return {};
}

bool serves(model::ForwardMethod m) {
  return m == model::ForwardMethod::kMasq || m == model::ForwardMethod::kRoute ||
         m == model::ForwardMethod::kTunnel;
}

std::uint8_t wire_method(model::ForwardMethod m) {
  switch (m) {
    case model::ForwardMethod::kRoute:
      return LVS_XDP_ROUTE;
    case model::ForwardMethod::kTunnel:
      return LVS_XDP_TUNNEL;
    default:
      return LVS_XDP_MASQ;
  }
}

lvs_dest_tun wire_tun(const model::RealServer& r) {
  lvs_dest_tun t{};
  if (r.forward != model::ForwardMethod::kTunnel) return t;
  switch (r.tun_type) {
    case model::TunnelType::kGue:
      t.type = LVS_XDP_TUN_GUE;
      t.port = wire_port(r.tun_port);
      break;
    case model::TunnelType::kGre:
      t.type = LVS_XDP_TUN_GRE;
      break;
    default:
      return t;  // IPIP has no options
  }
  if (r.tun_csum == model::TunnelCsum::kCsum) t.flags = LVS_XDP_TUN_CSUM;
  return t;
}

std::uint16_t wire_dest_port(const model::VirtualService& vs, const model::RealServer& r) {
  // Spec §1.2: direct routing does not change ports; the dest port is the service's.
  return wire_port(r.forward == model::ForwardMethod::kRoute ? vs.key.vip.port : r.addr.port);
}

core::Result<void> check_service(const model::VirtualService& vs) {
  if (vs.key.is_fwmark()) return unsupported(vs, "a firewall-mark service");
  if (vs.key.protocol != model::Protocol::kTcp && vs.key.protocol != model::Protocol::kUdp) {
    return unsupported(vs, "SCTP");
  }
  const std::string_view s = vs.scheduler;
  if (s != "rr" && s != "wrr" && s != "lc" && s != "wlc" && s != "sh" && s != "dh" && s != "mh") {
    return unsupported(vs, fmt::format("scheduler '{}' (rr wrr lc wlc sh dh mh are)", s));
  }
  if (vs.dests.size() > LVS_XDP_MAX_DESTS) {
    return core::fail(E2BIG, fmt::format("service {}: {} realservers; the XDP engine holds at "
                                         "most {} per service",
                                         vs.key.to_string(), vs.dests.size(), LVS_XDP_MAX_DESTS));
  }
  for (const model::RealServer& r : vs.dests) {
    const std::string who = fmt::format("realserver {}", r.addr.to_string());
    if (!serves(r.forward)) {
      return unsupported(vs, fmt::format("{} forwarding of {} (masquerading -m, direct "
                                         "routing -g and tunnelling -i are)",
                                         model::forward_name(r.forward), who));
    }
    if (auto t = check_tunnel(vs, r); !t) return t;
    if (r.addr.addr.family() != vs.key.vip.addr.family()) {
      return core::fail(EAFNOSUPPORT,
                        fmt::format("service {}: {} is of the other address family; {} does "
                                    "not translate between IPv4 and IPv6",
                                    vs.key.to_string(), who,
                                    r.forward == model::ForwardMethod::kRoute ? "direct routing"
                                                                              : "masquerading"));
    }
    if (r.u_threshold != 0 || r.l_threshold != 0) {
      return unsupported(vs, fmt::format("connection thresholds (-x/-y) on {}", who));
    }
  }
  if (s == "mh" && (vs.sched_flags & model::sched_flag::kMhFallback) != 0) {
    for (const model::RealServer& r : vs.dests) {
      if (r.weight <= 0 && r.last_weight > 0) {
        return unsupported(
            vs, fmt::format("mh-fallback with quiesced realserver {}", r.addr.to_string()));
      }
    }
  }
  return {};
}

core::Result<SchedSlots> sched_slots(const model::VirtualService& vs) {
  // The cluster seed reaches mh here: the slots below are read from the seeded table, and the
  // program's client hash (lvs_mh_slot) does not depend on the seed.
  auto made = sched::make_scheduler(
      vs.scheduler, sched::SchedulerDeps{.rng = nullptr, .mh_cluster_seed = vs.cluster_seed});
  if (!made) return core::Unexpected{made.error()};
  sched::Scheduler& s = **made;
  const SchedView view(vs);
  if (auto r = s.rebuild(view.dests, {.kind = sched::ChangeKind::kInit, .index = 0}); !r) {
    return core::fail(r.error().code,
                      fmt::format("service {}: {}", vs.key.to_string(), r.error().message));
  }
  SchedSlots out;
  const bool hash_port =
      (vs.sched_flags & model::sched_flag::kShPort) != 0;  // the same bit as mh-port
  if (vs.scheduler == "lc" || vs.scheduler == "wlc") {
    // Decided in the program from the live loads; no slots.
    out.kind = vs.scheduler == "lc" ? LVS_XDP_SCHED_LEAST : LVS_XDP_SCHED_WLEAST;
  } else if (vs.scheduler == "rr" || vs.scheduler == "wrr") {
    out.kind = LVS_XDP_SCHED_CYCLE;
    auto c = cycle(vs, s, view);
    if (!c) return core::Unexpected{c.error()};
    out.slots = std::move(*c);
  } else if (vs.scheduler == "sh" || vs.scheduler == "dh") {
    const bool dh = vs.scheduler == "dh";
    out.kind = dh ? LVS_XDP_SCHED_DST_BUCKET : LVS_XDP_SCHED_SRC_BUCKET;
    out.flags = !dh && hash_port ? LVS_XDP_SVC_HASH_PORT : 0U;
    out.slots = buckets(vs, s, view, dh);
  } else {
    out.kind = LVS_XDP_SCHED_MAGLEV;
    out.flags = hash_port ? LVS_XDP_SVC_HASH_PORT : 0U;
    // Seeded: every director's slots agree, so mid-stream segments may be scheduled too.
    if (vs.cluster_seed) out.flags |= LVS_XDP_SVC_CLUSTER;
    auto m = maglev(vs, s, view);
    if (!m) return core::Unexpected{m.error()};
    out.slots = std::move(*m);
  }
  return out;
}

Cycle cycle_of(const model::VirtualService& vs, const SchedSlots& slots) {
  Cycle c;
  c.scheduler = vs.scheduler;
  for (const model::RealServer& r : vs.dests) c.dests.push_back(r.addr);
  if (slots.kind == LVS_XDP_SCHED_CYCLE) c.slots = slots.slots;
  return c;
}

std::uint32_t carried_cursor(const Cycle& before, std::uint32_t picks, const Cycle& after) {
  if (before.slots.empty() || after.slots.empty() || before.scheduler != after.scheduler) {
    return 0;
  }
  const auto old_len = static_cast<std::uint32_t>(before.slots.size());
  if (before == after) return picks % old_len;
  if (after.scheduler != "rr" || picks == 0) return 0;
  // rr: walk back from the slot picked last to the first realserver that is still in the
  // cycle, and go on after its slot there.
  const auto dest_at = [](const Cycle& c, std::uint32_t slot) -> const core::Endpoint* {
    const std::uint32_t i = c.slots.at(slot);
    return i < c.dests.size() ? &c.dests.at(i) : nullptr;
  };
  const std::uint32_t last = (picks - 1) % old_len;
  for (std::uint32_t back = 0; back < old_len; ++back) {
    const core::Endpoint* picked = dest_at(before, (last + old_len - back) % old_len);
    if (picked == nullptr) continue;
    for (std::uint32_t s = 0; s < after.slots.size(); ++s) {
      const core::Endpoint* e = dest_at(after, s);
      if (e != nullptr && *e == *picked) {
        return (s + 1) % static_cast<std::uint32_t>(after.slots.size());
      }
    }
  }
  return 0;
}

void wire_addr(const core::IpAddress& a, lvs_u32 out[4]) {
  out[0] = out[1] = out[2] = out[3] = 0;
  std::memcpy(out, a.bytes().data(), a.is_v4() ? 4 : 16);
}

core::IpAddress from_wire(std::uint8_t family, const lvs_u32 words[4]) {
  std::array<std::uint8_t, 16> bytes{};
  std::memcpy(bytes.data(), words, 16);
  if (family == LVS_XDP_INET6) return core::IpAddress::v6(bytes);
  return core::IpAddress::v4(ntohl(words[0]));
}

std::uint8_t wire_family(const core::IpAddress& a) {
  return a.is_v4() ? std::uint8_t{LVS_XDP_INET4} : std::uint8_t{LVS_XDP_INET6};
}
std::uint16_t wire_port(std::uint16_t host) { return htons(host); }
std::uint16_t host_port(std::uint16_t wire) { return ntohs(wire); }

lvs_svc_key svc_key(const model::ServiceKey& key, std::uint32_t bank) {
  lvs_svc_key k{};
  wire_addr(key.vip.addr, k.addr);
  k.port = wire_port(key.vip.port);
  k.proto = static_cast<std::uint8_t>(key.protocol);
  k.family = wire_family(key.vip.addr);
  k.bank = bank;
  return k;
}

}  // namespace lvs::dp::xdp
