#include "config/source.h"

#include <glob.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

namespace lvs::config {

std::string SourceLocation::to_string() const { return fmt::format("{}:{}:{}", file, line, col); }

std::string Warning::to_string() const {
  return fmt::format("{}: warning: {}", where.to_string(), text);
}

std::string_view checker_name(CheckerKind k) {
  switch (k) {
    case CheckerKind::kPing:
      return "PING_CHECK";
    case CheckerKind::kTcp:
      return "TCP_CHECK";
    case CheckerKind::kUdp:
      return "UDP_CHECK";
    case CheckerKind::kHttpGet:
      return "HTTP_GET";
    case CheckerKind::kSslGet:
      return "SSL_GET";
    case CheckerKind::kDns:
      return "DNS_CHECK";
    case CheckerKind::kMisc:
      return "MISC_CHECK";
    case CheckerKind::kXdmcp:
      return "XDMCP_CHECK";
  }
  return "?";
}

core::Unexpected located_error(const SourceLocation& where, std::string_view what,
                               std::string_view word, std::string_view expected) {
  return core::fail(
      EINVAL, fmt::format("{}: {}: '{}'; expected {}", where.to_string(), what, word, expected));
}

namespace {

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diag = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t up = row[j];
      const std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + cost});
      diag = up;
    }
  }
  return row[b.size()];
}

}  // namespace

std::string closest_match(std::string_view word, const std::vector<std::string_view>& candidates) {
  std::string best;
  std::size_t best_d = std::max<std::size_t>(1, word.size() / 3) + 1;
  for (const auto c : candidates) {
    const auto d = edit_distance(word, c);
    if (d < best_d) {
      best_d = d;
      best = std::string(c);
    }
  }
  return best;
}

namespace {

namespace fs = std::filesystem;

// One lexing run over a file and everything it includes.
class Lexer {
 public:
  explicit Lexer(const LexOptions& options) : options_(options) {}

  core::Result<Lexed> run_text(std::string_view text, const std::string& file) {
    stack_.push_back(canonical_or_self(file));
    if (auto ok = lex(text, file); !ok) return core::Unexpected{ok.error()};
    return std::move(out_);
  }

  core::Result<Lexed> run_file(const std::string& path) {
    auto text = read(path, SourceLocation{.file = path, .line = 0, .col = 0}, path);
    if (!text) return core::Unexpected{text.error()};
    return run_text(*text, path);
  }

 private:
  static std::string canonical_or_self(const std::string& path) {
    std::error_code ec;
    auto c = fs::canonical(path, ec);
    return ec ? path : c.string();
  }

  core::Result<std::string> read(const std::string& path, const SourceLocation& from,
                                 std::string_view word) {
    std::error_code ec;
    const auto status = fs::status(path, ec);
    if (ec || !fs::is_regular_file(status)) {
      return located_error(from, "cannot read configuration file", word,
                           "an existing regular file");
    }
    if (fs::file_size(path, ec) > options_.max_file_bytes || ec) {
      return located_error(from, "configuration file is too large", word,
                           fmt::format("at most {} bytes", options_.max_file_bytes));
    }
    std::ifstream in(path, std::ios::binary);
    std::ostringstream buf;
    buf << in.rdbuf();
    if (!in) {
      return located_error(from, "cannot read configuration file", word, "a readable file");
    }
    return buf.str();
  }

