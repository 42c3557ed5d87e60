// Spec §6 cases 27-47 through the real lvsadm binary against a real lvsd (private socket,
// loopback VIPs on free ports, full-NAT realservers): stdout byte for byte, stderr and exit
// status. VIPs are 127.0.0.x because the proxy binds them; FWM and Masq/Route/Tunnel cases
// are adapted (the proxy serves full-NAT and, as root, Masq TCP/UDP address services; Masq
// installs routing state, so it is tested in namespaces: tests/e2e/masq_test.sh).

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "integration/ctl/harness.h"

namespace lvs::testing {
namespace {

const std::string kHeader =
    "IP Virtual Server version 1.2.1 (size=4096)\n"
    "Prot LocalAddress:Port Scheduler Flags\n"
    "  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n";
const std::string kTitles =
    "Prot LocalAddress:Port Scheduler Flags\n"
    "  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n";

std::string dest_line(const std::string& addr, int weight, std::string_view fwd = "FullNat") {
  return fmt::format("  -> {:<28} {:<7} {:<6} {:<10} {:<10}\n", addr, fwd, weight, 0, 0);
}

class LvsadmGolden : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(d.ready()) << "lvsd did not start"; }

  // Runs lvsadm and expects success with empty stderr; returns stdout.
  std::string ok(const std::vector<std::string>& args, const std::string& input = {}) {
    const auto r = d.lvsadm(args, input);
    EXPECT_EQ(r.exit_code, 0) << fmt::format("{}", fmt::join(args, " ")) << "\n" << r.err;
    EXPECT_EQ(r.err, "");
    return r.out;
  }
  void fails(const std::vector<std::string>& args, const std::string& err, int code) {
    const auto r = d.lvsadm(args);
    EXPECT_EQ(r.err, err + "\n") << fmt::format("{}", fmt::join(args, " "));
    EXPECT_EQ(r.exit_code, code) << fmt::format("{}", fmt::join(args, " "));
    EXPECT_EQ(r.out, "");
  }

  Lvsd d{};
  const std::uint16_t port = free_port("127.0.0.1");
  const std::string vip = fmt::format("127.0.0.1:{}", port);
};

// Case 27: an empty table lists exactly the version line and the two title lines.
TEST_F(LvsadmGolden, EmptyTablePrintsThreeHeaderLines) { EXPECT_EQ(ok({"-L", "-n"}), kHeader); }

// Case 30: services sort by (protocol, address, port) whatever their creation order; -L -t
// prints the titles and that service only.
TEST_F(LvsadmGolden, ListingSortsServicesAndDests) {
  const auto p53 = free_port("127.0.0.1", true);
  const auto p80 = free_port("127.0.0.2");
  const auto p443 = free_port("127.0.0.1");
  const std::string udp = fmt::format("127.0.0.1:{}", p53);
  const std::string tcp2 = fmt::format("127.0.0.2:{}", p80);
  const std::string tcp1 = fmt::format("127.0.0.1:{}", p443);
  ok({"-A", "-u", udp, "-s", "rr"});
  // FWM 3 of the spec case: the proxy cannot serve firewall-mark services.
  const auto fwm = d.lvsadm({"-A", "-f", "3"});
  EXPECT_EQ(fwm.exit_code, 255);
  EXPECT_NE(fwm.err.find("firewall-mark"), std::string::npos) << fwm.err;
  ok({"-A", "-t", tcp2});
  ok({"-A", "-t", tcp1, "-s", "rr"});
  ok({"-a", "-t", tcp2, "-r", "127.0.0.12:8080", "--fullnat", "-w", "2"});
  ok({"-a", "-t", tcp2, "-r", "127.0.0.11:80", "-b"});
  EXPECT_EQ(ok({"-L", "-n"}), kHeader + "TCP  " + tcp1 + " rr\n" + "TCP  " + tcp2 + " wlc\n" +
                                  dest_line("127.0.0.11:80", 1) + dest_line("127.0.0.12:8080", 2) +
                                  "UDP  " + udp + " rr\n");
  EXPECT_EQ(ok({"-L", "-n", "-t", tcp2}), kTitles + "TCP  " + tcp2 + " wlc\n" +
                                              dest_line("127.0.0.11:80", 1) +
                                              dest_line("127.0.0.12:8080", 2));
}

