// The JSON API's realserver writes end to end: a real lvsd (-f with global_defs http_listen and
// api_token) proxying to in-test realservers, driven by cpp-httplib's client. Without the token
// 401, with a wrong one 401, with the right one 200 and `lvsadm -L -n` shows the change; a drain
// keeps an open connection working while new ones go elsewhere; disable/enable round-trip and
// survive a reload; no token 403 until a reload sets one; --api-token-file is re-read at each
// write; malformed requests and bodies on the write paths leave the daemon working.

#include <signal.h>
#include <sys/socket.h>

#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "integration/ctl/harness.h"
#include "integration/dp/proxy/loopback.h"

namespace lvs::testing {
namespace {

// A configured lvsd: one TCP service on a free loopback port, realservers a (weight 2) and b
// (weight 1), no health checks, the HTTP listener on a free port.
class WriteApi : public ::testing::Test {
 protected:
  void write_conf(const std::string& token_line) {
    std::ofstream(conf) << fmt::format(
        "global_defs {{\n  http_listen 127.0.0.1:{}\n{}}}\n"
        "virtual_server 127.0.0.1 {} {{\n  lvs_sched wrr\n  lvs_method FNAT\n  protocol TCP\n"
        "  real_server 127.0.0.11 {} {{\n    weight 2\n  }}\n"
        "  real_server 127.0.0.12 {} {{\n    weight 1\n  }}\n}}\n",
        http_port, token_line, vport, a.addr().port, b.addr().port);
  }

  std::unique_ptr<Lvsd> start(const std::string& token_line) {
    write_conf(token_line);
    auto d = std::make_unique<Lvsd>(std::vector<std::string>{"-f", conf, "--log-level", "info"});
    return d;
  }

  std::string real_path(const NameServer& s) const {
    return fmt::format("/api/v1/services/tcp/127.0.0.1/{}/reals/{}/{}", vport,
                       s.addr().addr.to_string(), s.addr().port);
  }

  httplib::Result post(const std::string& path, const std::string& token) {
    httplib::Headers h;
    if (!token.empty()) h.emplace("Authorization", "Bearer " + token);
    return client.Post(path, h, "", "");
  }

  httplib::Result put_weight(const std::string& path, const std::string& token, int weight) {
    httplib::Headers h{{"Authorization", "Bearer " + token}};
    return client.Put(path + "/weight", h, fmt::format(R"({{"weight": {}}})", weight),
                      "application/json");
  }

  // The weight `lvsadm -L -n --json` shows for `s`.
  static int weight_of(const Lvsd& d, const NameServer& s) {
    const auto r = d.lvsadm({"-L", "-n", "--json"});
    if (r.exit_code != 0) return -1;
    const auto j = nlohmann::json::parse(r.out);
    for (const auto& dst : j["services"][0]["dests"]) {
      if (dst["address"] == s.addr().addr.to_string() && dst["port"] == s.addr().port) {
        return dst["weight"].get<int>();
      }
    }
    return -1;
  }

  static void stop(Lvsd& d) {
    EXPECT_TRUE(d.signal(SIGTERM));
    EXPECT_EQ(d.wait_exit(), 0) << d.log();
  }

