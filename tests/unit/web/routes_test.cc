// lvsd's HTTP endpoints as a function: /metrics, /api/v1/services (the JSON of
// `lvsadm -L -n --json`), one service by protocol/VIP/port or fwmark, 404 and 405 answers with
// JSON bodies naming what was wrong.
#include "web/routes.h"

#include <random>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "ctl/listing_json.h"

namespace lvs::web {
namespace {

core::Endpoint ep(const char* s) { return *core::Endpoint::parse(s); }

ctl::ListingInput table() {
  ctl::ListingInput in;
  in.services.push_back(ctl::ServiceView{
      .service = {.key = model::ServiceKey::address(model::Protocol::kTcp, ep("192.0.2.1:80"))},
      .dests = {ctl::DestView{.dest = {.addr = ep("198.51.100.11:80")}, .active = 3}}});
  in.services.push_back(
      ctl::ServiceView{.service = {.key = model::ServiceKey::address(model::Protocol::kUdp,
                                                                     ep("[2001:db8::1]:53"))}});
  in.services.push_back(ctl::ServiceView{.service = {.key = model::ServiceKey::mark(7)}});
  return in;
}

Sources sources() {
  return Sources{.listing = [] { return table(); }, .version = "0.1.0"};
}

std::string error_of(const HttpResponse& r) {
  return nlohmann::json::parse(r.body).at("error").get<std::string>();
}

// /api/v1/services is byte for byte what `lvsadm -L -n --json` prints.
TEST(Routes, ServicesIsTheListingJson) {
  const auto r = respond("GET", "/api/v1/services", sources());
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "application/json");
  EXPECT_EQ(r.body, ctl::format_json(table(), false));
}

// One service: the same shape, holding only that service.
TEST(Routes, OneServiceByProtocolVipPort) {
  const auto r = respond("GET", "/api/v1/services/tcp/192.0.2.1/80", sources());
  ASSERT_EQ(r.status, 200) << r.body;
  const auto j = nlohmann::json::parse(r.body);
  ASSERT_EQ(j.at("services").size(), 1U);
  EXPECT_EQ(j["services"][0]["address"], "192.0.2.1");
  EXPECT_EQ(j["services"][0]["dests"][0]["active"], 3);
  EXPECT_TRUE(j.contains("timeouts"));
  // IPv6 VIPs with or without brackets; the protocol in either case.
  EXPECT_EQ(respond("GET", "/api/v1/services/udp/2001:db8::1/53", sources()).status, 200);
  EXPECT_EQ(respond("GET", "/api/v1/services/UDP/[2001:db8::1]/53", sources()).status, 200);
  const auto fwm = respond("GET", "/api/v1/services/fwmark/7", sources());
  ASSERT_EQ(fwm.status, 200);
  EXPECT_EQ(nlohmann::json::parse(fwm.body)["services"][0]["fwmark"], 7);
}

// Not found: 404 with a JSON error naming the service or the bad part of the path.
TEST(Routes, UnknownServiceIs404NamingIt) {
  const auto r = respond("GET", "/api/v1/services/tcp/192.0.2.1/81", sources());
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.content_type, "application/json");
  EXPECT_EQ(error_of(r), "no service TCP 192.0.2.1:81");
  EXPECT_EQ(error_of(respond("GET", "/api/v1/services/fwmark/8", sources())), "no service FWM 8");
  EXPECT_EQ(error_of(respond("GET", "/api/v1/services/sctp/192.0.2.1/80", sources())),
            "no service path /sctp/192.0.2.1/80: protocol 'sctp' is not tcp, udp or fwmark");
  EXPECT_EQ(error_of(respond("GET", "/api/v1/services/tcp/192.0.2.300/80", sources())),
            "no service path /tcp/192.0.2.300/80: '192.0.2.300' is not an IPv4 or IPv6 address");
  EXPECT_EQ(error_of(respond("GET", "/api/v1/services/tcp/192.0.2.1/65536", sources())),
            "no service path /tcp/192.0.2.1/65536: port '65536' is not a number 0..65535");
  EXPECT_EQ(error_of(respond("GET", "/api/v1/services/tcp/192.0.2.1", sources())),
            "no service path /tcp/192.0.2.1: expected tcp|udp/VIP/PORT or fwmark/MARK");
  EXPECT_EQ(error_of(respond("GET", "/api/v1/services/fwmark/x", sources())),
            "no service path /fwmark/x: fwmark 'x' is not a number 1..4294967295");
}

