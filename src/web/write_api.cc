#include "web/write_api.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "ctl/listing_json.h"
#include "web/http_parts.h"

namespace lvs::web {

namespace {

enum class Action : std::uint8_t { kNone, kWeight, kDrain, kDisable, kEnable };

struct ActionName {
  std::string_view name;
  Action action;
  std::string_view allow;  // the methods the path takes
};

constexpr std::array<ActionName, 5> kActions{{
    {"", Action::kNone, "GET, HEAD, PUT, PATCH"},
    {"weight", Action::kWeight, "PUT, PATCH"},
    {"drain", Action::kDrain, "POST"},
    {"disable", Action::kDisable, "POST"},
    {"enable", Action::kEnable, "POST"},
}};

// A realserver path, parsed.
struct RealPath {
  model::ServiceKey key{};
  core::Endpoint real{};
  const ActionName* action = nullptr;
  std::string service_text{};  // "TCP 192.0.2.1:80", "FWM 7"
};

using http::error;
using http::kJson;
using http::parse_number;
using http::split_path;

std::optional<core::IpAddress> parse_address(std::string_view s) {
  if (s.size() >= 2 && s.front() == '[' && s.back() == ']') s = s.substr(1, s.size() - 2);
  auto a = core::IpAddress::parse(s);
  return a ? std::optional(*a) : std::nullopt;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

// nullopt: not a realserver path; a response: a realserver path that names nothing valid.
std::optional<std::variant<RealPath, HttpResponse>> parse_real_path(std::string_view path) {
  const auto p = split_path(path);
  if (p.size() < 3 || p[0] != "api" || p[1] != "v1" || p[2] != "services") return std::nullopt;
  const bool fwmark = p.size() > 3 && p[3] == "fwmark";
  const std::size_t reals_at = fwmark ? 5 : 6;  // index of "reals"
  if (p.size() <= reals_at || p[reals_at] != "reals") return std::nullopt;
  const std::string given = fmt::format("/{}", fmt::join(p.begin() + 3, p.end(), "/"));
  const auto bad = [&](const std::string& why) -> std::variant<RealPath, HttpResponse> {
    return error(404, fmt::format("no realserver path {}: {}", given.substr(0, 300), why));
  };
  const std::size_t n = reals_at + 3;  // ... reals RIP RPORT
  if (p.size() != n && p.size() != n + 1) {
    return bad("expected .../reals/RIP/RPORT[/weight|drain|disable|enable]");
  }
  const auto rip = parse_address(p[reals_at + 1]);
  if (!rip) return bad(fmt::format("'{}' is not an IPv4 or IPv6 address", p[reals_at + 1]));
  const auto rport = parse_number<std::uint16_t>(p[reals_at + 2]);
  if (!rport) return bad(fmt::format("port '{}' is not a number 0..65535", p[reals_at + 2]));
  RealPath out{.real = core::Endpoint{.addr = *rip, .port = *rport}};
  const std::string_view action = p.size() == n + 1 ? p[n] : std::string_view{};
  for (const auto& a : kActions) {
    if (a.name == action) out.action = &a;
  }
  if (out.action == nullptr) {
    return bad(fmt::format("no action '{}' (known: weight, drain, disable, enable)",
                           action.substr(0, 64)));
  }
  if (fwmark) {
    const auto mark = parse_number<std::uint32_t>(p[4]);
    if (!mark || *mark == 0)
      return bad(fmt::format("fwmark '{}' is not a number 1..4294967295", p[4]));
    out.key = model::ServiceKey::mark(*mark, rip->family());
  } else {
    model::Protocol proto{};
    if (iequals(p[3], "tcp")) {
      proto = model::Protocol::kTcp;
    } else if (iequals(p[3], "udp")) {
      proto = model::Protocol::kUdp;
    } else {
      return bad(fmt::format("protocol '{}' is not tcp, udp or fwmark", p[3].substr(0, 64)));
    }
    const auto vip = parse_address(p[4]);
    if (!vip) return bad(fmt::format("'{}' is not an IPv4 or IPv6 address", p[4].substr(0, 64)));
    const auto port = parse_number<std::uint16_t>(p[5]);
    if (!port) return bad(fmt::format("port '{}' is not a number 0..65535", p[5].substr(0, 64)));
    out.key = model::ServiceKey::address(proto, core::Endpoint{.addr = *vip, .port = *port});
  }
  out.service_text = out.key.to_string();
  return out;
}

// Constant time in the length of `expected`, whatever `given` is.
bool same_token(std::string_view given, std::string_view expected) {
  unsigned diff = given.size() == expected.size() ? 0U : 1U;
  for (std::size_t i = 0; i < expected.size(); ++i) {
    const char g = i < given.size() ? given[i] : '\0';
    diff |= static_cast<unsigned>(static_cast<unsigned char>(g) ^
                                  static_cast<unsigned char>(expected[i]));
  }
  return diff == 0;
}

// nullopt: authorized; else the 403/401 answer.
std::optional<HttpResponse> check_token(const HttpRequest& req, const Sources& src) {
  const std::string token = src.api_token ? src.api_token() : std::string{};
  if (token.empty()) return error(403, "write API is off: set api_token in global_defs");
  const auto unauthorized = [](const std::string& why, std::string_view challenge) {
    auto r = error(401, why);
    r.www_authenticate = std::string(challenge);
    return r;
  };
  std::string_view auth = req.authorization;
  constexpr std::string_view kScheme = "Bearer ";
  if (auth.empty()) {
    return unauthorized("missing Authorization: Bearer TOKEN (the api_token of global_defs)",
                        "Bearer realm=\"lvsd\"");
  }
  if (auth.size() <= kScheme.size() || !iequals(auth.substr(0, kScheme.size()), kScheme)) {
    return unauthorized("the Authorization header is not 'Bearer TOKEN'",
                        "Bearer realm=\"lvsd\", error=\"invalid_request\"");
  }
  auth.remove_prefix(kScheme.size());
  while (!auth.empty() && auth.front() == ' ') auth.remove_prefix(1);
  while (!auth.empty() && auth.back() == ' ') auth.remove_suffix(1);
  if (!same_token(auth, token)) {
    return unauthorized("wrong token", "Bearer realm=\"lvsd\", error=\"invalid_token\"");
  }
  return std::nullopt;
}

bool is_json(std::string_view content_type) {
  const auto semi = content_type.find(';');
  std::string_view t = content_type.substr(0, semi);
  while (!t.empty() && t.back() == ' ') t.remove_suffix(1);
  return iequals(t, kJson);
}

// The weight of a {"weight": N} body, or the 400/415 answer.
std::variant<std::int32_t, HttpResponse> parse_weight_body(const HttpRequest& req) {
  constexpr std::string_view kShape = R"(the body takes {"weight": N} with N in 0..65535)";
  if (!is_json(req.content_type)) {
    return error(415, fmt::format("Content-Type '{}' is not application/json; {}",
                                  req.content_type.substr(0, 64), kShape));
  }
  const auto j = nlohmann::json::parse(req.body, nullptr, false);
  if (j.is_discarded()) return error(400, fmt::format("the body is not JSON; {}", kShape));
  if (!j.is_object()) return error(400, fmt::format("the body is not a JSON object; {}", kShape));
  for (const auto& [k, v] : j.items()) {
    if (k != "weight") {
      return error(400, fmt::format("unknown field \"{}\"; {}", k.substr(0, 64), kShape));
    }
  }
  if (!j.contains("weight"))
    return error(400, fmt::format("field \"weight\" is missing; {}", kShape));
  const auto& w = j["weight"];
  const std::string shown =
      w.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).substr(0, 64);
  if (!w.is_number_integer() || w.get<std::int64_t>() < 0 || w.get<std::int64_t>() > 65535) {
    return error(400, fmt::format("field \"weight\": {} is not an integer 0..65535", shown));
  }
  return static_cast<std::int32_t>(w.get<std::int64_t>());
}

// A body on POST actions may only be empty or a JSON object without fields.
std::optional<HttpResponse> check_empty_body(const HttpRequest& req) {
  if (req.body.empty()) return std::nullopt;
  if (!is_json(req.content_type)) {
    return error(415, fmt::format("Content-Type '{}' is not application/json",
                                  req.content_type.substr(0, 64)));
  }
  const auto j = nlohmann::json::parse(req.body, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.empty()) {
    return error(400, "this action takes no body, or {}");
  }
  return std::nullopt;
}

// The realserver as the listing shows it.
std::string real_json(const ctl::ServiceView& svc, const ctl::DestView& dest) {
  ctl::ListingInput one;
  one.services.push_back(ctl::ServiceView{.service = svc.service, .dests = {dest}});
  const auto j = nlohmann::json::parse(ctl::format_json(one, false));
  return j["services"][0]["dests"][0].dump() + "\n";
}

struct Found {
  ctl::ServiceView service{};
  ctl::DestView dest{};
};

std::variant<Found, HttpResponse> find(const RealPath& rp, const Sources& src) {
  if (!src.listing) return error(404, "no service table");
  const auto in = src.listing();
  // A fwmark service of either family holding the realserver (a tunnel realserver's family may
  // differ from its service's); otherwise the key as parsed.
  const auto same = [&](const model::ServiceKey& k) {
    return rp.key.is_fwmark() ? k.fwmark == rp.key.fwmark : k == rp.key;
  };
  bool service = false;
  for (const auto& s : in.services) {
    if (!same(s.service.key)) continue;
    service = service || s.service.key == rp.key;
    for (const auto& d : s.dests) {
      if (d.dest.addr == rp.real) return Found{.service = s, .dest = d};
    }
  }
  if (service) {
    return error(
        404, fmt::format("no realserver {} in service {}", rp.real.to_string(), rp.service_text));
  }
  return error(404, fmt::format("no service {}", rp.service_text));
}

// The options that recreate `d` under lvsadm -e (every unspecified field is reset), or the
// reason it cannot be expressed.
std::variant<std::vector<std::string>, std::string> edit_argv(const model::ServiceKey& key,
                                                              const model::RealServer& d,
                                                              std::int32_t weight) {
  std::vector<std::string> argv{"lvsadm", "-e"};
  if (key.is_fwmark()) {
    argv.insert(argv.end(), {"-f", std::to_string(key.fwmark)});
    if (key.af == core::Family::kInet6) argv.emplace_back("-6");
  } else {
    argv.emplace_back(key.protocol == model::Protocol::kUdp ? "-u" : "-t");
    argv.push_back(key.vip.to_string());
  }
  argv.insert(argv.end(), {"-r", d.addr.to_string()});
  switch (d.forward) {
    case model::ForwardMethod::kFullNat:
      argv.emplace_back("--fullnat");
      break;
    case model::ForwardMethod::kMasq:
      argv.emplace_back("-m");
      break;
    case model::ForwardMethod::kRoute:
      argv.emplace_back("-g");
      break;
    case model::ForwardMethod::kTunnel: {
      constexpr std::array<std::string_view, 3> kTypes{"ipip", "gue", "gre"};
      argv.insert(argv.end(), {"-i", "--tun-type",
                               std::string(kTypes.at(static_cast<std::size_t>(d.tun_type)))});
      if (d.tun_type == model::TunnelType::kGue) {
        argv.insert(argv.end(), {"--tun-port", std::to_string(d.tun_port)});
      }
      if (d.tun_csum == model::TunnelCsum::kCsum) argv.emplace_back("--tun-csum");
      if (d.tun_csum == model::TunnelCsum::kRemCsum) argv.emplace_back("--tun-remcsum");
      break;
    }
    case model::ForwardMethod::kLocal:
      return std::string("its forwarding method (Local) cannot be given to lvsadm -e");
  }
  if (d.proxy_protocol != model::ProxyProtocol::kNone) {
    return std::string(
        "it sends the PROXY protocol (lvsd -r ...,proxy=), which lvsadm -e cannot express and "
        "would drop; restart lvsd with the new weight instead");
  }
  argv.insert(argv.end(), {"-w", std::to_string(weight), "-x", std::to_string(d.u_threshold), "-y",
                           std::to_string(d.l_threshold)});
  return argv;
}

bool health_down(const model::ServiceKey& key, const core::Endpoint& real, const Sources& src) {
  if (!src.health) return false;
  const auto h = src.health();
  if (!h) return false;
  const auto it = h->find(ctl::DestKey{key, real});
  return it != h->end() && !it->second.up;
}

std::string trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

HttpResponse write(const HttpRequest& req, const RealPath& rp, const Sources& src,
                   std::string& did) {
  if (auto denied = check_token(req, src)) return *denied;
  if (req.body.size() > kMaxWriteBody) {
    return error(413, fmt::format("the body has {} bytes; at most {} are taken", req.body.size(),
                                  kMaxWriteBody));
  }
  std::optional<std::int32_t> weight;  // for -e
  if (rp.action->action == Action::kNone || rp.action->action == Action::kWeight) {
    auto w = parse_weight_body(req);
    if (auto* e = std::get_if<HttpResponse>(&w)) return *e;
    weight = std::get<std::int32_t>(w);
  } else if (auto e = check_empty_body(req)) {
    return *e;
  }
  auto found = find(rp, src);
  if (auto* e = std::get_if<HttpResponse>(&found)) return *e;
  const auto& [svc, dest] = std::get<Found>(found);
  const model::ServiceKey& key = svc.service.key;  // as found (a fwmark's family may differ)
  const std::string real =
      fmt::format("realserver {} of service {}", rp.real.to_string(), rp.service_text);
  std::vector<std::string> argv;
  if (rp.action->action == Action::kDrain || rp.action->action == Action::kDisable) {
    argv = {"lvsadm", "--drain"};
    if (key.is_fwmark()) {
      argv.insert(argv.end(), {"-f", std::to_string(key.fwmark)});
      if (key.af == core::Family::kInet6) argv.emplace_back("-6");
    } else {
      argv.insert(argv.end(),
                  {key.protocol == model::Protocol::kUdp ? "-u" : "-t", key.vip.to_string()});
    }
    argv.insert(argv.end(), {"-r", rp.real.to_string()});
  } else {
    if (rp.action->action == Action::kEnable) {
      if (dest.dest.weight != 0) {
        did = fmt::format("enable: weight already {}, nothing to do", dest.dest.weight);
        return HttpResponse{.content_type = std::string(kJson), .body = real_json(svc, dest)};
      }
      if (dest.dest.last_weight <= 0) {
        return error(409, fmt::format("{} never had a non-zero weight to restore; set one with "
                                      "PUT .../weight",
                                      real));
      }
      weight = dest.dest.last_weight;
    }
    if (*weight != 0 && health_down(key, rp.real, src)) {
      return error(409, fmt::format("{} is DOWN by its health checks; it cannot take weight {} "
                                    "until they pass",
                                    real, *weight));
    }
    auto built = edit_argv(key, dest.dest, *weight);
    if (auto* why = std::get_if<std::string>(&built)) {
      return error(409, fmt::format("{} cannot be edited: {}", real, *why));
    }
    argv = std::move(std::get<std::vector<std::string>>(built));
  }
  if (!src.run) return error(409, "this lvsd takes no writes");
  did = fmt::format("{}", fmt::join(argv, " "));
  const ctl::Outcome o = src.run(argv);
  if (o.exit_code != 0) {
    const std::string text = trimmed(o.err.empty() ? o.out : o.err);
    return error(o.exit_code == 2 ? 422 : 409, text.empty() ? "the Director refused" : text);
  }
  auto after = find(rp, src);
  if (auto* e = std::get_if<HttpResponse>(&after)) return *e;
  const auto& now = std::get<Found>(after);
  return HttpResponse{.content_type = std::string(kJson), .body = real_json(now.service, now.dest)};
}

}  // namespace

std::optional<HttpResponse> respond_real_server(const HttpRequest& req, const Sources& src) {
  auto parsed = parse_real_path(req.path);
  if (!parsed) return std::nullopt;
  if (auto* e = std::get_if<HttpResponse>(&*parsed)) return *e;
  const RealPath& rp = std::get<RealPath>(*parsed);
  const bool read = req.method == "GET" || req.method == "HEAD";
  std::string_view allow = rp.action->allow;
  bool ok = false;
  for (std::string_view list = allow; !list.empty();) {
    const auto comma = list.find(", ");
    if (list.substr(0, comma) == req.method) ok = true;
    list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 2);
  }
  if (!ok) {
    auto r = error(405, fmt::format("method {} is not allowed on {} (allowed: {})",
                                    req.method.substr(0, 32), req.path.substr(0, 200), allow));
    r.allow = std::string(allow);
    return r;
  }
  if (read) {
    auto found = find(rp, src);
    if (auto* e = std::get_if<HttpResponse>(&found)) return *e;
    const auto& f = std::get<Found>(found);
    return HttpResponse{.content_type = std::string(kJson), .body = real_json(f.service, f.dest)};
  }
  std::string did;
  HttpResponse r = write(req, rp, src, did);
  r.audit = fmt::format(
      "{} {} -> {}{}", req.method.substr(0, 32), req.path.substr(0, 200), r.status,
      r.status == 200 ? (did.empty() ? "" : ": " + did)
                      : ": " + trimmed(nlohmann::json::parse(r.body)["error"].get<std::string>()));
  return r;
}

}  // namespace lvs::web