// Case 31: --timeout shows the three timeouts; --set changes the non-zero ones.
TEST_F(LvsadmGolden, TimeoutsAndSet) {
  EXPECT_EQ(ok({"-L", "--timeout"}), "Timeout (tcp tcpfin udp): 900 120 300\n");
  ok({"--set", "3600", "0", "120"});
  EXPECT_EQ(ok({"-L", "--timeout"}), "Timeout (tcp tcpfin udp): 3600 120 120\n");
}

// Case 32: -S -n, -C, then -R of that text (with "ipvsadm" words and blank lines) restores
// an identical listing, thresholds aside.
TEST_F(LvsadmGolden, SaveClearRestoreRoundTrip) {
  const auto udp_port = free_port("127.0.0.1", true);
  const std::string udp = fmt::format("127.0.0.1:{}", udp_port);
  ok({"-A", "-t", vip, "-s", "wlc"});
  ok({"-a", "-t", vip, "-r", "127.0.0.11:80", "--fullnat", "-w", "1", "-x", "10", "-y", "5"});
  ok({"-a", "-t", vip, "-r", "127.0.0.12:8080", "--fullnat", "-w", "2"});
  ok({"-A", "-u", udp, "-s", "sh", "-o", "-b", "sh-fallback,sh-port"});
  ok({"-a", "-u", udp, "-r", "127.0.0.21:53", "--fullnat", "-w", "5"});
  const std::string saved = ok({"-S", "-n"});
  EXPECT_EQ(saved, "-A -t " + vip + " -s wlc\n" + "-a -t " + vip +
                       " -r 127.0.0.11:80 --fullnat -w 1\n" + "-a -t " + vip +
                       " -r 127.0.0.12:8080 --fullnat -w 2\n" + "-A -u " + udp +
                       " -s sh -o -b sh-fallback,sh-port\n" + "-a -u " + udp +
                       " -r 127.0.0.21:53 --fullnat -w 5\n");
  const std::string before = ok({"-L", "-n"});
  ok({"-C"});
  EXPECT_EQ(ok({"-L", "-n"}), kHeader);
  std::string input;
  std::size_t start = 0;
  for (std::size_t nl = saved.find('\n'); nl != std::string::npos; nl = saved.find('\n', start)) {
    input += "ipvsadm " + saved.substr(start, nl - start) + "\n\n";
    start = nl + 1;
  }
  ok({"-R"}, input);
  EXPECT_EQ(ok({"-L", "-n"}), before);
  EXPECT_EQ(ok({"-S", "-n"}), saved);
}

// Case 33 (full-NAT): -E resets every unspecified field; -e likewise resets the weight's
// neighbours (thresholds back to 0).
TEST_F(LvsadmGolden, EditResetsUnspecifiedFields) {
  ok({"-A", "-t", vip, "-s", "rr", "-p", "600"});
  EXPECT_EQ(ok({"-L", "-n"}), kHeader + "TCP  " + vip + " rr persistent 600\n");
  ok({"-E", "-t", vip});
  EXPECT_EQ(ok({"-L", "-n"}), kHeader + "TCP  " + vip + " wlc\n");
  ok({"-a", "-t", vip, "-r", "127.0.0.11:80", "--fullnat", "-w", "3", "-x", "10"});
  const std::string thr_title =
      fmt::format("{:<33} {:<10} {:<10} {:<10} {:<10}\n", "Prot LocalAddress:Port", "Uthreshold",
                  "Lthreshold", "ActiveConn", "InActConn") +
      "  -> RemoteAddress:Port\n";
  const auto thr_line = [](int u, int l) {
    return fmt::format("  -> {:<28} {:<10} {:<10} {:<10} {:<10}\n", "127.0.0.11:80", u, l, 0, 0);
  };
  EXPECT_EQ(ok({"-L", "-n", "--thresholds"}), "IP Virtual Server version 1.2.1 (size=4096)\n" +
                                                  thr_title + "TCP  " + vip + " wlc\n" +
                                                  thr_line(10, 0));
  ok({"-e", "-t", vip, "-r", "127.0.0.11:80", "--fullnat", "-w", "5"});
  EXPECT_EQ(ok({"-L", "-n"}), kHeader + "TCP  " + vip + " wlc\n" + dest_line("127.0.0.11:80", 5));
  EXPECT_EQ(ok({"-L", "-n", "--thresholds"}), "IP Virtual Server version 1.2.1 (size=4096)\n" +
                                                  thr_title + "TCP  " + vip + " wlc\n" +
                                                  thr_line(0, 0));
}

