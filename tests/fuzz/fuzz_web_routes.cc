// libFuzzer: any method and path given to lvsd's HTTP routing (the first line of the input is
// the method, the rest the path, as cpp-httplib hands them over) give 200, 404 or 405 with a
// body of the right kind (JSON parses; /metrics text; the status page's files), never a crash or a
// sanitizer report.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "web/routes.h"

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

lvs::ctl::ListingInput table() {
  using namespace lvs;
  ctl::ListingInput in;
  const auto vip = *core::Endpoint::parse("192.0.2.1:80");
  in.services.push_back(ctl::ServiceView{
      .service = {.key = model::ServiceKey::address(model::Protocol::kTcp, vip)},
      .dests = {ctl::DestView{.dest = {.addr = *core::Endpoint::parse("198.51.100.11:80")}}}});
  in.services.push_back(ctl::ServiceView{.service = {.key = model::ServiceKey::mark(7)}});
  return in;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace lvs::web;
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  const auto nl = bytes.find('\n');
  const std::string_view method = nl == std::string_view::npos ? "GET" : bytes.substr(0, nl);
  const std::string_view path = nl == std::string_view::npos ? bytes : bytes.substr(nl + 1);
  static const Sources sources{.listing = [] { return table(); }, .version = "fuzz"};
  const HttpResponse r = respond(method, path, sources);
  check(r.status == 200 || r.status == 404 || r.status == 405);
  if (r.content_type == "application/json") {
    check(nlohmann::json::accept(r.body));
  } else if (r.content_type.starts_with("text/html") || r.content_type.starts_with("text/css") ||
             r.content_type.starts_with("text/javascript")) {
    check(r.status == 200 && !r.body.empty() && !r.headers.empty());  // the status page
  } else {
    check(r.status == 200 && r.content_type == kMetricsContentType);
    check(r.body.starts_with("# HELP lvsd_build_info"));
  }
  check((r.status == 405) == !r.allow.empty());
  return 0;
}
