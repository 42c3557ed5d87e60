#pragma once
// lvsd's HTTP endpoints as one pure function: a request (method, path) and the sources of
// live values in, a response out. The HTTP server (web/http_server.h) only moves bytes.
//
//   GET /metrics                               Prometheus text (web/metrics.h)
//   GET /api/v1/services                       the JSON of `lvsadm -L -n --json`
//   GET /api/v1/services/tcp|udp/VIP/PORT      the same shape holding that one service
//   GET /api/v1/services/fwmark/MARK           the fwmark service(s) of that mark (IPv4, IPv6)
//   GET /api/v1/health                         realservers' health as the checkers see it
//   GET /api/v1/history                        connections per realserver, last minutes
//   GET /  /status.css  /status.js             the status page (web/assets.h), with
//                                              Content-Security-Policy default-src 'self'
// HEAD is answered like GET (the server leaves the body out). Any other method on a known path: 405
// with `Allow: GET, HEAD`; an unknown path: 404. Errors are JSON bodies {"error": "..."} naming
// what was not found or not allowed. Sources are called only for the path that needs them.
//
// Writes (web/write_api.h, docs/HTTP-API.md) live under a realserver's path
//   .../services/tcp|udp/VIP/PORT/reals/RIP/RPORT[/weight|drain|disable|enable]
// and go through `run` (ctl::Director::run, the lvsadm path) when `api_token` gives a token.

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ctl/listing.h"
#include "ctl/table_commands.h"
#include "web/metrics.h"

namespace lvs::web {

struct Sources {
  std::function<ctl::ListingInput()> listing{};
  std::function<std::optional<ProcessStats>()> process{};
  std::function<std::optional<ReloadStats>()> reloads{};
  std::function<std::optional<ctl::HealthMap>()> health{};
  std::string version{};
  std::function<std::string()> history{};  // the JSON of GET /api/v1/history (web/history.h)
  std::function<std::optional<dp::ErrorCounts>()> dataplane_errors{};
  // The followed VRRP instance (lvsd --vrrp-fifo): /metrics lvsd_vrrp_role, /api/v1/health.
  std::function<std::optional<ha::FollowerStatus>()> vrrp{};
  // Whether each engine can forward (dp/health.h): /metrics lvsd_data_plane_up, /api/v1/health.
  std::function<std::vector<dp::EngineHealth>()> data_plane{};
  // The XDP engine's counters (/metrics lvsd_xdp_packets_total); unset or nullopt: none.
  std::function<std::optional<PacketEngineCounters>()> packet_engine{};
  // Writes: one lvsadm invocation (argv[0] "lvsadm") through the Director, and the bearer
  // token writes need (empty or unset: the write API is off).
  std::function<ctl::Outcome(const std::vector<std::string>&)> run{};
  std::function<std::string()> api_token{};
};

// What the server hands over of a request. Header values as sent (empty: absent).
struct HttpRequest {
  std::string_view method{};
  std::string_view path{};
  std::string_view authorization{};
  std::string_view content_type{};
  std::string_view body{};
};

struct HttpResponse {
  int status = 200;
  std::string content_type{};
  std::string body{};
  std::string allow{};  // the Allow header of a 405; empty otherwise
  std::vector<std::pair<std::string, std::string>> headers{};  // any other headers
  std::string www_authenticate{};  // the WWW-Authenticate header of a 401; empty otherwise
  std::string audit{};  // a write attempt, for the log: what was asked and what came of it

  bool operator==(const HttpResponse&) const = default;
};

// The project's version (CMake's PROJECT_VERSION), for lvsd_build_info.
std::string_view lvsd_version();

HttpResponse respond(std::string_view method, std::string_view path, const Sources& sources);
// The same with headers and body: realserver paths (reads and writes) first, then the above.
HttpResponse respond(const HttpRequest& request, const Sources& sources);

}  // namespace lvs::web
