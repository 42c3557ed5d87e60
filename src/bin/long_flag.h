#pragma once
// The `--name=value` spelling every lvs binary accepts: one argument split into the flag's name
// and its inline value. Short options and arguments without '=' come back whole.

#include <optional>
#include <string_view>

namespace lvs::bin {

struct FlagArg {
  std::string_view name{};
  std::optional<std::string_view> inline_value{};
};

inline FlagArg split_long_flag(std::string_view arg) {
  if (!arg.starts_with("--")) return FlagArg{.name = arg};
  const auto eq = arg.find('=');
  if (eq == std::string_view::npos) return FlagArg{.name = arg};
  return FlagArg{.name = arg.substr(0, eq), .inline_value = arg.substr(eq + 1)};
}

}  // namespace lvs::bin
