#include "daemon/config_file.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <fstream>
#include <sstream>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "config/keepalived.h"
#include "ctl/save.h"
#include "ctl/table_commands.h"
#include "model/table_ops.h"
#include "sched/registry.h"

namespace lvs::daemon {

namespace {

using config::Config;
using config::SourceLocation;
using core::Result;

// ---------------------------------------------------------------------------------------------
// Format detection

bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\r'; }

// The first line that is neither blank nor a comment, without leading blanks; "" if none.
std::string_view first_significant_line(std::string_view text) {
  std::size_t start = 0;
  while (start < text.size()) {
    const auto nl = text.find('\n', start);
    auto line = text.substr(start, nl == std::string_view::npos ? nl : nl - start);
    std::size_t i = 0;
    while (i < line.size() && is_blank(line[i])) ++i;
    line.remove_prefix(i);
    if (!line.empty() && line.front() != '#' && line.front() != '!') return line;
    if (nl == std::string_view::npos) break;
    start = nl + 1;
  }
  return {};
}

bool shell_name_char(char c, bool first) {
  return c == '_' || std::isalpha(static_cast<unsigned char>(c)) != 0 ||
         (!first && std::isdigit(static_cast<unsigned char>(c)) != 0);
}

// NAME=... or export NAME=...
bool is_assignment(std::string_view line) {
  if (line.substr(0, 7) == "export " || line.substr(0, 7) == "export\t") {
    line.remove_prefix(7);
    while (!line.empty() && is_blank(line.front())) line.remove_prefix(1);
  }
  std::size_t i = 0;
  while (i < line.size() && shell_name_char(line[i], i == 0)) ++i;
  return i > 0 && i < line.size() && line[i] == '=';
}

// First word that is not "ipvsadm" starts with '-'.
bool is_rules_line(std::string_view line) {
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && is_blank(line[i])) ++i;
    std::size_t j = i;
    while (j < line.size() && !is_blank(line[j])) ++j;
    const auto word = line.substr(i, j - i);
    if (!word.empty() && word != "ipvsadm") return word.front() == '-';
    i = j;
  }
  return false;
}

// ---------------------------------------------------------------------------------------------
// Rules files

struct LineWord {
  std::string text{};
  int col = 0;
};

struct RulesLine {
  int number = 0;
  std::vector<LineWord> words{};  // "ipvsadm" words dropped, as restore_lines() does
};

// Lines as restore_lines() splits them, with columns; `#` lines are comments (extension).
std::vector<RulesLine> rules_lines(std::string_view text) {
  std::vector<RulesLine> out;
  int number = 0;
  std::size_t start = 0;
  while (start <= text.size()) {
    const auto nl = text.find('\n', start);
    const auto line = text.substr(start, nl == std::string_view::npos ? nl : nl - start);
    ++number;
    RulesLine rl{.number = number, .words = {}};
    std::size_t i = 0;
    while (i < line.size() && is_blank(line[i])) ++i;
    const bool comment = i < line.size() && line[i] == '#';
    while (!comment && i < line.size()) {
      while (i < line.size() && is_blank(line[i])) ++i;
      std::size_t j = i;
      while (j < line.size() && !is_blank(line[j])) ++j;
      if (j > i && line.substr(i, j - i) != "ipvsadm") {
        rl.words.push_back(
            LineWord{.text = std::string(line.substr(i, j - i)), .col = static_cast<int>(i) + 1});
      }
      i = j;
    }
    if (!rl.words.empty()) out.push_back(std::move(rl));
    if (nl == std::string_view::npos) break;
    start = nl + 1;
  }
  return out;
}

// How an option (by ipvsadm's name in messages) is spelled on a line.
struct OptionForm {
  std::string_view name{};
  std::string_view shorts{};
  std::array<std::string_view, 4> longs{};
  bool takes_value = true;
};

