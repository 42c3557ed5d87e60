// lvsd run from a keepalived-style file (-f) through the real binaries: health checks change the
// table lvsadm lists (spec §5.4-5.5, cases 48-54 on real processes), reloads apply only the
// difference and keep the old configuration on errors, SIGTERM lets open connections finish.
// Realservers are lvs-realserver processes on 127.0.0.x; every wait is bounded.

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>

#include <atomic>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "integration/ctl/harness.h"
#include "integration/dp/proxy/loopback.h"

namespace lvs::testing {
namespace {

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_file(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

std::string ep(const std::string& ip, std::uint16_t port) { return fmt::format("{}:{}", ip, port); }

// One TCP request through the VIP: the realserver's name, "" when it failed.
std::string request(const std::string& vip) {
  auto fd = connect_tcp(*core::Endpoint::parse(vip));
  if (!fd) return "";
  return read_line(fd.get());
}

// A virtual service block with fast checks; `body` holds its real_server blocks and extras.
std::string service(const std::string& vip_ip, std::uint16_t vip_port, const std::string& body) {
  return fmt::format(
      "virtual_server {} {} {{\n  lvs_sched rr\n  lvs_method FNAT\n  protocol TCP\n"
      "  delay_loop 0.2\n  warmup 0\n{}}}\n",
      vip_ip, vip_port, body);
}

std::string real(const std::string& ip, std::uint16_t port, const std::string& extra = {}) {
  return fmt::format(
      "  real_server {} {} {{\n{}    TCP_CHECK {{\n      connect_timeout 0.5\n    }}\n  }}\n", ip,
      port, extra);
}

// A listening TCP socket on 127.0.0.1 (port 0, no SO_REUSEPORT) and its port.
std::pair<core::Fd, std::uint16_t> listening_port() {
  core::Fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(sa);
  // NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast): the sockets API
  auto* addr = reinterpret_cast<sockaddr*>(&sa);
  if (::bind(fd.get(), addr, len) != 0 || ::listen(fd.get(), 1) != 0 ||
      ::getsockname(fd.get(), addr, &len) != 0) {
    return {core::Fd{}, 0};
  }
  return {std::move(fd), ntohs(sa.sin_port)};
}

class Lifecycle : public ::testing::Test {
 protected:
  std::string conf_path() const { return dir.path() + "/lvsd.conf"; }
  std::string listing(const Lvsd& d) const { return d.lvsadm({"-L", "-n"}).out; }
  static bool lists(const Lvsd& d, const std::string& what) {
    return d.lvsadm({"-L", "-n"}).out.find(what) != std::string::npos;
  }
  // The weight in the realserver's row ("-> ADDR FullNat WEIGHT ..."); -1 when not listed.
  int weight(const Lvsd& d, const std::string& addr) const {
    std::istringstream in(listing(d));
    std::string line;
    while (std::getline(in, line)) {
      std::istringstream words(line);
      std::string arrow, at, method;
      int w = -1;
      if (words >> arrow >> at >> method >> w && at == addr) return w;
    }
    return -1;
  }
  TempDir dir{};
  std::uint16_t vport = free_port("127.0.0.1");
  std::string vip = ep("127.0.0.1", vport);
  std::uint16_t port_a = free_port("127.0.0.2");
  std::uint16_t port_b = free_port("127.0.0.3");
  std::string a = ep("127.0.0.2", port_a);
  std::string b = ep("127.0.0.3", port_b);
};

// A killed realserver leaves `lvsadm -L -n` (its notify_down runs once) and returns when it is
// restarted.
TEST_F(Lifecycle, KilledRealserverLeavesAndReturns) {
  const std::string notify = dir.path() + "/notify";
  write_file(conf_path(),
             service("127.0.0.1", vport,
                     real("127.0.0.2", port_a,
                          fmt::format("    notify_down \"echo down >> {}\"\n", notify)) +
                         real("127.0.0.3", port_b)));
  auto ra = std::make_unique<Realserver>("a", a);
  Realserver rb("b", b);
  ASSERT_TRUE(ra->ready() && rb.ready());
  Lvsd d({"-f", conf_path(), "--log-level", "info"});
  ASSERT_TRUE(d.ready()) << d.log();
  EXPECT_TRUE(lists(d, "-> " + a)) << listing(d);
  EXPECT_TRUE(lists(d, "-> " + b));
  ra->stop();
  ASSERT_TRUE(eventually([&] { return !lists(d, "-> " + a); })) << listing(d) << d.log();
  EXPECT_TRUE(lists(d, "-> " + b));
  ASSERT_TRUE(eventually([&] { return slurp(notify) == "down\n"; })) << slurp(notify);
  EXPECT_EQ(request(vip), "b");
  ra = std::make_unique<Realserver>("a", a);
  ASSERT_TRUE(ra->ready());
  ASSERT_TRUE(eventually([&] { return lists(d, "-> " + a); })) << listing(d) << d.log();
  // One log line per transition, with its reason.
  const std::string log = d.log();
  const std::string down =
      fmt::format("[127.0.0.2]:tcp:{} of VS [127.0.0.1]:tcp:{} is DOWN: ", port_a, vport);
  EXPECT_NE(log.find(down + "TCP_CHECK"), std::string::npos) << log;
  EXPECT_EQ(log.find(down), log.rfind(down)) << log;
  EXPECT_EQ(slurp(notify), "down\n");
}

// global_defs notify_fifo: each transition writes "RS <rs> <vs> UP|DOWN" (spec §5.4).
TEST_F(Lifecycle, NotifyFifoGetsTransitionLines) {
  const std::string fifo = dir.path() + "/fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  // Our reader is open before lvsd writes: lvsd's non-blocking writer drops lines without one.
  const core::Fd reader(::open(fifo.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
  ASSERT_TRUE(reader.valid());
  write_file(conf_path(), fmt::format("global_defs {{\n  notify_fifo {}\n}}\n", fifo) +
                              service("127.0.0.1", vport, real("127.0.0.2", port_a)));
  auto ra = std::make_unique<Realserver>("a", a);
  ASSERT_TRUE(ra->ready());
  Lvsd d({"-f", conf_path()});
  ASSERT_TRUE(d.ready()) << d.log();
  ra->stop();
  std::string got;
  const std::string want =
      fmt::format("RS [127.0.0.2]:tcp:{} [127.0.0.1]:tcp:{} DOWN\n", port_a, vport);
  ASSERT_TRUE(eventually([&] {
    char buf[512];
    const ssize_t n = ::read(reader.get(), buf, sizeof(buf));
    if (n > 0) got.append(buf, static_cast<std::size_t>(n));
    return got.find(want) != std::string::npos;
  })) << got
      << d.log();
}

// inhibit_on_failure: the dead realserver stays listed at weight 0 (case 50).
TEST_F(Lifecycle, InhibitOnFailureKeepsTheRealserverAtWeightZero) {
  write_file(conf_path(),
             service("127.0.0.1", vport,
                     real("127.0.0.2", port_a, "    weight 3\n    inhibit_on_failure\n") +
                         real("127.0.0.3", port_b)));
  auto ra = std::make_unique<Realserver>("a", a);
  Realserver rb("b", b);
  ASSERT_TRUE(ra->ready() && rb.ready());
  Lvsd d({"-f", conf_path()});
  ASSERT_TRUE(d.ready()) << d.log();
  ASSERT_TRUE(eventually([&] { return weight(d, a) == 3; })) << listing(d);
  ra->stop();
  ASSERT_TRUE(eventually([&] { return weight(d, a) == 0; })) << listing(d);
  ra = std::make_unique<Realserver>("a", a);
  ASSERT_TRUE(eventually([&] { return weight(d, a) == 3; })) << listing(d);
}

// alpha: realservers start dead and enter the table at their first successful probe (case 49).
TEST_F(Lifecycle, AlphaRealserversWaitForTheirFirstSuccess) {
  write_file(conf_path(),
             service("127.0.0.1", vport,
                     "  alpha\n" + real("127.0.0.2", port_a) + real("127.0.0.3", port_b)));
  Realserver ra("a", a);  // b is not running
  ASSERT_TRUE(ra.ready());
  Lvsd d({"-f", conf_path()});
  ASSERT_TRUE(d.ready()) << d.log();
  EXPECT_FALSE(lists(d, "-> " + b)) << listing(d);
  ASSERT_TRUE(eventually([&] { return lists(d, "-> " + a); })) << listing(d);
  EXPECT_FALSE(lists(d, "-> " + b)) << listing(d);
}

// An operator's weight (lvsadm -e -w) survives the realserver going down and coming back.
TEST_F(Lifecycle, OperatorWeightSurvivesAHealthCycle) {
  write_file(conf_path(),
             service("127.0.0.1", vport,
                     real("127.0.0.2", port_a, "    weight 2\n") + real("127.0.0.3", port_b)));
  auto ra = std::make_unique<Realserver>("a", a);
  Realserver rb("b", b);
  ASSERT_TRUE(ra->ready() && rb.ready());
  Lvsd d({"-f", conf_path()});
  ASSERT_TRUE(d.ready()) << d.log();
  ASSERT_EQ(weight(d, a), 2) << listing(d);
  const auto r = d.lvsadm({"-e", "-t", vip, "-r", a, "--fullnat", "-w", "7"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ra->stop();
  ASSERT_TRUE(eventually([&] { return weight(d, a) == -1; })) << listing(d);
  ra = std::make_unique<Realserver>("a", a);
  ASSERT_TRUE(eventually([&] { return weight(d, a) == 7; })) << listing(d);
  // A reload of the same file keeps it too.
  ASSERT_EQ(d.lvsadm({"--reload"}).exit_code, 0);
  EXPECT_EQ(weight(d, a), 7) << listing(d);
}

// Quorum lost -> the sorry server serves; quorum back -> the realservers again (case 54).
TEST_F(Lifecycle, QuorumLostSorryServerServes) {
  const auto sorry_port = free_port("127.0.0.4");
  const std::string sorry = ep("127.0.0.4", sorry_port);
  const std::string down = dir.path() + "/quorum";
  write_file(
      conf_path(),
      service("127.0.0.1", vport,
              fmt::format("  quorum 2\n  sorry_server 127.0.0.4 {}\n"
                          "  sorry_server_lvs_method FNAT\n  quorum_down \"echo lost >> {}\"\n",
                          sorry_port, down) +
                  real("127.0.0.2", port_a) + real("127.0.0.3", port_b)));
  auto ra = std::make_unique<Realserver>("a", a);
  Realserver rb("b", b);
  Realserver rs("sorry", sorry);
  ASSERT_TRUE(ra->ready() && rb.ready() && rs.ready());
  Lvsd d({"-f", conf_path()});
  ASSERT_TRUE(d.ready()) << d.log();
  EXPECT_FALSE(lists(d, "-> " + sorry));
  ra->stop();  // live weight 1 < quorum 2
  ASSERT_TRUE(eventually([&] { return lists(d, "-> " + sorry); })) << listing(d) << d.log();
  EXPECT_FALSE(lists(d, "-> " + b));
  EXPECT_EQ(request(vip), "sorry");
  ASSERT_TRUE(eventually([&] { return slurp(down) == "lost\n"; }));
  ra = std::make_unique<Realserver>("a", a);
  ASSERT_TRUE(eventually([&] { return !lists(d, "-> " + sorry); })) << listing(d);
  EXPECT_TRUE(lists(d, "-> " + a));
  EXPECT_TRUE(lists(d, "-> " + b));
}

// A MISC_CHECK that hangs is killed at misc_timeout; the loop keeps checking everything else.
TEST_F(Lifecycle, HungMiscCheckIsKilledAndTheLoopGoesOn) {
  const std::string started = dir.path() + "/started";
  write_file(conf_path(), service("127.0.0.1", vport,
                                  fmt::format("  real_server 127.0.0.2 {} {{\n    MISC_CHECK {{\n"
                                              "      misc_path \"echo x >> {}; exec sleep 600\"\n"
                                              "      misc_timeout 0.3\n    }}\n  }}\n",
                                              port_a, started) +
                                      real("127.0.0.3", port_b)));
  auto rb = std::make_unique<Realserver>("b", b);
  ASSERT_TRUE(rb->ready());
  Lvsd d({"-f", conf_path()});
  ASSERT_TRUE(d.ready()) << d.log();
  // The hung check times out (a failure: the realserver goes) and runs again: not stuck.
  ASSERT_TRUE(eventually([&] { return !lists(d, "-> " + a); })) << listing(d);
  ASSERT_TRUE(eventually([&] { return slurp(started).size() >= 6; })) << slurp(started);
  rb->stop();
  ASSERT_TRUE(eventually([&] { return !lists(d, "-> " + b); })) << listing(d);
}

// A flapping realserver (its MISC_CHECK alternates success and failure) is held down by
// --rise 3 --fall 1: once out it never sees three successes in a row. With keepalived's rise 1
// the same server comes back.
TEST_F(Lifecycle, FlappingRealserverIsHeldDownByRiseFall) {
  const std::string state = dir.path() + "/state";
  const std::string runs = dir.path() + "/runs";
  write_file(conf_path(),
             service("127.0.0.1", vport,
                     fmt::format("  real_server 127.0.0.2 {2} {{\n    MISC_CHECK {{\n"
                                 "      misc_path \"echo x >> {1}; if [ -e {0} ]; then rm -f {0}; "
                                 "exit 1; else : > {0}; exit 0; fi\"\n    }}\n  }}\n",
                                 state, runs, port_a) +
                         real("127.0.0.3", port_b)));
  Realserver rb("b", b);
  ASSERT_TRUE(rb.ready());
  {
    Lvsd d({"-f", conf_path(), "--rise", "3", "--fall", "1"});
    ASSERT_TRUE(d.ready()) << d.log();
    ASSERT_TRUE(eventually([&] { return !lists(d, "-> " + a); })) << listing(d);
    const std::size_t seen = slurp(runs).size();
    bool came_back = false;
    eventually([&] {
      came_back = came_back || lists(d, "-> " + a);
      return slurp(runs).size() >= seen + 2 * 12;  // 12 more probes
    });
    EXPECT_FALSE(came_back) << d.log();
  }
  Lvsd d({"-f", conf_path()});
  ASSERT_TRUE(d.ready()) << d.log();
  ASSERT_TRUE(eventually([&] { return !lists(d, "-> " + a); })) << listing(d);
  ASSERT_TRUE(eventually([&] { return lists(d, "-> " + a); })) << listing(d);
}

// `lvsd -t -f` checks without starting anything: 0 for a good file, 1 with FILE:LINE:COL.
TEST_F(Lifecycle, ConfigTestReportsTheErrorLocation) {
  write_file(conf_path(), service("127.0.0.1", vport, real("127.0.0.2", port_a)));
  auto r = run_program(LVSD_BIN, {LVSD_BIN, "-t", "-f", conf_path()}, dir.path() + "/no.sock");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("is valid: 1 services"), std::string::npos) << r.out;
  write_file(conf_path(), "virtual_server 127.0.0.1 80 {\n  lvs_shed rr\n}\n");
  r = run_program(LVSD_BIN, {LVSD_BIN, "-t", "-f", conf_path()}, dir.path() + "/no.sock");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(r.err.starts_with(conf_path() + ":2:3: ")) << r.err;
  struct stat st {};
  EXPECT_NE(::stat((dir.path() + "/no.sock").c_str(), &st), 0);
}

// A broken file on reload changes nothing: the listing stays identical and --reload answers
// with FILE:LINE:COL, exit 1; SIGHUP with the same file logs it and keeps running.
TEST_F(Lifecycle, ReloadWithABrokenFileChangesNothing) {
  write_file(conf_path(), service("127.0.0.1", vport, real("127.0.0.2", port_a)));
  Realserver ra("a", a);
  ASSERT_TRUE(ra.ready());
  Lvsd d({"-f", conf_path()});
  ASSERT_TRUE(d.ready()) << d.log();
  const std::string before = listing(d);
  write_file(conf_path(), "virtual_server 127.0.0.1 80 {\n  protocol TCP\n  delay_loop x\n}\n");
  const auto r = d.lvsadm({"--reload"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find(conf_path() + ":3:14: "), std::string::npos) << r.err;
  EXPECT_EQ(listing(d), before);
  ASSERT_TRUE(d.signal(SIGHUP));
  ASSERT_TRUE(eventually([&] {
    const auto log = d.log();
    return log.find("reload of") != log.rfind("reload of");  // logged twice: lvsadm, SIGHUP
  })) << d.log();
  EXPECT_EQ(listing(d), before);
  EXPECT_EQ(request(vip), "a");
}

// A reload keeps the health state of realservers whose checks did not change: a dead one stays
// out (it is not re-added until a probe succeeds), a live one stays in; a new one starts alive.
TEST_F(Lifecycle, ReloadCarriesHealthStateOver) {
  const auto port_c = free_port("127.0.0.4");
  const std::string c = ep("127.0.0.4", port_c);
  const std::string two = real("127.0.0.2", port_a) + real("127.0.0.3", port_b);
  write_file(conf_path(), service("127.0.0.1", vport, two));
  Realserver ra("a", a);  // b is not running
  Realserver rc("c", c);
  ASSERT_TRUE(ra.ready() && rc.ready());
  Lvsd d({"-f", conf_path()});
  ASSERT_TRUE(d.ready()) << d.log();
  ASSERT_TRUE(eventually([&] { return !lists(d, "-> " + b); })) << listing(d);
  // Slow checks from now on: the listing right after the reload is health's carried state.
  std::string slow = service("127.0.0.1", vport, two + real("127.0.0.4", port_c));
  slow.replace(slow.find("delay_loop 0.2"), 14, "delay_loop 30");
  slow.replace(slow.find("warmup 0\n"), 9, "warmup 30\n");
  write_file(conf_path(), slow);
  const auto r = d.lvsadm({"--reload"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string after = listing(d);
  EXPECT_NE(after.find("-> " + a), std::string::npos) << after;
  EXPECT_EQ(after.find("-> " + b), std::string::npos) << after;
  EXPECT_NE(after.find("-> " + c), std::string::npos) << after;
}

// A reload under live load adds, removes and edits services; the untouched service serves every
// request of a bounded client loop running throughout.
TEST_F(Lifecycle, ReloadUnderLoadKeepsTheUntouchedServiceServing) {
  const auto p2 = free_port("127.0.0.1");
  const auto p3 = free_port("127.0.0.1");
  const std::string keep = service("127.0.0.1", vport, real("127.0.0.2", port_a));
  write_file(conf_path(), keep + service("127.0.0.1", p2, real("127.0.0.3", port_b)));
  Realserver ra("a", a);
  Realserver rb("b", b);
  ASSERT_TRUE(ra.ready() && rb.ready());
  Lvsd d({"-f", conf_path()});
  ASSERT_TRUE(d.ready()) << d.log();
  std::atomic<bool> stop{false};
  std::atomic<int> ok{0};
  std::atomic<int> failed{0};
  std::thread client([&] {
    for (int i = 0; i < 20000 && !stop.load(); ++i) {
      (request(vip) == "a" ? ok : failed).fetch_add(1);
    }
  });
  ASSERT_TRUE(eventually([&] { return ok.load() > 20; }));
  // Edit: the second service changes scheduler; add a third; then remove the second.
  const std::string edited = service("127.0.0.1", p2, real("127.0.0.3", port_b));
  write_file(conf_path(), keep + std::string(edited).replace(edited.find(" rr"), 3, " wrr") +
                              service("127.0.0.1", p3, real("127.0.0.3", port_b)));
  auto r = d.lvsadm({"--reload"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("1 added"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("1 edited"), std::string::npos) << r.out;
  EXPECT_TRUE(lists(d, fmt::format("127.0.0.1:{} wrr", p2))) << listing(d);
  EXPECT_EQ(request(ep("127.0.0.1", p3)), "b");
  const int mid = ok.load();
  // A connection held on the service about to be removed runs on; new ones are refused.
  auto held = connect_tcp(*core::Endpoint::parse(ep("127.0.0.1", p2)));
  ASSERT_TRUE(held);
  ASSERT_EQ(read_line(held.get()), "b");
  write_file(conf_path(), keep + service("127.0.0.1", p3, real("127.0.0.3", port_b)));
  r = d.lvsadm({"--reload"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("1 removed"), std::string::npos) << r.out;
  EXPECT_FALSE(lists(d, fmt::format("127.0.0.1:{}", p2))) << listing(d);
  EXPECT_TRUE(
      eventually([&] { return !connect_tcp(*core::Endpoint::parse(ep("127.0.0.1", p2))); }));
  const std::string ping = "still here\n";
  ASSERT_EQ(::send(held.get(), ping.data(), ping.size(), MSG_NOSIGNAL),
            static_cast<ssize_t>(ping.size()));
  EXPECT_EQ(read_line(held.get()), "still here");
  ASSERT_TRUE(eventually([&] { return ok.load() > mid + 20; }));
  stop = true;
  client.join();
  EXPECT_EQ(failed.load(), 0);
  EXPECT_GT(ok.load(), 40);
}

// SIGTERM: new connections are refused at once, a held connection keeps working and finishes
// within --grace, then lvsd exits 0.
TEST_F(Lifecycle, SigtermLetsAHeldConnectionFinish) {
  const std::string omega = dir.path() + "/omega";
  write_file(
      conf_path(),
      service("127.0.0.1", vport,
              "  omega\n" + real("127.0.0.2", port_a,
                                 fmt::format("    notify_down \"echo down >> {}\"\n", omega))));
  Realserver ra("a", a);
  ASSERT_TRUE(ra.ready());
  Lvsd d({"-f", conf_path(), "--grace", "30"});
  ASSERT_TRUE(d.ready()) << d.log();
  auto held = connect_tcp(*core::Endpoint::parse(vip));
  ASSERT_TRUE(held);
  ASSERT_EQ(read_line(held.get()), "a");
  ASSERT_TRUE(d.signal(SIGTERM));
  // New connections are refused while the held one is open.
  ASSERT_TRUE(eventually([&] { return !connect_tcp(*core::Endpoint::parse(vip)); }));
  const std::string ping = "still here\n";
  ASSERT_EQ(::send(held.get(), ping.data(), ping.size(), MSG_NOSIGNAL),
            static_cast<ssize_t>(ping.size()));
  EXPECT_EQ(read_line(held.get()), "still here");
  EXPECT_EQ(slurp(omega), "");  // the omega notifiers run after the connections
  held.reset();                 // the client finishes: lvsd may exit now
  EXPECT_EQ(d.wait_exit(), 0) << d.log();
  EXPECT_EQ(slurp(omega), "down\n");  // omega: the shutdown ran notify_down
}

// A reload the data plane cannot apply (the new VIP's port is taken by another program) keeps
// the old configuration, including its health checks.
TEST_F(Lifecycle, ReloadTheDataPlaneRefusesKeepsTheOldConfiguration) {
  const std::string good = service("127.0.0.1", vport, real("127.0.0.2", port_a));
  write_file(conf_path(), good);
  auto ra = std::make_unique<Realserver>("a", a);
  ASSERT_TRUE(ra->ready());
  Lvsd d({"-f", conf_path()});
  ASSERT_TRUE(d.ready()) << d.log();
  const std::string before = listing(d);
  // A listener without SO_REUSEPORT: lvsd's bind to the same address fails.
  const auto taken = listening_port();
  ASSERT_NE(taken.second, 0);
  write_file(conf_path(), good + service("127.0.0.1", taken.second, real("127.0.0.3", port_b)));
  const auto r = d.lvsadm({"--reload"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find(fmt::format("127.0.0.1:{}", taken.second)), std::string::npos) << r.err;
  EXPECT_EQ(listing(d), before);
  ra->stop();  // the health checks of the running configuration still work
  ASSERT_TRUE(eventually([&] { return !lists(d, "-> " + a); })) << listing(d) << d.log();
}

// systemd Type=notify: READY=1 once serving, RELOADING=1 then READY=1 around a SIGHUP reload,
// STOPPING=1 on SIGTERM, each one datagram on $NOTIFY_SOCKET.
TEST_F(Lifecycle, NotifiesSystemd) {
  const std::string path = dir.path() + "/notify.sock";
  const core::Fd sock(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  ASSERT_LT(path.size(), sizeof(sa.sun_path));
  std::copy(path.begin(), path.end(), sa.sun_path);
  // NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast): the sockets API
  ASSERT_EQ(::bind(sock.get(), reinterpret_cast<const sockaddr*>(&sa), sizeof(sa)), 0);
  write_file(conf_path(), service("127.0.0.1", vport, real("127.0.0.2", port_a)));
  ::setenv("NOTIFY_SOCKET", path.c_str(), 1);  // NOLINT(concurrency-mt-unsafe): test setup
  Lvsd d({"-f", conf_path()});
  ::unsetenv("NOTIFY_SOCKET");  // NOLINT(concurrency-mt-unsafe): test setup
  ASSERT_TRUE(d.ready()) << d.log();
  const auto next = [&] {
    pollfd p{.fd = sock.get(), .events = POLLIN, .revents = 0};
    if (::poll(&p, 1, kWaitMs) != 1) return std::string("(nothing)");
    char buf[256];
    const ssize_t n = ::recv(sock.get(), buf, sizeof(buf), 0);
    return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string("(error)");
  };
  EXPECT_EQ(next(), "READY=1");
  ASSERT_TRUE(d.signal(SIGHUP));
  EXPECT_EQ(next(), "RELOADING=1");
  EXPECT_EQ(next(), "READY=1");
  ASSERT_TRUE(d.signal(SIGTERM));
  EXPECT_EQ(next(), "STOPPING=1");
  EXPECT_EQ(d.wait_exit(), 0) << d.log();
}

}  // namespace
}  // namespace lvs::testing