// Cases 34-47: validation (exit 2), engine (exit 255) and listing (exit 1) errors, exactly
// ipvsadm's texts, through the binary.
TEST_F(LvsadmGolden, ErrorTextsAndExitStatuses) {
  const std::string udp = fmt::format("127.0.0.1:{}", free_port("127.0.0.1", true));
  fails({"-A", "-t", "127.0.0.1", "-s", "rr"}, "Zero port specified for non-persistent service",
        2);  // 34
  fails({"-A", "-t", vip, "-o"}, "One-Packet Scheduling is only for UDP virtual services",
        2);  // 35
  ok({"-A", "-u", udp, "-o"});
  EXPECT_EQ(ok({"-L", "-n", "-u", udp}), kTitles + "UDP  " + udp + " wlc ops\n");
  ok({"-A", "-t", vip});
  fails({"-a", "-t", vip, "-r", "127.0.0.11", "-w", "65536"}, "illegal weight specified", 2);  // 36
  fails({"-A", "-t", vip}, "Service already exists", 255);                                     // 37
  const std::string missing = fmt::format("127.0.0.3:{}", free_port("127.0.0.3"));
  fails({"-a", "-t", missing, "-r", "127.0.0.11:80", "--fullnat"}, "Service not defined",
        255);  // 38
  fails({"-d", "-t", vip, "-r", "127.0.0.11:80"}, "No such destination", 255);
  fails({"-E", "-t", missing}, "No such service", 255);
  fails({"-D", "-t", missing}, "No such service", 255);
  fails({"-A", "-t", missing, "-s", "foo"}, "Scheduler or persistence engine not found",
        255);  // 39
  fails({"-a", "-t", vip, "-r", "127.0.0.11:80", "--fullnat", "-y", "5"},
        "Numerical result out of range", 255);  // 40
  fails({"-A", "-t", vip, "-w", "3"}, "Illegal 'weight' option with the 'add-service' command",
        2);  // 41
  fails({"-a", "-t", vip},
        "You need to supply the 'real-server' option for the 'add-server' command", 2);
  fails({"-L", "-c", "-t", vip},
        "The option 'service-address' conflicts with the 'connection' option in the 'list' "
        "command",
        2);  // 42
  fails({"-L", "-c", "--stats"}, "options conflicts in the list command", 2);
  fails({"-n", "-L"},
        fmt::format("Try `{0} -h' or '{0} --help' for more information.", lvsadm_path()),
        255);  // 43
  fails({"-A", "-t", missing, "-s", "rr", "-b", "sh-port"}, "incompatible scheduler flag `sh-port'",
        2);  // 44
  fails({"-A", "-t", missing, "-s", "rr", "-b", "bogus"}, "invalid scheduler flag `bogus'", 2);
  fails({"--set", "1", "2"}, "--set option requires 3 timeout values", 2);  // 45
  fails({"-A", "-f", "0"}, "invalid fwmark value `0' specified", 2);
  fails({"-A", "-t", "127.0.0.1:1", "-u", "127.0.0.2:2"},
        "multiple 'service-address' options specified", 2);
  fails({"-A", "-t", vip, "-D"}, "invalid option `-D'", 2);
  fails({"-a", "-t", vip, "-r", "127.0.0.11", "-g", "--tun-type", "gue"},
        "Tunnel options conflict with forward method", 2);  // 46
  fails({"-a", "-t", vip, "-r", "127.0.0.11", "-i", "--tun-type", "gue"},
        "You need to supply the 'tun-port' option for the 'gue' tunnel type", 2);
  fails({"-a", "-t", vip, "-r", "[2001:db8::1]:80", "-m"},
        "Different address family is allowed only for tunneling servers", 2);
  fails({"-L", "-n", "-t", missing}, "No such service", 1);  // 47
  // Nothing above changed the table.
  EXPECT_EQ(ok({"-L", "-n", "-t", vip}), kTitles + "TCP  " + vip + " wlc\n");
}