constexpr OptionForm kOptionForms[] = {
    {"service-address", "tuf", {"tcp-service", "udp-service", "sctp-service", "fwmark-service"}},
    {"scheduler", "s", {"scheduler"}},
    {"persistent", "p", {"persistent"}},
    {"netmask", "M", {"netmask"}},
    {"real-server", "r", {"real-server"}},
    {"forwarding-method", "gimb", {"gatewaying", "ipip", "masquerading", "fullnat"}, false},
    {"weight", "w", {"weight"}},
    {"u-threshold", "x", {"u-threshold"}},
    {"l-threshold", "y", {"l-threshold"}},
    {"ops", "o", {"ops"}, false},
    {"pe", "", {"pe"}},
    {"sched-flags", "b", {"sched-flags"}},
    {"tun-type", "", {"tun-type"}},
    {"tun-port", "", {"tun-port"}},
    {"tun-nocsum", "", {"tun-nocsum"}, false},
    {"tun-csum", "", {"tun-csum"}, false},
    {"tun-remcsum", "", {"tun-remcsum"}, false},
};

// ipvsadm's messages that do not quote the offending word: which option they are about and
// what would be valid there.
struct Hint {
  std::string_view fragment{};
  std::string_view option{};  // an OptionForm name; "" = the command word
  std::string_view expected{};
};

constexpr Hint kHints[] = {
    {"virtual server address", "service-address",
     "-t|-u ADDRESS:PORT (IPv4, [IPv6] or a host name; port 1..65535 or a service name)"},
    {"invalid fwmark value", "service-address", "-f MARK, an integer 1..4294967295"},
    {"Zero port specified", "service-address",
     "a port 1..65535 (port 0 only for persistent services)"},
    {"real server address", "real-server", "-r ADDRESS[:PORT]"},
    {"Different address family", "real-server",
     "a realserver address of the service's address family"},
    {"illegal weight", "weight", "-w WEIGHT, an integer 0..65535"},
    {"u_threshold", "u-threshold", "-x N, a connection count"},
    {"l_threshold", "l-threshold", "-y N, a connection count"},
    {"invalid timeout value", "persistent", "-p SECONDS, a persistence timeout"},
    {"persistent mask", "netmask", "-M NETMASK, a dotted IPv4 netmask"},
    {"ipv6 netmask", "netmask", "-M PREFIX, an IPv6 prefix length 1..128"},
    {"tunnel type", "tun-type", "--tun-type ipip|gue|gre"},
    {"tunnel port", "tun-port", "--tun-port PORT, 1..65535"},
    {"Tunnel options conflict", "forwarding-method", "tunnel options only with -i"},
    {"One-Packet", "ops", "-o only on UDP services"},
    {"scheduler flag", "sched-flags", "flags of the service's scheduler (sh-*, mh-*, flag-N)"},
    {"Service already exists", "service-address", "each service added once (-E changes one)"},
    {"Scheduler or persistence engine not found", "scheduler",
     "a scheduler: rr wrr lc wlc sed nq fo ovf twos sh dh mh lblc lblcr"},
    {"No such service", "service-address", "a service added by an earlier -A line"},
    {"Service not defined", "service-address", "a service added by an earlier -A line"},
    {"Destination already exists", "real-server",
     "each realserver once per service (-e changes one)"},
    {"No such destination", "real-server", "a realserver added by an earlier -a line"},
};

constexpr std::string_view kAnyLine =
    "a line `ipvsadm -R' accepts (-A/-a/-E/-e/-D/-d/-C with their options; see lvsadm -h)";

const OptionForm* find_form(std::string_view name) {
  const auto* it = std::find_if(std::begin(kOptionForms), std::end(kOptionForms),
                                [&](const OptionForm& f) { return f.name == name; });
  return it == std::end(kOptionForms) ? nullptr : it;
}

// Where `word` spells option `f`: npos if it does not, else the index just past the option
// (so a value is attached when that index is not the word's end). Long forms with or without
// "=value"; short letters inside a bundle up to the first letter that takes a value (the rest of
// the bundle is its value).
std::size_t spells(std::string_view word, const OptionForm& f) {
  constexpr auto kNo = std::string_view::npos;
  if (word.substr(0, 2) == "--") {
    const auto eq = word.find('=');
    const auto body = word.substr(2, eq == kNo ? kNo : eq - 2);
    const bool match = std::any_of(f.longs.begin(), f.longs.end(),
                                   [&](std::string_view l) { return !l.empty() && l == body; });
    return match ? (eq == kNo ? word.size() : eq) : kNo;
  }
  if (word.size() < 2 || word.front() != '-') return kNo;
  constexpr std::string_view kValueLetters = "tufspMrwxyb";
  for (std::size_t i = 1; i < word.size(); ++i) {
    if (f.shorts.find(word[i]) != kNo) return i + 1;
    if (kValueLetters.find(word[i]) != kNo) return kNo;
  }
  return kNo;
}

