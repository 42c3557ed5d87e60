// The JSON API's realserver writes (docs/HTTP-API.md) as a function: the token gate (403 off,
// 401 missing/malformed/wrong), body rules (415, 413, 400 naming field and value), lookups
// (404), the lvsadm argv each write sends to the Director and how its answer maps (200, 409,
// 422). The Director here is a small stand-in that records argv and changes the weight; the
// real path (lvsd, lvsadm, traffic) is tests/integration/web/write_test.cc.
#include "web/write_api.h"

#include <random>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "ctl/ipvsadm_args.h"

namespace lvs::web {
namespace {

core::Endpoint ep(const char* s) { return *core::Endpoint::parse(s); }

const std::string kReal = "/api/v1/services/tcp/192.0.2.1/80/reals/198.51.100.11/80";
const std::string kBearer = "Bearer s3cret";

// The running state the stand-in Director changes: a TCP service with two realservers (one
// sending the PROXY protocol), an IPv6 fwmark service, and what was run.
struct World {
  ctl::ListingInput table;
  std::vector<std::vector<std::string>> runs;
  ctl::Outcome refuse{};  // exit_code != 0: the next run answers this
  ctl::HealthMap health;
  std::string token = "s3cret";

  World() {
    table.services.push_back(ctl::ServiceView{
        .service = {.key = model::ServiceKey::address(model::Protocol::kTcp, ep("192.0.2.1:80"))},
        .dests = {ctl::DestView{.dest = {.addr = ep("198.51.100.11:80"),
                                         .forward = model::ForwardMethod::kFullNat,
                                         .weight = 3,
                                         .last_weight = 3},
                                .active = 2},
                  ctl::DestView{.dest = {.addr = ep("198.51.100.12:80"),
                                         .forward = model::ForwardMethod::kFullNat,
                                         .proxy_protocol = model::ProxyProtocol::kV2}}}});
    table.services.push_back(
        ctl::ServiceView{.service = {.key = model::ServiceKey::mark(7, core::Family::kInet6)},
                         .dests = {ctl::DestView{.dest = {.addr = ep("[2001:db8::2]:80"),
                                                          .forward = model::ForwardMethod::kMasq,
                                                          .weight = 1,
                                                          .u_threshold = 100,
                                                          .l_threshold = 50}},
                                   ctl::DestView{.dest = {.addr = ep("198.51.100.20:80"),
                                                          .forward = model::ForwardMethod::kTunnel,
                                                          .tun_type = model::TunnelType::kGue,
                                                          .tun_port = 6080,
                                                          .tun_csum = model::TunnelCsum::kCsum}}}});
  }

  model::RealServer& dest(std::size_t svc, std::size_t i) {
    return table.services[svc].dests[i].dest;
  }

  // -e ... -w N or --drain on the realserver named after -r.
  // Every argv must pass lvsadm's own parser, and an -e must recreate the realserver as it is
  // with only the weight changed (ipvsadm's -e resets whatever is not given).
  ctl::Outcome run(const std::vector<std::string>& argv) {
    runs.push_back(argv);
    if (refuse.exit_code != 0) return refuse;
    const auto cmd = ctl::parse_ipvsadm_args(argv, ctl::numeric_resolver());
    EXPECT_TRUE(cmd.ok()) << (cmd ? "" : cmd.error().text);
    if (!cmd) return ctl::Outcome{.err = cmd.error().text + "\n", .exit_code = 2};
    for (auto& s : table.services) {
      if (!(s.service.key == cmd->service.key)) continue;
      for (auto& d : s.dests) {
        if (!(d.dest.addr == cmd->dest.addr)) continue;
        if (cmd->kind == ctl::CommandKind::kEditServer) {
          model::RealServer want = d.dest;
          want.weight = cmd->dest.weight;
          model::RealServer got = cmd->dest;
          got.last_weight = want.last_weight;
          EXPECT_EQ(got, want) << argv.size();
          d.dest.weight = cmd->dest.weight;
        } else {
          EXPECT_EQ(cmd->kind, ctl::CommandKind::kDrain);
          d.dest.weight = 0;
        }
        if (d.dest.weight != 0) d.dest.last_weight = d.dest.weight;
      }
    }
    return {};
  }

