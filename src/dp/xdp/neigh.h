#pragma once
// Direct routing needs the realserver's MAC from the kernel's neighbour table; the program
// drops a frame whose neighbour is unknown (bpf/lvs_xdp.bpf.c, route_xmit). This makes the
// kernel resolve an address: one empty UDP datagram to its discard port (9) goes through the
// kernel's own output path, which sends the ARP request / neighbour solicitation and keeps the
// answer. The realserver at most answers "port unreachable", which nothing waits for.

#include "core/endpoint.h"
#include "core/result.h"

namespace lvs::dp::xdp {

// Sends the datagram to `addr` (IPv4 or IPv6); an error names the address and the reason.
core::Result<void> nudge_neighbour(const core::IpAddress& addr);

}  // namespace lvs::dp::xdp