struct Offender {
  int col = 1;
  std::string text{};
  std::string expected{};
};

// The option word (and its separate value) of `f` on the line, if present.
std::optional<Offender> find_option(const RulesLine& line, const OptionForm& f) {
  for (std::size_t i = 0; i < line.words.size(); ++i) {
    const auto& w = line.words[i].text;
    const auto end = spells(w, f);
    if (end == std::string_view::npos) continue;
    Offender o{.col = line.words[i].col, .text = w, .expected = {}};
    if (f.takes_value && end == w.size() && i + 1 < line.words.size() &&
        line.words[i + 1].text.front() != '-') {
      o.text += " " + line.words[i + 1].text;
    }
    return o;
  }
  return std::nullopt;
}

// Where on the line ipvsadm's `message` points, and what would be valid there.
Offender locate(const RulesLine& line, std::string_view message) {
  Offender command{.col = line.words.front().col,
                   .text = line.words.front().text,
                   .expected = std::string(kAnyLine)};
  // "invalid option `WORD'", "invalid scheduler flag `sh-port'": a quoted word.
  if (const auto open = message.find('`'); open != std::string_view::npos) {
    const auto close = message.find('\'', open + 1);
    if (close != std::string_view::npos) {
      const auto quoted = message.substr(open + 1, close - open - 1);
      for (const auto& w : line.words) {
        if (!quoted.empty() && w.text.find(quoted) != std::string::npos) {
          return Offender{.col = w.col, .text = w.text, .expected = std::string(kAnyLine)};
        }
      }
    }
  }
  // "WORD: unknown option", "WORD: missing argument".
  if (const auto colon = message.find(": "); colon != std::string_view::npos) {
    const auto head = message.substr(0, colon);
    for (const auto& w : line.words) {
      if (w.text == head) {
        return Offender{.col = w.col, .text = w.text, .expected = std::string(kAnyLine)};
      }
    }
  }
  // "You need to supply the 'X' option ...": nothing on the line to point at.
  if (message.find("You need to supply") != std::string_view::npos) {
    const auto open = message.find('\'');
    const auto close = message.find('\'', open + 1);
    auto o = command;
    o.expected =
        fmt::format("the '{}' option on this line", message.substr(open + 1, close - open - 1));
    return o;
  }
  // "Illegal 'X' option ...", "multiple 'X' options", "The option 'X' conflicts ...".
  if (const auto open = message.find('\''); open != std::string_view::npos) {
    const auto close = message.find('\'', open + 1);
    if (close != std::string_view::npos) {
      if (const auto* f = find_form(message.substr(open + 1, close - open - 1)); f != nullptr) {
        if (auto o = find_option(line, *f)) {
          o->expected = "this command without that option (see lvsadm -h)";
          return *o;
        }
      }
    }
  }
  for (const auto& h : kHints) {
    if (message.find(h.fragment) == std::string_view::npos) continue;
    if (const auto* f = find_form(h.option); f != nullptr) {
      if (auto o = find_option(line, *f)) {
        o->expected = std::string(h.expected);
        return *o;
      }
    }
    auto o = command;
    o.expected = std::string(h.expected);
    return o;
  }
  return command;
}

core::Unexpected rules_error(const std::string& file, const RulesLine& line,
                             std::string_view message) {
  auto o = locate(line, message);
  return config::located_error(SourceLocation{.file = file, .line = line.number, .col = o.col},
                               message, o.text, o.expected);
}

bool changes_table(ctl::CommandKind k) {
  switch (k) {
    case ctl::CommandKind::kAddService:
    case ctl::CommandKind::kEditService:
    case ctl::CommandKind::kDeleteService:
    case ctl::CommandKind::kAddServer:
    case ctl::CommandKind::kEditServer:
    case ctl::CommandKind::kDeleteServer:
    case ctl::CommandKind::kFlush:
      return true;
    default:
      return false;
  }
}

