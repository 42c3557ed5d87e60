#include "bin/lvsd_flags.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace lvs::bin {
namespace {

core::Result<LvsdConfig> parse(std::vector<std::string_view> args) {
  return parse_lvsd_flags(args);
}

// --conn-log takes a path or syslog; --conn-log-rate 1..1000000; both unset by default
// (global_defs decides).
TEST(LvsdFlags, ConnLog) {
  EXPECT_FALSE(parse({}).value().conn_log.has_value());
  EXPECT_FALSE(parse({}).value().conn_log_rate.has_value());
  EXPECT_EQ(parse({"--conn-log", "/var/log/lvsd-conn.log"}).value().conn_log,
            "/var/log/lvsd-conn.log");
  EXPECT_EQ(parse({"--conn-log=syslog"}).value().conn_log, "syslog");
  EXPECT_EQ(parse({"--conn-log-rate", "50"}).value().conn_log_rate, 50U);
  EXPECT_EQ(parse({"--conn-log-rate", "0"}).error().message,
            "--conn-log-rate '0' is not a number of lines per second in 1..1000000");
  EXPECT_EQ(parse({"--conn-log-rate", "fast"}).error().message,
            "--conn-log-rate 'fast' is not a number of lines per second in 1..1000000");
  EXPECT_EQ(parse({"--conn-log="}).error().message, "--conn-log needs a file path or syslog");
  EXPECT_EQ(parse({"--conn-log-facility", "local3"}).value().conn_log_facility,
            dp::connlog::Facility::kLocal3);
  EXPECT_EQ(parse({"--conn-log-facility", "mail"}).error().message,
            "--conn-log-facility 'mail' is not daemon or local0..local7");
}

// --vrrp-fifo / --vrrp-instance / --gen-vrrp (issue 9): unset by default, empty values refused.
TEST(LvsdFlags, Vrrp) {
  EXPECT_FALSE(parse({}).value().vrrp_fifo.has_value());
  EXPECT_FALSE(parse({}).value().vrrp_instance.has_value());
  const auto cfg = parse({"--vrrp-fifo", "/run/f", "--vrrp-instance=VI_1", "--gen-vrrp", "x.conf"});
  ASSERT_TRUE(cfg) << cfg.error().message;
  EXPECT_EQ(cfg->vrrp_fifo, "/run/f");
  EXPECT_EQ(cfg->vrrp_instance, "VI_1");
  EXPECT_EQ(cfg->gen_vrrp, "x.conf");
  EXPECT_EQ(parse({"--vrrp-fifo="}).error().message, "--vrrp-fifo needs a path");
  EXPECT_EQ(parse({"--vrrp-instance="}).error().message, "--vrrp-instance needs a name");
  EXPECT_EQ(parse({"--gen-vrrp"}).error().message, "--gen-vrrp needs a value: FILE");
}

// --http-listen takes ADDR:PORT (IPv6 bracketed); no port, port 0 or a name is refused.
TEST(LvsdFlags, HttpListen) {
  EXPECT_FALSE(parse({}).value().http_listen.has_value());
  EXPECT_EQ(parse({"--http-listen", "127.0.0.1:9100"}).value().http_listen,
            core::Endpoint::parse("127.0.0.1:9100").value());
  EXPECT_EQ(parse({"--http-listen=[::1]:9100"}).value().http_listen,
            core::Endpoint::parse("[::1]:9100").value());
  EXPECT_EQ(parse({"--http-listen", "127.0.0.1"}).error().message,
            "--http-listen '127.0.0.1' needs a port 1..65535, e.g. 127.0.0.1:9100");
  EXPECT_EQ(parse({"--http-listen", "127.0.0.1:0"}).error().message,
            "--http-listen '127.0.0.1:0' needs a port 1..65535, e.g. 127.0.0.1:9100");
  EXPECT_TRUE(parse({"--http-listen", "localhost:9100"})
                  .error()
                  .message.starts_with("--http-listen 'localhost:9100': "));
  EXPECT_EQ(parse({"--http-listen"}).error().message, "--http-listen needs a value: ADDR:PORT");
}

// --xdp takes a comma-separated list of interface names; --xdp-mode native, generic or auto.
TEST(LvsdFlags, Xdp) {
  EXPECT_TRUE(parse({}).value().xdp_interfaces.empty());
  EXPECT_EQ(parse({"--xdp", "veth0,veth1"}).value().xdp_interfaces,
            (std::vector<std::string>{"veth0", "veth1"}));
  EXPECT_EQ(parse({}).value().xdp_mode, XdpMode::kAuto);
  EXPECT_EQ(parse({"--xdp-mode", "generic"}).value().xdp_mode, XdpMode::kGeneric);
  EXPECT_EQ(parse({"--xdp-mode=native"}).value().xdp_mode, XdpMode::kNative);
  EXPECT_EQ(parse({"--xdp-mode", "fast"}).error().message,
            "--xdp-mode 'fast' is not one of native, generic, auto");
  EXPECT_EQ(parse({"--xdp", "eth0,,eth1"}).error().message,
            "--xdp 'eth0,,eth1': '' is not an interface name (1..15 characters, no '/'; list "
            "them with ip link)");
  EXPECT_EQ(parse({}).value().xdp_conn_max, 0U);  // the engine's default
  EXPECT_EQ(parse({"--xdp-conn-max", "2097152"}).value().xdp_conn_max, 2097152U);
  EXPECT_EQ(parse({"--xdp-conn-max", "100"}).error().message,
            "--xdp-conn-max '100' is below 1024 entries");
  EXPECT_EQ(parse({"--xdp-conn-max", "lots"}).error().message,
            "--xdp-conn-max 'lots' is not a number in 0..16777216");
}

// --sync-address: the unicast sync sockets' local address; IPv4 only, named when wrong.
TEST(LvsdFlags, SyncAddress) {
  EXPECT_FALSE(parse({}).value().sync_address.has_value());
  EXPECT_EQ(parse({"--sync-address", "192.0.2.201"}).value().sync_address,
            *core::IpAddress::parse("192.0.2.201"));
  EXPECT_EQ(parse({"--sync-address", "2001:db8::1"}).error().message,
            "--sync-address '2001:db8::1' is not an IPv4 address");
  EXPECT_EQ(parse({"--sync-address", "nowhere"}).error().message,
            "--sync-address 'nowhere' is not an IPv4 address");
}

// Active/active (issue 9): the cluster seed and the BGP announcer's settings.
TEST(LvsdFlags, ClusterSeedAndBgp) {
  EXPECT_FALSE(parse({}).value().cluster_seed.has_value());
  EXPECT_EQ(parse({"--cluster-seed", "4294967295"}).value().cluster_seed, 4294967295U);
  EXPECT_EQ(parse({"--cluster-seed", "4294967296"}).error().message,
            "--cluster-seed '4294967296' is not a number in 0..4294967295");
  const auto off = parse({}).value();
  EXPECT_TRUE(off.bgp.bird.control_socket.empty());
  EXPECT_EQ(off.bgp.bird.fragment_path, "/run/lvsd/bird-vips.conf");
  EXPECT_EQ(off.bgp.drain_file, "/run/lvsd/bgp-drain");
  const auto on = parse({"--bgp-bird-socket", "/run/bird/bird.ctl", "--bgp-vips-file", "/tmp/v",
                         "--bgp-drain-file", "/tmp/d", "--birdc", "/usr/sbin/birdc"})
                      .value();
  EXPECT_EQ(on.bgp.bird.control_socket, "/run/bird/bird.ctl");
  EXPECT_EQ(on.bgp.bird.fragment_path, "/tmp/v");
  EXPECT_EQ(on.bgp.drain_file, "/tmp/d");
  EXPECT_EQ(on.bgp.bird.birdc, "/usr/sbin/birdc");
  EXPECT_EQ(parse({"--bgp-bird-socket", ""}).error().message,
            "--bgp-bird-socket needs bird's control socket path");
  EXPECT_EQ(off.bgp.liveness_link, "lvsd-bgp");
  EXPECT_EQ(parse({"--bgp-liveness-link", "none"}).value().bgp.liveness_link, "");
  EXPECT_EQ(parse({"--bgp-liveness-link", "lvs0"}).value().bgp.liveness_link, "lvs0");
  EXPECT_EQ(parse({"--bgp-liveness-link", "a/b"}).error().message,
            "--bgp-liveness-link 'a/b' is not an interface name (1..15 characters, no '/') or "
            "none");
}

// Service options apply to the preceding -t/-u; realservers are full-NAT, newest first.
TEST(LvsdFlags, ServiceOptionsApplyToThePrecedingService) {
  auto cfg =
      parse({"--workers", "2", "-t", "127.0.0.1:8080", "-s", "rr", "-r", "127.0.0.2:9000", "-r",
             "127.0.0.3:9000,weight=2", "-u", "127.0.0.1:5353", "-o", "-r", "127.0.0.2"});
  ASSERT_TRUE(cfg.ok()) << cfg.error().message;
  EXPECT_EQ(cfg->proxy.workers, 2U);
  ASSERT_EQ(cfg->table.services.size(), 2U);
  const auto& tcp = cfg->table.services[0];
  EXPECT_EQ(tcp.scheduler, "rr");
  ASSERT_EQ(tcp.dests.size(), 2U);
  EXPECT_EQ(tcp.dests[0].addr.to_string(), "127.0.0.3:9000");
  EXPECT_EQ(tcp.dests[0].weight, 2);
  EXPECT_EQ(tcp.dests[0].forward, model::ForwardMethod::kFullNat);
  const auto& udp = cfg->table.services[1];
  EXPECT_EQ(udp.scheduler, "wlc");
  EXPECT_TRUE(udp.one_packet);
  EXPECT_EQ(udp.dests[0].addr.to_string(), "127.0.0.2:5353");  // port from the service
}

// Errors name the flag's value and say what is wrong.
TEST(LvsdFlags, BadRealserverPortIsNamed) {
  auto cfg = parse({"-t", "127.0.0.1:80", "-r", "127.0.0.5:99999"});
  ASSERT_FALSE(cfg.ok());
  EXPECT_EQ(cfg.error().message,
            "realserver '127.0.0.5:99999': port '99999' in '127.0.0.5:99999' is not a number in "
            "0..65535");
}

TEST(LvsdFlags, RealserverNeedsAService) {
  auto cfg = parse({"-r", "127.0.0.2:80"});
  ASSERT_FALSE(cfg.ok());
  EXPECT_EQ(cfg.error().message, "-r must follow a service (-t or -u)");
}

TEST(LvsdFlags, DurationsTakeSecondsOrMilliseconds) {
  auto cfg = parse({"-t", "127.0.0.1:80", "--tcp-timeout", "90", "--udp-timeout=250ms"});
  ASSERT_TRUE(cfg.ok()) << cfg.error().message;
  EXPECT_EQ(cfg->proxy.tcp_established_timeout, std::chrono::seconds(90));
  EXPECT_EQ(cfg->proxy.udp_timeout, std::chrono::milliseconds(250));
  EXPECT_FALSE(parse({"-t", "127.0.0.1:80", "--tcp-timeout", "soon"}).ok());
}

// Ended TCP connections linger (spec §3.1): TIME_WAIT 120 s, CLOSE 10 s, 262144 records per
// worker by default; each can be set, and a bad value is named.
TEST(LvsdFlags, LingerTimesAndCap) {
  auto def = parse({"-t", "127.0.0.1:80"});
  ASSERT_TRUE(def.ok()) << def.error().message;
  EXPECT_EQ(def->proxy.linger_time_wait, std::chrono::seconds(120));
  EXPECT_EQ(def->proxy.linger_close, std::chrono::seconds(10));
  EXPECT_EQ(def->proxy.linger_max, 262144U);
  auto cfg = parse({"-t", "127.0.0.1:80", "--time-wait-linger", "3s", "--close-linger=500ms",
                    "--linger-max", "0"});
  ASSERT_TRUE(cfg.ok()) << cfg.error().message;
  EXPECT_EQ(cfg->proxy.linger_time_wait, std::chrono::seconds(3));
  EXPECT_EQ(cfg->proxy.linger_close, std::chrono::milliseconds(500));
  EXPECT_EQ(cfg->proxy.linger_max, 0U);
  EXPECT_FALSE(parse({"-t", "127.0.0.1:80", "--linger-max", "many"}).ok());
  EXPECT_FALSE(parse({"-t", "127.0.0.1:80", "--close-linger", "soon"}).ok());
}

// -p takes an optional timeout (ipvsadm's 360 s without one); -M a mask or an IPv6 prefix.
TEST(LvsdFlags, PersistenceAndNetmask) {
  auto cfg = parse({"-t", "127.0.0.1:80", "-p", "-M", "255.255.255.0", "-r", "127.0.0.2", "-u",
                    "127.0.0.1:53", "-p", "60", "-t", "[::1]:80", "--persistent=30", "-M", "64"});
  ASSERT_TRUE(cfg.ok()) << cfg.error().message;
  const auto& s = cfg->table.services;
  ASSERT_EQ(s.size(), 3U);
  EXPECT_TRUE(s[0].persistent);
  EXPECT_EQ(s[0].timeout, 360U);
  EXPECT_EQ(s[0].netmask, 0xFFFFFF00U);
  EXPECT_EQ(s[0].dests.size(), 1U);
  EXPECT_EQ(s[1].timeout, 60U);
  EXPECT_EQ(s[1].netmask, 0xFFFFFFFFU);
  EXPECT_EQ(s[2].timeout, 30U);
  EXPECT_EQ(s[2].netmask, 64U);
  EXPECT_EQ(parse({"-t", "127.0.0.1:80", "-M", "255.0.255.0"}).error().message,
            "netmask '255.0.255.0' is not an IPv4 netmask like 255.255.255.0");
  EXPECT_FALSE(parse({"-t", "127.0.0.1:80", "-p", "0"}).ok());
  EXPECT_FALSE(parse({"-p"}).ok());
}

// proxy=v1|v2 per realserver; v1 has no UDP form.
TEST(LvsdFlags, ProxyProtocolPerRealserver) {
  auto cfg = parse({"-t", "127.0.0.1:80", "-r", "127.0.0.2,proxy=v1", "-r", "127.0.0.3,proxy=v2",
                    "-u", "127.0.0.1:53", "-r", "127.0.0.2,proxy=v2"});
  ASSERT_TRUE(cfg.ok()) << cfg.error().message;
  EXPECT_EQ(cfg->table.services[0].dests[1].proxy_protocol, model::ProxyProtocol::kV1);
  EXPECT_EQ(cfg->table.services[0].dests[0].proxy_protocol, model::ProxyProtocol::kV2);
  EXPECT_EQ(cfg->table.services[1].dests[0].proxy_protocol, model::ProxyProtocol::kV2);
  EXPECT_FALSE(parse({"-u", "127.0.0.1:53", "-r", "127.0.0.2,proxy=v1"}).ok());
  EXPECT_FALSE(parse({"-t", "127.0.0.1:80", "-r", "127.0.0.2,proxy=v3"}).ok());
}

TEST(LvsdFlags, RelayMemoryBudgetInMebibytesAndCheckJitterInPercent) {
  auto cfg = parse({"--relay-memory", "64", "--check-jitter", "10"});
  ASSERT_TRUE(cfg.ok()) << cfg.error().message;
  EXPECT_EQ(cfg->proxy.relay_memory_budget, std::uint64_t{64} << 20U);
  EXPECT_EQ(cfg->check_jitter_percent, 10U);
  EXPECT_EQ(parse({"--check-jitter", "80"}).error().message,
            "check jitter '80' is not a number in 0..50");
  EXPECT_FALSE(parse({"--relay-memory", "lots"}).ok());
}

TEST(LvsdFlags, ConnectionCapPerService) {
  auto cfg = parse({"-t", "127.0.0.1:80", "--max-conns", "100", "-t", "127.0.0.1:81"});
  ASSERT_TRUE(cfg.ok()) << cfg.error().message;
  EXPECT_EQ(cfg->table.services[0].conn_limit, 100U);
  EXPECT_EQ(cfg->table.services[1].conn_limit, 0U);
  EXPECT_FALSE(parse({"--max-conns", "5"}).ok());
}

// No service is fine (an empty table, filled by lvsadm); an unknown flag is an error.
TEST(LvsdFlags, UnknownFlagIsAnErrorAndNoServiceIsAnEmptyTable) {
  EXPECT_FALSE(parse({"--frobnicate"}).ok());
  ASSERT_TRUE(parse({}).ok());
  EXPECT_TRUE(parse({}).value().table.services.empty());
  EXPECT_TRUE(parse({"--help"}).ok());
  ASSERT_TRUE(parse({"--socket", "/tmp/x.sock"}).ok());
  EXPECT_EQ(parse({"--socket", "/tmp/x.sock"}).value().socket_path, "/tmp/x.sock");
}

// keepalived's `-t`: alone or before another option it is the config test, not a service.
// --test-hooks is off unless given, and --help says it is for the test suite only.
TEST(LvsdFlags, TestHooksAreOffByDefaultAndDocumented) {
  auto plain = parse({});
  ASSERT_TRUE(plain.ok()) << plain.error().message;
  EXPECT_FALSE(plain->test_hooks);
  auto hooks = parse({"--test-hooks"});
  ASSERT_TRUE(hooks.ok()) << hooks.error().message;
  EXPECT_TRUE(hooks->test_hooks);
  EXPECT_NE(lvsd_usage().find("--test-hooks"), std::string::npos);
  EXPECT_NE(lvsd_usage().find("FOR THE TEST SUITE ONLY"), std::string::npos);
}

TEST(LvsdFlags, DashTAloneIsTheConfigTest) {
  auto cfg = parse({"-t", "-f", "lvsd.conf"});
  ASSERT_TRUE(cfg.ok()) << cfg.error().message;
  EXPECT_TRUE(cfg->config_test);
  EXPECT_EQ(cfg->config_file, "lvsd.conf");
  EXPECT_TRUE(cfg->table.services.empty());
  cfg = parse({"-f", "lvsd.conf", "-t"});
  ASSERT_TRUE(cfg.ok()) << cfg.error().message;
  EXPECT_TRUE(cfg->config_test);
  EXPECT_EQ(parse({"-t"}).error().message, "-t (config test) needs -f FILE");
}

// A file and services given as flags exclude each other; settings flags combine with -f.
TEST(LvsdFlags, FileAndFlagServicesExcludeEachOther) {
  EXPECT_EQ(parse({"-f", "a.conf", "-t", "127.0.0.1:80"}).error().message,
            "-f and services given as flags (-t/-u) exclude each other: put the services in the "
            "file");
  auto cfg = parse({"-f", "a.conf", "--workers", "3", "--grace", "2", "--syslog"});
  ASSERT_TRUE(cfg.ok()) << cfg.error().message;
  EXPECT_TRUE(cfg->workers_set);
  EXPECT_FALSE(cfg->log_level_set);
  EXPECT_EQ(cfg->grace_seconds, 2U);
  EXPECT_TRUE(cfg->syslog);
}

}  // namespace
}  // namespace lvs::bin