  TempDir dir;
  std::string conf = dir.path() + "/lvsd.conf";
  NameServer a{"a", "127.0.0.11"};
  NameServer b{"b", "127.0.0.12"};
  std::uint16_t http_port = free_port("127.0.0.1");
  std::uint16_t vport = free_port("127.0.0.1");
  core::Endpoint vip = *core::Endpoint::parse(fmt::format("127.0.0.1:{}", vport));
  httplib::Client client{"127.0.0.1", http_port};
};

// No token 401 (with the Bearer challenge), a wrong one 401, the right one 200: the answer and
// `lvsadm -L -n` show the new weight, and lvsd logs who wrote what.
TEST_F(WriteApi, WritesNeedTheRightToken) {
  auto d = start("  api_token s3cret\n");
  ASSERT_TRUE(d->ready()) << d->log();
  const auto none = client.Put(real_path(a) + "/weight", R"({"weight": 5})", "application/json");
  ASSERT_TRUE(none);
  EXPECT_EQ(none->status, 401);
  EXPECT_EQ(none->get_header_value("WWW-Authenticate"), "Bearer realm=\"lvsd\"");
  const auto wrong = put_weight(real_path(a), "s3cret-not", 5);
  ASSERT_TRUE(wrong);
  EXPECT_EQ(wrong->status, 401);
  EXPECT_EQ(nlohmann::json::parse(wrong->body)["error"], "wrong token");
  EXPECT_EQ(weight_of(*d, a), 2);
  const auto right = put_weight(real_path(a), "s3cret", 5);
  ASSERT_TRUE(right);
  ASSERT_EQ(right->status, 200) << right->body;
  EXPECT_EQ(nlohmann::json::parse(right->body)["weight"], 5);
  EXPECT_EQ(weight_of(*d, a), 5);
  // `lvsadm -L -n`: the realserver's row reads "-> ADDR:PORT FullNat 5 ...".
  const auto listing = d->lvsadm({"-L", "-n"});
  std::istringstream rows(listing.out);
  std::string arrow, addr, method;
  int shown = -1;
  for (std::string row; std::getline(rows, row);) {
    std::istringstream words(row);
    words >> arrow >> addr >> method >> shown;
    if (addr == a.addr().to_string()) break;
    shown = -1;
  }
  EXPECT_EQ(shown, 5) << listing.out;
  // Reads stay open; a body that is not JSON is refused before anything runs.
  EXPECT_EQ(client.Get(real_path(a))->status, 200);
  const auto form =
      client.Put(real_path(a) + "/weight", httplib::Headers{{"Authorization", "Bearer s3cret"}},
                 "weight=1", "application/x-www-form-urlencoded");
  EXPECT_EQ(form->status, 415);
  EXPECT_EQ(weight_of(*d, a), 5);
  EXPECT_NE(d->log().find(fmt::format("http: write from 127.0.0.1:")), std::string::npos);
  EXPECT_NE(d->log().find("-> 401: wrong token"), std::string::npos) << d->log();
  EXPECT_NE(d->log().find("-> 200: lvsadm -e -t"), std::string::npos) << d->log();
  stop(*d);
}

// Draining a realserver (weight 0, lvsadm --drain) keeps its open connection relaying while
// new connections go to the other one; enable puts its weight back.
TEST_F(WriteApi, DrainKeepsOpenConnectionsAndEnableRestores) {
  auto d = start("  api_token s3cret\n");
  ASSERT_TRUE(d->ready()) << d->log();
  auto held = connect_tcp(vip);
  ASSERT_TRUE(held);
  const std::string first = read_line(held.get());
  ASSERT_TRUE(first == "a" || first == "b") << first;
  const NameServer& busy = first == "a" ? a : b;
  const NameServer& other = first == "a" ? b : a;
  const int weight = weight_of(*d, busy);
  const auto drained = post(real_path(busy) + "/drain", "s3cret");
  ASSERT_TRUE(drained);
  ASSERT_EQ(drained->status, 200) << drained->body;
  EXPECT_EQ(nlohmann::json::parse(drained->body)["weight"], 0);
  EXPECT_EQ(nlohmann::json::parse(drained->body)["active"], 1);
  EXPECT_EQ(weight_of(*d, busy), 0);
  ASSERT_EQ(::send(held.get(), "ping\n", 5, MSG_NOSIGNAL), 5);
  EXPECT_EQ(read_line(held.get()), "ping");  // the drained realserver still answers
  for (int i = 0; i < 4; ++i) {
    auto fd = connect_tcp(vip);
    ASSERT_TRUE(fd);
    EXPECT_EQ(read_line(fd.get()), other.name());
  }
  const auto enabled = post(real_path(busy) + "/enable", "s3cret");
  ASSERT_TRUE(enabled);
  ASSERT_EQ(enabled->status, 200) << enabled->body;
  EXPECT_EQ(weight_of(*d, busy), weight);
  held.reset();
  stop(*d);
}

// Without api_token writes are 403; a reload that sets it turns writes on; a disabled
// realserver stays disabled across a reload (the operator's weight carries over) until enabled.
TEST_F(WriteApi, TokenComesWithReloadAndDisableSurvivesIt) {
  auto d = start("");
  ASSERT_TRUE(d->ready()) << d->log();
  const auto off = post(real_path(a) + "/disable", "s3cret");
  ASSERT_TRUE(off);
  EXPECT_EQ(off->status, 403);
  EXPECT_EQ(nlohmann::json::parse(off->body)["error"],
            "write API is off: set api_token in global_defs");
  write_conf("  api_token s3cret\n");
  ASSERT_EQ(d->lvsadm({"--reload"}).exit_code, 0);
  const auto disabled = post(real_path(a) + "/disable", "s3cret");
  ASSERT_TRUE(disabled);
  ASSERT_EQ(disabled->status, 200) << disabled->body;
  EXPECT_EQ(weight_of(*d, a), 0);
  ASSERT_EQ(d->lvsadm({"--reload"}).exit_code, 0);
  EXPECT_EQ(weight_of(*d, a), 0);
  const auto enabled = post(real_path(a) + "/enable", "s3cret");
  ASSERT_TRUE(enabled);
  ASSERT_EQ(enabled->status, 200) << enabled->body;
  EXPECT_EQ(weight_of(*d, a), 2);
  // A reload that changes the token: the old one is refused at once.
  write_conf("  api_token other\n");
  ASSERT_EQ(d->lvsadm({"--reload"}).exit_code, 0);
  EXPECT_EQ(post(real_path(a) + "/disable", "s3cret")->status, 401);
  EXPECT_EQ(post(real_path(a) + "/disable", "other")->status, 200);
  stop(*d);
}

// HTTP writes and lvsadm edits of the same realserver at the same time go through the one
// Director: every call answers, the final weight is one of the written ones, and lvsd exits
// cleanly (under TSan: no race).
TEST_F(WriteApi, HttpAndLvsadmWritesInterleave) {
  auto d = start("  api_token s3cret\n");
  ASSERT_TRUE(d->ready()) << d->log();
  constexpr int kRounds = 15;
  int http_ok = 0;
  std::thread writer([&] {
    httplib::Client c{"127.0.0.1", http_port};
    for (int i = 0; i < kRounds; ++i) {
      const auto r =
          c.Put(real_path(a) + "/weight", httplib::Headers{{"Authorization", "Bearer s3cret"}},
                fmt::format(R"({{"weight": {}}})", 10 + i), "application/json");
      if (r && r->status == 200) ++http_ok;
    }
  });
  int lvsadm_ok = 0;
  for (int i = 0; i < kRounds; ++i) {
    const auto r = d->lvsadm({"-e", "-t", vip.to_string(), "-r", a.addr().to_string(), "--fullnat",
                              "-w", std::to_string(100 + i)});
    if (r.exit_code == 0) ++lvsadm_ok;
  }
  writer.join();
  EXPECT_EQ(http_ok, kRounds);
  EXPECT_EQ(lvsadm_ok, kRounds);
  const int w = weight_of(*d, a);
  EXPECT_TRUE(w == 10 + kRounds - 1 || w == 100 + kRounds - 1) << w;
  stop(*d);
}

// --api-token-file: the token is the file's content, read at each write (rotation needs no
// reload); an lvsd started from flags (no -f) takes writes too.
TEST(WriteApiTokenFile, TokenFileIsReadAtEachWrite) {
  TempDir dir;
  NameServer a{"a", "127.0.0.11"};
  const std::string token_file = dir.path() + "/token";
  std::ofstream(token_file) << "first\n";
  const std::uint16_t http_port = free_port("127.0.0.1");
  const std::string vip = fmt::format("127.0.0.1:{}", free_port("127.0.0.1"));
  Lvsd d({"--http-listen", fmt::format("127.0.0.1:{}", http_port), "--api-token-file", token_file,
          "-t", vip, "-s", "rr", "-r", a.addr().to_string() + ",fullnat"});
  ASSERT_TRUE(d.ready()) << d.log();
  httplib::Client client{"127.0.0.1", http_port};
  const std::string path =
      fmt::format("/api/v1/services/tcp/127.0.0.1/{}/reals/{}/{}/drain",
                  core::Endpoint::parse(vip)->port, a.addr().addr.to_string(), a.addr().port);
  const auto with = [&](const std::string& token) {
    return client.Post(path, httplib::Headers{{"Authorization", "Bearer " + token}}, "", "");
  };
  EXPECT_EQ(with("first")->status, 200);
  std::ofstream(token_file) << "second\n";
  EXPECT_EQ(with("first")->status, 401);
  EXPECT_EQ(with("second")->status, 200);
  EXPECT_TRUE(d.signal(SIGTERM));
  EXPECT_EQ(d.wait_exit(), 0) << d.log();
}

// An unreadable or empty token file is an error at start-up naming the file.
TEST(WriteApiTokenFile, MissingTokenFileIsAStartError) {
  TempDir dir;
  const auto r =
      run_program(LVSD_BIN,
                  {LVSD_BIN, "--http-listen", fmt::format("127.0.0.1:{}", free_port("127.0.0.1")),
                   "--api-token-file", dir.path() + "/none"},
                  dir.path() + "/sock");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("--api-token-file " + dir.path() + "/none"), std::string::npos) << r.err;
}

// Garbage on the write paths (bad JSON, huge or binary bodies, bad lengths, wrong types, cut
// requests) gets an HTTP answer or a close; the table is unchanged and lvsd still serves.
TEST_F(WriteApi, MalformedWritesDoNotHarmTheDaemon) {
  auto d = start("  api_token s3cret\n");
  ASSERT_TRUE(d->ready()) << d->log();
  const std::string p = real_path(a);
  const std::string auth = "Authorization: Bearer s3cret\r\n";
  const auto req = [&](const std::string& line, const std::string& headers,
                       const std::string& body) {
    return fmt::format("{}\r\nHost: t\r\n{}{}Content-Length: {}\r\nConnection: close\r\n\r\n{}",
                       line, auth, headers, body.size(), body);
  };
  const std::vector<std::string> bad = {
      req("PUT " + p + "/weight HTTP/1.1", "Content-Type: application/json\r\n", "{\"weight\":"),
      req("PUT " + p + "/weight HTTP/1.1", "Content-Type: application/json\r\n",
          std::string(8192, '[')),
      req("PUT " + p + "/weight HTTP/1.1", "Content-Type: application/json\r\n",
          std::string("\x00\xff\xfe{", 4)),
      req("PUT " + p + "/weight HTTP/1.1", "Content-Type: application/json\r\n",
          R"({"weight":1e999})"),
      req("PATCH " + p + " HTTP/1.1", "Content-Type: application/json\r\n",
          R"({"weight":{"weight":1}})"),
      req("POST " + p + "/drain HTTP/1.1", "Content-Type: text/plain\r\n", "weight=0"),
      req("POST " + p + "/drain HTTP/1.1", "", std::string(70000, 'x')),
      "POST " + p + "/drain HTTP/1.1\r\nHost: t\r\n" + auth +
          "Content-Length: 100\r\nConnection: close\r\n\r\n{\"cut",
      "POST " + p + "/drain HTTP/1.1\r\nHost: t\r\n" + auth +
          "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\nzz\r\n{}\r\n0\r\n\r\n",
      req("POST " + p + "/%ff%00 HTTP/1.1", "", ""),
  };
  for (const auto& raw : bad) {
    auto fd = connect_tcp(*core::Endpoint::parse(fmt::format("127.0.0.1:{}", http_port)));
    ASSERT_TRUE(fd);
    const timeval tv{.tv_sec = 10, .tv_usec = 0};
    ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    (void)::send(fd.get(), raw.data(), raw.size(), MSG_NOSIGNAL);
    std::string answer;
    char buf[4096];
    for (ssize_t n = 0; (n = ::recv(fd.get(), buf, sizeof buf, 0)) > 0;) {
      answer.append(buf, static_cast<std::size_t>(n));
    }
    if (!answer.empty()) {
      EXPECT_TRUE(answer.starts_with("HTTP/1.1 4")) << raw.substr(0, 80) << answer.substr(0, 80);
    }
  }
  EXPECT_EQ(weight_of(*d, a), 2);
  EXPECT_EQ(weight_of(*d, b), 1);
  EXPECT_EQ(client.Get("/metrics")->status, 200);
  EXPECT_EQ(post(real_path(b) + "/drain", "s3cret")->status, 200);
  stop(*d);
}

}  // namespace
}  // namespace lvs::testing
