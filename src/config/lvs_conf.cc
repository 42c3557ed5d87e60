#include "config/lvs_conf.h"

#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "config/source.h"
#include "ha/vrrp_conf.h"
#include "model/table_ops.h"
#include "sched/registry.h"

namespace lvs::config {

namespace {

using core::Result;

// One word of a variable's value with the position of its first character.
struct Word {
  std::string text{};
  SourceLocation where{};
};

struct Assignment {
  std::string name{};
  SourceLocation where{};
  std::vector<Word> words{};
};

// Reads shell-style assignments, keeping a location for every word of every value.
class ShellReader {
 public:
  ShellReader(std::string_view text, const std::string& file) : text_(text), file_(file) {}

  Result<std::vector<Assignment>> run() {
    std::vector<Assignment> out;
    while (i_ < text_.size()) {
      skip_blanks();
      if (i_ >= text_.size()) break;
      if (peek() == '\n') {
        advance();
        continue;
      }
      if (peek() == '#') {
        skip_comment();
        continue;
      }
      auto a = assignment();
      if (!a) return core::Unexpected{a.error()};
      out.push_back(std::move(*a));
    }
    return out;
  }

 private:
  char peek() const { return text_[i_]; }
  SourceLocation here() const { return SourceLocation{.file = file_, .line = line_, .col = col_}; }
  void advance() {
    if (text_[i_] == '\n') {
      ++line_;
      col_ = 1;
    } else {
      ++col_;
    }
    ++i_;
  }
  void skip_blanks() {
    while (i_ < text_.size() && (peek() == ' ' || peek() == '\t' || peek() == '\r')) advance();
  }
  void skip_comment() {
    while (i_ < text_.size() && peek() != '\n') advance();
  }
  static bool name_char(char c, bool first) {
    return c == '_' || std::isalpha(static_cast<unsigned char>(c)) != 0 ||
           (!first && std::isdigit(static_cast<unsigned char>(c)) != 0);
  }
  std::string word_until_blank() {
    std::string w;
    for (std::size_t j = i_; j < text_.size() && text_[j] != ' ' && text_[j] != '\t' &&
                             text_[j] != '\n' && text_[j] != '\r' && w.size() < 40;
         ++j) {
      w += text_[j];
    }
    return w;
  }

  Result<Assignment> assignment() {
    auto start = here();
    std::string name;
    while (i_ < text_.size() && name_char(peek(), name.empty())) {
      name += peek();
      advance();
    }
    if (name == "export" && i_ < text_.size() && (peek() == ' ' || peek() == '\t')) {
      skip_blanks();
      start = here();
      name.clear();
      while (i_ < text_.size() && name_char(peek(), name.empty())) {
        name += peek();
        advance();
      }
    }
    if (name.empty() || i_ >= text_.size() || peek() != '=') {
      const auto word = name.empty() ? word_until_blank() : name;
      return located_error(start, "not a variable assignment", word,
                           "NAME=value, NAME=\"a b c\" or a # comment");
    }
    advance();  // '='
    Assignment a{.name = name, .where = start, .words = {}};
    // The value: unquoted, "double" and 'single' parts glued together until a blank.
    Word cur;
    bool in_word = false;
    const auto put = [&](char c, const SourceLocation& at) {
      if (!in_word) {
        cur = Word{.text = {}, .where = at};
        in_word = true;
      }
      cur.text += c;
    };
    const auto end_word = [&]() {
      if (in_word) a.words.push_back(std::move(cur));
      in_word = false;
    };
    while (i_ < text_.size() && peek() != '\n' && peek() != ' ' && peek() != '\t' &&
           peek() != '\r') {
      const char c = peek();
      if (c == '"' || c == '\'') {
        const auto open = here();
        advance();
        while (true) {
          if (i_ >= text_.size()) {
            return located_error(open, fmt::format("unterminated quoted value of {}", name),
                                 std::string(1, c), fmt::format("a closing {}", c));
          }
          const char d = peek();
          if (d == c) {
            advance();
            break;
          }
          if (c == '"' && d == '\\' && i_ + 1 < text_.size()) {
            advance();
            if (peek() == '\n') {  // line continuation
              end_word();
              advance();
              continue;
            }
            put(peek(), here());
            advance();
            continue;
          }
          if (d == ' ' || d == '\t' || d == '\n' || d == '\r') {
            end_word();
          } else {
            put(d, here());
          }
          advance();
        }
        continue;
      }
      if (c == '\\' && i_ + 1 < text_.size()) {
        advance();
        if (peek() == '\n') {
          advance();
          continue;
        }
      }
      put(peek(), here());
      advance();
    }
    end_word();
    skip_blanks();
    if (i_ < text_.size() && peek() == '#') skip_comment();
    if (i_ < text_.size() && peek() != '\n') {
      return located_error(here(), fmt::format("unexpected word after {}=", name),
                           word_until_blank(),
                           fmt::format("quotes around a value with spaces: {}=\"a b\"", name));
    }
    return a;
  }

