#pragma once
// The pure half of the XDP engine: what apply() will write into the maps for one virtual
// service, computed without the kernel so it can be tested unprivileged. New flows are decided
// inside the BPF program from per-service scheduling slots that this file fills by running the
// real C++ scheduler (src/sched) over representative flows, so the engine picks what the C++
// scheduler picks for the same inputs (docs/ARCHITECTURE.md, "XDP engine").

#include <cstdint>
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

// The forwarding methods this engine serves: masquerading (-m) and direct routing (-g).
bool serves(model::ForwardMethod m);
// A served method as the maps carry it (enum lvs_xdp_method).
std::uint8_t wire_method(model::ForwardMethod m);
// The port a realserver's flows go to, network order: its own for masquerading, the service's
// for direct routing (spec §1.2: the port is forced to the service port).
std::uint16_t wire_dest_port(const model::VirtualService& vs, const model::RealServer& r);

// Fails, naming the service and what to change, for what this engine does not do yet:
// fwmark or SCTP services, realservers of the other address family, realservers with a method
// serves() is false for, schedulers other than rr wrr lc wlc sh dh mh, connection thresholds, more
// than LVS_XDP_MAX_DESTS realservers.
core::Result<void> check_service(const model::VirtualService& vs);

// The slots of a service that passed check_service().
core::Result<SchedSlots> sched_slots(const model::VirtualService& vs);

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
