// libFuzzer: any request given to lvsd's HTTP routing, reads and writes. The input is split on
// '\n' into method, path, Authorization, Content-Type, and the rest is the body (missing parts
// are empty; one line alone is the path of a GET), as cpp-httplib hands them over. Every answer
// is a documented status with a body of the right kind (JSON parses; /metrics text; the status
// page's files), Allow comes
// with 405 only, WWW-Authenticate with 401 only, and the Director is called only with the right
// token: never a crash or a sanitizer report.
#include <array>
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
      .dests = {ctl::DestView{.dest = {.addr = *core::Endpoint::parse("198.51.100.11:80"),
                                       .forward = model::ForwardMethod::kFullNat}}}});
  in.services.push_back(ctl::ServiceView{.service = {.key = model::ServiceKey::mark(7)}});
  return in;
}

int runs = 0;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace lvs::web;
  std::string_view rest(reinterpret_cast<const char*>(data), size);
  std::array<std::string_view, 4> head{};  // method, path, authorization, content type
  std::size_t n = 0;
  for (; n < head.size(); ++n) {
    const auto nl = rest.find('\n');
    if (nl == std::string_view::npos) break;
    head[n] = rest.substr(0, nl);
    rest.remove_prefix(nl + 1);
  }
  HttpRequest req;
  if (n == 0) {
    req = HttpRequest{.method = "GET", .path = rest};
  } else if (n == 1) {
    req = HttpRequest{.method = head[0], .path = rest};
  } else {
    req = HttpRequest{.method = head[0],
                      .path = head[1],
                      .authorization = n > 2 ? head[2] : std::string_view{},
                      .content_type = n > 3 ? head[3] : std::string_view{},
                      .body = rest};
  }
  static const Sources sources{.listing = [] { return table(); },
                               .version = "fuzz",
                               .run =
                                   [](const std::vector<std::string>& /*argv*/) {
                                     ++runs;
                                     return lvs::ctl::Outcome{};
                                   },
                               .api_token = [] { return std::string("fuzz-token"); }};
  const int before = runs;
  const HttpResponse r = respond(req, sources);
  check(r.status == 200 || r.status == 400 || r.status == 401 || r.status == 404 ||
        r.status == 405 || r.status == 409 || r.status == 413 || r.status == 415 ||
        r.status == 422);
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
  check((r.status == 401) == !r.www_authenticate.empty());
  if (runs != before) check(req.authorization.find("fuzz-token") != std::string_view::npos);
  return 0;
}
