#pragma once
// Pieces both HTTP handlers (routes.cc, write_api.cc) use: the JSON error answer, path
// splitting and strict number parsing. Pure, header-only.

#include <charconv>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include <nlohmann/json.hpp>

#include "web/routes.h"

namespace lvs::web::http {

inline constexpr std::string_view kJson = "application/json";

// {"error": text} with `status`; invalid UTF-8 in `text` is replaced, never thrown on.
inline HttpResponse error(int status, const std::string& text) {
  return HttpResponse{.status = status,
                      .content_type = std::string(kJson),
                      .body = nlohmann::json{{"error", text}}.dump(
                                  -1, ' ', false, nlohmann::json::error_handler_t::replace) +
                              "\n"};
}

// "/api//v1/x/" -> {"api", "v1", "x"}: empty parts are dropped.
inline std::vector<std::string_view> split_path(std::string_view path) {
  std::vector<std::string_view> parts;
  while (!path.empty()) {
    const auto slash = path.find('/');
    const auto part = path.substr(0, slash);
    if (!part.empty()) parts.push_back(part);
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return parts;
}

// The whole of `s` as a decimal T, or nullopt (empty, sign, trailing text, out of range).
template <typename T>
std::optional<T> parse_number(std::string_view s) {
  T v{};
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc{} || ptr != s.data() + s.size()) return std::nullopt;
  return v;
}

}  // namespace lvs::web::http