  Sources sources() {
    return Sources{.listing = [this] { return table; },
                   .health = [this]() -> std::optional<ctl::HealthMap> { return health; },
                   .version = "test",
                   .run = [this](const std::vector<std::string>& argv) { return run(argv); },
                   .api_token = [this] { return token; }};
  }

  HttpResponse send(std::string_view method, const std::string& path,
                    std::string_view auth = kBearer, std::string_view body = {},
                    std::string_view content_type = "application/json") {
    const auto r = respond(HttpRequest{.method = method,
                                       .path = path,
                                       .authorization = auth,
                                       .content_type = body.empty() ? "" : content_type,
                                       .body = body},
                           sources());
    return r;
  }
};

std::string error_of(const HttpResponse& r) {
  return nlohmann::json::parse(r.body).at("error").get<std::string>();
}

std::vector<std::string> edit(std::initializer_list<std::string> tail) {
  std::vector<std::string> v{"lvsadm", "-e"};
  v.insert(v.end(), tail);
  return v;
}

// No api_token configured: every write is 403 and names the setting; nothing runs.
TEST(WriteApi, WritesAreOffWithoutAToken) {
  World w;
  w.token.clear();
  for (const auto* path : {"/weight", "/drain", "/disable", "/enable", ""}) {
    const bool post = std::string_view(path).size() > 0 && std::string_view(path) != "/weight";
    const auto r =
        w.send(post ? "POST" : "PUT", kReal + path, kBearer, post ? "" : R"({"weight":1})");
    EXPECT_EQ(r.status, 403) << path;
    EXPECT_EQ(error_of(r), "write API is off: set api_token in global_defs");
  }
  EXPECT_TRUE(w.runs.empty());
}

// A missing, malformed or wrong token is 401 with a Bearer challenge; nothing runs. The token
// is checked before the realserver is looked up, so a 401 tells nothing about the table.
TEST(WriteApi, MissingMalformedOrWrongTokenIs401) {
  World w;
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", "missing Authorization: Bearer TOKEN (the api_token of global_defs)"},
      {"Basic czNjcmV0", "the Authorization header is not 'Bearer TOKEN'"},
      {"Bearer", "the Authorization header is not 'Bearer TOKEN'"},
      {"Bearer s3cre", "wrong token"},
      {"Bearer s3cret2", "wrong token"},
      {"Bearer S3CRET", "wrong token"},
  };
  for (const auto& [auth, text] : cases) {
    const auto r = w.send("POST", kReal + "/drain", auth);
    EXPECT_EQ(r.status, 401) << auth;
    EXPECT_EQ(error_of(r), text) << auth;
    EXPECT_TRUE(r.www_authenticate.starts_with("Bearer realm=\"lvsd\"")) << r.www_authenticate;
    EXPECT_NE(r.audit.find("-> 401"), std::string::npos) << r.audit;
  }
  const auto unknown = w.send(
      "POST", "/api/v1/services/tcp/192.0.2.9/80/reals/198.51.100.11/80/drain", "Bearer nope");
  EXPECT_EQ(unknown.status, 401);
  EXPECT_TRUE(w.runs.empty());
  // The scheme is case-insensitive (RFC 7235).
  EXPECT_EQ(w.send("POST", kReal + "/drain", "bearer s3cret").status, 200);
}

// PUT .../weight sends lvsadm -e with every other field as it is (ipvsadm's -e resets what is
// not given) and answers the realserver's JSON; PATCH on the realserver itself does the same.
TEST(WriteApi, WeightIsAnEditKeepingTheOtherFields) {
  World w;
  const auto r = w.send("PUT", kReal + "/weight", kBearer, R"({"weight": 5})");
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_EQ(w.runs.size(), 1U);
  EXPECT_EQ(w.runs[0], edit({"-t", "192.0.2.1:80", "-r", "198.51.100.11:80", "--fullnat", "-w", "5",
                             "-x", "0", "-y", "0"}));
  const auto j = nlohmann::json::parse(r.body);
  EXPECT_EQ(j["weight"], 5);
  EXPECT_EQ(j["address"], "198.51.100.11");
  EXPECT_EQ(j["active"], 2);
  EXPECT_EQ(r.audit, "PUT " + kReal +
                         "/weight -> 200: lvsadm -e -t 192.0.2.1:80 -r 198.51.100.11:80 --fullnat "
                         "-w 5 -x 0 -y 0");
  EXPECT_EQ(
      w.send("PATCH", kReal, kBearer, R"({"weight":0})", "application/json; charset=utf-8").status,
      200);
  EXPECT_EQ(w.dest(0, 0).weight, 0);
  // fwmark IPv6: -f MARK -6; Masq and thresholds carried.
  const auto f = w.send("PATCH", "/api/v1/services/fwmark/7/reals/[2001:db8::2]/80/weight", kBearer,
                        R"({"weight":9})");
  ASSERT_EQ(f.status, 200) << f.body;
  EXPECT_EQ(w.runs.back(), edit({"-f", "7", "-6", "-r", "[2001:db8::2]:80", "-m", "-w", "9", "-x",
                                 "100", "-y", "50"}));
}

// A tunnel realserver of another family than its fwmark service is found under the service's
// family (-6), and -e carries its tunnel options.
TEST(WriteApi, TunnelRealserverOfAnIpv6FwmarkService) {
  World w;
  const auto r = w.send("PUT", "/api/v1/services/fwmark/7/reals/198.51.100.20/80/weight", kBearer,
                        R"({"weight":2})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(w.runs.back(),
            edit({"-f", "7", "-6", "-r", "198.51.100.20:80", "-i", "--tun-type", "gue",
                  "--tun-port", "6080", "--tun-csum", "-w", "2", "-x", "0", "-y", "0"}));
  EXPECT_EQ(w.send("POST", "/api/v1/services/fwmark/8/reals/198.51.100.20/80/drain").status, 404);
}

// drain and disable are lvsadm --drain (weight 0, every other field kept); enable puts the
// last non-zero weight back; enabling a realserver that has a weight changes nothing.
TEST(WriteApi, DrainDisableEnable) {
  World w;
  const std::vector<std::string> drain{"lvsadm",       "--drain", "-t",
                                       "192.0.2.1:80", "-r",      "198.51.100.11:80"};
  ASSERT_EQ(w.send("POST", kReal + "/drain").status, 200);
  EXPECT_EQ(w.runs.back(), drain);
  EXPECT_EQ(w.dest(0, 0).weight, 0);
  const auto on = w.send("POST", kReal + "/enable");
  ASSERT_EQ(on.status, 200) << on.body;
  EXPECT_EQ(w.runs.back(), edit({"-t", "192.0.2.1:80", "-r", "198.51.100.11:80", "--fullnat", "-w",
                                 "3", "-x", "0", "-y", "0"}));
  EXPECT_EQ(nlohmann::json::parse(on.body)["weight"], 3);
  ASSERT_EQ(w.send("POST", kReal + "/disable", kBearer, "{}").status, 200);
  EXPECT_EQ(w.runs.back(), drain);
  EXPECT_EQ(w.send("POST", kReal + "/enable").status, 200);
  const auto runs = w.runs.size();
  const auto again = w.send("POST", kReal + "/enable");
  EXPECT_EQ(again.status, 200);
  EXPECT_EQ(w.runs.size(), runs);  // already enabled: nothing ran
  EXPECT_NE(again.audit.find("weight already 3, nothing to do"), std::string::npos) << again.audit;
  // Never had a weight: nothing to restore.
  w.dest(0, 0).weight = 0;
  w.dest(0, 0).last_weight = 0;
  const auto none = w.send("POST", kReal + "/enable");
  EXPECT_EQ(none.status, 409);
  EXPECT_EQ(error_of(none),
            "realserver 198.51.100.11:80 of service TCP 192.0.2.1:80 never had a non-zero weight "
            "to restore; set one with PUT .../weight");
}

// Bodies: JSON only (415), small (413), the one field with a valid value (400 naming both).
TEST(WriteApi, BodyErrorsNameTheFieldAndValue) {
  World w;
  const std::string path = kReal + "/weight";
  EXPECT_EQ(
      w.send("PUT", path, kBearer, R"({"weight":1})", "application/x-www-form-urlencoded").status,
      415);
  EXPECT_EQ(w.send("PUT", path, kBearer, "", "").status, 415);
  EXPECT_EQ(w.send("POST", kReal + "/drain", kBearer, "weight=1", "text/plain").status, 415);
  EXPECT_EQ(w.send("PUT", path, kBearer, std::string(kMaxWriteBody + 1, ' ')).status, 413);
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"{", R"(the body is not JSON; the body takes {"weight": N} with N in 0..65535)"},
      {"[1]", R"(the body is not a JSON object; the body takes {"weight": N} with N in 0..65535)"},
      {"{}", R"(field "weight" is missing; the body takes {"weight": N} with N in 0..65535)"},
      {R"({"weight":1,"x":2})",
       R"(unknown field "x"; the body takes {"weight": N} with N in 0..65535)"},
      {R"({"weight":70000})", R"(field "weight": 70000 is not an integer 0..65535)"},
      {R"({"weight":-1})", R"(field "weight": -1 is not an integer 0..65535)"},
      {R"({"weight":"5"})", R"(field "weight": "5" is not an integer 0..65535)"},
      {R"({"weight":1.5})", R"(field "weight": 1.5 is not an integer 0..65535)"},
      {R"({"weight":null})", R"(field "weight": null is not an integer 0..65535)"},
  };
  for (const auto& [body, text] : cases) {
    const auto r = w.send("PUT", path, kBearer, body);
    EXPECT_EQ(r.status, 400) << body;
    EXPECT_EQ(error_of(r), text) << body;
  }
  const auto drain_body = w.send("POST", kReal + "/drain", kBearer, R"({"weight":1})");
  EXPECT_EQ(drain_body.status, 400);
  EXPECT_EQ(error_of(drain_body), "this action takes no body, or {}");
  EXPECT_TRUE(w.runs.empty());
}

