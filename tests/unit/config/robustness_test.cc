// Property: whatever the input (truncated files, random bytes, shuffled keyword soup), both
// parsers return without crashing, and every failure has the one error shape with a line number
// inside the input.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <regex>

#include "config/keepalived.h"
#include "config/lvs_conf.h"

namespace lvs::config {
namespace {

constexpr const char* kValid = R"(global_defs {
  workers 2
}
virtual_server 192.168.1.100 80 {
  delay_loop 5
  lvs_sched wrr
  lvs_method TUN type gue port 6080
  protocol TCP
  persistence_timeout 300
  sorry_server 10.0.0.99 80
  real_server 10.0.0.11 80 {
    weight 2
    notify_up "/bin/echo up"
    HTTP_GET {
      url { path /  status_code 200-299 }
      connect_timeout 2
    }
  }
  real_server 10.0.0.12 80 {
    MISC_CHECK { misc_path /bin/true  misc_dynamic }
  }
}
virtual_server fwmark 9 {
  lvs_sched mh
  mh-port
  lvs_method DR
  real_server 10.0.0.13 0 {
    UDP_CHECK { payload 00ff  require_reply }
  }
}
)";

constexpr const char* kLvsConf =
    "VIP=10.0.0.100\nVIP_IF=eth0:110\nLVS_IF=\"eth0\"\n"
    "TPORTS=\"23 80\"\nUPORTS=\"177\"\n"
    "RIPS=\"10.0.0.1 \\\n10.0.0.2\"\n";

int lines_in(const std::string& text) {
  return 1 + static_cast<int>(std::count(text.begin(), text.end(), '\n'));
}

// The shared error shape: FILE:LINE:COL: what: 'word'; expected valid
void expect_located(const core::Error& e, const std::string& text) {
  static const std::regex kShape(R"(^t\.conf:([0-9]+):([0-9]+): [^\n]+: '[^]*'; expected .+$)");
  std::smatch m;
  ASSERT_TRUE(std::regex_match(e.message, m, kShape)) << e.message;
  const int line = std::stoi(m[1].str());
  EXPECT_GE(line, 1) << e.message;
  EXPECT_LE(line, lines_in(text)) << e.message;
}

KeepalivedOptions no_files() {
  KeepalivedOptions o;
  o.lex.allow_include = false;
  return o;
}

void check_keepalived(const std::string& text) {
  auto r = parse_keepalived(text, "t.conf", no_files());
  if (!r.ok()) expect_located(r.error(), text);
}

void check_lvs_conf(const std::string& text) {
  auto r = parse_lvs_conf(text, "t.conf", LvsConfOptions{});
  if (!r.ok()) expect_located(r.error(), text);
}

TEST(ConfigRobustness, ValidInputsParse) {
  EXPECT_TRUE(parse_keepalived(kValid, "t.conf", no_files()).ok());
  EXPECT_TRUE(parse_lvs_conf(kLvsConf, "t.conf", LvsConfOptions{}).ok());
}

// Every prefix of a valid file either parses or fails with a located error.
TEST(ConfigRobustness, EveryTruncationIsValidOrALocatedError) {
  const std::string k(kValid);
  for (std::size_t n = 0; n <= k.size(); ++n) check_keepalived(k.substr(0, n));
  const std::string l(kLvsConf);
  for (std::size_t n = 0; n <= l.size(); ++n) check_lvs_conf(l.substr(0, n));
}

// Random bytes (seeded, so failures reproduce) never crash either parser.
TEST(ConfigRobustness, RandomBytesYieldLocatedErrors) {
  std::mt19937 rng(20240501);
  std::uniform_int_distribution<int> byte(0, 255);
  std::uniform_int_distribution<std::size_t> len(0, 300);
  for (int i = 0; i < 400; ++i) {
    std::string text(len(rng), '\0');
    for (auto& c : text) c = static_cast<char>(byte(rng));
    check_keepalived(text);
    check_lvs_conf(text);
  }
}

// Shuffled words of a valid file reach deep into the keyword tables.
TEST(ConfigRobustness, ShuffledKeywordSoupYieldsLocatedErrors) {
  std::vector<std::string> words;
  {
    std::string w;
    for (const char c : std::string(kValid) + std::string(kLvsConf)) {
      if (c == ' ' || c == '\n') {
        if (!w.empty()) words.push_back(w);
        w.clear();
      } else {
        w += c;
      }
    }
  }
  words.insert(words.end(), {"{", "}", "\n", "\n", "\"", "#", "!", "=", "-1", "99999999999"});
  std::mt19937 rng(7);
  std::uniform_int_distribution<std::size_t> pick(0, words.size() - 1);
  std::uniform_int_distribution<int> count(1, 60);
  for (int i = 0; i < 600; ++i) {
    std::string text;
    for (int n = count(rng); n > 0; --n) {
      text += words[pick(rng)];
      text += (pick(rng) % 4 == 0) ? "\n" : " ";
    }
    check_keepalived(text);
    check_lvs_conf(text);
  }
}

}  // namespace
}  // namespace lvs::config