// Unknown paths are 404; writes are not in this API: 405 with Allow.
TEST(Routes, UnknownPathAndOtherMethods) {
  const auto r = respond("GET", "/nothing", sources());
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(error_of(r),
            "no such path /nothing (known: /, /metrics, /api/v1/services, /api/v1/health, "
            "/api/v1/history)");
  EXPECT_EQ(respond("GET", "/api/v2/services", sources()).status, 404);
  for (const char* m : {"POST", "PUT", "DELETE", "PATCH", "OPTIONS"}) {
    const auto w = respond(m, "/api/v1/services", sources());
    EXPECT_EQ(w.status, 405) << m;
    EXPECT_EQ(w.allow, "GET, HEAD");
    EXPECT_EQ(error_of(w), std::string("method ") + m +
                               " is not allowed on /api/v1/services: this API is read-only (GET)");
  }
  EXPECT_EQ(respond("POST", "/metrics", sources()).status, 405);
}

// /metrics: the exposition text with its content type; only the needed sources are called.
TEST(Routes, MetricsServesTheExposition) {
  int process_calls = 0;
  Sources s = sources();
  s.process = [&process_calls]() -> std::optional<ProcessStats> {
    ++process_calls;
    return std::nullopt;
  };
  const auto r = respond("GET", "/metrics", s);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_EQ(r.body, format_metrics(MetricsInput{.listing = table(), .version = "0.1.0"}));
  EXPECT_EQ(process_calls, 1);
  (void)respond("GET", "/api/v1/services", s);
  EXPECT_EQ(process_calls, 1);
}

// Bytes that are not UTF-8 in a path still give a JSON error body (replaced characters).
TEST(Routes, InvalidUtf8InPathIsStillJson) {
  const auto r = respond("GET", "/\xff\xfe", sources());
  EXPECT_EQ(r.status, 404);
  EXPECT_TRUE(nlohmann::json::accept(r.body));
}

// Property: any path built from path-like pieces gets 200, 404 or 405 and a well-formed body.
TEST(Routes, RandomPathsAlwaysGetAWellFormedAnswer) {
  const std::vector<std::string> pieces = {
      "/",       "api",       "v1", "services",      "tcp",         "udp", "fwmark",
      "metrics", "192.0.2.1", "80", "[2001:db8::1]", "2001:db8::1", "53",  "7",
      "0",       "65536",     "%",  "\xff",          "..",          "",    "//",
      "x"};
  std::mt19937 rng(7);  // fixed seed: the same 5000 paths every run
  std::uniform_int_distribution<std::size_t> pick(0, pieces.size() - 1);
  std::uniform_int_distribution<int> len(0, 8);
  for (int i = 0; i < 5000; ++i) {
    std::string path;
    for (int n = len(rng); n > 0; --n) path += "/" + pieces[pick(rng)];
    const char* method = i % 7 == 0 ? "DELETE" : "GET";
    const auto r = respond(method, path, sources());
    ASSERT_TRUE(r.status == 200 || r.status == 404 || r.status == 405) << path;
    if (r.content_type == "application/json") {
      ASSERT_TRUE(nlohmann::json::accept(r.body)) << path;
    } else if (r.content_type != "text/html; charset=utf-8") {  // "/": the status page
      ASSERT_EQ(r.content_type, "text/plain; version=0.0.4; charset=utf-8") << path;
    }
  }
}

}  // namespace
}  // namespace lvs::web