  core::Result<void> include(const Token& kw, const Token& pattern) {
    if (!options_.allow_include) {
      return located_error(kw.where, "include is disabled here", kw.text, "no include lines");
    }
    if (static_cast<int>(stack_.size()) > options_.max_include_depth) {
      return located_error(pattern.where, "includes nested too deeply", pattern.text,
                           fmt::format("at most {} levels of include", options_.max_include_depth));
    }
    fs::path p(pattern.text);
    if (p.is_relative()) p = fs::path(kw.where.file).parent_path() / p;
    const std::string full = p.string();
    glob_t g{};
    const int rc = ::glob(full.c_str(), 0, nullptr, &g);
    std::vector<std::string> files;
    for (std::size_t i = 0; rc == 0 && i < g.gl_pathc; ++i) files.emplace_back(g.gl_pathv[i]);
    ::globfree(&g);
    const bool wildcard = pattern.text.find_first_of("*?[") != std::string::npos;
    if (files.empty()) {
      if (wildcard) {
        out_.warnings.push_back(
            Warning{.where = pattern.where,
                    .text = fmt::format("include pattern '{}' matches no file", pattern.text)});
        return {};
      }
      return located_error(pattern.where, "included file does not exist", pattern.text,
                           "the path of a readable file (relative to the including file)");
    }
    for (const auto& f : files) {
      const auto canon = canonical_or_self(f);
      if (std::find(stack_.begin(), stack_.end(), canon) != stack_.end()) {
        std::string chain;
        for (const auto& s : stack_) chain += fs::path(s).filename().string() + " -> ";
        chain += fs::path(canon).filename().string();
        return located_error(pattern.where, fmt::format("include cycle ({})", chain), pattern.text,
                             "no file to include itself, directly or indirectly");
      }
      auto text = read(f, pattern.where, pattern.text);
      if (!text) return core::Unexpected{text.error()};
      stack_.push_back(canon);
      if (auto ok = lex(*text, f); !ok) return ok;
      stack_.pop_back();
    }
    return {};
  }

  core::Result<void> lex(std::string_view text, const std::string& file) {
    std::vector<Token> line;  // tokens of the current line, flushed at each newline
    int lineno = 1;
    int col = 1;
    std::size_t i = 0;
    const auto flush = [&]() -> core::Result<void> {
      if (line.empty()) return {};
      if (!line[0].quoted && line[0].text == "include") {
        if (line.size() != 2) {
          const Token& bad = line.size() < 2 ? line[0] : line[2];
          return located_error(bad.where,
                               line.size() < 2 ? "include needs a file pattern"
                                               : "include takes exactly one pattern",
                               bad.text, "include PATH-OR-GLOB on a line of its own");
        }
        auto ok = include(line[0], line[1]);
        line.clear();
        return ok;
      }
      line[0].line_start = true;
      for (auto& t : line) out_.tokens.push_back(std::move(t));
      line.clear();
      return {};
    };
    const auto at = [&](int c) { return SourceLocation{.file = file, .line = lineno, .col = c}; };
    while (i < text.size()) {
      const char c = text[i];
      if (c == '\n') {
        if (auto ok = flush(); !ok) return ok;
        ++lineno;
        col = 1;
        ++i;
        continue;
      }
      if (c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v') {
        ++i;
        ++col;
        continue;
      }
      if (c == '#' || c == '!') {  // comment to the end of the line
        while (i < text.size() && text[i] != '\n') ++i;
        continue;
      }
      if (c == '{' || c == '}') {
        line.push_back(Token{.text = std::string(1, c), .where = at(col)});
        ++i;
        ++col;
        continue;
      }
      if (c == '"') {
        const int start = col;
        std::size_t j = i + 1;
        while (j < text.size() && text[j] != '"' && text[j] != '\n') ++j;
        if (j >= text.size() || text[j] != '"') {
          return located_error(at(start), "unterminated quoted string",
                               text.substr(i, std::min<std::size_t>(j - i, 40)),
                               "a closing '\"' on the same line");
        }
        line.push_back(Token{.text = std::string(text.substr(i + 1, j - i - 1)),
                             .where = at(start),
                             .quoted = true});
        col += static_cast<int>(j - i + 1);
        i = j + 1;
        continue;
      }
      const int start = col;
      std::size_t j = i;
      while (j < text.size() && text[j] != ' ' && text[j] != '\t' && text[j] != '\n' &&
             text[j] != '\r' && text[j] != '{' && text[j] != '}' && text[j] != '"' &&
             text[j] != '\f' && text[j] != '\v') {
        ++j;
      }
      line.push_back(Token{.text = std::string(text.substr(i, j - i)), .where = at(start)});
      col += static_cast<int>(j - i);
      i = j;
    }
    return flush();
  }

  const LexOptions& options_;
  std::vector<std::string> stack_{};  // canonical paths of the files being read
  Lexed out_{};
};

}  // namespace

core::Result<Lexed> lex_text(std::string_view text, const std::string& file,
                             const LexOptions& options) {
  return Lexer(options).run_text(text, file);
}

core::Result<Lexed> lex_file(const std::string& path, const LexOptions& options) {
  return Lexer(options).run_file(path);
}

}  // namespace lvs::config
