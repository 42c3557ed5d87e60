#pragma once
// The status page's files (src/web/assets/), embedded into lvsd at build time by
// embed_assets.cmake: served from memory, no file is read at run time.

#include <optional>
#include <span>
#include <string_view>

namespace lvs::web {

// One embedded file: its name in src/web/assets/ and its bytes.
struct EmbeddedFile {
  std::string_view name{};
  std::string_view bytes{};
};
// Defined in the generated assets_data.cc.
extern const std::span<const EmbeddedFile> kEmbeddedFiles;

// A file as served: the URL path, its Content-Type and its bytes.
struct Asset {
  std::string_view path{};
  std::string_view content_type{};
  std::string_view body{};
};

// The asset served at `path` ("/" is index.html, "/status.css", "/status.js"), if any.
std::optional<Asset> find_asset(std::string_view path);

}  // namespace lvs::web