template <typename K, typename V>
void remember(std::vector<std::pair<K, V>>& where, const K& key, const V& value) {
  const auto it =
      std::find_if(where.begin(), where.end(), [&](const auto& p) { return p.first == key; });
  if (it == where.end()) {
    where.emplace_back(key, value);
  } else {
    it->second = value;
  }
}

template <typename K, typename V>
V recall(const std::vector<std::pair<K, V>>& where, const K& key) {
  const auto it =
      std::find_if(where.begin(), where.end(), [&](const auto& p) { return p.first == key; });
  return it == where.end() ? V{} : it->second;
}

Result<std::string> read_file(const std::string& path, std::size_t max_bytes) {
  const SourceLocation at{.file = path, .line = 0, .col = 0};
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return config::located_error(at, "cannot read configuration file", path, "a readable file");
  std::string text;
  std::array<char, 65536> chunk{};
  while (in) {
    in.read(chunk.data(), static_cast<std::streamsize>(chunk.size()));
    text.append(chunk.data(), static_cast<std::size_t>(in.gcount()));
    if (text.size() > max_bytes) {
      return config::located_error(at, "configuration file is too large", path,
                                   fmt::format("at most {} bytes", max_bytes));
    }
  }
  if (in.bad()) {
    return config::located_error(at, "cannot read configuration file", path, "a readable file");
  }
  return text;
}

}  // namespace

std::string_view format_name(ConfigFormat f) {
  switch (f) {
    case ConfigFormat::kAuto:
      return "auto";
    case ConfigFormat::kKeepalived:
      return "keepalived";
    case ConfigFormat::kLvsConf:
      return "lvs.conf";
    case ConfigFormat::kIpvsadmRules:
      return "ipvsadm";
  }
  return "?";
}

std::optional<ConfigFormat> parse_format_name(std::string_view name) {
  static constexpr std::pair<std::string_view, ConfigFormat> kNames[] = {
      {"auto", ConfigFormat::kAuto},
      {"keepalived", ConfigFormat::kKeepalived},
      {"lvs.conf", ConfigFormat::kLvsConf},
      {"lvsconf", ConfigFormat::kLvsConf},
      {"ipvsadm", ConfigFormat::kIpvsadmRules},
      {"rules", ConfigFormat::kIpvsadmRules}};
  for (const auto& [n, f] : kNames) {
    if (n == name) return f;
  }
  return std::nullopt;
}

LoadOptions system_load_options() {
  LoadOptions o;
  o.lookups = config::system_lookups();
  o.resolver = ctl::system_resolver();
  return o;
}

ConfigFormat detect_format(std::string_view text) {
  const auto line = first_significant_line(text);
  if (line.empty()) return ConfigFormat::kKeepalived;
  if (is_rules_line(line)) return ConfigFormat::kIpvsadmRules;
  if (is_assignment(line)) return ConfigFormat::kLvsConf;
  return ConfigFormat::kKeepalived;
}

Result<Config> parse_rules(std::string_view text, const std::string& file,
                           const ctl::Resolver& resolver) {
  Config cfg;
  std::vector<std::pair<model::ServiceKey, SourceLocation>> service_at;
  std::vector<std::pair<std::pair<model::ServiceKey, core::Endpoint>, SourceLocation>> dest_at;
  for (const auto& line : rules_lines(text)) {
    ctl::RestoreLine rl{.number = line.number, .argv = {"ipvsadm"}};
    for (const auto& w : line.words) rl.argv.push_back(w.text);
    const auto cmd = ctl::parse_restore_line(rl, resolver);
    if (!cmd) return rules_error(file, line, cmd.error().text);
    if (!changes_table(cmd->kind)) {
      return config::located_error(
          SourceLocation{.file = file, .line = line.number, .col = line.words.front().col},
          fmt::format("the '{}' command does not belong in a rules file",
                      ctl::command_name(cmd->kind)),
          line.words.front().text, "-A, -E, -D, -a, -e, -d or -C (what ipvsadm -S writes)");
    }
    const auto outcome = ctl::apply_to_table(cfg.table, *cmd, sched::scheduler_exists);
    if (outcome.exit_code != 0) {
      auto message = outcome.err;
      while (!message.empty() && message.back() == '\n') message.pop_back();
      return rules_error(file, line, message);
    }
    const SourceLocation at{.file = file, .line = line.number, .col = line.words.front().col};
    if (cmd->kind == ctl::CommandKind::kAddService || cmd->kind == ctl::CommandKind::kEditService) {
      remember(service_at, cmd->service.key, at);
    }
    if (cmd->kind == ctl::CommandKind::kAddServer || cmd->kind == ctl::CommandKind::kEditServer) {
      remember(dest_at, std::pair(cmd->service.key, cmd->dest.addr), at);
    }
  }
  // No health checks in a rules file: every realserver is always up.
  for (const auto& svc : cfg.table.services) {
    config::ServiceHealth h{.key = svc.key, .where = recall(service_at, svc.key)};
    for (auto it = svc.dests.rbegin(); it != svc.dests.rend(); ++it) {
      h.reals.push_back(
          config::RealServerHealth{.addr = it->addr,
                                   .where = recall(dest_at, std::pair(svc.key, it->addr)),
                                   .weight = it->weight});
    }
    cfg.health.push_back(std::move(h));
  }
  return cfg;
}

