#include "health/registry.h"

#include <algorithm>
#include <cerrno>
#include <iterator>
#include <string>

namespace lvs::health {

namespace {

constexpr CheckerRow kCheckers[] = {
    {config::CheckerKind::kPing, "PING_CHECK", make_ping_checker},
    {config::CheckerKind::kTcp, "TCP_CHECK", make_tcp_checker},
    {config::CheckerKind::kUdp, "UDP_CHECK", make_udp_checker},
    {config::CheckerKind::kHttpGet, "HTTP_GET", make_http_get_checker},
    {config::CheckerKind::kSslGet, "SSL_GET", make_ssl_get_checker},
    {config::CheckerKind::kDns, "DNS_CHECK", make_dns_checker},
    {config::CheckerKind::kMisc, "MISC_CHECK", make_misc_checker},
    {config::CheckerKind::kXdmcp, "XDMCP_CHECK", make_xdmcp_checker},
};

}  // namespace

std::span<const CheckerRow> checker_table() { return kCheckers; }

core::Result<std::unique_ptr<Checker>> make_checker(const config::CheckerSpec& spec,
                                                    const CheckerContext& ctx) {
  const auto* row = std::find_if(std::begin(kCheckers), std::end(kCheckers),
                                 [&](const CheckerRow& r) { return r.kind == spec.kind; });
  if (row == std::end(kCheckers)) {
    return core::fail(EINVAL, "checker kind " + std::to_string(static_cast<int>(spec.kind)) +
                                  " is not implemented");
  }
  return row->make(spec, ctx);
}

CheckerFactory checker_factory(const CheckerContext& ctx) {
  return [ctx](const config::CheckerSpec& spec) { return make_checker(spec, ctx); };
}

}  // namespace lvs::health