// Unknown services and realservers are 404 naming them; bad path parts name the part.
TEST(WriteApi, UnknownServiceOrRealserverIs404) {
  World w;
  const auto svc = w.send("POST", "/api/v1/services/udp/192.0.2.1/80/reals/198.51.100.11/80/drain");
  EXPECT_EQ(svc.status, 404);
  EXPECT_EQ(error_of(svc), "no service UDP 192.0.2.1:80");
  const auto real =
      w.send("POST", "/api/v1/services/tcp/192.0.2.1/80/reals/198.51.100.13/80/drain");
  EXPECT_EQ(real.status, 404);
  EXPECT_EQ(error_of(real), "no realserver 198.51.100.13:80 in service TCP 192.0.2.1:80");
  EXPECT_EQ(error_of(w.send("POST", kReal + "/reboot")),
            "no realserver path /tcp/192.0.2.1/80/reals/198.51.100.11/80/reboot: no action "
            "'reboot' (known: weight, drain, disable, enable)");
  EXPECT_EQ(error_of(w.send("POST", "/api/v1/services/tcp/192.0.2.1/80/reals/x/80/drain")),
            "no realserver path /tcp/192.0.2.1/80/reals/x/80/drain: 'x' is not an IPv4 or IPv6 "
            "address");
  EXPECT_EQ(w.send("GET", "/api/v1/services/tcp/192.0.2.1/80/reals/198.51.100.11").status, 404);
  EXPECT_TRUE(w.runs.empty());
}