namespace lvs::bin {
namespace {

// `-r ADDR,masq` makes a Masq realserver; `,fullnat` is the default spelled out.
TEST(LvsdFlags, RealserverMasqOption) {
  auto cfg = parse({"-t", "192.0.2.100:23", "-r", "192.0.2.21:2323,masq,weight=3", "-r",
                    "192.0.2.22:2323,fullnat"});
  ASSERT_TRUE(cfg.ok()) << cfg.error().message;
  const auto& dests = cfg->table.services.at(0).dests;
  ASSERT_EQ(dests.size(), 2U);
  EXPECT_EQ(dests[1].forward, model::ForwardMethod::kMasq);
  EXPECT_EQ(dests[1].weight, 3);
  EXPECT_EQ(dests[0].forward, model::ForwardMethod::kFullNat);
  EXPECT_EQ(parse({"-t", "192.0.2.100:23", "-r", "192.0.2.21,masq=1"}).error().message,
            "realserver '192.0.2.21,masq=1': unknown option 'masq=1' (known: masq, fullnat, "
            "weight=, x=, y=, proxy=)");
}

// --masq-fwmark takes decimal or hex, --masq-table refuses the kernel's tables, --cleanup.
TEST(LvsdFlags, MasqSettingsAndCleanup) {
  auto cfg = parse({"--masq-fwmark", "0x10", "--masq-table=100", "--cleanup"});
  ASSERT_TRUE(cfg.ok()) << cfg.error().message;
  EXPECT_EQ(cfg->masq, (dp::masq::Settings{.fwmark = 16, .table = 100}));
  EXPECT_TRUE(cfg->cleanup);
  EXPECT_EQ(parse({}).value().masq, dp::masq::Settings{});
  EXPECT_FALSE(parse({}).value().cleanup);
  EXPECT_EQ(parse({"--masq-fwmark", "0"}).error().message,
            "--masq-fwmark 0 is not a mark: use a number in 1..4294967295");
  EXPECT_EQ(parse({"--masq-fwmark", "0xZZ"}).error().message,
            "--masq-fwmark '0xZZ' is not a number in 1..4294967295 (decimal or 0x hex)");
  EXPECT_EQ(parse({"--masq-table", "4294967296"}).error().message,
            "--masq-table '4294967296' is not a number in 1..4294967295 (decimal or 0x hex)");
  EXPECT_EQ(parse({"--masq-table", "255"}).error().message,
            "--masq-table 255 is a table the kernel owns (0 unspec, 253 default, 254 main, 255 "
            "local): use another number");
}

}  // namespace
}  // namespace lvs::bin
