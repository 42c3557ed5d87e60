#pragma once
// Reading keepalived-style text into tokens: words, quoted strings, `{` and `}`, with `#` and
// `!` comments dropped and `include PATTERN` lines replaced by the tokens of every file the
// glob pattern matches (relative to the including file's directory, sorted, cycles and depth
// checked). Every token remembers its file:line:col so later errors can point at it.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "core/result.h"

namespace lvs::config {

struct Token {
  std::string text{};
  SourceLocation where{};
  bool quoted = false;      // "..." in the source: never a brace or a keyword
  bool line_start = false;  // first token on its line (statements end at line ends)
  bool operator==(const Token&) const = default;
};

struct LexOptions {
  bool allow_include = true;  // off for fuzzing: no file system access at all
  int max_include_depth = 8;
  std::size_t max_file_bytes = std::size_t{16} << 20;
};

struct Lexed {
  std::vector<Token> tokens{};
  std::vector<Warning> warnings{};
};

// `file` names the text in messages; includes resolve relative to its directory.
core::Result<Lexed> lex_text(std::string_view text, const std::string& file,
                             const LexOptions& options = {});
core::Result<Lexed> lex_file(const std::string& path, const LexOptions& options = {});

// The one error shape of every configuration front-end:
// "FILE:LINE:COL: <what is wrong>: '<offending word>'; expected <what would be valid>".
core::Unexpected located_error(const SourceLocation& where, std::string_view what,
                               std::string_view word, std::string_view expected);

// The candidate closest to `word` by edit distance, or "" when none is close enough to be a
// plausible typo (distance <= max(1, size/3)).
std::string closest_match(std::string_view word, const std::vector<std::string_view>& candidates);

}  // namespace lvs::config