// Each path takes its methods (405 with Allow otherwise); reading a realserver needs no token.
TEST(WriteApi, MethodsAndOpenReads) {
  World w;
  w.token.clear();
  const auto get = w.send("GET", kReal, "");
  ASSERT_EQ(get.status, 200);
  EXPECT_EQ(nlohmann::json::parse(get.body)["weight"], 3);
  EXPECT_TRUE(get.audit.empty());
  const auto post = w.send("POST", kReal, "");
  EXPECT_EQ(post.status, 405);
  EXPECT_EQ(post.allow, "GET, HEAD, PUT, PATCH");
  EXPECT_EQ(w.send("GET", kReal + "/drain").allow, "POST");
  EXPECT_EQ(w.send("DELETE", kReal + "/weight").allow, "PUT, PATCH");
}

// The Director's refusals come back with its text: a CLI error (exit 2) as 422, an engine or
// data-plane refusal as 409.
TEST(WriteApi, DirectorRefusalsKeepItsText) {
  World w;
  w.refuse =
      ctl::Outcome{.err = "lvsadm: lvsd cannot apply the change: bind failed\n", .exit_code = 255};
  const auto r = w.send("PUT", kReal + "/weight", kBearer, R"({"weight":2})");
  EXPECT_EQ(r.status, 409);
  EXPECT_EQ(error_of(r), "lvsadm: lvsd cannot apply the change: bind failed");
  w.refuse = ctl::Outcome{.err = "lvsadm: lvsd is stopping\n", .exit_code = 2};
  EXPECT_EQ(w.send("POST", kReal + "/drain").status, 422);
}

