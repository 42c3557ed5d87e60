#pragma once
// The pure half of the XDP engine: what apply() will write into the maps for one virtual
// service, computed without the kernel so it can be tested unprivileged. New flows are decided
// inside the BPF program from per-service scheduling slots that this file fills by running the
// real C++ scheduler (src/sched) over representative flows, so the engine picks what the C++
// scheduler picks for the same inputs (docs/ARCHITECTURE.md, "XDP engine").

#include <cstdint>
#include <string>
#include <vector>

#include "core/result.h"
#include "dp/xdp/bpf/maps.h"
#include "model/service.h"

namespace lvs::dp::xdp {

struct SchedSlots {
  std::uint32_t kind = 0;   // enum lvs_xdp_sched
  std::uint32_t flags = 0;  // LVS_XDP_SVC_* bits
  // Index into the service's realserver list per slot, or LVS_XDP_NO_DEST. rr/wrr: one full
  // cycle of picks from a freshly built scheduler; sh/dh: the 256 buckets; mh: 4093 slots;
  // lc/wlc: none (the program compares the live loads).
  std::vector<std::uint32_t> slots{};
};

// The forwarding methods this engine serves: masquerading (-m), direct routing (-g) and
// tunnelling (-i: IPIP, GUE, GRE; check_tunnel).
bool serves(model::ForwardMethod m);
// A served method as the maps carry it (enum lvs_xdp_method).
std::uint8_t wire_method(model::ForwardMethod m);
// A realserver's encapsulation as the dest_tun map carries it (all zero: IPIP, or not a tunnel
// realserver); check_tunnel() passed.
lvs_dest_tun wire_tun(const model::RealServer& r);
// The port a realserver's flows go to, network order: its own for masquerading, the service's
// for direct routing (spec §1.2: the port is forced to the service port); tunnelling requires
// them equal (check_tunnel).
std::uint16_t wire_dest_port(const model::VirtualService& vs, const model::RealServer& r);

// Fails, naming the service and what to change, for what this engine does not do yet:
// fwmark or SCTP services, realservers of the other address family, realservers with a method
// serves() is false for, schedulers other than rr wrr lc wlc sh dh mh, connection thresholds, more
// than LVS_XDP_MAX_DESTS realservers.
core::Result<void> check_service(const model::VirtualService& vs);

// Tunnelling (-i) of `r` in `vs`: IPIP, GUE (with a --tun-port) or GRE, without checksum or
// with --tun-csum (--tun-remcsum is refused by name), the service's address family, the
// service's port (IPVS keeps the port: the packet is not rewritten). Nothing to check for
// other methods.
core::Result<void> check_tunnel(const model::VirtualService& vs, const model::RealServer& r);

// The slots of a service that passed check_service().
core::Result<SchedSlots> sched_slots(const model::VirtualService& vs);

// What an rr/wrr service's cycle was at an apply(): enough to carry its cursor to the next.
struct Cycle {
  std::string scheduler{};
  std::vector<core::Endpoint> dests{};  // the realservers in list order
  std::vector<std::uint32_t> slots{};   // SchedSlots::slots: indexes into dests per pick
  bool operator==(const Cycle&) const = default;
};
Cycle cycle_of(const model::VirtualService& vs, const SchedSlots& slots);

// The cursor (picks made, the program takes slot cursor % len) that `after` starts from when
// `before` had made `picks` picks. An unchanged cycle (same realservers in the same order,
// same slots: a weight change that leaves the cycle alone counts as none) goes on where it
// was. A changed rr cycle goes on after the realserver picked last, as the kernel's rr keeps
// its pointer on a list change; if that one went, after the one picked before it that
// stayed (the kernel steps its pointer back). Anything else starts the cycle afresh (the
// kernel's wrr restarts on every change).
std::uint32_t carried_cursor(const Cycle& before, std::uint32_t picks, const Cycle& after);

// The map key of a service (IPv4, address-keyed) in bank `bank`.
lvs_svc_key svc_key(const model::ServiceKey& key, std::uint32_t bank);

// An address as the packet carries it (network order in memory; IPv4 in word 0 only), and
// back (`family` is LVS_XDP_INET4 or LVS_XDP_INET6).
void wire_addr(const core::IpAddress& a, lvs_u32 out[4]);
core::IpAddress from_wire(std::uint8_t family, const lvs_u32 words[4]);
std::uint8_t wire_family(const core::IpAddress& a);
std::uint16_t wire_port(std::uint16_t host);
std::uint16_t host_port(std::uint16_t wire);

}  // namespace lvs::dp::xdp
