#include "config/keepalived.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <limits>
#include <optional>
#include <span>
#include <tuple>
#include <utility>

#include <fmt/format.h>

#include "model/table_ops.h"
#include "sched/registry.h"

namespace lvs::config {

namespace {

using core::Result;
using model::ForwardMethod;

// ---------------------------------------------------------------------------------------------
// Drafts: what the file said, before defaults and inheritance are resolved.

struct TimingDraft {
  std::optional<Millis> delay_loop{};
  std::optional<Millis> connect_timeout{};
  std::optional<std::uint32_t> retry{};
  std::optional<Millis> delay_before_retry{};
  std::optional<Millis> warmup{};
  std::optional<bool> alpha{};
};

struct Method {
  ForwardMethod forward = ForwardMethod::kMasq;
  model::TunnelType tun_type = model::TunnelType::kIpip;
  std::uint16_t tun_port = 0;
  model::TunnelCsum tun_csum = model::TunnelCsum::kNoCsum;
};

struct CheckerDraft {
  CheckerSpec spec{};
  TimingDraft timing{};
  std::optional<core::IpAddress> connect_ip{};
  std::optional<std::uint16_t> connect_port{};
  std::optional<std::string> virtualhost{};
};

struct RealDraft {
  SourceLocation where{};       // the real_server keyword
  SourceLocation addr_where{};  // its address word
  std::string addr_text{};
  core::Endpoint addr{};
  bool has_port = false;
  std::optional<Method> method{};
  std::int32_t weight = 1;
  std::uint32_t u_threshold = 0;
  std::uint32_t l_threshold = 0;
  std::optional<bool> inhibit{};
  std::string notify_up{};
  std::string notify_down{};
  std::optional<std::string> virtualhost{};
  TimingDraft timing{};
  std::vector<CheckerDraft> checkers{};
};

struct ServiceDraft {
  SourceLocation where{};
  SourceLocation addr_where{};
  std::string head{};  // "192.168.1.100 80", "fwmark 7"
  bool is_fwmark = false;
  std::uint32_t fwmark = 0;
  core::Endpoint vip{};
  bool has_port = false;
  std::optional<model::Protocol> protocol{};
  std::optional<std::string> scheduler{};
  std::optional<Method> method{};
  bool persistent = false;
  std::uint32_t timeout = model::kDefaultPersistenceTimeout;
  std::optional<std::uint32_t> netmask{};
  std::optional<SourceLocation> ops{};
  std::uint32_t sched_flags = 0;
  std::uint32_t quorum = 1;
  std::uint32_t hysteresis = 0;
  std::string quorum_up{};
  std::string quorum_down{};
  std::optional<core::Endpoint> sorry{};
  std::optional<Method> sorry_method{};
  bool sorry_inhibit = false;
  bool omega = false;
  bool ha_suspend = false;
  bool inhibit = false;
  std::optional<std::string> virtualhost{};
  TimingDraft timing{};
  std::vector<RealDraft> reals{};
};

// ---------------------------------------------------------------------------------------------
// Statements and keyword tables.

struct Stmt {
  const Token* kw = nullptr;
  std::vector<const Token*> args{};
};

class Parser;
using Apply = Result<void> (*)(Parser&, const Stmt&);

enum class BlockMode : std::uint8_t { kNone, kRequired, kIgnored };
constexpr int kRest = std::numeric_limits<int>::max();
constexpr unsigned kAllKinds = 0xFF;
constexpr unsigned kind_bit(CheckerKind k) { return 1U << static_cast<unsigned>(k); }
constexpr unsigned kHttpKinds = kind_bit(CheckerKind::kHttpGet) | kind_bit(CheckerKind::kSslGet);

struct Row {
  std::string_view name;
  int min_args;
  int max_args;
  std::string_view expects;  // what the values should be, for messages
  Apply apply;               // block rows: called before the body is parsed
  BlockMode block;
  const Row* child;  // the body's keyword table (block rows)
  std::size_t child_count;
  unsigned kinds;  // checker rows: the checker kinds that accept the keyword
};

struct Context {
  std::string_view name;  // "virtual_server", for messages
  std::span<const Row> rows;
  bool unknown_is_warning;
};

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string join(const std::vector<const Token*>& args, std::size_t from = 0) {
  std::string out;
  for (std::size_t i = from; i < args.size(); ++i) {
    if (!out.empty()) out += ' ';
    out += args[i]->text;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Value parsers: each names the keyword and the valid range in its error.

Result<std::uint64_t> parse_uint(const Token& t, std::string_view what, std::uint64_t lo,
                                 std::uint64_t hi) {
  std::uint64_t v = 0;
  const auto* b = t.text.data();
  const auto* e = b + t.text.size();
  const auto [p, ec] = std::from_chars(b, e, v);
  const auto expect = fmt::format("an integer {}..{}", lo, hi);
  if (t.text.empty() || ec == std::errc::invalid_argument || p != e) {
    return located_error(t.where, fmt::format("invalid {}", what), t.text, expect);
  }
  if (ec == std::errc::result_out_of_range || v < lo || v > hi) {
    return located_error(t.where, fmt::format("{} is out of range", what), t.text, expect);
  }
  return v;
}

template <typename T>
Result<T> parse_int(const Token& t, std::string_view what, T lo, T hi) {
  auto v = parse_uint(t, what, static_cast<std::uint64_t>(lo), static_cast<std::uint64_t>(hi));
  if (!v) return core::Unexpected{v.error()};
  return static_cast<T>(*v);
}

// Seconds with an optional fraction ("5", "0.5", "1.25") to milliseconds.
Result<Millis> parse_seconds(const Token& t, std::string_view what) {
  constexpr std::uint64_t kMaxSeconds = std::uint64_t{31} * 24 * 3600;
  const std::string_view s = t.text;
  const auto dot = s.find('.');
  const auto whole = s.substr(0, dot);
  const auto frac = dot == std::string_view::npos ? std::string_view{} : s.substr(dot + 1);
  const auto expect = fmt::format("seconds 0..{} (fractions like 0.5 allowed)", kMaxSeconds);
  const auto digits = [](std::string_view d) {
    return std::all_of(d.begin(), d.end(), [](char c) { return c >= '0' && c <= '9'; });
  };
  if (whole.empty() || !digits(whole) || !digits(frac) || frac.size() > 3 ||
      (dot != std::string_view::npos && frac.empty())) {
    return located_error(t.where, fmt::format("invalid {}", what), t.text, expect);
  }
  if (whole.size() > 9) {
    return located_error(t.where, fmt::format("{} is out of range", what), t.text, expect);
  }
  std::uint64_t sec = 0;
  std::from_chars(whole.data(), whole.data() + whole.size(), sec);
  std::uint64_t ms = 0;
  for (std::size_t i = 0; i < 3; ++i) {
    ms = ms * 10 + (i < frac.size() ? static_cast<std::uint64_t>(frac[i] - '0') : 0);
  }
  if (sec > kMaxSeconds) {
    return located_error(t.where, fmt::format("{} is out of range", what), t.text, expect);
  }
  return Millis{static_cast<std::int64_t>(sec * 1000 + ms)};
}

Result<core::IpAddress> parse_ip(const Token& t, std::string_view what) {
  auto a = core::IpAddress::parse(t.text);
  if (!a) {
    return located_error(t.where, fmt::format("invalid {} address", what), t.text,
                         "an IPv4 or IPv6 address (host names are not resolved)");
  }
  return *a;
}

Result<bool> parse_switch(const Stmt& s) {
  if (s.args.empty()) return true;
  const auto v = lower(s.args[0]->text);
  if (v == "on" || v == "yes" || v == "true") return true;
  if (v == "off" || v == "no" || v == "false") return false;
  return located_error(s.args[0]->where, fmt::format("invalid value for {}", s.kw->text),
                       s.args[0]->text, "on, off or nothing (= on)");
}

// lvs_method NAT|DR|TUN|FNAT [type ipip|gue|gre] [port N] [nocsum|csum|remcsum]
Result<Method> parse_method(const Stmt& s) {
  struct Name {
    std::string_view word;
    ForwardMethod forward;
  };
  static constexpr Name kNames[] = {{"nat", ForwardMethod::kMasq},
                                    {"dr", ForwardMethod::kRoute},
                                    {"tun", ForwardMethod::kTunnel},
                                    {"fnat", ForwardMethod::kFullNat}};
  const Token& m = *s.args[0];
  Method out;
  const auto it = std::find_if(std::begin(kNames), std::end(kNames),
                               [&](const Name& n) { return n.word == lower(m.text); });
  if (it == std::end(kNames)) {
    return located_error(m.where, fmt::format("unknown forwarding method for {}", s.kw->text),
                         m.text, "NAT, DR, TUN or FNAT");
  }
  out.forward = it->forward;
  if (out.forward != ForwardMethod::kTunnel && s.args.size() > 1) {
    return located_error(s.args[1]->where, "tunnel options need lvs_method TUN", s.args[1]->text,
                         "no further words after NAT, DR or FNAT");
  }
  bool port_given = false;
  for (std::size_t i = 1; i < s.args.size(); ++i) {
    const Token& w = *s.args[i];
    const auto word = lower(w.text);
    const bool has_next = i + 1 < s.args.size();
    if (word == "type" && has_next) {
      const Token& v = *s.args[++i];
      const auto t = lower(v.text);
      if (t == "ipip") {
        out.tun_type = model::TunnelType::kIpip;
      } else if (t == "gue") {
        out.tun_type = model::TunnelType::kGue;
      } else if (t == "gre") {
        out.tun_type = model::TunnelType::kGre;
      } else {
        return located_error(v.where, "unknown tunnel type", v.text, "ipip, gue or gre");
      }
    } else if (word == "port" && has_next) {
      auto p = parse_int<std::uint16_t>(*s.args[++i], "tunnel port", 1, 65535);
      if (!p) return core::Unexpected{p.error()};
      out.tun_port = *p;
      port_given = true;
    } else if (word == "nocsum") {
      out.tun_csum = model::TunnelCsum::kNoCsum;
    } else if (word == "csum") {
      out.tun_csum = model::TunnelCsum::kCsum;
    } else if (word == "remcsum") {
      out.tun_csum = model::TunnelCsum::kRemCsum;
    } else {
      return located_error(w.where, "unknown tunnel option", w.text,
                           "type ipip|gue|gre, port N (gue), nocsum, csum or remcsum");
    }
  }
  if (out.tun_type == model::TunnelType::kGue && !port_given) {
    return located_error(m.where, "a gue tunnel needs a port", join(s.args), "TUN type gue port N");
  }
  if (out.tun_type != model::TunnelType::kGue && port_given) {
    return located_error(m.where, "only gue tunnels take a port", join(s.args),
                         "TUN type gue port N");
  }
  if (out.tun_csum == model::TunnelCsum::kRemCsum && out.tun_type != model::TunnelType::kGue) {
    return located_error(m.where, "remcsum needs a gue tunnel", join(s.args),
                         "TUN type gue port N remcsum");
  }
  return out;
}

// ---------------------------------------------------------------------------------------------

class Parser {
 public:
  explicit Parser(Lexed lexed) : toks_(std::move(lexed.tokens)) {
    cfg_.warnings = std::move(lexed.warnings);
  }

  Result<Config> run();

  // Parsing state the keyword handlers fill in.
  Config cfg_{};
  std::vector<ServiceDraft> services_{};
  ServiceDraft* vs_ = nullptr;
  RealDraft* rs_ = nullptr;
  CheckerDraft* chk_ = nullptr;
  UrlSpec* url_ = nullptr;

  void warn(const SourceLocation& where, std::string text) {
    cfg_.warnings.push_back(Warning{.where = where, .text = std::move(text)});
  }
  // The innermost timing overrides (checker, else real_server, else virtual_server).
  TimingDraft& timing() {
    if (chk_ != nullptr) return chk_->timing;
    if (rs_ != nullptr) return rs_->timing;
    return vs_->timing;
  }
  std::optional<std::string>& virtualhost() {
    if (url_ != nullptr) return url_virtualhost_;
    if (chk_ != nullptr) return chk_->virtualhost;
    if (rs_ != nullptr) return rs_->virtualhost;
    return vs_->virtualhost;
  }
  std::optional<std::string> url_virtualhost_{};  // scratch, copied into url_ by its handler

 private:
  Result<void> parse_body(const Context& ctx, const Token* opener);
  Result<Stmt> read_stmt(const Row& row);
  bool at_line_end() const {
    return pos_ >= toks_.size() || toks_[pos_].line_start || is_brace(toks_[pos_]);
  }
  static bool is_brace(const Token& t) { return !t.quoted && (t.text == "{" || t.text == "}"); }
  Result<void> skip_rest(bool allow_block);
  Result<void> build();
  Result<void> build_service(const ServiceDraft& d);

  std::vector<Token> toks_;
  std::size_t pos_ = 0;
};

// Handlers -------------------------------------------------------------------------------------

template <auto Field>
Result<void> set_timing_seconds(Parser& p, const Stmt& s) {
  auto v = parse_seconds(*s.args[0], s.kw->text);
  if (!v) return core::Unexpected{v.error()};
  p.timing().*Field = *v;
  return {};
}

Result<void> set_retry(Parser& p, const Stmt& s) {
  auto v = parse_int<std::uint32_t>(*s.args[0], s.kw->text, 0, 1000);
  if (!v) return core::Unexpected{v.error()};
  p.timing().retry = *v;
  return {};
}

Result<void> set_alpha(Parser& p, const Stmt& s) {
  auto v = parse_switch(s);
  if (!v) return core::Unexpected{v.error()};
  p.timing().alpha = *v;
  return {};
}

Result<void> set_virtualhost(Parser& p, const Stmt& s) {
  p.virtualhost() = s.args[0]->text;
  return {};
}

// global_defs

Result<void> global_workers(Parser& p, const Stmt& s) {
  auto v = parse_int<unsigned>(*s.args[0], "workers", 0, 1024);
  if (!v) return core::Unexpected{v.error()};
  p.cfg_.global.workers = *v;
  return {};
}

Result<void> global_log_level(Parser& p, const Stmt& s) {
  auto v = core::parse_log_level(s.args[0]->text);
  if (!v) {
    return located_error(s.args[0]->where, "unknown log_level", s.args[0]->text,
                         "trace, debug, info, warn, error or off");
  }
  p.cfg_.global.log_level = *v;
  return {};
}

Result<core::Endpoint> parse_listen(const Stmt& s, std::uint16_t default_port) {
  const Token& t = *s.args[0];
  if (s.args.size() == 2) {
    auto ip = parse_ip(t, s.kw->text);
    if (!ip) return core::Unexpected{ip.error()};
    auto port = parse_int<std::uint16_t>(*s.args[1], fmt::format("{} port", s.kw->text), 1, 65535);
    if (!port) return core::Unexpected{port.error()};
    return core::Endpoint{.addr = *ip, .port = *port};
  }
  auto e = core::Endpoint::parse(t.text, default_port);
  if (!e) {
    return located_error(t.where, fmt::format("invalid {}", s.kw->text), t.text,
                         "ADDRESS:PORT, [IPv6]:PORT or ADDRESS PORT");
  }
  return *e;
}

// `http_listen 127.0.0.1:9100` (or `[::1]:9100`, or `ADDRESS PORT`): the port is required.
Result<void> global_http_listen(Parser& p, const Stmt& s) {
  auto e = parse_listen(s, 0);
  if (!e) return core::Unexpected{e.error()};
  if (e->port == 0) {
    return located_error(s.args[0]->where, "http_listen needs a port", s.args[0]->text,
                         "ADDRESS:PORT with a port 1..65535, e.g. 127.0.0.1:9100");
  }
  p.cfg_.global.http_listen = *e;
  return {};
}

Result<void> global_smtp_server(Parser& p, const Stmt& s) {
  auto e = parse_listen(s, 25);
  if (!e) return core::Unexpected{e.error()};
  p.cfg_.global.smtp_server = *e;
  return {};
}

Result<void> global_email_block(Parser& /*p*/, const Stmt& /*s*/) { return {}; }

// virtual_server

Result<void> open_virtual_server(Parser& p, const Stmt& s) {
  ServiceDraft d;
  d.where = s.kw->where;
  d.addr_where = s.args[0]->where;
  d.head = join(s.args);
  const auto first = lower(s.args[0]->text);
  if (first == "group") {
    return located_error(s.args[0]->where, "virtual_server group is not supported", s.args[0]->text,
                         "virtual_server ADDRESS PORT or virtual_server fwmark N");
  }
  if (first == "fwmark") {
    if (s.args.size() != 2) {
      return located_error(s.args[0]->where, "fwmark needs a mark", s.args[0]->text,
                           "virtual_server fwmark N with N 1..4294967295");
    }
    auto m = parse_int<std::uint32_t>(*s.args[1], "fwmark", 1, 4294967295U);
    if (!m) return core::Unexpected{m.error()};
    d.is_fwmark = true;
    d.fwmark = *m;
  } else {
    auto ip = parse_ip(*s.args[0], "virtual_server");
    if (!ip) return core::Unexpected{ip.error()};
    d.vip.addr = *ip;
    if (s.args.size() == 2) {
      auto port = parse_int<std::uint16_t>(*s.args[1], "virtual_server port", 0, 65535);
      if (!port) return core::Unexpected{port.error()};
      d.vip.port = *port;
      d.has_port = true;
    }
  }
  p.services_.push_back(std::move(d));
  p.vs_ = &p.services_.back();
  return {};
}

Result<void> vs_sched(Parser& p, const Stmt& s) {
  const Token& t = *s.args[0];
  if (!sched::scheduler_exists(t.text)) {
    std::vector<std::string_view> names;
    std::string list;
    for (const auto& info : sched::schedulers()) {
      names.push_back(info.name);
      list += list.empty() ? "" : ", ";
      list += info.name;
    }
    const auto near = closest_match(t.text, names);
    return located_error(t.where, "unknown scheduler", t.text,
                         near.empty() ? fmt::format("one of {}", list)
                                      : fmt::format("one of {} (did you mean '{}'?)", list, near));
  }
  p.vs_->scheduler = t.text;
  return {};
}

Result<void> set_method(Parser& p, const Stmt& s) {
  auto m = parse_method(s);
  if (!m) return core::Unexpected{m.error()};
  if (p.rs_ != nullptr) {
    p.rs_->method = *m;
  } else {
    p.vs_->method = *m;
  }
  return {};
}

Result<void> vs_protocol(Parser& p, const Stmt& s) {
  const auto v = lower(s.args[0]->text);
  if (v == "tcp") {
    p.vs_->protocol = model::Protocol::kTcp;
  } else if (v == "udp") {
    p.vs_->protocol = model::Protocol::kUdp;
  } else if (v == "sctp") {
    p.vs_->protocol = model::Protocol::kSctp;
  } else {
    return located_error(s.args[0]->where, "unknown protocol", s.args[0]->text, "TCP, UDP or SCTP");
  }
  return {};
}

Result<void> vs_persistence_timeout(Parser& p, const Stmt& s) {
  p.vs_->persistent = true;
  if (s.args.empty()) {
    p.vs_->timeout = model::kDefaultPersistenceTimeout;
    return {};
  }
  auto v =
      parse_int<std::uint32_t>(*s.args[0], "persistence_timeout", 1, model::kMaxPersistenceTimeout);
  if (!v) return core::Unexpected{v.error()};
  p.vs_->timeout = *v;
  return {};
}

Result<void> vs_persistence_granularity(Parser& p, const Stmt& s) {
  const Token& t = *s.args[0];
  const bool v6 = !p.vs_->is_fwmark && !p.vs_->vip.addr.is_v4();
  if (v6) {
    auto v = parse_int<std::uint32_t>(t, "IPv6 persistence_granularity", 1, 128);
    if (!v) return core::Unexpected{v.error()};
    p.vs_->netmask = *v;
  } else {
    auto a = core::IpAddress::parse(t.text);
    if (!a || !a->is_v4()) {
      return located_error(t.where, "invalid persistence_granularity", t.text,
                           "an IPv4 netmask such as 255.255.255.0");
    }
    p.vs_->netmask = a->v4_host();
  }
  p.vs_->persistent = true;  // granularity alone enables persistence with the default timeout
  return {};
}

Result<void> vs_ops(Parser& p, const Stmt& s) {
  p.vs_->ops = s.kw->where;
  return {};
}

template <std::uint32_t Bit>
Result<void> vs_flag(Parser& p, const Stmt& /*s*/) {
  p.vs_->sched_flags |= Bit;
  return {};
}

Result<void> vs_quorum(Parser& p, const Stmt& s) {
  auto v = parse_int<std::uint32_t>(*s.args[0], "quorum", 1, 2147483647U);
  if (!v) return core::Unexpected{v.error()};
  p.vs_->quorum = *v;
  return {};
}

Result<void> vs_hysteresis(Parser& p, const Stmt& s) {
  auto v = parse_int<std::uint32_t>(*s.args[0], "hysteresis", 0, 2147483647U);
  if (!v) return core::Unexpected{v.error()};
  p.vs_->hysteresis = *v;
  return {};
}

Result<void> vs_sorry_server(Parser& p, const Stmt& s) {
  auto ip = parse_ip(*s.args[0], "sorry_server");
  if (!ip) return core::Unexpected{ip.error()};
  std::uint16_t port = 0;
  if (s.args.size() == 2) {
    auto v = parse_int<std::uint16_t>(*s.args[1], "sorry_server port", 0, 65535);
    if (!v) return core::Unexpected{v.error()};
    port = *v;
  }
  p.vs_->sorry = core::Endpoint{.addr = *ip, .port = port};
  return {};
}

Result<void> vs_sorry_method(Parser& p, const Stmt& s) {
  auto m = parse_method(s);
  if (!m) return core::Unexpected{m.error()};
  p.vs_->sorry_method = *m;
  return {};
}

template <auto Field>
Result<void> vs_set(Parser& p, const Stmt& /*s*/) {
  p.vs_->*Field = true;
  return {};
}

template <auto Field>
Result<void> vs_command(Parser& p, const Stmt& s) {
  p.vs_->*Field = join(s.args);
  return {};
}

Result<void> inhibit_on_failure(Parser& p, const Stmt& s) {
  auto v = parse_switch(s);
  if (!v) return core::Unexpected{v.error()};
  if (p.rs_ != nullptr) {
    p.rs_->inhibit = *v;
  } else {
    p.vs_->inhibit = *v;
  }
  return {};
}

// real_server

Result<void> open_real_server(Parser& p, const Stmt& s) {
  RealDraft r;
  r.where = s.kw->where;
  r.addr_where = s.args[0]->where;
  r.addr_text = join(s.args);
  auto ip = parse_ip(*s.args[0], "real_server");
  if (!ip) return core::Unexpected{ip.error()};
  r.addr.addr = *ip;
  if (s.args.size() == 2) {
    auto port = parse_int<std::uint16_t>(*s.args[1], "real_server port", 0, 65535);
    if (!port) return core::Unexpected{port.error()};
    r.addr.port = *port;
    r.has_port = true;
  }
  p.vs_->reals.push_back(std::move(r));
  p.rs_ = &p.vs_->reals.back();
  return {};
}

Result<void> rs_weight(Parser& p, const Stmt& s) {
  auto v = parse_int<std::int32_t>(
      *s.args[0], fmt::format("weight for real_server {}", p.rs_->addr_text), 0, 65535);
  if (!v) return core::Unexpected{v.error()};
  p.rs_->weight = *v;
  return {};
}

template <auto Field>
Result<void> rs_threshold(Parser& p, const Stmt& s) {
  auto v = parse_int<std::uint32_t>(*s.args[0], s.kw->text, 0, 2147483647U);
  if (!v) return core::Unexpected{v.error()};
  p.rs_->*Field = *v;
  return {};
}

template <auto Field>
Result<void> rs_command(Parser& p, const Stmt& s) {
  p.rs_->*Field = join(s.args);
  return {};
}

template <CheckerKind Kind>
Result<void> open_checker(Parser& p, const Stmt& s) {
  CheckerDraft c;
  c.spec.kind = Kind;
  c.spec.where = s.kw->where;
  p.rs_->checkers.push_back(std::move(c));
  p.chk_ = &p.rs_->checkers.back();
  return {};
}

// checkers

Result<void> chk_connect_ip(Parser& p, const Stmt& s) {
  auto ip = parse_ip(*s.args[0], "connect_ip");
  if (!ip) return core::Unexpected{ip.error()};
  p.chk_->connect_ip = *ip;
  return {};
}

Result<void> chk_connect_port(Parser& p, const Stmt& s) {
  auto v = parse_int<std::uint16_t>(*s.args[0], "connect_port", 1, 65535);
  if (!v) return core::Unexpected{v.error()};
  p.chk_->connect_port = *v;
  return {};
}

Result<void> chk_bindto(Parser& p, const Stmt& s) {
  auto ip = parse_ip(*s.args[0], "bindto");
  if (!ip) return core::Unexpected{ip.error()};
  p.chk_->spec.bindto = *ip;
  return {};
}

Result<void> chk_bind_port(Parser& p, const Stmt& s) {
  auto v = parse_int<std::uint16_t>(*s.args[0], "bind_port", 1, 65535);
  if (!v) return core::Unexpected{v.error()};
  p.chk_->spec.bind_port = *v;
  return {};
}

Result<void> chk_bind_if(Parser& p, const Stmt& s) {
  p.chk_->spec.bind_if = s.args[0]->text;
  return {};
}

Result<void> chk_fwmark(Parser& p, const Stmt& s) {
  auto v = parse_int<std::uint32_t>(*s.args[0], "fwmark", 1, 4294967295U);
  if (!v) return core::Unexpected{v.error()};
  p.chk_->spec.fwmark = *v;
  return {};
}

Result<void> chk_log_all_failures(Parser& p, const Stmt& s) {
  auto v = parse_switch(s);
  if (!v) return core::Unexpected{v.error()};
  p.chk_->spec.log_all_failures = *v;
  return {};
}

Result<void> chk_http_protocol(Parser& p, const Stmt& s) {
  const auto& v = s.args[0]->text;
  if (v != "1.0" && v != "1.0C" && v != "1.1") {
    return located_error(s.args[0]->where, "unknown http_protocol", v, "1.0, 1.0C or 1.1");
  }
  p.chk_->spec.http_protocol = v;
  return {};
}

Result<void> chk_enable_sni(Parser& p, const Stmt& s) {
  auto v = parse_switch(s);
  if (!v) return core::Unexpected{v.error()};
  p.chk_->spec.enable_sni = *v;
  return {};
}

Result<void> open_url(Parser& p, const Stmt& /*s*/) {
  p.chk_->spec.urls.emplace_back();
  p.url_ = &p.chk_->spec.urls.back();
  p.url_virtualhost_.reset();
  return {};
}

Result<void> url_path(Parser& p, const Stmt& s) {
  p.url_->path = s.args[0]->text;
  return {};
}

Result<void> url_digest(Parser& p, const Stmt& s) {
  const Token& t = *s.args[0];
  const bool hex = t.text.size() == 32 && std::all_of(t.text.begin(), t.text.end(), [](char c) {
                     return std::isxdigit(static_cast<unsigned char>(c)) != 0;
                   });
  if (!hex) {
    return located_error(t.where, "invalid digest", t.text, "32 hex digits (an MD5 sum)");
  }
  p.url_->digest = lower(t.text);
  return {};
}

// status_code 200 301 | 200-299 (any mix)
Result<void> url_status_code(Parser& p, const Stmt& s) {
  for (const Token* t : s.args) {
    const auto dash = t->text.find('-');
    Token lo_tok = *t;
    Token hi_tok = *t;
    if (dash != std::string::npos) {
      lo_tok.text = t->text.substr(0, dash);
      hi_tok.text = t->text.substr(dash + 1);
    }
    auto lo = parse_int<std::uint16_t>(lo_tok, "status_code", 100, 599);
    if (!lo) return core::Unexpected{lo.error()};
    auto hi = parse_int<std::uint16_t>(hi_tok, "status_code", 100, 599);
    if (!hi) return core::Unexpected{hi.error()};
    if (*hi < *lo) {
      return located_error(t->where, "status_code range runs backwards", t->text,
                           "LOW-HIGH with LOW <= HIGH");
    }
    p.url_->status.push_back(StatusRange{.lo = *lo, .hi = *hi});
  }
  return {};
}

Result<void> url_regex(Parser& p, const Stmt& s) {
  p.url_->regex = join(s.args);
  return {};
}

Result<void> url_regex_no_match(Parser& p, const Stmt& /*s*/) {
  p.url_->regex_no_match = true;
  return {};
}

Result<void> dns_type(Parser& p, const Stmt& s) {
  static constexpr std::string_view kTypes[] = {"A", "NS", "CNAME", "SOA", "MX", "TXT", "AAAA"};
  std::string up(s.args[0]->text);
  for (auto& c : up) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (std::find(std::begin(kTypes), std::end(kTypes), up) == std::end(kTypes)) {
    return located_error(s.args[0]->where, "unknown DNS query type", s.args[0]->text,
                         "A, NS, CNAME, SOA, MX, TXT or AAAA");
  }
  p.chk_->spec.dns_type = up;
  return {};
}

Result<void> dns_name(Parser& p, const Stmt& s) {
  p.chk_->spec.dns_name = s.args[0]->text;
  return {};
}

Result<void> misc_path(Parser& p, const Stmt& s) {
  p.chk_->spec.misc_path = join(s.args);
  return {};
}

Result<void> misc_timeout(Parser& p, const Stmt& s) {
  auto v = parse_seconds(*s.args[0], "misc_timeout");
  if (!v) return core::Unexpected{v.error()};
  p.chk_->spec.misc_timeout = *v;
  return {};
}

Result<void> misc_dynamic(Parser& p, const Stmt& s) {
  auto v = parse_switch(s);
  if (!v) return core::Unexpected{v.error()};
  p.chk_->spec.misc_dynamic = *v;
  return {};
}

bool is_hex(std::string_view s, bool allow_x) {
  return !s.empty() && s.size() % 2 == 0 && std::all_of(s.begin(), s.end(), [&](char c) {
    return std::isxdigit(static_cast<unsigned char>(c)) != 0 || (allow_x && (c == 'X' || c == 'x'));
  });
}

Result<void> udp_payload(Parser& p, const Stmt& s) {
  const Token& t = *s.args[0];
  if (!is_hex(t.text, false)) {
    return located_error(t.where, "invalid payload", t.text,
                         "an even number of hex digits, e.g. 0a1b2c");
  }
  p.chk_->spec.payload.clear();
  for (std::size_t i = 0; i < t.text.size(); i += 2) {
    p.chk_->spec.payload.push_back(
        static_cast<std::uint8_t>(std::stoul(t.text.substr(i, 2), nullptr, 16)));
  }
  return {};
}

Result<void> udp_require_reply(Parser& p, const Stmt& s) {
  p.chk_->spec.require_reply = true;
  if (!s.args.empty()) {
    const Token& t = *s.args[0];
    if (!is_hex(t.text, true)) {
      return located_error(t.where, "invalid require_reply pattern", t.text,
                           "an even number of hex digits, X for any nibble");
    }
    p.chk_->spec.reply_pattern = t.text;
  }
  return {};
}

template <auto Field>
Result<void> udp_length(Parser& p, const Stmt& s) {
  auto v = parse_int<std::uint32_t>(*s.args[0], s.kw->text, 0, 65535);
  if (!v) return core::Unexpected{v.error()};
  p.chk_->spec.*Field = *v;
  return {};
}

Result<void> ignore(Parser& /*p*/, const Stmt& /*s*/) { return {}; }

Result<void> not_supported_group(Parser& /*p*/, const Stmt& s) {
  return located_error(s.kw->where, "virtual_server_group is not supported", s.kw->text,
                       "one virtual_server block per address and port (or a fwmark service)");
}

// The keyword tables ---------------------------------------------------------------------------

constexpr std::string_view kCmd = "a command (quote it when it has spaces)";

constexpr Row kUrlRows[] = {
    {"path", 1, 1, "a URL path such as /health", url_path, BlockMode::kNone, nullptr, 0, kAllKinds},
    {"digest", 1, 1, "32 hex digits", url_digest, BlockMode::kNone, nullptr, 0, kAllKinds},
    {"status_code", 1, kRest, "HTTP status codes or ranges such as 200-299", url_status_code,
     BlockMode::kNone, nullptr, 0, kAllKinds},
    {"regex", 1, kRest, "a regular expression", url_regex, BlockMode::kNone, nullptr, 0, kAllKinds},
    {"regex_no_match", 0, 0, "no value", url_regex_no_match, BlockMode::kNone, nullptr, 0,
     kAllKinds},
    {"virtualhost", 1, 1, "a host name", set_virtualhost, BlockMode::kNone, nullptr, 0, kAllKinds},
};

constexpr unsigned kDns = kind_bit(CheckerKind::kDns);
constexpr unsigned kMisc = kind_bit(CheckerKind::kMisc);
constexpr unsigned kUdp = kind_bit(CheckerKind::kUdp);

constexpr Row kCheckerRows[] = {
    {"connect_ip", 1, 1, "an IPv4 or IPv6 address", chk_connect_ip, BlockMode::kNone, nullptr, 0,
     kAllKinds},
    {"connect_port", 1, 1, "a port 1..65535", chk_connect_port, BlockMode::kNone, nullptr, 0,
     kAllKinds},
    {"bindto", 1, 1, "an IPv4 or IPv6 address", chk_bindto, BlockMode::kNone, nullptr, 0,
     kAllKinds},
    {"bind_port", 1, 1, "a port 1..65535", chk_bind_port, BlockMode::kNone, nullptr, 0, kAllKinds},
    {"bind_if", 1, 1, "an interface name", chk_bind_if, BlockMode::kNone, nullptr, 0, kAllKinds},
    {"fwmark", 1, 1, "a mark 1..4294967295", chk_fwmark, BlockMode::kNone, nullptr, 0, kAllKinds},
    {"connect_timeout", 1, 1, "seconds", set_timing_seconds<&TimingDraft::connect_timeout>,
     BlockMode::kNone, nullptr, 0, kAllKinds},
    {"retry", 1, 1, "a count 0..1000", set_retry, BlockMode::kNone, nullptr, 0, kAllKinds},
    {"nb_get_retry", 1, 1, "a count 0..1000", set_retry, BlockMode::kNone, nullptr, 0, kAllKinds},
    {"delay_before_retry", 1, 1, "seconds", set_timing_seconds<&TimingDraft::delay_before_retry>,
     BlockMode::kNone, nullptr, 0, kAllKinds},
    {"delay_loop", 1, 1, "seconds", set_timing_seconds<&TimingDraft::delay_loop>, BlockMode::kNone,
     nullptr, 0, kAllKinds},
    {"warmup", 1, 1, "seconds", set_timing_seconds<&TimingDraft::warmup>, BlockMode::kNone, nullptr,
     0, kAllKinds},
    {"alpha", 0, 1, "on or off", set_alpha, BlockMode::kNone, nullptr, 0, kAllKinds},
    {"log_all_failures", 0, 1, "on or off", chk_log_all_failures, BlockMode::kNone, nullptr, 0,
     kAllKinds},
    {"url", 0, 0, "a block", open_url, BlockMode::kRequired, kUrlRows, std::size(kUrlRows),
     kHttpKinds},
    {"http_protocol", 1, 1, "1.0, 1.0C or 1.1", chk_http_protocol, BlockMode::kNone, nullptr, 0,
     kHttpKinds},
    {"virtualhost", 1, 1, "a host name", set_virtualhost, BlockMode::kNone, nullptr, 0, kHttpKinds},
    {"enable_sni", 0, 1, "on or off", chk_enable_sni, BlockMode::kNone, nullptr, 0,
     kind_bit(CheckerKind::kSslGet)},
    {"type", 1, 1, "A, NS, CNAME, SOA, MX, TXT or AAAA", dns_type, BlockMode::kNone, nullptr, 0,
     kDns},
    {"name", 1, 1, "a domain name", dns_name, BlockMode::kNone, nullptr, 0, kDns},
    {"misc_path", 1, kRest, kCmd, misc_path, BlockMode::kNone, nullptr, 0, kMisc},
    {"misc_timeout", 1, 1, "seconds", misc_timeout, BlockMode::kNone, nullptr, 0, kMisc},
    {"misc_dynamic", 0, 1, "on or off", misc_dynamic, BlockMode::kNone, nullptr, 0, kMisc},
    {"payload", 1, 1, "hex digits", udp_payload, BlockMode::kNone, nullptr, 0, kUdp},
    {"require_reply", 0, 1, "hex digits (X = any nibble)", udp_require_reply, BlockMode::kNone,
     nullptr, 0, kUdp},
    {"min_reply_length", 1, 1, "bytes 0..65535", udp_length<&CheckerSpec::min_reply_length>,
     BlockMode::kNone, nullptr, 0, kUdp},
    {"max_reply_length", 1, 1, "bytes 0..65535", udp_length<&CheckerSpec::max_reply_length>,
     BlockMode::kNone, nullptr, 0, kUdp},
};

#define LVS_CHECKER_ROW(word, kind)                                                \
  Row {                                                                            \
    word, 0, 0, "a block", open_checker<kind>, BlockMode::kRequired, kCheckerRows, \
        std::size(kCheckerRows), kAllKinds                                         \
  }

constexpr Row kRealServerRows[] = {
    {"weight", 1, 1, "an integer 0..65535", rs_weight, BlockMode::kNone, nullptr, 0, kAllKinds},
    {"lvs_method", 1, kRest, "NAT, DR, TUN or FNAT", set_method, BlockMode::kNone, nullptr, 0,
     kAllKinds},
    {"lb_kind", 1, kRest, "NAT, DR, TUN or FNAT", set_method, BlockMode::kNone, nullptr, 0,
     kAllKinds},
    {"uthreshold", 1, 1, "an integer 0..2147483647", rs_threshold<&RealDraft::u_threshold>,
     BlockMode::kNone, nullptr, 0, kAllKinds},
    {"lthreshold", 1, 1, "an integer 0..2147483647", rs_threshold<&RealDraft::l_threshold>,
     BlockMode::kNone, nullptr, 0, kAllKinds},
    {"inhibit_on_failure", 0, 1, "on or off", inhibit_on_failure, BlockMode::kNone, nullptr, 0,
     kAllKinds},
    {"notify_up", 1, kRest, kCmd, rs_command<&RealDraft::notify_up>, BlockMode::kNone, nullptr, 0,
     kAllKinds},
    {"notify_down", 1, kRest, kCmd, rs_command<&RealDraft::notify_down>, BlockMode::kNone, nullptr,
     0, kAllKinds},
    {"alpha", 0, 1, "on or off", set_alpha, BlockMode::kNone, nullptr, 0, kAllKinds},
    {"retry", 1, 1, "a count 0..1000", set_retry, BlockMode::kNone, nullptr, 0, kAllKinds},
    {"delay_before_retry", 1, 1, "seconds", set_timing_seconds<&TimingDraft::delay_before_retry>,
     BlockMode::kNone, nullptr, 0, kAllKinds},
    {"delay_loop", 1, 1, "seconds", set_timing_seconds<&TimingDraft::delay_loop>, BlockMode::kNone,
     nullptr, 0, kAllKinds},
    {"connect_timeout", 1, 1, "seconds", set_timing_seconds<&TimingDraft::connect_timeout>,
     BlockMode::kNone, nullptr, 0, kAllKinds},
    {"warmup", 1, 1, "seconds", set_timing_seconds<&TimingDraft::warmup>, BlockMode::kNone, nullptr,
     0, kAllKinds},
    {"virtualhost", 1, 1, "a host name", set_virtualhost, BlockMode::kNone, nullptr, 0, kAllKinds},
    LVS_CHECKER_ROW("PING_CHECK", CheckerKind::kPing),
    LVS_CHECKER_ROW("TCP_CHECK", CheckerKind::kTcp),
    LVS_CHECKER_ROW("UDP_CHECK", CheckerKind::kUdp),
    LVS_CHECKER_ROW("HTTP_GET", CheckerKind::kHttpGet),
    LVS_CHECKER_ROW("SSL_GET", CheckerKind::kSslGet),
    LVS_CHECKER_ROW("DNS_CHECK", CheckerKind::kDns),
    LVS_CHECKER_ROW("MISC_CHECK", CheckerKind::kMisc),
    LVS_CHECKER_ROW("XDMCP_CHECK", CheckerKind::kXdmcp),
};

#undef LVS_CHECKER_ROW

#define LVS_FLAG_ROW(word, fn) \
  Row { word, 0, 0, "no value", fn, BlockMode::kNone, nullptr, 0, kAllKinds }

constexpr Row kVirtualServerRows[] = {
    {"lvs_sched", 1, 1, "a scheduler name", vs_sched, BlockMode::kNone, nullptr, 0, kAllKinds},
    {"lb_algo", 1, 1, "a scheduler name", vs_sched, BlockMode::kNone, nullptr, 0, kAllKinds},
    {"lvs_method", 1, kRest, "NAT, DR, TUN or FNAT", set_method, BlockMode::kNone, nullptr, 0,
     kAllKinds},
    {"lb_kind", 1, kRest, "NAT, DR, TUN or FNAT", set_method, BlockMode::kNone, nullptr, 0,
     kAllKinds},
    {"protocol", 1, 1, "TCP, UDP or SCTP", vs_protocol, BlockMode::kNone, nullptr, 0, kAllKinds},
    {"persistence_timeout", 0, 1, "seconds 1..2678400", vs_persistence_timeout, BlockMode::kNone,
     nullptr, 0, kAllKinds},
    {"persistence_granularity", 1, 1, "a netmask (IPv6: a prefix length)",
     vs_persistence_granularity, BlockMode::kNone, nullptr, 0, kAllKinds},
    LVS_FLAG_ROW("ops", vs_ops),
    LVS_FLAG_ROW("flag-1", vs_flag<model::sched_flag::kFlag1>),
    LVS_FLAG_ROW("flag-2", vs_flag<model::sched_flag::kFlag2>),
    LVS_FLAG_ROW("flag-3", vs_flag<model::sched_flag::kFlag3>),
    LVS_FLAG_ROW("sh-fallback", vs_flag<model::sched_flag::kShFallback>),
    LVS_FLAG_ROW("sh-port", vs_flag<model::sched_flag::kShPort>),
    LVS_FLAG_ROW("mh-fallback", vs_flag<model::sched_flag::kMhFallback>),
    LVS_FLAG_ROW("mh-port", vs_flag<model::sched_flag::kMhPort>),
    {"quorum", 1, 1, "an integer 1..2147483647", vs_quorum, BlockMode::kNone, nullptr, 0,
     kAllKinds},
    {"hysteresis", 1, 1, "an integer 0..2147483647", vs_hysteresis, BlockMode::kNone, nullptr, 0,
     kAllKinds},
    {"quorum_up", 1, kRest, kCmd, vs_command<&ServiceDraft::quorum_up>, BlockMode::kNone, nullptr,
     0, kAllKinds},
    {"quorum_down", 1, kRest, kCmd, vs_command<&ServiceDraft::quorum_down>, BlockMode::kNone,
     nullptr, 0, kAllKinds},
    {"sorry_server", 1, 2, "ADDRESS PORT", vs_sorry_server, BlockMode::kNone, nullptr, 0,
     kAllKinds},
    {"sorry_server_lvs_method", 1, kRest, "NAT, DR, TUN or FNAT", vs_sorry_method, BlockMode::kNone,
     nullptr, 0, kAllKinds},
    LVS_FLAG_ROW("sorry_server_inhibit", vs_set<&ServiceDraft::sorry_inhibit>),
    {"alpha", 0, 1, "on or off", set_alpha, BlockMode::kNone, nullptr, 0, kAllKinds},
    LVS_FLAG_ROW("omega", vs_set<&ServiceDraft::omega>),
    LVS_FLAG_ROW("ha_suspend", vs_set<&ServiceDraft::ha_suspend>),
    {"inhibit_on_failure", 0, 1, "on or off", inhibit_on_failure, BlockMode::kNone, nullptr, 0,
     kAllKinds},
    {"virtualhost", 1, 1, "a host name", set_virtualhost, BlockMode::kNone, nullptr, 0, kAllKinds},
    {"persistence_engine", 1, 1, "a persistence engine name", nullptr, BlockMode::kNone, nullptr, 0,
     kAllKinds},
    {"delay_loop", 1, 1, "seconds", set_timing_seconds<&TimingDraft::delay_loop>, BlockMode::kNone,
     nullptr, 0, kAllKinds},
    {"connect_timeout", 1, 1, "seconds", set_timing_seconds<&TimingDraft::connect_timeout>,
     BlockMode::kNone, nullptr, 0, kAllKinds},
    {"retry", 1, 1, "a count 0..1000", set_retry, BlockMode::kNone, nullptr, 0, kAllKinds},
    {"delay_before_retry", 1, 1, "seconds", set_timing_seconds<&TimingDraft::delay_before_retry>,
     BlockMode::kNone, nullptr, 0, kAllKinds},
    {"warmup", 1, 1, "seconds", set_timing_seconds<&TimingDraft::warmup>, BlockMode::kNone, nullptr,
     0, kAllKinds},
    {"real_server", 1, 2, "ADDRESS PORT", open_real_server, BlockMode::kRequired, kRealServerRows,
     std::size(kRealServerRows), kAllKinds},
};

#undef LVS_FLAG_ROW

constexpr Row kGlobalRows[] = {
    {"conn_log", 1, 1, "a file path or syslog",
     [](Parser& p, const Stmt& s) -> Result<void> {
       p.cfg_.global.conn_log = s.args[0]->text;
       return {};
     },
     BlockMode::kNone, nullptr, 0, kAllKinds},
    {"conn_log_rate", 1, 1, "lines per second 1..1000000",
     [](Parser& p, const Stmt& s) -> Result<void> {
       auto v = parse_int<std::uint32_t>(*s.args[0], "conn_log_rate", 1, 1000000);
       if (!v) return core::Unexpected{v.error()};
       p.cfg_.global.conn_log_rate = *v;
       return {};
     },
     BlockMode::kNone, nullptr, 0, kAllKinds},
    {"conn_log_facility", 1, 1, "daemon or local0..local7",
     [](Parser& p, const Stmt& s) -> Result<void> {
       const std::string& v = s.args[0]->text;
       if (v != "daemon" &&
           !(v.size() == 6 && v.starts_with("local") && v[5] >= '0' && v[5] <= '7')) {
         return located_error(s.args[0]->where, "invalid conn_log_facility", v,
                              "daemon or local0..local7");
       }
       p.cfg_.global.conn_log_facility = v;
       return {};
     },
     BlockMode::kNone, nullptr, 0, kAllKinds},
    {"workers", 1, 1, "an integer 0..1024 (0 = one per CPU)", global_workers, BlockMode::kNone,
     nullptr, 0, kAllKinds},
    {"xdp_interfaces", 1, 16, "interface names (lvsd --xdp)",
     [](Parser& p, const Stmt& s) -> Result<void> {
       p.cfg_.global.xdp_interfaces.clear();
       for (const auto& a : s.args) {
         if (a->text.size() >= 16 || a->text.find('/') != std::string::npos) {
           return located_error(a->where, "invalid xdp_interfaces name", a->text,
                                "interface names of 1..15 characters, no '/'");
         }
         p.cfg_.global.xdp_interfaces.push_back(a->text);
       }
       return {};
     },
     BlockMode::kNone, nullptr, 0, kAllKinds},
    {"lvsd_vrrp_fifo", 1, 1, "a path (lvsd --vrrp-fifo)",
     [](Parser& p, const Stmt& s) -> Result<void> {
       p.cfg_.global.vrrp_fifo = s.args[0]->text;
       return {};
     },
     BlockMode::kNone, nullptr, 0, kAllKinds},
    {"lvsd_vrrp_instance", 1, 1, "a vrrp_instance name (lvsd --vrrp-instance)",
     [](Parser& p, const Stmt& s) -> Result<void> {
       p.cfg_.global.vrrp_instance = s.args[0]->text;
       return {};
     },
     BlockMode::kNone, nullptr, 0, kAllKinds},
    {"control_socket", 1, 1, "a path",
     [](Parser& p, const Stmt& s) -> Result<void> {
       p.cfg_.global.control_socket = s.args[0]->text;
       return {};
     },
     BlockMode::kNone, nullptr, 0, kAllKinds},
    {"log_level", 1, 1, "trace, debug, info, warn, error or off", global_log_level,
     BlockMode::kNone, nullptr, 0, kAllKinds},
    {"http_listen", 1, 2, "ADDRESS:PORT", global_http_listen, BlockMode::kNone, nullptr, 0,
     kAllKinds},
    {"api_token", 1, 1, "a token",
     [](Parser& p, const Stmt& s) -> Result<void> {
       p.cfg_.global.api_token = s.args[0]->text;
       return {};
     },
     BlockMode::kNone, nullptr, 0, kAllKinds},
    {"notification_email", 0, 0, "a block of addresses", global_email_block, BlockMode::kRequired,
     nullptr, 0, kAllKinds},
    {"notification_email_from", 1, 1, "an e-mail address",
     [](Parser& p, const Stmt& s) -> Result<void> {
       p.cfg_.global.notification_email_from = s.args[0]->text;
       return {};
     },
     BlockMode::kNone, nullptr, 0, kAllKinds},
    {"smtp_server", 1, 2, "ADDRESS [PORT]", global_smtp_server, BlockMode::kNone, nullptr, 0,
     kAllKinds},
    {"router_id", 1, 1, "a name",
     [](Parser& p, const Stmt& s) -> Result<void> {
       p.cfg_.global.router_id = s.args[0]->text;
       return {};
     },
     BlockMode::kNone, nullptr, 0, kAllKinds},
    {"notify_fifo", 1, 1, "a path",
     [](Parser& p, const Stmt& s) -> Result<void> {
       p.cfg_.global.notify_fifo = s.args[0]->text;
       return {};
     },
     BlockMode::kNone, nullptr, 0, kAllKinds},
};

constexpr Row kTopRows[] = {
    {"global_defs", 0, 0, "a block", ignore, BlockMode::kRequired, kGlobalRows,
     std::size(kGlobalRows), kAllKinds},
    {"virtual_server", 1, 2, "ADDRESS PORT, fwmark N", open_virtual_server, BlockMode::kRequired,
     kVirtualServerRows, std::size(kVirtualServerRows), kAllKinds},
    {"virtual_server_group", 1, 1, "a name", not_supported_group, BlockMode::kRequired, nullptr, 0,
     kAllKinds},
    {"vrrp_instance", 0, kRest, "", ignore, BlockMode::kIgnored, nullptr, 0, kAllKinds},
    {"vrrp_sync_group", 0, kRest, "", ignore, BlockMode::kIgnored, nullptr, 0, kAllKinds},
    {"vrrp_script", 0, kRest, "", ignore, BlockMode::kIgnored, nullptr, 0, kAllKinds},
    {"static_ipaddress", 0, kRest, "", ignore, BlockMode::kIgnored, nullptr, 0, kAllKinds},
    {"static_routes", 0, kRest, "", ignore, BlockMode::kIgnored, nullptr, 0, kAllKinds},
    {"static_rules", 0, kRest, "", ignore, BlockMode::kIgnored, nullptr, 0, kAllKinds},
};

Context context_for(std::string_view name, const Row* rows, std::size_t n) {
  return Context{.name = name,
                 .rows = std::span<const Row>(rows, n),
                 .unknown_is_warning = name == "global_defs"};
}

// Parsing ---------------------------------------------------------------------------------------

Result<Stmt> Parser::read_stmt(const Row& row) {
  Stmt s{.kw = &toks_[pos_++], .args = {}};
  while (!at_line_end() && static_cast<int>(s.args.size()) < row.max_args) {
    s.args.push_back(&toks_[pos_++]);
  }
  if (static_cast<int>(s.args.size()) < row.min_args) {
    const Token& at = s.args.empty() ? *s.kw : *s.args.back();
    return located_error(at.where, fmt::format("missing value for {}", s.kw->text), s.kw->text,
                         row.expects);
  }
  return s;
}

Result<void> Parser::skip_rest(bool allow_block) {
  while (!at_line_end()) ++pos_;
  if (!allow_block || pos_ >= toks_.size() || toks_[pos_].quoted || toks_[pos_].text != "{") {
    return {};
  }
  const Token& open = toks_[pos_++];
  int depth = 1;
  while (pos_ < toks_.size() && depth > 0) {
    const Token& t = toks_[pos_++];
    if (t.quoted) continue;
    if (t.text == "{") ++depth;
    if (t.text == "}") --depth;
  }
  if (depth > 0) {
    return located_error(open.where, "block is never closed", open.text,
                         "a matching '}' before the end of the file");
  }
  return {};
}

// Parses statements until the `}` closing `opener` (or the end of input at the top level).
Result<void> Parser::parse_body(const Context& ctx, const Token* opener) {
  while (pos_ < toks_.size()) {
    const Token& t = toks_[pos_];
    if (!t.quoted && t.text == "}") {
      if (opener == nullptr) {
        return located_error(t.where, "unexpected '}'", t.text, "a keyword (no block is open)");
      }
      ++pos_;
      return {};
    }
    if (!t.quoted && t.text == "{") {
      return located_error(t.where, "unexpected '{'", t.text,
                           fmt::format("a {} keyword before the block", ctx.name));
    }
    if (ctx.name == "notification_email") {  // a block of bare addresses
      cfg_.global.notification_email.push_back(t.text);
      ++pos_;
      continue;
    }
    const auto it = std::find_if(ctx.rows.begin(), ctx.rows.end(),
                                 [&](const Row& r) { return !t.quoted && r.name == t.text; });
    if (it == ctx.rows.end()) {
      if (ctx.unknown_is_warning) {
        warn(t.where, fmt::format("ignoring {} keyword '{}' (not used by lvsd)", ctx.name, t.text));
        ++pos_;
        if (auto ok = skip_rest(true); !ok) return ok;
        continue;
      }
      std::vector<std::string_view> names;
      for (const auto& r : ctx.rows) names.push_back(r.name);
      const auto near = closest_match(t.text, names);
      const auto where = ctx.name == "top-level" ? std::string("at the top level")
                                                 : fmt::format("in {}", ctx.name);
      return located_error(t.where, fmt::format("unknown keyword {}", where), t.text,
                           near.empty()
                               ? fmt::format("a {} keyword", ctx.name)
                               : fmt::format("a {} keyword (did you mean '{}'?)", ctx.name, near));
    }
    const Row& row = *it;
    if (chk_ != nullptr && (row.kinds & kind_bit(chk_->spec.kind)) == 0) {
      return located_error(t.where, fmt::format("keyword not valid in {}", ctx.name), t.text,
                           fmt::format("a {} keyword", ctx.name));
    }
    if (row.block == BlockMode::kIgnored) {
      warn(t.where, fmt::format("ignoring {} block (lvsd does not do VRRP)", t.text));
      ++pos_;
      if (auto ok = skip_rest(true); !ok) return ok;
      continue;
    }
    auto stmt = read_stmt(row);
    if (!stmt) return core::Unexpected{stmt.error()};
    if (row.block == BlockMode::kNone && pos_ < toks_.size() && !toks_[pos_].line_start &&
        !is_brace(toks_[pos_])) {
      // The keyword took all the values it can: the next word on the line is not a keyword.
      const Token& extra = toks_[pos_];
      const bool is_keyword = std::any_of(ctx.rows.begin(), ctx.rows.end(),
                                          [&](const Row& r) { return r.name == extra.text; });
      if (!is_keyword) {
        return located_error(extra.where, fmt::format("too many values for {}", t.text), extra.text,
                             row.expects);
      }
    }
    if (row.block == BlockMode::kNone) {
      if (pos_ < toks_.size() && !toks_[pos_].quoted && toks_[pos_].text == "{" &&
          !toks_[pos_].line_start) {
        return located_error(toks_[pos_].where, fmt::format("{} takes no block", t.text), "{",
                             row.expects);
      }
      if (row.apply == nullptr) {
        return located_error(t.where, fmt::format("{} is not supported", t.text), t.text,
                             fmt::format("a {} keyword lvsd implements", ctx.name));
      }
      if (auto ok = row.apply(*this, *stmt); !ok) return ok;
      continue;
    }
    // A block keyword: `{` may follow on the same or the next line.
    if (pos_ >= toks_.size() || toks_[pos_].quoted || toks_[pos_].text != "{") {
      const Token& at = pos_ < toks_.size() ? toks_[pos_] : *stmt->kw;
      return located_error(at.where, fmt::format("{} needs a block", t.text), at.text,
                           fmt::format("'{{' after {} {}", t.text, join(stmt->args)));
    }
    const auto saved = std::make_tuple(vs_, rs_, chk_, url_);
    if (auto ok = row.apply(*this, *stmt); !ok) return ok;
    ++pos_;
    const auto child = context_for(row.name, row.child, row.child_count);
    if (auto ok = parse_body(child, &t); !ok) return ok;
    if (url_ != nullptr && url_virtualhost_) url_->virtualhost = *url_virtualhost_;
    std::tie(vs_, rs_, chk_, url_) = saved;
    url_virtualhost_.reset();
  }
  if (opener != nullptr) {
    return located_error(opener->where, "block is never closed", opener->text,
                         "a matching '}' before the end of the file");
  }
  return {};
}

// Building the table ----------------------------------------------------------------------------

CheckTiming resolve_timing(CheckerKind kind, const TimingDraft& vs, const TimingDraft& rs,
                           const TimingDraft& chk) {
  const auto pick = [&](auto member, auto fallback) {
    if ((chk.*member).has_value()) return *(chk.*member);
    if ((rs.*member).has_value()) return *(rs.*member);
    if ((vs.*member).has_value()) return *(vs.*member);
    return fallback;
  };
  CheckTiming t;
  t.delay_loop = pick(&TimingDraft::delay_loop, Millis{60'000});
  t.connect_timeout = pick(&TimingDraft::connect_timeout, Millis{5'000});
  const std::uint32_t retry_default =
      kind == CheckerKind::kDns ? 3U : (kind == CheckerKind::kMisc ? 0U : 1U);
  t.retry = pick(&TimingDraft::retry, retry_default);
  Millis dbr_default{1'000};
  if (kind == CheckerKind::kHttpGet || kind == CheckerKind::kSslGet) dbr_default = Millis{3'000};
  if (kind == CheckerKind::kDns) dbr_default = t.delay_loop;
  t.delay_before_retry = pick(&TimingDraft::delay_before_retry, dbr_default);
  if (chk.warmup) {
    t.warmup = chk.warmup;
  } else if (rs.warmup) {
    t.warmup = rs.warmup;
  } else {
    t.warmup = vs.warmup;
  }
  t.alpha = pick(&TimingDraft::alpha, false);
  return t;
}

model::RealServer with_method(model::RealServer rs, const Method& m) {
  rs.forward = m.forward;
  rs.tun_type = m.tun_type;
  rs.tun_port = m.tun_port;
  rs.tun_csum = m.tun_csum;
  return rs;
}

Result<void> Parser::build_service(const ServiceDraft& d) {
  model::VirtualService svc;
  if (d.is_fwmark) {
    svc.key = model::ServiceKey::mark(d.fwmark);
  } else {
    if (!d.protocol) {
      warn(d.where, fmt::format("virtual_server {} has no protocol; using UDP (keepalived's "
                                "default): add 'protocol TCP' if TCP was meant",
                                d.head));
    }
    svc.key = model::ServiceKey::address(d.protocol.value_or(model::Protocol::kUdp), d.vip);
  }
  if (!d.is_fwmark && !d.has_port && !d.persistent) {
    return located_error(d.addr_where, "virtual_server without a port must be persistent", d.head,
                         "ADDRESS PORT, or persistence_timeout for a port-0 service");
  }
  if (!d.scheduler) {
    warn(d.where, fmt::format("virtual_server {} has no lvs_sched; using wlc", d.head));
  }
  if (!d.method) {
    warn(d.where, fmt::format("virtual_server {} has no lvs_method; using NAT", d.head));
  }
  svc.scheduler = d.scheduler.value_or("wlc");
  svc.persistent = d.persistent;
  svc.timeout = d.timeout;
  svc.netmask = d.netmask.value_or(model::default_netmask(svc.key.af));
  svc.sched_flags = d.sched_flags;
  if (d.ops) {
    if (!d.is_fwmark && svc.key.protocol != model::Protocol::kUdp) {
      warn(*d.ops, fmt::format("ops dropped: one-packet scheduling is only for UDP or fwmark "
                               "services, and virtual_server {} is {}",
                               d.head, model::protocol_name(svc.key.protocol)));
    } else {
      svc.one_packet = true;
    }
  }
  for (const auto& other : cfg_.health) {
    if (other.key == svc.key) {
      return located_error(d.addr_where,
                           fmt::format("duplicate virtual_server {} (first at {})",
                                       svc.key.to_string(), other.where.to_string()),
                           d.head, "each virtual_server once");
    }
  }
  if (auto ok = model::add_service(cfg_.table, svc, sched::scheduler_exists); !ok) {
    return located_error(d.addr_where,
                         fmt::format("virtual_server rejected: {}", ok.error().message), d.head,
                         "a service the engine accepts");
  }
  const Method vs_method = d.method.value_or(Method{});
  ServiceHealth h;
  h.key = svc.key;
  h.where = d.where;
  h.delay_loop = d.timing.delay_loop.value_or(Millis{60'000});
  h.quorum = d.quorum;
  h.hysteresis = d.hysteresis;
  h.quorum_up = d.quorum_up;
  h.quorum_down = d.quorum_down;
  h.sorry_server_inhibit = d.sorry_inhibit;
  h.alpha = d.timing.alpha.value_or(false);
  h.omega = d.omega;
  h.ha_suspend = d.ha_suspend;
  h.virtualhost = d.virtualhost.value_or("");
  if (d.sorry) {
    h.sorry_server =
        with_method(model::RealServer{.addr = *d.sorry}, d.sorry_method.value_or(vs_method));
  }
  for (const auto& r : d.reals) {
    core::Endpoint addr = r.addr;
    if (!r.has_port) addr.port = d.vip.port;
    const Method m = r.method.value_or(vs_method);
    if (!d.is_fwmark && addr.addr.family() != svc.key.af && m.forward != ForwardMethod::kTunnel) {
      return located_error(r.addr_where,
                           fmt::format("real_server address family differs from virtual_server "
                                       "{}",
                                       d.head),
                           r.addr_text, "an address of the same family, or lvs_method TUN");
    }
    model::RealServer rs = with_method(model::RealServer{.addr = addr,
                                                         .weight = r.weight,
                                                         .u_threshold = r.u_threshold,
                                                         .l_threshold = r.l_threshold},
                                       m);
    for (const auto& prev : h.reals) {
      if (prev.addr == addr) {
        return located_error(
            r.addr_where,
            fmt::format("duplicate real_server {} in virtual_server {} (first at {})",
                        addr.to_string(), d.head, prev.where.to_string()),
            r.addr_text, "each real_server once per virtual_server");
      }
    }
    if (auto ok = model::add_dest(cfg_.table, svc.key, rs); !ok) {
      return located_error(
          r.addr_where, fmt::format("real_server rejected: {}", ok.error().message), r.addr_text,
          ok.error().code == ERANGE ? "lthreshold <= uthreshold" : "a unicast realserver address");
    }
    RealServerHealth rh;
    rh.addr = addr;
    rh.where = r.where;
    rh.weight = r.weight;
    rh.inhibit_on_failure = r.inhibit.value_or(d.inhibit);
    rh.alpha = r.timing.alpha.value_or(h.alpha);
    rh.notify_up = r.notify_up;
    rh.notify_down = r.notify_down;
    for (const auto& c : r.checkers) {
      CheckerSpec spec = c.spec;
      spec.timing = resolve_timing(spec.kind, d.timing, r.timing, c.timing);
      spec.target = core::Endpoint{.addr = c.connect_ip.value_or(addr.addr),
                                   .port = c.connect_port.value_or(addr.port)};
      spec.virtualhost = c.virtualhost.value_or(r.virtualhost.value_or(h.virtualhost));
      const bool http = spec.kind == CheckerKind::kHttpGet || spec.kind == CheckerKind::kSslGet;
      if (http && spec.urls.empty()) {
        return located_error(spec.where, fmt::format("{} has no url", checker_name(spec.kind)),
                             checker_name(spec.kind), "at least one url { path ... } block");
      }
      if (spec.kind == CheckerKind::kMisc && spec.misc_path.empty()) {
        return located_error(spec.where, "MISC_CHECK has no misc_path", "MISC_CHECK",
                             "misc_path \"COMMAND\" in the block");
      }
      rh.checkers.push_back(std::move(spec));
    }
    h.reals.push_back(std::move(rh));
  }
  cfg_.health.push_back(std::move(h));
  return {};
}

Result<void> Parser::build() {
  for (const auto& d : services_) {
    if (auto ok = build_service(d); !ok) return ok;
  }
  return {};
}

Result<Config> Parser::run() {
  const auto top = context_for("top-level", kTopRows, std::size(kTopRows));
  if (auto ok = parse_body(top, nullptr); !ok) return core::Unexpected{ok.error()};
  if (auto ok = build(); !ok) return core::Unexpected{ok.error()};
  return std::move(cfg_);
}

}  // namespace

core::Result<Config> parse_keepalived(std::string_view text, const std::string& file,
                                      const KeepalivedOptions& options) {
  auto lexed = lex_text(text, file, options.lex);
  if (!lexed) return core::Unexpected{lexed.error()};
  return Parser(std::move(*lexed)).run();
}

core::Result<Config> load_keepalived(const std::string& path, const KeepalivedOptions& options) {
  auto lexed = lex_file(path, options.lex);
  if (!lexed) return core::Unexpected{lexed.error()};
  return Parser(std::move(*lexed)).run();
}

}  // namespace lvs::config
