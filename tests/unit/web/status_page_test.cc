// The status page's routes (GET /, /status.css, /status.js): the embedded files with their
// types, a strict Content-Security-Policy and no caching; /api/v1/health and /api/v1/history.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "web/assets.h"
#include "web/history.h"
#include "web/routes.h"

namespace lvs::web {
namespace {

core::Endpoint ep(const char* s) { return *core::Endpoint::parse(s); }

model::ServiceKey tcp80() {
  return model::ServiceKey::address(model::Protocol::kTcp, ep("192.0.2.1:80"));
}

Sources sources() {
  return Sources{.listing = [] { return ctl::ListingInput{}; }, .version = "0.1.0"};
}

std::string header(const HttpResponse& r, const std::string& name) {
  for (const auto& [n, v] : r.headers) {
    if (n == name) return v;
  }
  return "(none)";
}

// GET / is index.html, with the page's two files referenced by path and nothing external.
TEST(StatusPage, RootServesTheHtmlPage) {
  const auto r = respond("GET", "/", sources());
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "text/html; charset=utf-8");
  EXPECT_TRUE(r.body.starts_with("<!doctype html>")) << r.body.substr(0, 40);
  EXPECT_NE(r.body.find(R"(<script src="/status.js" defer></script>)"), std::string::npos);
  EXPECT_NE(r.body.find(R"(<link rel="stylesheet" href="/status.css">)"), std::string::npos);
  EXPECT_NE(r.body.find(R"(name="viewport")"), std::string::npos);  // readable on a phone
  EXPECT_EQ(r.body.find("http://"), std::string::npos);             // no external asset
  EXPECT_EQ(r.body.find("https://"), std::string::npos);
  EXPECT_EQ(r.body.find("<script>"), std::string::npos);  // no inline script
  EXPECT_EQ(r.body, respond("GET", "/index.html", sources()).body);
}

// The script and the style sheet, with their types; the embedded bytes are the files' bytes.
TEST(StatusPage, ScriptAndStyleWithTheirTypes) {
  const auto js = respond("GET", "/status.js", sources());
  EXPECT_EQ(js.status, 200);
  EXPECT_EQ(js.content_type, "text/javascript; charset=utf-8");
  EXPECT_NE(js.body.find("/api/v1/services"), std::string::npos);
  const auto css = respond("GET", "/status.css", sources());
  EXPECT_EQ(css.status, 200);
  EXPECT_EQ(css.content_type, "text/css; charset=utf-8");
  EXPECT_EQ(css.body, std::string(find_asset("/status.css")->body));
  EXPECT_EQ(css.body.find("@import"), std::string::npos);
  EXPECT_EQ(css.body.find("url("), std::string::npos);
}

// Every page file: only this origin may supply scripts, styles and data; always revalidated.
TEST(StatusPage, StrictContentSecurityPolicyAndNoCache) {
  for (const char* path : {"/", "/status.css", "/status.js"}) {
    const auto r = respond("GET", path, sources());
    EXPECT_EQ(header(r, "Content-Security-Policy"),
              "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'")
        << path;
    EXPECT_EQ(header(r, "Cache-Control"), "no-cache") << path;
    EXPECT_EQ(header(r, "X-Content-Type-Options"), "nosniff") << path;
  }
}

// Other files are 404 naming the path; writes to the page are 405 with Allow.
TEST(StatusPage, UnknownFilesAre404AndWritesAre405) {
  for (const char* path : {"/status.jsx", "/assets/status.js", "/favicon.ico", "/../status.js"}) {
    const auto r = respond("GET", path, sources());
    EXPECT_EQ(r.status, 404) << path;
    EXPECT_EQ(r.content_type, "application/json") << path;
    EXPECT_NE(r.body.find("no such path"), std::string::npos) << path;
  }
  const auto w = respond("POST", "/", sources());
  EXPECT_EQ(w.status, 405);
  EXPECT_EQ(w.allow, "GET, HEAD");
  EXPECT_EQ(respond("PUT", "/status.js", sources()).status, 405);
}

// /api/v1/health: each configured realserver's state as its checkers see it; lvsd without a
// configuration file runs no checker: "checked" is false.
TEST(StatusPage, HealthListsEachConfiguredRealserver) {
  Sources s = sources();
  EXPECT_EQ(respond("GET", "/api/v1/health", s).body, "{\"checked\":false,\"reals\":[]}\n");
  s.health = [] {
    return std::optional<ctl::HealthMap>(
        ctl::HealthMap{{{tcp80(), ep("198.51.100.11:80")}, {.up = true, .transitions = 0}},
                       {{tcp80(), ep("198.51.100.12:80")}, {.up = false, .transitions = 3}}});
  };
  const auto r = respond("GET", "/api/v1/health", s);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "application/json");
  EXPECT_EQ(
      r.body,
      R"({"checked":true,"reals":[)"
      R"({"service":"TCP 192.0.2.1:80","real":"198.51.100.11:80","up":true,"transitions":0},)"
      R"({"service":"TCP 192.0.2.1:80","real":"198.51.100.12:80","up":false,"transitions":3}]})"
      "\n");
}

// The page's rates columns: /api/v1/services (and lvsadm --json) carry the 2 s estimates.
TEST(StatusPage, ServicesJsonCarriesRates) {
  Sources s = sources();
  s.listing = [] {
    ctl::ListingInput in;
    in.services.push_back(ctl::ServiceView{
        .service = {.key = tcp80()},
        .dests = {ctl::DestView{
            .dest = {.addr = ep("198.51.100.11:80")},
            .rates = {.cps = 5, .inpps = 6, .outpps = 7, .inbps = 800, .outbps = 900}}},
        .rates = {.cps = 5, .inbps = 800}});
    return in;
  };
  const auto j = nlohmann::json::parse(respond("GET", "/api/v1/services", s).body);
  const auto& svc = j["services"][0];
  EXPECT_EQ(svc["rates"],
            nlohmann::json::parse(R"({"cps":5,"inpps":0,"outpps":0,"inbps":800,"outbps":0})"));
  EXPECT_EQ(svc["dests"][0]["rates"],
            nlohmann::json::parse(R"({"cps":5,"inpps":6,"outpps":7,"inbps":800,"outbps":900})"));
}

// /api/v1/history is whatever the history source holds; without one, an empty history.
TEST(StatusPage, HistoryComesFromItsSource) {
  Sources s = sources();
  const auto empty = nlohmann::json::parse(respond("GET", "/api/v1/history", s).body);
  EXPECT_EQ(empty["series"].size(), 0U);
  EXPECT_EQ(empty["interval_ms"], 2000);
  s.history = [] { return std::string("{\"series\":[1]}\n"); };
  const auto r = respond("GET", "/api/v1/history", s);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "application/json");
  EXPECT_EQ(r.body, "{\"series\":[1]}\n");
  EXPECT_EQ(respond("DELETE", "/api/v1/history", s).status, 405);
}

}  // namespace
}  // namespace lvs::web
