#include "web/routes.h"

#include <charconv>
#include <variant>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "ctl/listing_json.h"
#include "web/assets.h"
#include "web/history.h"
#include "web/http_parts.h"
#include "web/write_api.h"

namespace lvs::web {

namespace {

using http::error;
using http::kJson;
using http::parse_number;
using http::split_path;

// The services a /api/v1/services/... path names, or an error response.
struct Selector {
  std::optional<model::ServiceKey> key{};  // an address service
  std::optional<std::uint32_t> fwmark{};   // fwmark services of either family
  std::string text{};                      // how the error messages name it
};

std::variant<Selector, HttpResponse> parse_selector(const std::vector<std::string_view>& p) {
  // p = {"api", "v1", "services", ...rest}
  const std::string given = fmt::format("/{}", fmt::join(p.begin() + 3, p.end(), "/"));
  const auto bad = [&](const std::string& why) {
    return error(404, fmt::format("no service path {}: {}", given, why));
  };
  if (p.size() == 5 && p[3] == "fwmark") {
    const auto mark = parse_number<std::uint32_t>(p[4]);
    if (!mark || *mark == 0)
      return bad(fmt::format("fwmark '{}' is not a number 1..4294967295", p[4]));
    return Selector{.fwmark = *mark, .text = fmt::format("FWM {}", *mark)};
  }
  if (p.size() != 6) return bad("expected tcp|udp/VIP/PORT or fwmark/MARK");
  model::Protocol proto{};
  if (p[3] == "tcp" || p[3] == "TCP") {
    proto = model::Protocol::kTcp;
  } else if (p[3] == "udp" || p[3] == "UDP") {
    proto = model::Protocol::kUdp;
  } else {
    return bad(fmt::format("protocol '{}' is not tcp, udp or fwmark", p[3]));
  }
  std::string_view vip = p[4];
  if (vip.size() >= 2 && vip.front() == '[' && vip.back() == ']')
    vip = vip.substr(1, vip.size() - 2);
  auto addr = core::IpAddress::parse(vip);
  if (!addr) return bad(fmt::format("'{}' is not an IPv4 or IPv6 address", p[4]));
  const auto port = parse_number<std::uint16_t>(p[5]);
  if (!port) return bad(fmt::format("port '{}' is not a number 0..65535", p[5]));
  const core::Endpoint ep{.addr = *addr, .port = *port};
  const auto key = model::ServiceKey::address(proto, ep);
  return Selector{
      .key = key,
      .text = fmt::format("{} {}", p[3] == "tcp" || p[3] == "TCP" ? "TCP" : "UDP", ep.to_string())};
}

HttpResponse one_service(const Selector& sel, const Sources& src) {
  ctl::ListingInput all = src.listing();
  ctl::ListingInput only = all;
  only.services.clear();
  for (auto& v : all.services) {
    const auto& k = v.service.key;
    const bool match = sel.key ? k == *sel.key : (k.is_fwmark() && k.fwmark == *sel.fwmark);
    if (match) only.services.push_back(std::move(v));
  }
  if (only.services.empty()) return error(404, fmt::format("no service {}", sel.text));
  return HttpResponse{.content_type = std::string(kJson), .body = ctl::format_json(only, false)};
}

// The status page's files: only this origin's scripts, styles and fetches; always revalidated
// (a new lvsd may serve a new page).
HttpResponse asset_response(const Asset& a) {
  return HttpResponse{
      .content_type = std::string(a.content_type),
      .body = std::string(a.body),
      .headers = {{"Content-Security-Policy",
                   "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'"},
                  {"Cache-Control", "no-cache"},
                  {"X-Content-Type-Options", "nosniff"}}};
}

// {"checked": false, "reals": []} when no checker runs (lvsd without -f), else every configured
// realserver: {"service": "TCP 127.0.0.1:80", "real": "127.0.0.2:80", "up": true,
// "transitions": 0}. A realserver without checkers is up.
HttpResponse health_response(const Sources& src) {
  std::optional<ctl::HealthMap> map;
  if (src.health) map = src.health();
  nlohmann::ordered_json reals = nlohmann::ordered_json::array();
  if (map) {
    for (const auto& [key, state] : *map) {
      reals.push_back(nlohmann::ordered_json{{"service", service_label(key.first)},
                                             {"real", real_label(key.second)},
                                             {"up", state.up},
                                             {"transitions", state.transitions}});
    }
  }
  nlohmann::ordered_json out{{"checked", map.has_value()}, {"reals", std::move(reals)}};
  // {"vrrp": {"instance": "VI_1", "role": "MASTER", "serving": true, "changes": 1}} when lvsd
  // follows keepalived (--vrrp-fifo).
  if (src.vrrp) {
    if (const auto v = src.vrrp()) {
      out["vrrp"] = nlohmann::ordered_json{{"instance", v->instance},
                                           {"role", std::string(ha::role_name(v->role))},
                                           {"serving", ha::serves(v->role)},
                                           {"changes", v->transitions}};
    }
  }
  // {"data_plane": {"up": false, "engines": [{"engine": "xdp", "up": false, "problems":
  // ["d1 has no XDP program: ..."]}]}}
  if (src.data_plane) {
    const auto engines = src.data_plane();
    nlohmann::ordered_json list = nlohmann::ordered_json::array();
    for (const dp::EngineHealth& e : engines) {
      list.push_back(
          nlohmann::ordered_json{{"engine", e.engine}, {"up", e.up()}, {"problems", e.problems}});
    }
    out["data_plane"] =
        nlohmann::ordered_json{{"up", dp::forwards(engines)}, {"engines", std::move(list)}};
  }
  return HttpResponse{.content_type = std::string(kJson), .body = out.dump() + "\n"};
}

}  // namespace

std::string_view lvsd_version() { return LVSD_VERSION; }

HttpResponse respond(std::string_view method, std::string_view path, const Sources& sources) {
  const auto parts = split_path(path);
  const bool is_metrics = parts.size() == 1 && parts[0] == "metrics";
  const bool is_api =
      parts.size() >= 3 && parts[0] == "api" && parts[1] == "v1" && parts[2] == "services";
  const bool is_v1 = parts.size() == 3 && parts[0] == "api" && parts[1] == "v1";
  const bool is_health = is_v1 && parts[2] == "health";
  const bool is_history = is_v1 && parts[2] == "history";
  const auto asset = find_asset(path);
  if (!is_metrics && !is_api && !is_health && !is_history && !asset) {
    return error(404, fmt::format("no such path {} (known: /, /metrics, /api/v1/services, "
                                  "/api/v1/health, /api/v1/history)",
                                  path.substr(0, 200)));
  }
  if (method != "GET" && method != "HEAD") {
    auto r = error(405, fmt::format("method {} is not allowed on {}: this API is read-only (GET)",
                                    method.substr(0, 32), path.substr(0, 200)));
    r.allow = "GET, HEAD";
    return r;
  }
  HttpResponse r;
  if (asset) {
    r = asset_response(*asset);
  } else if (is_health) {
    r = health_response(sources);
  } else if (is_history) {
    r = HttpResponse{.content_type = std::string(kJson),
                     .body = sources.history ? sources.history() : history_json({}, {})};
  } else if (is_metrics) {
    MetricsInput in{.listing = sources.listing ? sources.listing() : ctl::ListingInput{},
                    .version = sources.version};
    if (sources.process) in.process = sources.process();
    if (sources.reloads) in.reloads = sources.reloads();
    if (sources.health) in.health = sources.health();
    if (sources.dataplane_errors) in.dataplane_errors = sources.dataplane_errors();
    if (sources.vrrp) in.vrrp = sources.vrrp();
    if (sources.data_plane) in.data_plane = sources.data_plane();
    if (sources.packet_engine) in.packet_engine = sources.packet_engine();
    r = HttpResponse{.content_type = std::string(kMetricsContentType), .body = format_metrics(in)};
  } else if (parts.size() == 3) {
    r = HttpResponse{
        .content_type = std::string(kJson),
        .body = ctl::format_json(sources.listing ? sources.listing() : ctl::ListingInput{}, false)};
  } else {
    auto sel = parse_selector(parts);
    if (auto* e = std::get_if<HttpResponse>(&sel)) return *e;
    if (!sources.listing) return error(404, "no service table");
    r = one_service(std::get<Selector>(sel), sources);
  }
  return r;  // for HEAD the server sends the headers only
}

HttpResponse respond(const HttpRequest& request, const Sources& sources) {
  if (auto r = respond_real_server(request, sources)) return std::move(*r);
  return respond(request.method, request.path, sources);
}

}  // namespace lvs::web
