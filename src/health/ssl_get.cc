// SSL_GET: the HTTP exchange over TLS (OpenSSL; no certificate verification, like keepalived).
#include "health/http_client.h"

namespace lvs::health {

core::Result<std::unique_ptr<Checker>> make_ssl_get_checker(const config::CheckerSpec& spec,
                                                            const CheckerContext& ctx) {
  return make_http_checker(spec, ctx, Transport::kTls);
}

}  // namespace lvs::health