// A realserver its health checks hold DOWN gets no weight from the API (409), but can be
// drained; a PROXY-protocol realserver is drained but not edited (lvsadm -e would drop it).
TEST(WriteApi, HealthDownAndProxyProtocolAreRefusedForWeights) {
  World w;
  const auto key = model::ServiceKey::address(model::Protocol::kTcp, ep("192.0.2.1:80"));
  w.health[ctl::DestKey{key, ep("198.51.100.11:80")}] = ctl::HealthState{.up = false};
  const auto r = w.send("PUT", kReal + "/weight", kBearer, R"({"weight":2})");
  EXPECT_EQ(r.status, 409);
  EXPECT_EQ(error_of(r),
            "realserver 198.51.100.11:80 of service TCP 192.0.2.1:80 is DOWN by its health "
            "checks; it cannot take weight 2 until they pass");
  EXPECT_EQ(w.send("POST", kReal + "/drain").status, 200);
  const std::string proxied = "/api/v1/services/tcp/192.0.2.1/80/reals/198.51.100.12/80";
  const auto p = w.send("PUT", proxied + "/weight", kBearer, R"({"weight":2})");
  EXPECT_EQ(p.status, 409);
  EXPECT_NE(error_of(p).find("PROXY protocol"), std::string::npos);
  EXPECT_EQ(w.send("POST", proxied + "/drain").status, 200);
}

// Property: random methods, paths, Authorization and bodies get one of the documented statuses
// and a JSON body; nothing runs without the right token.
TEST(WriteApi, RandomRequestsGetDocumentedAnswers) {
  World w;
  const std::vector<std::string> pieces = {
      "api",    "v1",        "services", "tcp",           "udp",           "fwmark", "7",
      "reals",  "192.0.2.1", "80",       "198.51.100.11", "[2001:db8::2]", "weight", "drain",
      "enable", "disable",   "",         "\xff",          "65536",         "..",     "%00"};
  const std::vector<std::string> methods = {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "X"};
  const std::vector<std::string> auths = {"", "Bearer s3cret", "Bearer x", "Bearer",
                                          "bearer  s3cret "};
  const std::vector<std::string> bodies = {"",
                                           "{}",
                                           R"({"weight":4})",
                                           "{\"weight\":",
                                           "\xff\xfe",
                                           R"({"weight":1e400})",
                                           "[]",
                                           R"({"weight":[1]})"};
  std::mt19937 rng(11);  // fixed seed: the same requests every run
  const auto pick = [&rng](const auto& v) {
    return v[std::uniform_int_distribution<std::size_t>(0, v.size() - 1)(rng)];
  };
  for (int i = 0; i < 5000; ++i) {
    std::string path = "/api/v1/services";
    const int n = std::uniform_int_distribution<int>(0, 8)(rng);
    for (int k = 0; k < n; ++k) path += "/" + pick(pieces);
    if (i % 3 == 0) path = kReal + (i % 2 == 0 ? "/weight" : "/" + pick(pieces));
    const std::string auth = pick(auths);
    const std::size_t runs = w.runs.size();
    const auto r = w.send(pick(methods), path, auth, pick(bodies));
    ASSERT_TRUE(r.status == 200 || r.status == 400 || r.status == 401 || r.status == 404 ||
                r.status == 405 || r.status == 409 || r.status == 413 || r.status == 415)
        << r.status << " " << path;
    ASSERT_TRUE(nlohmann::json::accept(r.body)) << path;
    const bool good_token = auth == "Bearer s3cret" || auth == "bearer  s3cret ";
    if (!good_token) {
      ASSERT_EQ(w.runs.size(), runs) << path;
    }
  }
}

}  // namespace
}  // namespace lvs::web