// Route (ipvsadm's default) and Tunnel need the packet engine: refused, naming it. (Masq runs
// on the proxy with transparent sockets and root: tests/e2e/masq_test.sh.)
TEST_F(LvsadmGolden, UnservedForwardingMethodsAreRefusedClearly) {
  ok({"-A", "-t", vip});
  const std::string tail =
      " needs the packet engine, which this lvsd does not run yet; use -m (masquerading) or "
      "--fullnat";
  fails({"-a", "-t", vip, "-r", "127.0.0.11:80"},
        "lvsadm: forwarding method Route (-g) for 127.0.0.11:" + std::to_string(port) + tail, 255);
  fails({"-a", "-t", vip, "-r", "127.0.0.11:80", "-g"},
        "lvsadm: forwarding method Route (-g) for 127.0.0.11:" + std::to_string(port) + tail, 255);
  fails({"-a", "-t", vip, "-r", "127.0.0.11:80", "-i"},
        "lvsadm: forwarding method Tunnel (-i) for 127.0.0.11:" + std::to_string(port) + tail, 255);
  ok({"-a", "-t", vip, "-r", "127.0.0.11:80", "--fullnat"});
  EXPECT_EQ(ok({"-L", "-n"}), kHeader + "TCP  " + vip + " wlc\n" + dest_line("127.0.0.11:80", 1));
}

// §4.2/§4.6: --start-daemon runs one daemon per role ("Daemon has already run" the second
// time), -L --daemon lists it in ipvsadm's form, --stop-daemon ends it ("No daemon is running"
// when none). This lvsd runs only the proxy, so starting says no connections are carried.
// A unicast --mcast-group (an lvsd extension) keeps the test on loopback.
TEST_F(LvsadmGolden, SyncDaemonStartsListsAndStops) {
  const std::string p1 = std::to_string(free_port("127.0.0.1", true));
  const std::string p2 = std::to_string(free_port("127.0.0.1", true));
  fails({"--stop-daemon", "master"}, "No daemon is running", 255);
  const auto started = d.lvsadm({"--start-daemon", "master", "--mcast-group", "127.0.0.1",
                                 "--mcast-port", p1, "--syncid", "5", "--sync-maxlen", "1400"});
  EXPECT_EQ(started.exit_code, 0) << started.err;
  EXPECT_NE(started.err.find("cannot survive a failover"), std::string::npos) << started.err;
  fails({"--start-daemon", "master", "--mcast-group", "127.0.0.1", "--mcast-port", p1},
        "Daemon has already run", 255);
  (void)d.lvsadm({"--start-daemon", "backup", "--mcast-group", "127.0.0.1", "--mcast-port", p2,
                  "--mcast-ttl", "3"});
  EXPECT_EQ(ok({"-L", "--daemon"}),
            "master sync daemon (mcast=, syncid=5, maxlen=1400, group=127.0.0.1, port=" + p1 +
                ")\nbackup sync daemon (mcast=, syncid=0, group=127.0.0.1, port=" + p2 +
                ", ttl=3)\n");
  EXPECT_EQ(ok({"--stop-daemon", "master"}), "");
  fails({"--stop-daemon", "master"}, "No daemon is running", 255);
  EXPECT_EQ(ok({"--stop-daemon", "backup"}), "");
  EXPECT_EQ(ok({"-L", "--daemon"}), "");
  fails({"--start-daemon", "master", "--mcast-interface", "lvsd-i-nosuch"},
        "lvsadm: sync daemon: interface 'lvsd-i-nosuch' does not exist (--mcast-interface)", 255);
}