Result<Config> override_forwarding(const Config& cfg, model::ForwardMethod method) {
  if (method != model::ForwardMethod::kFullNat && method != model::ForwardMethod::kMasq) {
    return core::fail(EINVAL, fmt::format("forwarding override {} is not supported; expected "
                                          "FullNat or Masq (methods that keep realserver ports)",
                                          model::forward_name(method)));
  }
  const auto rewrite = [&](model::RealServer d) {
    d.forward = method;
    d.tun_type = model::TunnelType::kIpip;
    d.tun_port = 0;
    d.tun_csum = model::TunnelCsum::kNoCsum;
    return d;
  };
  Config out = cfg;
  out.table = {};
  for (const auto& svc : cfg.table.services) {
    auto bare = svc;
    bare.dests.clear();
    if (auto ok = model::add_service(out.table, bare, sched::scheduler_exists); !ok) {
      return core::fail(ok.error().code, fmt::format("forwarding override: service {}: {}",
                                                     svc.key.to_string(), ok.error().message));
    }
    for (auto it = svc.dests.rbegin(); it != svc.dests.rend(); ++it) {
      if (auto ok = model::add_dest(out.table, svc.key, rewrite(*it)); !ok) {
        return core::fail(
            ok.error().code,
            fmt::format("forwarding override: realserver {} of service {}: {}",
                        it->addr.to_string(), svc.key.to_string(), ok.error().message));
      }
    }
    // add_dest keeps last_weight from the weight; restore what the file had.
    auto* copy = out.table.find(svc.key);
    for (std::size_t i = 0; i < svc.dests.size(); ++i) {
      copy->dests[i].last_weight = svc.dests[i].last_weight;
    }
  }
  for (auto& h : out.health) {
    if (h.sorry_server) h.sorry_server = rewrite(*h.sorry_server);
  }
  return out;
}

Result<Config> parse_config_text(std::string_view text, const std::string& file,
                                 const LoadOptions& options) {
  const auto format = options.format == ConfigFormat::kAuto ? detect_format(text) : options.format;
  Result<Config> cfg = Config{};
  switch (format) {
    case ConfigFormat::kKeepalived:
      cfg = config::parse_keepalived(text, file, config::KeepalivedOptions{.lex = options.lex});
      break;
    case ConfigFormat::kLvsConf: {
      auto c = config::parse_lvs_conf(text, file, options.lookups);
      if (!c) return core::Unexpected{c.error()};
      cfg = std::move(c->config);
      break;
    }
    case ConfigFormat::kIpvsadmRules:
    case ConfigFormat::kAuto:
      cfg = parse_rules(text, file, options.resolver);
      break;
  }
  if (!cfg || !options.forward) return cfg;
  return override_forwarding(*cfg, *options.forward);
}

Result<Config> load_config_file(const std::string& path, const LoadOptions& options) {
  auto text = read_file(path, options.lex.max_file_bytes);
  if (!text) return core::Unexpected{text.error()};
  return parse_config_text(*text, path, options);
}

}  // namespace lvs::daemon
