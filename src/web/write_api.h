#pragma once
// The realserver endpoints of lvsd's JSON API (docs/HTTP-API.md), pure: a request and the
// sources in, a response out.
//
//   GET|HEAD  .../reals/RIP/RPORT            the realserver as in `lvsadm -L -n --json`
//   PUT|PATCH .../reals/RIP/RPORT[/weight]   body {"weight": N}: lvsadm -e with every other
//                                            field as it is now
//   POST      .../reals/RIP/RPORT/drain      lvsadm --drain: weight 0, other fields kept
//   POST      .../reals/RIP/RPORT/disable    the same quiesce (HAProxy's "disable server")
//   POST      .../reals/RIP/RPORT/enable     weight back to the last non-zero one (lvsadm -e)
// where ... is /api/v1/services/tcp|udp/VIP/PORT or /api/v1/services/fwmark/MARK (IPv6
// addresses with or without brackets; a fwmark service's family is the realserver's).
//
// Writes need Sources::api_token (none configured: 403) as `Authorization: Bearer TOKEN`
// (missing, malformed or wrong: 401 with WWW-Authenticate), compared in constant time; a body
// must be `Content-Type: application/json` (415) and at most kMaxWriteBody bytes (413). Then:
// 404 unknown service or realserver, 400 a body or value that is wrong (naming the field and
// value), 409 what the Director or the API refuses (its text), 200 the realserver's JSON.
// Every write answer carries `audit` (method, path, status, what was run or refused).

#include <cstddef>
#include <optional>

#include "web/routes.h"

namespace lvs::web {

inline constexpr std::size_t kMaxWriteBody = 4096;

// nullopt: not a realserver path (the read routes answer it).
std::optional<HttpResponse> respond_real_server(const HttpRequest& request, const Sources& sources);

}  // namespace lvs::web