// -L --json is valid JSON holding the table and its counters.
TEST_F(LvsadmGolden, JsonListingParses) {
  ok({"-A", "-t", vip, "-s", "rr"});
  ok({"-a", "-t", vip, "-r", "127.0.0.11:80", "--fullnat", "-w", "7"});
  const auto doc = nlohmann::json::parse(ok({"-L", "-n", "--json"}));
  ASSERT_EQ(doc["services"].size(), 1U);
  const auto& s = doc["services"][0];
  EXPECT_EQ(s["protocol"], "TCP");
  EXPECT_EQ(s["address"], "127.0.0.1");
  EXPECT_EQ(s["port"], port);
  EXPECT_EQ(s["scheduler"], "rr");
  ASSERT_EQ(s["dests"].size(), 1U);
  EXPECT_EQ(s["dests"][0]["forward"], "FullNat");
  EXPECT_EQ(s["dests"][0]["weight"], 7);
  EXPECT_EQ(s["dests"][0]["active"], 0);
  EXPECT_EQ(doc["timeouts"]["tcp"], 900);
}

// --drain of a realserver without connections quiesces it and reports it drained (exit 0).
TEST_F(LvsadmGolden, DrainOfIdleRealserverReturnsAtOnce) {
  ok({"-A", "-t", vip});
  ok({"-a", "-t", vip, "-r", "127.0.0.11:80", "--fullnat", "-w", "3"});
  const auto r = d.lvsadm({"--drain", "-t", vip, "-r", "127.0.0.11:80", "--wait", "30"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out,
            "draining 127.0.0.11:80 from TCP " + vip + ": weight 0\n127.0.0.11:80: drained\n");
  EXPECT_EQ(ok({"-L", "-n"}), kHeader + "TCP  " + vip + " wlc\n" + dest_line("127.0.0.11:80", 0));
  fails({"--drain", "-t", vip, "-r", "127.0.0.12:80"}, "No such destination", 255);
}

// -h and -v need no daemon; everything else says how to reach one.
TEST(LvsadmWithoutDaemon, ExplainsTheMissingDaemon) {
  const TempDir dir;
  const std::string sock = dir.path() + "/lvsd.sock";
  const auto r = run_program(lvsadm_path(), {lvsadm_path(), "-L", "-n"}, sock);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "lvsadm: cannot connect to lvsd at " + sock +
                       ": No such file or directory (is lvsd running?)\n");
  const auto v = run_program(lvsadm_path(), {lvsadm_path(), "-v"}, sock);
  EXPECT_EQ(v.exit_code, 0);
  EXPECT_TRUE(v.out.starts_with("ipvsadm ") || v.out.starts_with("lvsadm ")) << v.out;
  const auto h = run_program(lvsadm_path(), {lvsadm_path(), "-h"}, sock);
  EXPECT_EQ(h.exit_code, 0);
  EXPECT_FALSE(h.out.empty());
  // Argument errors are reported locally too, with ipvsadm's status.
  const auto e =
      run_program(lvsadm_path(), {lvsadm_path(), "-A", "-t", "127.0.0.1:80", "-w", "3"}, sock);
  EXPECT_EQ(e.exit_code, 2);
  EXPECT_EQ(e.err, "Illegal 'weight' option with the 'add-service' command\n");
}

}  // namespace
}  // namespace lvs::testing
