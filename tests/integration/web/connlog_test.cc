// The connection log and the data-plane error counters end to end: a real lvsd (--conn-log to
// a file in a temporary directory) proxying real connections and datagrams on loopback to
// in-test realservers. Each finished connection is one line with the bytes each way; a refused
// connect, an expired UDP flow, a flood past the rate and a logrotate-style rename + SIGHUP
// show up as the documented lines; /metrics counts the errors by kind.

#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "integration/ctl/harness.h"
#include "integration/dp/proxy/loopback.h"

namespace lvs::testing {
namespace {

std::string read_file(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::vector<std::string> lines_with(const std::string& path, const std::string& what) {
  std::vector<std::string> out;
  std::istringstream in(read_file(path));
  for (std::string line; std::getline(in, line);) {
    if (line.find(what) != std::string::npos) out.push_back(line);
  }
  return out;
}

// GET `target` over a fresh connection; the whole answer ("" on failure).
std::string http_get(const core::Endpoint& to, const std::string& target) {
  auto fd = connect_tcp(to);
  if (!fd) return "";
  const timeval tv{.tv_sec = 10, .tv_usec = 0};
  ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  const std::string req =
      fmt::format("GET {} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n", target);
  if (::send(fd.get(), req.data(), req.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(req.size())) {
    return "";
  }
  std::string out;
  char buf[16384];
  for (ssize_t n = 0; (n = ::recv(fd.get(), buf, sizeof buf, 0)) > 0;) {
    out.append(buf, static_cast<std::size_t>(n));
  }
  return out;
}

// The value of the sample line `series` in /metrics (-1 when absent).
double metric(const core::Endpoint& http, const std::string& series) {
  const std::string text = http_get(http, "/metrics");
  const auto at = text.find("\n" + series + " ");
  if (at == std::string::npos) return -1;
  return std::stod(text.substr(at + series.size() + 2));
}

class ConnLogTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(d.ready()) << d.log(); }
  void TearDown() override {
    if (d.signal(SIGTERM)) {
      EXPECT_EQ(d.wait_exit(), 0) << d.log();
    }
  }
  void add_tcp_service(const std::string& service, const std::vector<std::string>& reals) {
    ASSERT_EQ(d.lvsadm({"-A", "-t", service, "-s", "rr"}).exit_code, 0);
    for (const auto& r : reals) {
      const auto out = d.lvsadm({"-a", "-t", service, "-r", r, "--fullnat"});
      ASSERT_EQ(out.exit_code, 0) << out.err;
    }
  }

  TempDir logs{};
  std::string path = logs.path() + "/conn.log";
  std::uint16_t http_port = free_port("127.0.0.1");
  core::Endpoint http = *core::Endpoint::parse(fmt::format("127.0.0.1:{}", http_port));
  Lvsd d{{"--conn-log", path, "--http-listen", http.to_string()}};
  NameServer a{"a", "127.0.0.11"};
  std::string vip_text = fmt::format("127.0.0.1:{}", free_port("127.0.0.1"));
  core::Endpoint vip = *core::Endpoint::parse(vip_text);
};

// N connections, each: greeting "a\n" (2 bytes out), "hello\n" sent (6 in) and echoed (6 out),
// then closed by the client: N lines with in=6 out=8 end=client-fin, naming client, VIP and
// realserver.
TEST_F(ConnLogTest, EachFinishedTcpConnectionIsOneLineWithItsBytes) {
  add_tcp_service(vip_text, {a.addr().to_string()});
  constexpr int kConns = 5;
  for (int i = 0; i < kConns; ++i) {
    auto fd = connect_tcp(vip);
    ASSERT_TRUE(fd);
    ASSERT_EQ(read_line(fd.get()), "a");
    ASSERT_EQ(::send(fd.get(), "hello\n", 6, MSG_NOSIGNAL), 6);
    ASSERT_EQ(read_line(fd.get()), "hello");
    ::shutdown(fd.get(), SHUT_WR);
    ASSERT_EQ(wait_closed(fd.get()), 0);
  }
  ASSERT_TRUE(eventually([&] { return lines_with(path, " tcp ").size() == kConns; }))
      << read_file(path);
  const std::regex shape(fmt::format(
      R"(^\d{{4}}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{{3}}Z tcp client=127\.0\.0\.1:\d+ vip={} )"
      R"(real={} method=fullnat in=6 out=8 duration=\d+\.\d{{3}} end=client-fin$)",
      std::regex_replace(vip_text, std::regex(R"(\.)"), R"(\.)"),
      std::regex_replace(a.addr().to_string(), std::regex(R"(\.)"), R"(\.)")));
  for (const auto& line : lines_with(path, " tcp ")) {
    EXPECT_TRUE(std::regex_match(line, shape)) << line;
  }
}

// A realserver nobody listens on refuses the connect: the line says connect-refused and
// /metrics counts connect_refused; a service without realservers counts no_realserver.
TEST_F(ConnLogTest, RefusedConnectIsLoggedAndCountedByKind) {
  const std::string dead = fmt::format("127.0.0.13:{}", free_port("127.0.0.13"));
  add_tcp_service(vip_text, {dead});
  const std::string empty_vip = fmt::format("127.0.0.1:{}", free_port("127.0.0.1"));
  add_tcp_service(empty_vip, {});
  EXPECT_EQ(metric(http, R"(lvsd_dataplane_errors_total{kind="connect_refused"})"), 0);
  {
    auto fd = connect_tcp(vip);
    ASSERT_TRUE(fd);
    EXPECT_EQ(wait_closed(fd.get()), ECONNRESET);
  }
  {
    auto fd = connect_tcp(*core::Endpoint::parse(empty_vip));
    ASSERT_TRUE(fd);
    EXPECT_EQ(wait_closed(fd.get()), ECONNRESET);
  }
  ASSERT_TRUE(eventually([&] { return lines_with(path, " end=connect-refused").size() == 1; }))
      << read_file(path);
  EXPECT_NE(lines_with(path, " end=connect-refused")[0].find(" real=" + dead + " "),
            std::string::npos);
  EXPECT_TRUE(eventually([&] {
    return metric(http, R"(lvsd_dataplane_errors_total{kind="connect_refused"})") == 1 &&
           metric(http, R"(lvsd_dataplane_errors_total{kind="no_realserver"})") == 1;
  }));
  EXPECT_EQ(metric(http, R"(lvsd_dataplane_errors_total{kind="connect_timeout"})"), 0);
}

// A realserver that resets mid-stream: the client gets an RST, the line says real-reset and
// /metrics counts real_reset.
TEST_F(ConnLogTest, RealserverResetMidStream) {
  add_tcp_service(vip_text, {a.addr().to_string()});
  auto fd = connect_tcp(vip);
  ASSERT_TRUE(fd);
  ASSERT_EQ(read_line(fd.get()), "a");
  a.kill();
  EXPECT_EQ(wait_closed(fd.get()), ECONNRESET);
  ASSERT_TRUE(eventually([&] { return lines_with(path, " end=real-reset").size() == 1; }))
      << read_file(path);
  EXPECT_NE(lines_with(path, " end=real-reset")[0].find(" in=0 out=2 "), std::string::npos);
  EXPECT_TRUE(eventually(
      [&] { return metric(http, R"(lvsd_dataplane_errors_total{kind="real_reset"})") == 1; }));
  EXPECT_EQ(metric(http, R"(lvsd_dataplane_errors_total{kind="client_reset"})"), 0);
}

// A client that resets its connection: the line says client-reset and /metrics counts it.
TEST_F(ConnLogTest, ClientResetMidStream) {
  add_tcp_service(vip_text, {a.addr().to_string()});
  {
    auto fd = connect_tcp(vip);
    ASSERT_TRUE(fd);
    ASSERT_EQ(read_line(fd.get()), "a");
    const linger rst{.l_onoff = 1, .l_linger = 0};
    ASSERT_EQ(::setsockopt(fd.get(), SOL_SOCKET, SO_LINGER, &rst, sizeof rst), 0);
  }  // closed with an RST
  ASSERT_TRUE(eventually([&] { return lines_with(path, " end=client-reset").size() == 1; }))
      << read_file(path);
  EXPECT_TRUE(eventually(
      [&] { return metric(http, R"(lvsd_dataplane_errors_total{kind="client_reset"})") == 1; }));
  EXPECT_EQ(metric(http, R"(lvsd_dataplane_errors_total{kind="real_reset"})"), 0);
}

// A UDP flow is logged when it expires (udp timeout 1 s via --set): bytes each way.
TEST_F(ConnLogTest, UdpFlowIsLoggedOnIdleExpiry) {
  UdpNameServer u{"u", "127.0.0.12"};
  const std::string uvip = fmt::format("127.0.0.1:{}", free_port("127.0.0.1", true));
  ASSERT_EQ(d.lvsadm({"-A", "-u", uvip, "-s", "rr"}).exit_code, 0);
  ASSERT_EQ(d.lvsadm({"-a", "-u", uvip, "-r", u.addr().to_string(), "--fullnat"}).exit_code, 0);
  ASSERT_EQ(d.lvsadm({"--set", "0", "0", "1"}).exit_code, 0);
  auto fd = udp_socket("127.0.0.1");
  ASSERT_EQ(udp_ask(fd.get(), *core::Endpoint::parse(uvip), "ping"), "u:ping");
  ASSERT_TRUE(eventually([&] { return !lines_with(path, " udp ").empty(); })) << read_file(path);
  const std::string line = lines_with(path, " udp ")[0];
  EXPECT_NE(line.find(fmt::format(" vip={} real={} method=fullnat in=4 out=6 ", uvip,
                                  u.addr().to_string())),
            std::string::npos)
      << line;
  EXPECT_TRUE(line.ends_with(" end=idle-timeout")) << line;
}

// logrotate: the file is renamed and lvsd gets SIGHUP; the next line goes to a new file.
TEST_F(ConnLogTest, RenameAndSighupReopen) {
  add_tcp_service(vip_text, {a.addr().to_string()});
  const auto one = [&] {
    auto fd = connect_tcp(vip);
    ASSERT_TRUE(fd);
    ASSERT_EQ(read_line(fd.get()), "a");
    ::shutdown(fd.get(), SHUT_WR);
    ASSERT_EQ(wait_closed(fd.get()), 0);
  };
  one();
  ASSERT_TRUE(eventually([&] { return lines_with(path, " tcp ").size() == 1; }));
  ASSERT_EQ(::rename(path.c_str(), (path + ".1").c_str()), 0);
  ASSERT_TRUE(d.signal(SIGHUP));
  ASSERT_TRUE(eventually([&] { return ::access(path.c_str(), F_OK) == 0; }));
  one();
  ASSERT_TRUE(eventually([&] { return lines_with(path, " tcp ").size() == 1; }));
  EXPECT_EQ(lines_with(path + ".1", " tcp ").size(), 1U);
}

// global_defs conn_log: a reload moves the log to the new file; a reload naming a file that
// cannot be opened keeps the running one and says why.
TEST(ConnLogReload, ReloadAppliesConnLogAndKeepsItOnError) {
  TempDir dir;
  NameServer a{"a", "127.0.0.11"};
  const std::uint16_t vport = free_port("127.0.0.1");
  const core::Endpoint vip = *core::Endpoint::parse(fmt::format("127.0.0.1:{}", vport));
  const std::string conf = dir.path() + "/lvsd.conf";
  const auto write_conf = [&](const std::string& log) {
    std::ofstream(conf) << fmt::format(
        "global_defs {{\n  conn_log {}\n}}\n"
        "virtual_server 127.0.0.1 {} {{\n  lb_algo rr\n  lb_kind FNAT\n  protocol TCP\n"
        "  real_server 127.0.0.11 {} {{\n  }}\n}}\n",
        log, vport, a.addr().port);
  };
  const std::string one = dir.path() + "/one.log";
  const std::string two = dir.path() + "/two.log";
  write_conf(one);
  Lvsd d{{"-f", conf}};
  ASSERT_TRUE(d.ready()) << d.log();
  const auto connection = [&] {
    auto fd = connect_tcp(vip);
    ASSERT_TRUE(fd);
    ASSERT_EQ(read_line(fd.get()), "a");
    ::shutdown(fd.get(), SHUT_WR);
    ASSERT_EQ(wait_closed(fd.get()), 0);
  };
  connection();
  ASSERT_TRUE(eventually([&] { return lines_with(one, " tcp ").size() == 1; })) << d.log();
  write_conf(two);
  const auto r = d.lvsadm({"--reload"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  connection();
  ASSERT_TRUE(eventually([&] { return lines_with(two, " tcp ").size() == 1; })) << d.log();
  EXPECT_EQ(lines_with(one, " tcp ").size(), 1U);
  write_conf(dir.path() + "/missing/x.log");
  ASSERT_EQ(d.lvsadm({"--reload"}).exit_code, 0);
  EXPECT_NE(d.log().find("conn_log: cannot open " + dir.path() + "/missing/x.log"),
            std::string::npos)
      << d.log();
  connection();
  ASSERT_TRUE(eventually([&] { return lines_with(two, " tcp ").size() == 2; })) << d.log();
  ASSERT_TRUE(d.signal(SIGTERM));
  EXPECT_EQ(d.wait_exit(), 0) << d.log();
}

// A log file that cannot be opened at start-up: exit 1, naming the file and what to fix.
TEST(ConnLogStart, UnopenableFileIsAStartError) {
  TempDir dir;
  const auto r = run_program(LVSD_BIN,
                             {LVSD_BIN, "--workers", "1", "--socket", dir.path() + "/s",
                              "--conn-log", dir.path() + "/missing/x.log"},
                             dir.path() + "/s");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "lvsd: conn_log: cannot open " + dir.path() +
                       "/missing/x.log for appending: No such file or directory; check that the "
                       "directory exists and lvsd may write there\n");
}

// Past --conn-log-rate the lines are capped and a summary line says how many were suppressed.
TEST(ConnLogRate, FloodIsCappedWithASummaryLine) {
  TempDir logs;
  const std::string path = logs.path() + "/conn.log";
  Lvsd d{{"--conn-log", path, "--conn-log-rate", "3"}};
  ASSERT_TRUE(d.ready()) << d.log();
  NameServer a{"a", "127.0.0.11"};
  const std::string vip_text = fmt::format("127.0.0.1:{}", free_port("127.0.0.1"));
  ASSERT_EQ(d.lvsadm({"-A", "-t", vip_text, "-s", "rr"}).exit_code, 0);
  ASSERT_EQ(d.lvsadm({"-a", "-t", vip_text, "-r", a.addr().to_string(), "--fullnat"}).exit_code, 0);
  constexpr int kConns = 30;
  for (int i = 0; i < kConns; ++i) {
    auto fd = connect_tcp(*core::Endpoint::parse(vip_text));
    ASSERT_TRUE(fd);
    ASSERT_EQ(read_line(fd.get()), "a");
    ::shutdown(fd.get(), SHUT_WR);
    ASSERT_EQ(wait_closed(fd.get()), 0);
  }
  // Every connection is a line or counted in a summary line.
  const auto accounted = [&] {
    std::size_t n = lines_with(path, " tcp ").size();
    for (const auto& s : lines_with(path, " lines suppressed")) {
      n += std::stoull(s.substr(s.find("conn_log: ") + 10));
    }
    return n;
  };
  ASSERT_TRUE(eventually([&] { return accounted() == kConns; })) << read_file(path);
  EXPECT_FALSE(lines_with(path, "conn_log: ").empty());
  EXPECT_LT(lines_with(path, " tcp ").size(), static_cast<std::size_t>(kConns));
  ASSERT_TRUE(d.signal(SIGTERM));
  EXPECT_EQ(d.wait_exit(), 0) << d.log();
}

}  // namespace
}  // namespace lvs::testing
