// lvsd's HTTP listener end to end: a real lvsd (--http-listen on a free loopback port) proxying
// real connections to in-test realservers; /metrics read over a plain socket matches
// `lvsadm -L -n --json` (the --stats numbers), `promtool check metrics` accepts it, a real
// Prometheus server scrapes it and its query API returns the same values; /api/v1/services
// equals `lvsadm -L -n --json`; malformed HTTP never harms the daemon.

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <future>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "integration/ctl/harness.h"
#include "integration/dp/proxy/loopback.h"

extern char** environ;

namespace lvs::testing {
namespace {

constexpr int kRequests = 20;

struct HttpReply {
  int status = 0;  // 0: no parsable answer
  std::string head{};
  std::string body{};
};

// Sends `raw` on a fresh connection and reads until the server closes (bounded by the socket
// timeouts and the server's own 2 s read timeout); returns everything read.
std::string http_exchange(const core::Endpoint& to, const std::string& raw) {
  auto fd = connect_tcp(to);
  if (!fd) return "";
  const timeval tv{.tv_sec = 10, .tv_usec = 0};
  ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  std::size_t off = 0;
  while (off < raw.size()) {
    const ssize_t n = ::send(fd.get(), raw.data() + off, raw.size() - off, MSG_NOSIGNAL);
    if (n <= 0) break;  // the server may close early on bad input: read what it said
    off += static_cast<std::size_t>(n);
  }
  // No shutdown(SHUT_WR): cpp-httplib takes a half-closed peer for gone and does not answer.
  std::string out;
  char buf[16384];
  for (;;) {
    const ssize_t n = ::recv(fd.get(), buf, sizeof buf, 0);
    if (n <= 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  return out;
}

HttpReply parse_reply(const std::string& raw) {
  HttpReply r;
  const auto end = raw.find("\r\n\r\n");
  if (!raw.starts_with("HTTP/1.1 ") || end == std::string::npos || raw.size() < 12) return r;
  r.status = std::stoi(raw.substr(9, 3));
  r.head = raw.substr(0, end);
  r.body = raw.substr(end + 4);
  return r;
}

HttpReply get(const core::Endpoint& to, const std::string& target) {
  return parse_reply(http_exchange(
      to, fmt::format("GET {} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n", target)));
}

// `name{labels} value` lines of an exposition text.
std::map<std::string, double> samples(const std::string& text) {
  std::map<std::string, double> out;
  std::size_t pos = 0;
  while (pos < text.size()) {
    auto nl = text.find('\n', pos);
    if (nl == std::string::npos) nl = text.size();
    const std::string line = text.substr(pos, nl - pos);
    pos = nl + 1;
    if (line.empty() || line[0] == '#') continue;
    const auto sp = line.rfind(' ');
    out[line.substr(0, sp)] = std::stod(line.substr(sp + 1));
  }
  return out;
}

// A child process (prometheus) with its output in a file; SIGTERM and a bounded reap at the end.
class Child {
 public:
  Child(const std::vector<std::string>& args, const std::string& log) {
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    if (::posix_spawn(&pid_, argv[0], &fa, nullptr, argv.data(), environ) != 0) pid_ = -1;
    posix_spawn_file_actions_destroy(&fa);
  }
  ~Child() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    for (int i = 0; i < 1000; ++i) {  // 10 s
      if (::waitpid(pid_, nullptr, WNOHANG) == pid_) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  bool started() const { return pid_ > 0; }

 private:
  pid_t pid_ = -1;
};

bool have(const char* path) { return ::access(path, X_OK) == 0; }

class HttpListener : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(d.ready()) << d.log();
    const auto r1 = d.lvsadm({"-A", "-t", vip_text, "-s", "rr"});
    ASSERT_EQ(r1.exit_code, 0) << r1.err;
    for (const auto* s : {&a, &b}) {
      const auto r = d.lvsadm({"-a", "-t", vip_text, "-r", s->addr().to_string(), "--fullnat"});
      ASSERT_EQ(r.exit_code, 0) << r.err;
    }
  }

  // lvsd stops cleanly: exit 0 (a leak under ASan or a race under TSan would change it).
  void TearDown() override {
    if (d.signal(SIGTERM)) {
      EXPECT_EQ(d.wait_exit(), 0) << d.log();
    }
  }

  // kRequests connections through the VIP, each reading its realserver's name, then closed;
  // waits until lvsd counted them all and none is open.
  void traffic() {
    for (int i = 0; i < kRequests; ++i) {
      auto fd = connect_tcp(vip);
      ASSERT_TRUE(fd) << "connect " << i;
      const std::string name = read_line(fd.get());
      ASSERT_TRUE(name == "a" || name == "b") << name;
    }
    ASSERT_TRUE(eventually([&] {
      const auto j = json();
      if (j.is_null()) return false;
      const auto& s = j["services"][0];
      std::uint64_t active = 0;
      for (const auto& dst : s["dests"]) active += dst["active"].get<std::uint64_t>();
      return s["stats"]["conns"] == kRequests && active == 0;
    }));
  }

  nlohmann::json json() const {
    const auto r = d.lvsadm({"-L", "-n", "--json"});
    return r.exit_code == 0 ? nlohmann::json::parse(r.out) : nlohmann::json{};
  }

  std::uint16_t http_port = free_port("127.0.0.1");
  core::Endpoint http = *core::Endpoint::parse(fmt::format("127.0.0.1:{}", http_port));
  Lvsd d{{"--http-listen", http.to_string()}};
  NameServer a{"a", "127.0.0.11"};
  NameServer b{"b", "127.0.0.12"};
  std::string vip_text = fmt::format("127.0.0.1:{}", free_port("127.0.0.1"));
  core::Endpoint vip = *core::Endpoint::parse(vip_text);
};

// /metrics carries the numbers `lvsadm -L -n --stats` shows (read as --json) and promtool
// accepts the text.
TEST_F(HttpListener, MetricsMatchTheListingAndPassPromtool) {
  traffic();
  const auto listing = json();
  const auto m = get(http, "/metrics");
  ASSERT_EQ(m.status, 200) << m.head;
  EXPECT_NE(m.head.find("Content-Type: text/plain; version=0.0.4; charset=utf-8"),
            std::string::npos)
      << m.head;
  const auto s = samples(m.body);
  const std::string svc = fmt::format(R"(protocol="tcp",vip="127.0.0.1",port="{}")", vip.port);
  EXPECT_EQ(s.at(fmt::format("lvsd_service_connections_total{{{}}}", svc)), kRequests);
  for (const auto& dst : listing["services"][0]["dests"]) {
    const std::string real = fmt::format("{},real=\"{}:{}\"", svc,
                                         dst["address"].get<std::string>(), dst["port"].get<int>());
    const auto& st = dst["stats"];
    EXPECT_EQ(s.at(fmt::format("lvsd_real_server_connections_total{{{}}}", real)),
              st["conns"].get<double>());
    EXPECT_EQ(s.at(fmt::format("lvsd_real_server_bytes_total{{{},direction=\"in\"}}", real)),
              st["inbytes"].get<double>());
    EXPECT_EQ(s.at(fmt::format("lvsd_real_server_bytes_total{{{},direction=\"out\"}}", real)),
              st["outbytes"].get<double>());
    EXPECT_EQ(s.at(fmt::format("lvsd_real_server_packets_total{{{},direction=\"out\"}}", real)),
              st["outpkts"].get<double>());
    EXPECT_EQ(s.at(fmt::format("lvsd_real_server_weight{{{}}}", real)), 1);
    EXPECT_EQ(s.at(fmt::format("lvsd_real_server_active_connections{{{}}}", real)), 0);
    EXPECT_EQ(st["conns"].get<int>(), kRequests / 2);  // rr over two realservers
  }
  EXPECT_GT(s.at("process_resident_memory_bytes"), 0);
  EXPECT_GT(s.at("process_open_fds"), 0);
  if (!have("/usr/bin/promtool")) GTEST_SKIP() << "promtool missing (Debian package prometheus)";
  const auto check =
      run_program("/usr/bin/promtool", {"promtool", "check", "metrics"}, d.socket(), m.body);
  EXPECT_EQ(check.exit_code, 0) << check.out << check.err;
}

// /api/v1/services is what `lvsadm -L -n --json` prints (traffic stopped: nothing moves).
TEST_F(HttpListener, ServicesApiEqualsLvsadmJson) {
  traffic();
  const auto api = get(http, "/api/v1/services");
  ASSERT_EQ(api.status, 200) << api.head;
  EXPECT_NE(api.head.find("Content-Type: application/json"), std::string::npos);
  EXPECT_EQ(nlohmann::json::parse(api.body), json());
  const auto one = get(http, fmt::format("/api/v1/services/tcp/127.0.0.1/{}", vip.port));
  ASSERT_EQ(one.status, 200);
  EXPECT_EQ(nlohmann::json::parse(one.body)["services"][0], json()["services"][0]);
  const auto missing = get(http, "/api/v1/services/udp/127.0.0.1/9");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(nlohmann::json::parse(missing.body)["error"], "no service UDP 127.0.0.1:9");
  const auto post =
      parse_reply(http_exchange(http,
                                "POST /api/v1/services HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n"
                                "Connection: close\r\n\r\n{}"));
  EXPECT_EQ(post.status, 405);
  EXPECT_NE(post.head.find("Allow: GET, HEAD"), std::string::npos) << post.head;
  EXPECT_EQ(get(http, "/nothing").status, 404);
}

// A real Prometheus scrapes lvsd every second; its query API returns the series with the
// values lvsadm shows.
TEST_F(HttpListener, PrometheusScrapesTheSeries) {
  if (!have("/usr/bin/prometheus")) GTEST_SKIP() << "prometheus missing (Debian package)";
  traffic();
  const auto listing = json();
  const auto prom = *core::Endpoint::parse(fmt::format("127.0.0.1:{}", free_port("127.0.0.1")));
  const std::string cfg = d.dir() + "/prometheus.yml";
  std::ofstream(cfg) << fmt::format(
      "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
      "scrape_configs:\n  - job_name: lvsd\n    static_configs:\n"
      "      - targets: ['{}']\n",
      http.to_string());
  Child p({"/usr/bin/prometheus", "--config.file=" + cfg,
           "--storage.tsdb.path=" + d.dir() + "/tsdb", "--web.listen-address=" + prom.to_string()},
          d.dir() + "/prometheus.log");
  ASSERT_TRUE(p.started());
  nlohmann::json result;
  const bool scraped = eventually(
      [&] {
        const auto r = get(prom, "/api/v1/query?query=lvsd_real_server_connections_total");
        if (r.status != 200) return false;
        result = nlohmann::json::parse(r.body, nullptr, false);
        return !result.is_discarded() && result["status"] == "success" &&
               result["data"]["result"].size() == 2;
      },
      std::chrono::seconds(60));
  ASSERT_TRUE(scraped) << result.dump();
  std::map<std::string, std::string> got;
  for (const auto& series : result["data"]["result"]) {
    EXPECT_EQ(series["metric"]["job"], "lvsd");
    EXPECT_EQ(series["metric"]["vip"], "127.0.0.1");
    EXPECT_EQ(series["metric"]["protocol"], "tcp");
    got[series["metric"]["real"].get<std::string>()] = series["value"][1].get<std::string>();
  }
  std::map<std::string, std::string> want;
  for (const auto& dst : listing["services"][0]["dests"]) {
    want[fmt::format("{}:{}", dst["address"].get<std::string>(), dst["port"].get<int>())] =
        std::to_string(dst["stats"]["conns"].get<std::uint64_t>());
  }
  EXPECT_EQ(got, want);
  const auto up = get(prom, "/api/v1/query?query=up");
  EXPECT_NE(up.body.find(R"("value":[)"), std::string::npos) << up.head << up.body;
}

// Garbage, an oversized header, unknown methods, a request cut short, writes with garbage
// bodies (the write API is off here): lvsd answers or closes,
// and both lvsadm and /metrics still work afterwards.
TEST_F(HttpListener, MalformedHttpDoesNotHarmTheDaemon) {
  const std::string huge(std::size_t{256} * 1024, 'x');
  const std::vector<std::string> bad = {
      std::string("\x00\x01\x02\xff garbage\r\n\r\n", 16),
      "GET /metrics HTTP/1.1\r\nX-Big: " + huge + "\r\n\r\n",
      "BREW /metrics HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
      "GET /metrics\r\n\r\n",
      "GET /metrics HTTP/1.1\r\nHost: t\r\nContent-Length: 99999999999\r\n\r\n",
      "GET /metrics HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
      "GET /api/v1/services/tcp/%ff%00/80 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
      "GET /metr",
      std::string("POST /api/v1/services/tcp/127.0.0.1/1/reals/127.0.0.11/1/drain "
                  "HTTP/1.1\r\nHost: t\r\n") +
          "Content-Type: application/json\r\nContent-Length: 5\r\nConnection: close\r\n\r\n" +
          std::string("\x00{[\xff}", 5),
      "PUT /api/v1/services/tcp/127.0.0.1/1/reals/127.0.0.11/1/weight HTTP/1.1\r\nHost: t\r\n"
      "Authorization: Bearer x\r\nContent-Length: 9\r\nConnection: close\r\n\r\n{weight:}",
      std::string(4096, '\n'),
  };
  // All at once: several of them make the server wait out its 2 s read timeout, and the
  // daemon must stay well while they do.
  std::vector<std::future<std::string>> answers;
  answers.reserve(bad.size());
  for (const auto& raw : bad) {
    answers.push_back(std::async(std::launch::async, [&] { return http_exchange(http, raw); }));
  }
  for (auto& pending : answers) {
    const std::string answer = pending.get();
    if (!answer.empty()) {
      EXPECT_TRUE(answer.starts_with("HTTP/1.1 ")) << answer.substr(0, 80);
    }
  }
  EXPECT_EQ(d.lvsadm({"-L", "-n"}).exit_code, 0);
  EXPECT_EQ(get(http, "/metrics").status, 200);
  EXPECT_TRUE(d.signal(SIGTERM));
  EXPECT_EQ(d.wait_exit(), 0) << d.log();
}

// Health: a realserver whose TCP_CHECK fails is healthy 0 with one transition (and gone from
// the listing), one whose check passes is healthy 1; both have probe-duration histograms and
// their last probe's result.
TEST(HttpListenerConfig, HealthStateOfConfiguredRealservers) {
  TempDir dir;
  NameServer live{"live", "127.0.0.11"};
  const std::uint16_t dead_port = free_port("127.0.0.12");
  const auto http = *core::Endpoint::parse(fmt::format("127.0.0.1:{}", free_port("127.0.0.1")));
  const std::uint16_t vport = free_port("127.0.0.1");
  const std::string conf = dir.path() + "/lvsd.conf";
  std::ofstream(conf) << fmt::format(
      "global_defs {{\n  http_listen {}\n}}\n"
      "virtual_server 127.0.0.1 {} {{\n  delay_loop 1\n  lvs_sched rr\n  lvs_method FNAT\n"
      "  protocol TCP\n"
      "  real_server 127.0.0.11 {} {{\n    TCP_CHECK {{\n      connect_timeout 1\n    }}\n  }}\n"
      "  real_server 127.0.0.12 {} {{\n    TCP_CHECK {{\n      connect_timeout 1\n    }}\n  }}\n"
      "}}\n",
      http.to_string(), vport, live.addr().port, dead_port);
  Lvsd d({"-f", conf});
  ASSERT_TRUE(d.ready()) << d.log();
  const std::string svc = fmt::format(R"(protocol="tcp",vip="127.0.0.1",port="{}")", vport);
  const std::string live_l = fmt::format("{},real=\"127.0.0.11:{}\"", svc, live.addr().port);
  const std::string dead_l = fmt::format("{},real=\"127.0.0.12:{}\"", svc, dead_port);
  std::map<std::string, double> s;
  const bool down = eventually([&] {
    s = samples(get(http, "/metrics").body);
    const auto it = s.find(fmt::format("lvsd_real_server_healthy{{{}}}", dead_l));
    return it != s.end() && it->second == 0;
  });
  ASSERT_TRUE(down) << d.log();
  EXPECT_EQ(s.at(fmt::format("lvsd_real_server_health_transitions_total{{{}}}", dead_l)), 1);
  EXPECT_EQ(s.at(fmt::format("lvsd_real_server_healthy{{{}}}", live_l)), 1);
  EXPECT_EQ(s.at(fmt::format("lvsd_real_server_health_transitions_total{{{}}}", live_l)), 0);
  EXPECT_EQ(s.count(fmt::format("lvsd_real_server_weight{{{}}}", dead_l)), 0U);
  EXPECT_EQ(s.at(fmt::format("lvsd_real_server_weight{{{}}}", live_l)), 1);
  // Probe durations (histogram) and the last result, for both; promtool accepts the text.
  std::string body;
  const bool probed = eventually([&] {
    body = get(http, "/metrics").body;
    s = samples(body);
    return s.contains(fmt::format("lvsd_health_check_duration_seconds_count{{{}}}", live_l)) &&
           s.contains(fmt::format("lvsd_health_check_duration_seconds_count{{{}}}", dead_l));
  });
  ASSERT_TRUE(probed) << body;
  EXPECT_EQ(s.at(fmt::format("lvsd_real_server_last_check_success{{{}}}", live_l)), 1);
  EXPECT_EQ(s.at(fmt::format("lvsd_real_server_last_check_success{{{}}}", dead_l)), 0);
  EXPECT_GE(
      s.at(fmt::format("lvsd_health_check_duration_seconds_bucket{{{},le=\"+Inf\"}}", dead_l)), 1);
  if (have("/usr/bin/promtool")) {
    const auto check =
        run_program("/usr/bin/promtool", {"promtool", "check", "metrics"}, d.socket(), body);
    EXPECT_EQ(check.exit_code, 0) << check.out << check.err;
  }
  EXPECT_TRUE(d.signal(SIGTERM));
  EXPECT_EQ(d.wait_exit(), 0) << d.log();
}

// global_defs http_listen turns the listener on; reloads are counted by result, and a reload
// that changes http_listen keeps the bound address and logs that a restart is needed.
TEST(HttpListenerConfig, GlobalDefsAndReloadCounters) {
  TempDir dir;
  const std::string http_text = fmt::format("127.0.0.1:{}", free_port("127.0.0.1"));
  const auto http = *core::Endpoint::parse(http_text);
  const std::string conf = dir.path() + "/lvsd.conf";
  const auto write_conf = [&](const std::string& listen, const std::string& extra) {
    std::ofstream(conf) << fmt::format(
        "global_defs {{\n  http_listen {}\n}}\nvirtual_server 127.0.0.1 {} {{\n"
        "  lvs_sched rr\n  lvs_method FNAT\n  protocol TCP\n{}}}\n",
        listen, free_port("127.0.0.1"), extra);
  };
  write_conf(http_text, "");
  Lvsd d({"-f", conf});
  ASSERT_TRUE(d.ready()) << d.log();
  const auto value = [&](const std::string& series) {
    const auto s = samples(get(http, "/metrics").body);
    const auto it = s.find(series);
    return it == s.end() ? -1.0 : it->second;
  };
  EXPECT_EQ(value(R"(lvsd_config_reloads_total{result="success"})"), 0);
  EXPECT_EQ(value("lvsd_config_last_reload_successful"), 1);
  EXPECT_GT(value("lvsd_config_last_reload_success_timestamp_seconds"), 1.0e9);

  write_conf(fmt::format("127.0.0.1:{}", free_port("127.0.0.1")), "");
  ASSERT_EQ(d.lvsadm({"--reload"}).exit_code, 0);
  EXPECT_EQ(value(R"(lvsd_config_reloads_total{result="success"})"), 1);
  EXPECT_NE(d.log().find("it takes effect when lvsd restarts"), std::string::npos) << d.log();

  write_conf(http_text, "  no_such_keyword\n");
  EXPECT_NE(d.lvsadm({"--reload"}).exit_code, 0);
  EXPECT_EQ(value(R"(lvsd_config_reloads_total{result="failure"})"), 1);
  EXPECT_EQ(value("lvsd_config_last_reload_successful"), 0);
  EXPECT_TRUE(d.signal(SIGTERM));
  EXPECT_EQ(d.wait_exit(), 0) << d.log();
}

}  // namespace
}  // namespace lvs::testing
