#pragma once
// `lvsadm -L --json` (an extension): the whole table with its live numbers as one JSON object,
// for scripts. Shape (documented in docs/CONTROL-PROTOCOL.md):
//   {"timeouts": {"tcp", "tcpfin", "udp"},
//    "services": [{"protocol", "address", "port", "fwmark", "af", "scheduler", "flags",
//                  "persistent", "timeout", "netmask", "pe", "ops", "stats": {...},
//                  "rates": {...}, "dests": [{"address", "port", "forward", "weight",
//                  "u_threshold", "l_threshold", "active", "inactive", "stats": {...},
//                  "rates": {"cps", "inpps", "outpps", "inbps", "outbps"}}]}]}
// Services and dests come in listing order (sorted as -L, or creation order with --nosort).

#include <string>

#include "ctl/listing.h"

namespace lvs::ctl {

std::string format_json(const ListingInput& input, bool nosort);

}  // namespace lvs::ctl
