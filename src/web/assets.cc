#include "web/assets.h"

#include <array>

#include "core/assert.h"

namespace lvs::web {

namespace {

struct Route {
  std::string_view path;
  std::string_view file;
  std::string_view content_type;
};

// URL path -> file in src/web/assets/ and its type. A file listed here and not embedded is a
// build error caught by the first request in the unit tests (LVS_ASSERT).
constexpr std::array<Route, 4> kRoutes{{
    {.path = "/", .file = "index.html", .content_type = "text/html; charset=utf-8"},
    {.path = "/index.html", .file = "index.html", .content_type = "text/html; charset=utf-8"},
    {.path = "/status.css", .file = "status.css", .content_type = "text/css; charset=utf-8"},
    {.path = "/status.js", .file = "status.js", .content_type = "text/javascript; charset=utf-8"},
}};

}  // namespace

std::optional<Asset> find_asset(std::string_view path) {
  for (const auto& r : kRoutes) {
    if (r.path != path) continue;
    for (const auto& f : kEmbeddedFiles) {
      if (f.name == r.file)
        return Asset{.path = r.path, .content_type = r.content_type, .body = f.bytes};
    }
    LVS_ASSERT(false && "status page asset not embedded");
  }
  return std::nullopt;
}

}  // namespace lvs::web
