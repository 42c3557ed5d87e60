// HTTP_GET: the HTTP exchange over plain TCP.
#include "health/http_client.h"

namespace lvs::health {

core::Result<std::unique_ptr<Checker>> make_http_get_checker(const config::CheckerSpec& spec,
                                                             const CheckerContext& ctx) {
  return make_http_checker(spec, ctx, Transport::kPlain);
}

}  // namespace lvs::health
