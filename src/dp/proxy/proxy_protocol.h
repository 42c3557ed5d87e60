#pragma once
// PROXY protocol headers (v1 text, v2 binary) that tell a full-NAT realserver who the client
// is: the source is the client, the destination the VIP:port it connected to.

#include <string>

#include "core/endpoint.h"
#include "model/service.h"

namespace lvs::dp::proxy {

// The header for a flow of `proto` from `client` to `vip` (same address family). Empty for
// ProxyProtocol::kNone. v1 has no UDP form: callers reject that combination (check_service).
std::string proxy_header(model::ProxyProtocol version, model::Protocol proto,
                         const core::Endpoint& client, const core::Endpoint& vip);

}  // namespace lvs::dp::proxy