  std::string_view text_;
  const std::string& file_;
  std::size_t i_ = 0;
  int line_ = 1;
  int col_ = 1;
};

Result<std::uint16_t> parse_port(const Word& w, std::string_view proto, const LvsConfOptions& o) {
  const bool digits = !w.text.empty() && std::all_of(w.text.begin(), w.text.end(),
                                                     [](char c) { return c >= '0' && c <= '9'; });
  if (digits) {
    unsigned v = 0;
    const auto [p, ec] = std::from_chars(w.text.data(), w.text.data() + w.text.size(), v);
    if (ec != std::errc{} || p != w.text.data() + w.text.size() || v < 1 || v > 65535) {
      return located_error(w.where, fmt::format("{} port is out of range", proto), w.text,
                           "a port 1..65535 or a service name");
    }
    return static_cast<std::uint16_t>(v);
  }
  if (o.lookup_service) {
    if (auto port = o.lookup_service(w.text, proto); port && *port != 0) return *port;
  }
  return located_error(w.where, fmt::format("unknown {} service name", proto), w.text,
                       "a port number 1..65535 or a service name from /etc/services");
}

Result<core::IpAddress> parse_host(const Word& w, std::string_view what, const LvsConfOptions& o) {
  if (auto a = core::IpAddress::parse(w.text); a) return *a;
  if (o.resolve_host) {
    if (auto a = o.resolve_host(w.text); a) return *a;
  }
  return located_error(w.where, fmt::format("cannot resolve {}", what), w.text,
                       "an IP address or a host name that resolves");
}

// eth0, eth0:110 (an alias), at most 15 characters like any Linux interface name.
bool valid_ifname(std::string_view s, bool alias_allowed) {
  if (s.empty() || s.size() > 15) return false;
  const auto colon = s.find(':');
  if (colon != std::string_view::npos && (!alias_allowed || colon == 0 || colon + 1 == s.size())) {
    return false;
  }
  return std::all_of(s.begin(), s.end(), [&](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' || c == '-' || c == '.' ||
           (alias_allowed && c == ':');
  });
}

struct Variable {
  std::string_view name;
  Result<void> (*apply)(LvsConf&, const Assignment&, const LvsConfOptions&);
};

Result<void> one_word(const Assignment& a) {
  if (a.words.size() != 1) {
    const auto word = a.words.empty() ? a.name : a.words[1].text;
    const auto& where = a.words.empty() ? a.where : a.words[1].where;
    return located_error(where, fmt::format("{} takes exactly one value", a.name), word,
                         fmt::format("{}=VALUE", a.name));
  }
  return {};
}

Result<void> set_ports(std::vector<std::uint16_t>& out, const Assignment& a, std::string_view proto,
                       const LvsConfOptions& o) {
  out.clear();
  for (const auto& w : a.words) {
    auto p = parse_port(w, proto, o);
    if (!p) return core::Unexpected{p.error()};
    if (std::find(out.begin(), out.end(), *p) != out.end()) {
      return located_error(w.where, fmt::format("duplicate {} port {} in {}", proto, *p, a.name),
                           w.text, "each port once");
    }
    out.push_back(*p);
  }
  return {};
}

// VRRP_PRIORITY / VRRP_ROUTER_ID: one number in lo..hi.
Result<void> vrrp_number(std::uint32_t& out, LvsConf& c, const Assignment& a, unsigned lo,
                         unsigned hi, std::string_view why) {
  if (auto ok = one_word(a); !ok) return ok;
  const auto& w = a.words[0];
  unsigned v = 0;
  const auto [p, ec] = std::from_chars(w.text.data(), w.text.data() + w.text.size(), v);
  if (ec != std::errc{} || p != w.text.data() + w.text.size() || v < lo || v > hi) {
    return located_error(w.where, fmt::format("invalid {}", a.name), w.text,
                         fmt::format("a number {}..{} ({})", lo, hi, why));
  }
  out = v;
  c.vrrp.enabled = true;
  return {};
}

constexpr Variable kVariables[] = {
    {"VIP",
     [](LvsConf& c, const Assignment& a, const LvsConfOptions& o) -> Result<void> {
       if (auto ok = one_word(a); !ok) return ok;
       auto ip = parse_host(a.words[0], "VIP", o);
       if (!ip) return core::Unexpected{ip.error()};
       c.vip_text = a.words[0].text;
       c.vip = *ip;
       return {};
     }},
    {"VIP_IF",
     [](LvsConf& c, const Assignment& a, const LvsConfOptions& /*o*/) -> Result<void> {
       if (auto ok = one_word(a); !ok) return ok;
       if (!valid_ifname(a.words[0].text, true)) {
         return located_error(a.words[0].where, "invalid VIP_IF", a.words[0].text,
                              "an interface or alias name such as eth0:110 (at most 15 "
                              "characters)");
       }
       c.vip_if = a.words[0].text;
       return {};
     }},
    {"LVS_IF",
     [](LvsConf& c, const Assignment& a, const LvsConfOptions& /*o*/) -> Result<void> {
       c.lvs_if.clear();
       for (const auto& w : a.words) {
         if (!valid_ifname(w.text, false)) {
           return located_error(w.where, "invalid LVS_IF", w.text,
                                "interface names such as eth0 (at most 15 characters)");
         }
         c.lvs_if.push_back(w.text);
       }
       return {};
     }},
    {"TPORTS", [](LvsConf& c, const Assignment& a,
                  const LvsConfOptions& o) { return set_ports(c.tcp_ports, a, "tcp", o); }},
    {"UPORTS", [](LvsConf& c, const Assignment& a,
                  const LvsConfOptions& o) { return set_ports(c.udp_ports, a, "udp", o); }},
    {"RIPS",
     [](LvsConf& c, const Assignment& a, const LvsConfOptions& o) -> Result<void> {
       c.rips.clear();
       for (const auto& w : a.words) {
         auto ip = parse_host(w, "realserver", o);
         if (!ip) return core::Unexpected{ip.error()};
         if (std::find(c.rips.begin(), c.rips.end(), *ip) != c.rips.end()) {
           return located_error(w.where, fmt::format("duplicate realserver {}", ip->to_string()),
                                w.text, "each realserver once in RIPS");
         }
         c.rips.push_back(*ip);
       }
       return {};
     }},
    {"LVS_FORWARD",
     [](LvsConf& c, const Assignment& a, const LvsConfOptions& /*o*/) -> Result<void> {
       if (auto ok = one_word(a); !ok) return ok;
       const auto& w = a.words[0];
       if (w.text == "masq") {
         c.forward = model::ForwardMethod::kMasq;
       } else if (w.text == "fullnat") {
         c.forward = model::ForwardMethod::kFullNat;
       } else {
         return located_error(w.where, "unknown forwarding method in LVS_FORWARD", w.text,
                              "masq (the article's NAT, the default) or fullnat (lvsd's proxy)");
       }
       return {};
     }},
    {"LVS_ENGINE",
     [](LvsConf& c, const Assignment& a, const LvsConfOptions& /*o*/) -> Result<void> {
       if (auto ok = one_word(a); !ok) return ok;
       const auto& w = a.words[0];
       if (w.text == "user") {
         c.xdp = false;
       } else if (w.text == "xdp") {
         c.xdp = true;
       } else {
         return located_error(w.where, "unknown engine in LVS_ENGINE", w.text,
                              "user (the user-space engine, the default) or xdp (the XDP "
                              "engine on LVS_IF for the masquerading services)");
       }
       return {};
     }},
    {"LVS_CHECK",
     [](LvsConf& c, const Assignment& a, const LvsConfOptions& /*o*/) -> Result<void> {
       if (auto ok = one_word(a); !ok) return ok;
       const auto& w = a.words[0];
       if (w.text == "ping") {
         c.check = LvsConf::Check::kPing;
       } else if (w.text == "service") {
         c.check = LvsConf::Check::kService;
       } else {
         return located_error(w.where, "unknown health check in LVS_CHECK", w.text,
                              "ping (the article's update, the default) or service (TCP connect, "
                              "XDMCP query or UDP probe on each service's port)");
       }
       return {};
     }},
    {"CHECK_INTERVAL",
     [](LvsConf& c, const Assignment& a, const LvsConfOptions& /*o*/) -> Result<void> {
       if (auto ok = one_word(a); !ok) return ok;
       const auto& w = a.words[0];
       unsigned v = 0;
       const auto [p, ec] = std::from_chars(w.text.data(), w.text.data() + w.text.size(), v);
       if (ec != std::errc{} || p != w.text.data() + w.text.size() || v < 1 || v > 86400) {
         return located_error(w.where, "invalid CHECK_INTERVAL", w.text,
                              "seconds between two checks of a realserver, 1..86400");
       }
       c.check_interval = Millis{std::int64_t{v} * 1000};
       return {};
     }},
    {"VRRP_PEER",
     [](LvsConf& c, const Assignment& a, const LvsConfOptions& o) -> Result<void> {
       if (auto ok = one_word(a); !ok) return ok;
       auto ip = parse_host(a.words[0], "VRRP_PEER", o);
       if (!ip) return core::Unexpected{ip.error()};
       c.vrrp.peer = *ip;
       c.vrrp.enabled = true;
       return {};
     }},
    {"VRRP_PRIORITY",
     [](LvsConf& c, const Assignment& a, const LvsConfOptions& /*o*/) -> Result<void> {
       return vrrp_number(c.vrrp.priority, c, a, 1, 254,
                          "the director meant to be master takes the higher one");
     }},
    {"VRRP_ROUTER_ID",
     [](LvsConf& c, const Assignment& a, const LvsConfOptions& /*o*/) -> Result<void> {
       return vrrp_number(c.vrrp.router_id, c, a, 1, 255,
                          "the same on both directors, unique on the segment");
     }},
    {"VRRP_ADVERT_INT",
     [](LvsConf& c, const Assignment& a, const LvsConfOptions& /*o*/) -> Result<void> {
       if (auto ok = one_word(a); !ok) return ok;
       const auto& w = a.words[0];
       const auto centis = ha::parse_advert_int(w.text);
       if (!centis) {
         return located_error(w.where, "invalid VRRP_ADVERT_INT", w.text,
                              "seconds between adverts, 0.01..40.95 with at most two decimals "
                              "(e.g. 1 or 0.1)");
       }
       c.vrrp.advert_centis = *centis;
       c.vrrp.enabled = true;
       return {};
     }},
    {"VRRP_PREEMPT",
     [](LvsConf& c, const Assignment& a, const LvsConfOptions& /*o*/) -> Result<void> {
       if (auto ok = one_word(a); !ok) return ok;
       const auto& w = a.words[0];
       if (w.text != "yes" && w.text != "no") {
         return located_error(w.where, "invalid VRRP_PREEMPT", w.text,
                              "no (the default: a recovered director does not take the VIP "
                              "back) or yes");
       }
       c.vrrp.preempt = w.text == "yes";
       c.vrrp.enabled = true;
       return {};
     }},
    {"VRRP_IF",
     [](LvsConf& c, const Assignment& a, const LvsConfOptions& /*o*/) -> Result<void> {
       if (auto ok = one_word(a); !ok) return ok;
       if (!valid_ifname(a.words[0].text, false)) {
         return located_error(a.words[0].where, "invalid VRRP_IF", a.words[0].text,
                              "an interface name such as eth0 (at most 15 characters)");
       }
       c.vrrp.interface = a.words[0].text;
       c.vrrp.enabled = true;
       return {};
     }},
    {"VRRP_INSTANCE",
     [](LvsConf& c, const Assignment& a, const LvsConfOptions& /*o*/) -> Result<void> {
       if (auto ok = one_word(a); !ok) return ok;
       const auto& t = a.words[0].text;
       const bool ok = !t.empty() && t.size() <= 64 && std::all_of(t.begin(), t.end(), [](char ch) {
         return std::isalnum(static_cast<unsigned char>(ch)) != 0 || ch == '_' || ch == '-' ||
                ch == '.';
       });
       if (!ok) {
         return located_error(a.words[0].where, "invalid VRRP_INSTANCE", t,
                              "a name of letters, digits, '_', '-' or '.' (at most 64)");
       }
       c.vrrp.instance = t;
       c.vrrp.enabled = true;
       return {};
     }},
};

// The checks' timing: CHECK_INTERVAL between rounds, and a probe waits at most that long
// (never more than the default 5 s), so a realserver that stopped answering goes within about
// three intervals (keepalived's fall: the failure and one retry after 1 s).
CheckTiming check_timing(Millis interval) {
  CheckTiming t;
  t.delay_loop = interval;
  t.connect_timeout = std::min(t.connect_timeout, interval);
  return t;
}

// The checker LVS_CHECK asks for, on the realserver's address for `proto`/`port`.
CheckerSpec checker_for(LvsConf::Check check, model::Protocol proto, const core::Endpoint& addr,
                        const SourceLocation& where, Millis interval) {
  constexpr std::uint16_t kXdmcpPort = 177;
  CheckerKind kind = CheckerKind::kPing;
  if (check == LvsConf::Check::kService) {
    if (proto == model::Protocol::kTcp) {
      kind = CheckerKind::kTcp;
    } else {
      kind = addr.port == kXdmcpPort ? CheckerKind::kXdmcp : CheckerKind::kUdp;
    }
  }
  return CheckerSpec{
      .kind = kind, .where = where, .timing = check_timing(interval), .target = addr};
}

// Builds the services the way the article's script does (see the header).
Result<void> build(LvsConf& c, const std::vector<Assignment>& assignments,
                   const std::string& file) {
  const auto where_of = [&](std::string_view name) {
    for (const auto& a : assignments) {
      if (a.name == name && !a.words.empty()) return a.words[0].where;
    }
    return SourceLocation{.file = file, .line = 1, .col = 1};
  };
  const auto defined = [&](std::string_view name) {
    return std::any_of(assignments.begin(), assignments.end(),
                       [&](const Assignment& a) { return a.name == name; });
  };
  const SourceLocation top{.file = file, .line = 1, .col = 1};
  if (!defined("VIP")) {
    return located_error(top, "missing variable", "VIP", "VIP=<address or host name>");
  }
  if (c.rips.empty()) {
    return located_error(defined("RIPS") ? where_of("RIPS") : top, "no realservers", "RIPS",
                         "RIPS=\"<address or host name> ...\"");
  }
  if (c.tcp_ports.empty() && c.udp_ports.empty()) {
    return located_error(top, "no services", "TPORTS",
                         "TPORTS=\"<port or name> ...\" and/or UPORTS=\"...\"");
  }
  for (std::size_t i = 0; i < c.rips.size(); ++i) {
    if (c.rips[i].family() != c.vip.family()) {
      const auto& rips = *std::find_if(assignments.rbegin(), assignments.rend(),
                                       [](const Assignment& a) { return a.name == "RIPS"; });
      return located_error(rips.words[i].where,
                           "realserver address family differs from the VIP's (NAT needs one)",
                           rips.words[i].text, "an address of the VIP's family");
    }
  }
  if (c.xdp) {
    if (c.lvs_if.empty()) {
      return located_error(where_of("LVS_ENGINE"), "LVS_ENGINE=xdp needs LVS_IF", "xdp",
                           "LVS_IF=\"<the director's interfaces>\", the engine's interfaces");
    }
    c.config.global.xdp_interfaces = c.lvs_if;
  }
  const auto add = [&](model::Protocol proto, const std::vector<std::uint16_t>& ports,
                       std::string_view var) -> Result<void> {
    for (const auto port : ports) {
      const auto key =
          model::ServiceKey::address(proto, core::Endpoint{.addr = c.vip, .port = port});
      if (auto ok = model::add_service(c.config.table, model::VirtualService{.key = key},
                                       sched::scheduler_exists);
          !ok) {
        return located_error(where_of(var), fmt::format("service rejected: {}", ok.error().message),
                             std::to_string(port), "a service the engine accepts");
      }
      ServiceHealth h{.key = key, .where = where_of(var)};
      for (const auto& rip : c.rips) {
        const core::Endpoint addr{.addr = rip, .port = port};
        auto ok =
            model::add_dest(c.config.table, key,
                            model::RealServer{.addr = addr, .forward = c.forward, .weight = 1});
        if (!ok) {
          return located_error(where_of("RIPS"),
                               fmt::format("realserver rejected: {}", ok.error().message),
                               rip.to_string(), "a unicast realserver address");
        }
        h.reals.push_back(RealServerHealth{
            .addr = addr,
            .where = where_of("RIPS"),
            .checkers = {checker_for(c.check, proto, addr, where_of("RIPS"), c.check_interval)}});
      }
      c.config.health.push_back(std::move(h));
    }
    return {};
  };
  if (auto ok = add(model::Protocol::kTcp, c.tcp_ports, "TPORTS"); !ok) return ok;
  return add(model::Protocol::kUdp, c.udp_ports, "UPORTS");
}

}  // namespace

namespace {

// VRRP=yes|no, and the VRRP_* values when it is yes (lvs-director starts keepalived then).
std::string vrrp_variables(const LvsConf& c) {
  if (!c.vrrp.enabled) return "VRRP=no\n";
  return fmt::format(
      "VRRP=yes\nVRRP_PEER={}\nVRRP_PRIORITY={}\nVRRP_ROUTER_ID={}\nVRRP_ADVERT_INT={}.{:02}\n"
      "VRRP_PREEMPT={}\nVRRP_IF={}\nVRRP_INSTANCE={}\n",
      c.vrrp.peer ? c.vrrp.peer->to_string() : std::string{}, c.vrrp.priority, c.vrrp.router_id,
      c.vrrp.advert_centis / 100, c.vrrp.advert_centis % 100, c.vrrp.preempt ? "yes" : "no",
      c.vrrp.interface, c.vrrp.instance);
}

}  // namespace

std::string lvs_conf_variables(const LvsConf& c) {
  const auto words = [](const auto& items, auto text) {
    std::string out;
    for (const auto& item : items) {
      if (!out.empty()) out += ' ';
      out += text(item);
    }
    return out;
  };
  const auto same = [](const std::string& s) { return s; };
  const auto number = [](std::uint16_t p) { return std::to_string(p); };
  const auto address = [](const core::IpAddress& a) { return a.to_string(); };
  return fmt::format(
             "VIP={}\nVIP_IF={}\nLVS_IF={}\nTPORTS={}\nUPORTS={}\nRIPS={}\nLVS_FORWARD={}\n",
             c.vip.to_string(), c.vip_if, words(c.lvs_if, same), words(c.tcp_ports, number),
             words(c.udp_ports, number), words(c.rips, address),
             c.forward == model::ForwardMethod::kFullNat ? "fullnat" : "masq") +
         vrrp_variables(c);
}

LvsConfOptions system_lookups() {
  LvsConfOptions o;
  o.lookup_service = [](std::string_view name,
                        std::string_view proto) -> std::optional<std::uint16_t> {
    const std::string n(name);
    const std::string p(proto);
    const servent* s = ::getservbyname(n.c_str(), p.c_str());
    if (s == nullptr) return std::nullopt;
    return ntohs(static_cast<std::uint16_t>(s->s_port));
  };
  o.resolve_host = [](std::string_view host) -> std::optional<core::IpAddress> {
    const std::string h(host);
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* res = nullptr;
    if (::getaddrinfo(h.c_str(), nullptr, &hints, &res) != 0 || res == nullptr) {
      return std::nullopt;
    }
    char buf[NI_MAXHOST];
    std::optional<core::IpAddress> out;
    if (::getnameinfo(res->ai_addr, res->ai_addrlen, buf, sizeof(buf), nullptr, 0,
                      NI_NUMERICHOST) == 0) {
      if (auto a = core::IpAddress::parse(buf); a) out = *a;
    }
    ::freeaddrinfo(res);
    return out;
  };
  return o;
}

core::Result<LvsConf> parse_lvs_conf(std::string_view text, const std::string& file,
                                     const LvsConfOptions& options) {
  auto assignments = ShellReader(text, file).run();
  if (!assignments) return core::Unexpected{assignments.error()};
  LvsConf c;
  for (const auto& a : *assignments) {
    const auto it = std::find_if(std::begin(kVariables), std::end(kVariables),
                                 [&](const Variable& v) { return v.name == a.name; });
    if (it == std::end(kVariables)) {
      std::vector<std::string_view> names;
      for (const auto& v : kVariables) names.push_back(v.name);
      const auto near = closest_match(a.name, names);
      c.config.warnings.push_back(Warning{
          .where = a.where,
          .text = near.empty() ? fmt::format("ignoring unknown variable {}", a.name)
                               : fmt::format("ignoring unknown variable {} (did you mean {}?)",
                                             a.name, near)});
      continue;
    }
    if (auto ok = it->apply(c, a, options); !ok) return core::Unexpected{ok.error()};
  }
  if (auto ok = build(c, *assignments, file); !ok) return core::Unexpected{ok.error()};
  return c;
}

core::Result<LvsConf> load_lvs_conf(const std::string& path, const LvsConfOptions& options) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return located_error(SourceLocation{.file = path, .line = 0, .col = 0},
                         "cannot read configuration file", path, "a readable file");
  }
  std::ostringstream buf;
  buf << in.rdbuf();
  return parse_lvs_conf(buf.str(), path, options);
}

}  // namespace lvs::config
