// The keepalived-style configuration (spec §5.1): what a valid file becomes, the defaults of
// case 55, and the exact text of every error (file:line:col, the word, what would be valid).
#include "config/keepalived.h"

#include <gtest/gtest.h>

#include "unit/config/temp_dir.h"

namespace lvs::config {
namespace {

using model::ForwardMethod;
using std::chrono::seconds;

core::Endpoint ep(const char* s) { return *core::Endpoint::parse(s); }

Config parse_ok(const std::string& text) {
  auto r = parse_keepalived(text, "t.conf");
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
  return r.ok() ? *r : Config{};
}

std::string parse_error(const std::string& text) {
  auto r = parse_keepalived(text, "t.conf");
  EXPECT_FALSE(r.ok());
  return r.ok() ? "" : r.error().message;
}

std::vector<std::string> warnings_of(const Config& c) {
  std::vector<std::string> out;
  for (const auto& w : c.warnings) out.push_back(w.to_string());
  return out;
}

constexpr const char* kFull = R"(global_defs {
  workers 4
  control_socket /run/lvsd/ctl.sock
  log_level debug
  http_listen 127.0.0.1:8080
  notification_email {
    ops@example.com
    noc@example.com
  }
  vrrp_strict
}
virtual_server 192.168.1.100 80 {
  delay_loop 5
  lvs_sched rr
  lvs_method NAT
  protocol TCP
  persistence_timeout 600
  persistence_granularity 255.255.255.0
  quorum 3
  hysteresis 1
  quorum_up "/bin/true up"
  sorry_server 10.0.0.99 80
  real_server 10.0.0.11 80 {
    weight 2
    inhibit_on_failure
    notify_down "/usr/local/bin/rs-down 10.0.0.11"
    TCP_CHECK { connect_port 8080  connect_timeout 3 }
  }
  real_server 10.0.0.12 80 {
    weight 3
    lvs_method DR
    HTTP_GET {
      url {
        path /health
        status_code 200 301-302
        digest 9B3A0C85A887A256D6939DA88AABD8CD
      }
      retry 2
    }
  }
}
virtual_server fwmark 7 {
  lvs_sched sh
  lvs_method DR
  sh-port
  sh-fallback
  real_server 10.0.0.41 0 {
  }
}
)";

// A complete file becomes the global settings, the service table and the health settings.
TEST(KeepalivedConfig, FullFileBecomesTableAndHealthSettings) {
  const auto c = parse_ok(kFull);
  EXPECT_EQ(c.global.workers, 4U);
  EXPECT_EQ(c.global.control_socket, "/run/lvsd/ctl.sock");
  EXPECT_EQ(c.global.log_level, core::LogLevel::kDebug);
  EXPECT_EQ(c.global.http_listen, ep("127.0.0.1:8080"));
  EXPECT_EQ(c.global.notification_email,
            (std::vector<std::string>{"ops@example.com", "noc@example.com"}));
  EXPECT_EQ(warnings_of(c),
            (std::vector<std::string>{"t.conf:10:3: warning: ignoring global_defs keyword "
                                      "'vrrp_strict' (not used by lvsd)"}));

  ASSERT_EQ(c.table.services.size(), 2U);
  const auto& web = c.table.services[0];
  EXPECT_EQ(web.key, model::ServiceKey::address(model::Protocol::kTcp, ep("192.168.1.100:80")));
  EXPECT_EQ(web.scheduler, "rr");
  EXPECT_TRUE(web.persistent);
  EXPECT_EQ(web.timeout, 600U);
  EXPECT_EQ(web.netmask, 0xFFFFFF00U);
  ASSERT_EQ(web.dests.size(), 2U);  // newest first
  EXPECT_EQ(web.dests[0], (model::RealServer{.addr = ep("10.0.0.12:80"),
                                             .forward = ForwardMethod::kRoute,
                                             .weight = 3,
                                             .last_weight = 3}));
  EXPECT_EQ(web.dests[1], (model::RealServer{.addr = ep("10.0.0.11:80"),
                                             .forward = ForwardMethod::kMasq,
                                             .weight = 2,
                                             .last_weight = 2}));

  const auto& fwm = c.table.services[1];
  EXPECT_EQ(fwm.key, model::ServiceKey::mark(7));
  EXPECT_EQ(fwm.scheduler, "sh");
  EXPECT_EQ(fwm.sched_flags, model::sched_flag::kShPort | model::sched_flag::kShFallback);
  ASSERT_EQ(fwm.dests.size(), 1U);
  EXPECT_EQ(fwm.dests[0].forward, ForwardMethod::kRoute);

  ASSERT_EQ(c.health.size(), 2U);
  const auto& h = c.health[0];
  EXPECT_EQ(h.key, web.key);
  EXPECT_EQ(h.delay_loop, seconds(5));
  EXPECT_EQ(h.quorum, 3U);
  EXPECT_EQ(h.hysteresis, 1U);
  EXPECT_EQ(h.quorum_up, "/bin/true up");
  EXPECT_EQ(h.sorry_server,
            (model::RealServer{.addr = ep("10.0.0.99:80"), .forward = ForwardMethod::kMasq}));
  ASSERT_EQ(h.reals.size(), 2U);  // file order
  const auto& rs1 = h.reals[0];
  EXPECT_EQ(rs1.addr, ep("10.0.0.11:80"));
  EXPECT_EQ(rs1.where, (SourceLocation{.file = "t.conf", .line = 23, .col = 3}));
  EXPECT_TRUE(rs1.inhibit_on_failure);
  EXPECT_EQ(rs1.notify_down, "/usr/local/bin/rs-down 10.0.0.11");
  ASSERT_EQ(rs1.checkers.size(), 1U);
  const auto& tcp = rs1.checkers[0];
  EXPECT_EQ(tcp.kind, CheckerKind::kTcp);
  EXPECT_EQ(tcp.target, ep("10.0.0.11:8080"));
  EXPECT_EQ(tcp.timing, (CheckTiming{.delay_loop = seconds(5),
                                     .connect_timeout = seconds(3),
                                     .retry = 1,
                                     .delay_before_retry = seconds(1)}));
  const auto& http = h.reals[1].checkers.at(0);
  EXPECT_EQ(http.kind, CheckerKind::kHttpGet);
  EXPECT_EQ(http.target, ep("10.0.0.12:80"));
  EXPECT_EQ(http.timing.retry, 2U);
  EXPECT_EQ(http.timing.delay_before_retry, seconds(3));  // HTTP_GET's own default
  ASSERT_EQ(http.urls.size(), 1U);
  EXPECT_EQ(http.urls[0], (UrlSpec{.path = "/health",
                                   .digest = "9b3a0c85a887a256d6939da88aabd8cd",
                                   .status = {{200, 200}, {301, 302}}}));
}

// Spec case 55: no protocol -> UDP, no lvs_sched -> wlc, no lvs_method -> NAT, each warned.
TEST(KeepalivedConfig, Case55DefaultsAreUdpWlcNatWithWarnings) {
  const auto c = parse_ok(R"(virtual_server 192.168.1.100 53 {
  real_server 10.0.0.21 53 {
  }
}
)");
  ASSERT_EQ(c.table.services.size(), 1U);
  const auto& s = c.table.services[0];
  EXPECT_EQ(s.key, model::ServiceKey::address(model::Protocol::kUdp, ep("192.168.1.100:53")));
  EXPECT_EQ(s.scheduler, "wlc");
  EXPECT_FALSE(s.persistent);
  EXPECT_EQ(s.dests.at(0).forward, ForwardMethod::kMasq);
  EXPECT_EQ(s.dests.at(0).weight, 1);
  EXPECT_EQ(warnings_of(c),
            (std::vector<std::string>{
                "t.conf:1:1: warning: virtual_server 192.168.1.100 53 has no protocol; using "
                "UDP (keepalived's default): add 'protocol TCP' if TCP was meant",
                "t.conf:1:1: warning: virtual_server 192.168.1.100 53 has no lvs_sched; using wlc",
                "t.conf:1:1: warning: virtual_server 192.168.1.100 53 has no lvs_method; using "
                "NAT"}));
}

// Realservers are added one at a time in file order, so the table iterates newest first.
TEST(KeepalivedConfig, RealserversIterateNewestFirst) {
  const auto c = parse_ok(R"(virtual_server 192.168.1.100 80 {
  protocol TCP
  lvs_sched rr
  lvs_method NAT
  real_server 10.0.0.1 80 {
  }
  real_server 10.0.0.2 80 {
  }
  real_server 10.0.0.3 80 {
  }
}
)");
  const auto& d = c.table.services.at(0).dests;
  ASSERT_EQ(d.size(), 3U);
  EXPECT_EQ(d[0].addr, ep("10.0.0.3:80"));
  EXPECT_EQ(d[1].addr, ep("10.0.0.2:80"));
  EXPECT_EQ(d[2].addr, ep("10.0.0.1:80"));
  EXPECT_TRUE(c.warnings.empty());
}

// Checker settings inherit checker <- real_server <- virtual_server <- per-kind defaults.
TEST(KeepalivedConfig, CheckerTimingInheritsAndUsesPerKindDefaults) {
  const auto c = parse_ok(R"(virtual_server 10.1.1.1 53 {
  protocol UDP
  lvs_sched rr
  lvs_method DR
  delay_loop 10
  connect_timeout 2
  warmup 0
  real_server 10.0.0.1 53 {
    retry 4
    DNS_CHECK { type a  name example.org }
    MISC_CHECK {
      misc_path "/usr/bin/check --fast"
      misc_timeout 1.5
      misc_dynamic
    }
    UDP_CHECK { payload 0a0B  require_reply 0aXX }
  }
  real_server 10.0.0.2 53 {
    DNS_CHECK {
      connect_ip 10.0.0.200
      delay_before_retry 0.25
    }
    MISC_CHECK { misc_path /bin/true }
  }
}
)");
  const auto& reals = c.health.at(0).reals;
  const auto& dns1 = reals.at(0).checkers.at(0);
  EXPECT_EQ(dns1.dns_type, "A");
  EXPECT_EQ(dns1.dns_name, "example.org");
  EXPECT_EQ(dns1.timing, (CheckTiming{.delay_loop = seconds(10),
                                      .connect_timeout = seconds(2),
                                      .retry = 4,  // from the real_server
                                      .delay_before_retry = seconds(10),
                                      .warmup = Millis{0}}));
  const auto& misc1 = reals.at(0).checkers.at(1);
  EXPECT_EQ(misc1.misc_path, "/usr/bin/check --fast");
  EXPECT_EQ(misc1.misc_timeout, Millis{1500});
  EXPECT_TRUE(misc1.misc_dynamic);
  EXPECT_EQ(misc1.timing.retry, 4U);
  const auto& udp = reals.at(0).checkers.at(2);
  EXPECT_EQ(udp.payload, (std::vector<std::uint8_t>{0x0a, 0x0b}));
  EXPECT_TRUE(udp.require_reply);
  EXPECT_EQ(udp.reply_pattern, "0aXX");

  const auto& dns2 = reals.at(1).checkers.at(0);
  EXPECT_EQ(dns2.target, ep("10.0.0.200:53"));
  EXPECT_EQ(dns2.timing.retry, 3U);  // DNS_CHECK's default
  EXPECT_EQ(dns2.timing.delay_before_retry, Millis{250});
  EXPECT_EQ(reals.at(1).checkers.at(1).timing.retry, 0U);  // MISC_CHECK's default
}

// lvs_method covers NAT, DR, TUN with its tunnel options, and lvsd's FNAT.
TEST(KeepalivedConfig, ForwardingMethodsIncludingTunnelOptionsAndFullNat) {
  const auto c = parse_ok(R"(virtual_server 192.168.1.100 443 {
  protocol TCP
  lvs_sched wlc
  lb_kind FNAT
  real_server 10.0.0.1 8443 {
  }
  real_server 10.0.0.2 443 {
    lvs_method TUN type gue port 6080 csum
  }
  real_server 10.0.0.3 443 {
    lvs_method TUN type gre
  }
}
)");
  const auto& d = c.table.services.at(0).dests;
  ASSERT_EQ(d.size(), 3U);
  EXPECT_EQ(d[2].forward, ForwardMethod::kFullNat);
  EXPECT_EQ(d[2].addr, ep("10.0.0.1:8443"));
  EXPECT_EQ(d[1].forward, ForwardMethod::kTunnel);
  EXPECT_EQ(d[1].tun_type, model::TunnelType::kGue);
  EXPECT_EQ(d[1].tun_port, 6080);
  EXPECT_EQ(d[1].tun_csum, model::TunnelCsum::kCsum);
  EXPECT_EQ(d[0].tun_type, model::TunnelType::kGre);
}

// persistence_timeout alone means 360 s; granularity alone turns persistence on (IPv6: prefix).
TEST(KeepalivedConfig, PersistenceDefaultsAndIpv6Granularity) {
  const auto c = parse_ok(R"(virtual_server 192.168.1.100 0 {
  protocol TCP
  lvs_sched rr
  lvs_method DR
  persistence_timeout
}
virtual_server 2001:db8::1 443 {
  protocol TCP
  lvs_sched rr
  lvs_method DR
  persistence_granularity 64
}
virtual_server 192.168.1.101 {
  protocol TCP
  lvs_sched rr
  lvs_method DR
  persistence_granularity 255.255.0.0
}
)");
  ASSERT_EQ(c.table.services.size(), 2U + 1U);
  EXPECT_TRUE(c.table.services[0].persistent);
  EXPECT_EQ(c.table.services[0].timeout, 360U);
  EXPECT_EQ(c.table.services[1].key.af, core::Family::kInet6);
  EXPECT_TRUE(c.table.services[1].persistent);
  EXPECT_EQ(c.table.services[1].netmask, 64U);
  EXPECT_EQ(c.table.services[2].key.vip, ep("192.168.1.101:0"));
  EXPECT_EQ(c.table.services[2].netmask, 0xFFFF0000U);
}

// ops survives on UDP and is dropped (with a warning) on TCP, as keepalived does.
TEST(KeepalivedConfig, OpsOnTcpIsDroppedWithAWarning) {
  const auto c = parse_ok(R"(virtual_server 192.168.1.100 53 {
  protocol UDP
  lvs_sched rr
  lvs_method NAT
  ops
}
virtual_server 192.168.1.100 80 {
  protocol TCP
  lvs_sched rr
  lvs_method NAT
  ops
}
)");
  EXPECT_TRUE(c.table.services.at(0).one_packet);
  EXPECT_FALSE(c.table.services.at(1).one_packet);
  EXPECT_EQ(warnings_of(c),
            (std::vector<std::string>{"t.conf:11:3: warning: ops dropped: one-packet scheduling is "
                                      "only for UDP or fwmark services, and virtual_server "
                                      "192.168.1.100 80 is TCP"}));
}

// VRRP blocks are skipped with a warning so existing keepalived files load.
TEST(KeepalivedConfig, VrrpBlocksAreSkippedWithAWarning) {
  const auto c = parse_ok(R"(vrrp_instance VI_1 {
  state MASTER
  virtual_ipaddress {
    192.168.1.100
  }
}
)");
  EXPECT_TRUE(c.table.services.empty());
  EXPECT_EQ(warnings_of(c), (std::vector<std::string>{
                                "t.conf:1:1: warning: ignoring vrrp_instance block (lvsd does "
                                "not do VRRP)"}));
}

// Comments start with # or !; quoted strings keep their spaces and may hold braces.
TEST(KeepalivedConfig, CommentsAndQuotedStrings) {
  const auto c = parse_ok(R"(! keepalived style comment
virtual_server 192.168.1.100 80 { # trailing comment
  protocol TCP ! another
  lvs_sched rr
  lvs_method NAT
  quorum_down "/bin/echo { down }"
}
)");
  EXPECT_EQ(c.health.at(0).quorum_down, "/bin/echo { down }");
}

// Errors --------------------------------------------------------------------------------------

TEST(KeepalivedErrors, MissingClosingBraceNamesTheOpenBlock) {
  EXPECT_EQ(parse_error(R"(virtual_server 192.168.1.100 80 {
  protocol TCP
  real_server 10.0.0.11 80 {
    weight 1
}
)"),
            "t.conf:1:1: block is never closed: 'virtual_server'; expected a matching '}' "
            "before the end of the file");
}

TEST(KeepalivedErrors, StrayClosingBrace) {
  EXPECT_EQ(parse_error("}\n"),
            "t.conf:1:1: unexpected '}': '}'; expected a keyword (no block is open)");
}

TEST(KeepalivedErrors, UnknownKeywordSuggestsTheClosestOne) {
  EXPECT_EQ(parse_error(R"(virtual_server 192.168.1.100 80 {
  lvs_shed rr
}
)"),
            "t.conf:2:3: unknown keyword in virtual_server: 'lvs_shed'; expected a "
            "virtual_server keyword (did you mean 'lvs_sched'?)");
  EXPECT_EQ(parse_error("virtual_servers 192.168.1.100 80 {\n}\n"),
            "t.conf:1:1: unknown keyword at the top level: 'virtual_servers'; expected a "
            "top-level keyword (did you mean 'virtual_server'?)");
}

TEST(KeepalivedErrors, BadAddress) {
  EXPECT_EQ(parse_error("virtual_server 192.168.1.300 80 {\n}\n"),
            "t.conf:1:16: invalid virtual_server address: '192.168.1.300'; expected an IPv4 or "
            "IPv6 address (host names are not resolved)");
}

TEST(KeepalivedErrors, WeightOutOfRangeSaysTheRange) {
  EXPECT_EQ(parse_error(R"(virtual_server 192.168.1.100 23 {
  protocol TCP
  real_server 198.51.100.11 23 {
    weight 70000
  }
}
)"),
            "t.conf:4:12: weight for real_server 198.51.100.11 23 is out of range: '70000'; "
            "expected an integer 0..65535");
}

TEST(KeepalivedErrors, DuplicateRealserverNamesBothLines) {
  EXPECT_EQ(parse_error(R"(virtual_server 192.168.1.100 80 {
  protocol TCP
  real_server 10.0.0.11 80 {
  }
  real_server 10.0.0.11 80 {
  }
}
)"),
            "t.conf:5:15: duplicate real_server 10.0.0.11:80 in virtual_server 192.168.1.100 80 "
            "(first at t.conf:3:3): '10.0.0.11 80'; expected each real_server once per "
            "virtual_server");
}

TEST(KeepalivedErrors, DuplicateVirtualServerNamesBothLines) {
  EXPECT_EQ(parse_error(R"(virtual_server 192.168.1.100 80 {
  protocol TCP
}
virtual_server 192.168.1.100 80 {
  protocol TCP
}
)"),
            "t.conf:4:16: duplicate virtual_server TCP 192.168.1.100:80 (first at t.conf:1:1): "
            "'192.168.1.100 80'; expected each virtual_server once");
}

TEST(KeepalivedErrors, UnknownSchedulerListsTheKnownOnes) {
  EXPECT_EQ(parse_error("virtual_server 192.168.1.100 80 {\n  lvs_sched wlcc\n}\n"),
            "t.conf:2:13: unknown scheduler: 'wlcc'; expected one of rr, wrr, lc, wlc, lblc, "
            "lblcr, dh, sh, sed, nq, fo, ovf, mh, twos (did you mean 'wlc'?)");
}

TEST(KeepalivedErrors, BlockKeywordWithoutBrace) {
  EXPECT_EQ(parse_error(R"(virtual_server 192.168.1.100 80 {
  real_server 10.0.0.11 80
  weight 1
}
)"),
            "t.conf:3:3: real_server needs a block: 'weight'; expected '{' after real_server "
            "10.0.0.11 80");
}

TEST(KeepalivedErrors, TooManyValues) {
  EXPECT_EQ(parse_error(R"(virtual_server 192.168.1.100 80 {
  real_server 10.0.0.11 80 {
    weight 1 2
  }
}
)"),
            "t.conf:3:14: too many values for weight: '2'; expected an integer 0..65535");
}

TEST(KeepalivedErrors, MissingValue) {
  EXPECT_EQ(parse_error("virtual_server 192.168.1.100 80 {\n  protocol\n}\n"),
            "t.conf:2:3: missing value for protocol: 'protocol'; expected TCP, UDP or SCTP");
}

TEST(KeepalivedErrors, CheckerKeywordOfAnotherKind) {
  EXPECT_EQ(parse_error(R"(virtual_server 192.168.1.100 80 {
  real_server 10.0.0.11 80 {
    TCP_CHECK {
      misc_path /bin/true
    }
  }
}
)"),
            "t.conf:4:7: keyword not valid in TCP_CHECK: 'misc_path'; expected a TCP_CHECK "
            "keyword");
}

TEST(KeepalivedErrors, HttpGetWithoutUrl) {
  EXPECT_EQ(parse_error(R"(virtual_server 192.168.1.100 80 {
  protocol TCP
  real_server 10.0.0.11 80 {
    HTTP_GET {
    }
  }
}
)"),
            "t.conf:4:5: HTTP_GET has no url: 'HTTP_GET'; expected at least one url { path ... } "
            "block");
}

TEST(KeepalivedErrors, PortlessServiceMustBePersistent) {
  EXPECT_EQ(parse_error("virtual_server 192.168.1.100 {\n  protocol TCP\n}\n"),
            "t.conf:1:16: virtual_server without a port must be persistent: '192.168.1.100'; "
            "expected ADDRESS PORT, or persistence_timeout for a port-0 service");
}

TEST(KeepalivedErrors, GroupsAreNotSupported) {
  EXPECT_EQ(parse_error("virtual_server_group web {\n  192.168.1.100 80\n}\n"),
            "t.conf:1:1: virtual_server_group is not supported: 'virtual_server_group'; "
            "expected one virtual_server block per address and port (or a fwmark service)");
  EXPECT_EQ(parse_error("virtual_server group web {\n}\n"),
            "t.conf:1:16: virtual_server group is not supported: 'group'; expected "
            "virtual_server ADDRESS PORT or virtual_server fwmark N");
}

TEST(KeepalivedErrors, UnterminatedQuote) {
  EXPECT_EQ(parse_error("virtual_server 192.168.1.100 80 {\n  quorum_up \"/bin/true\n}\n"),
            "t.conf:2:13: unterminated quoted string: '\"/bin/true'; expected a closing '\"' "
            "on the same line");
}

TEST(KeepalivedErrors, GueTunnelNeedsAPort) {
  EXPECT_EQ(parse_error("virtual_server 192.168.1.100 80 {\n  lvs_method TUN type gue\n}\n"),
            "t.conf:2:14: a gue tunnel needs a port: 'TUN type gue'; expected TUN type gue "
            "port N");
}

// Engine validation (spec §4.4) is reported at the offending real_server.
TEST(KeepalivedErrors, EngineRejectionPointsAtTheRealserver) {
  EXPECT_EQ(parse_error(R"(virtual_server 192.168.1.100 80 {
  protocol TCP
  real_server 10.0.0.11 80 {
    lthreshold 5
  }
}
)"),
            "t.conf:3:15: real_server rejected: lower threshold 5 for 10.0.0.11:80 in service "
            "TCP 192.168.1.100:80 is above its upper threshold 0: '10.0.0.11 80'; expected "
            "lthreshold <= uthreshold");
}

// Includes ------------------------------------------------------------------------------------

// include with a glob reads every match in sorted order, relative to the including file.
TEST(KeepalivedInclude, GlobIncludesRelativeToTheIncludingFile) {
  testing::TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  dir.write("conf.d/20-dns.conf",
            "virtual_server 192.168.1.100 53 {\n  protocol UDP\n  lvs_sched rr\n"
            "  lvs_method NAT\n}\n");
  dir.write("conf.d/10-web.conf",
            "virtual_server 192.168.1.100 80 {\n  protocol TCP\n  lvs_sched rr\n"
            "  lvs_method NAT\n  include ../reals/web.conf\n}\n");
  dir.write("reals/web.conf", "real_server 10.0.0.11 80 {\n  weight 5\n}\n");
  const auto main = dir.write("lvsd.conf",
                              "global_defs {\n  workers 2\n}\ninclude conf.d/*.conf\n"
                              "include nothing/*.conf\n");
  auto r = load_keepalived(main);
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r->table.services.size(), 2U);
  EXPECT_EQ(r->table.services[0].key.vip.port, 80);
  EXPECT_EQ(r->table.services[0].dests.at(0).weight, 5);
  EXPECT_EQ(r->table.services[1].key.vip.port, 53);
  EXPECT_EQ(r->global.workers, 2U);
  EXPECT_EQ(r->health[0].reals.at(0).where.file, dir.path() + "/conf.d/../reals/web.conf");
  ASSERT_EQ(r->warnings.size(), 1U);
  EXPECT_EQ(r->warnings[0].to_string(),
            main + ":5:9: warning: include pattern 'nothing/*.conf' matches no file");
}

TEST(KeepalivedInclude, CycleIsAnErrorNamingTheChain) {
  testing::TempDir dir;
  const auto a = dir.write("a.conf", "include b.conf\n");
  dir.write("b.conf", "# b\ninclude a.conf\n");
  auto r = load_keepalived(a);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message,
            dir.path() +
                "/b.conf:2:9: include cycle (a.conf -> b.conf -> a.conf): 'a.conf'; "
                "expected no file to include itself, directly or indirectly");
}

TEST(KeepalivedInclude, MissingFileAndDepthLimit) {
  testing::TempDir dir;
  const auto a = dir.write("a.conf", "include missing.conf\n");
  auto r = load_keepalived(a);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message,
            a + ":1:9: included file does not exist: 'missing.conf'; expected the path of a "
                "readable file (relative to the including file)");
  for (int i = 0; i < 12; ++i) {
    dir.write("d" + std::to_string(i) + ".conf", "include d" + std::to_string(i + 1) + ".conf\n");
  }
  dir.write("d12.conf", "\n");
  auto deep = load_keepalived(dir.path() + "/d0.conf");
  ASSERT_FALSE(deep.ok());
  EXPECT_EQ(deep.error().message, dir.path() +
                                      "/d8.conf:1:9: includes nested too deeply: 'd9.conf'; "
                                      "expected at most 8 levels of include");
}

TEST(KeepalivedInclude, DisabledIncludesAreAnError) {
  KeepalivedOptions o;
  o.lex.allow_include = false;
  auto r = parse_keepalived("include /etc/passwd\n", "t.conf", o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message,
            "t.conf:1:1: include is disabled here: 'include'; expected no include lines");
}

}  // namespace
}  // namespace lvs::config

namespace lvs::config {
namespace {

// http_listen turns the HTTP listener on: IPv4, bracketed IPv6, or ADDRESS PORT.
TEST(KeepalivedHttpListen, AcceptsEndpointForms) {
  const auto v4 = parse_keepalived("global_defs {\n  http_listen 127.0.0.1:9100\n}\n", "t.conf");
  ASSERT_TRUE(v4.ok());
  EXPECT_EQ(v4->global.http_listen, core::Endpoint::parse("127.0.0.1:9100").value());
  const auto v6 = parse_keepalived("global_defs {\n  http_listen [::1]:9100\n}\n", "t.conf");
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6->global.http_listen, core::Endpoint::parse("[::1]:9100").value());
  const auto two = parse_keepalived("global_defs {\n  http_listen 127.0.0.1 9100\n}\n", "t.conf");
  ASSERT_TRUE(two.ok());
  EXPECT_EQ(two->global.http_listen, core::Endpoint::parse("127.0.0.1:9100").value());
  EXPECT_FALSE(parse_keepalived("global_defs {\n}\n", "t.conf")->global.http_listen.has_value());
}

// Bad values name the file, line and column, the word and what would be valid.
TEST(KeepalivedHttpListen, BadValuesAreLocatedErrors) {
  const auto err = [](const std::string& text) {
    auto r = parse_keepalived(text, "t.conf");
    return r.ok() ? std::string() : r.error().message;
  };
  EXPECT_EQ(err("global_defs {\n  http_listen 127.0.0.1\n}\n"),
            "t.conf:2:15: http_listen needs a port: '127.0.0.1'; expected ADDRESS:PORT with a "
            "port 1..65535, e.g. 127.0.0.1:9100");
  EXPECT_EQ(err("global_defs {\n  http_listen localhost:9100\n}\n"),
            "t.conf:2:15: invalid http_listen: 'localhost:9100'; expected ADDRESS:PORT, "
            "[IPv6]:PORT or ADDRESS PORT");
  EXPECT_EQ(err("global_defs {\n  http_listen 127.0.0.1:70000\n}\n"),
            "t.conf:2:15: invalid http_listen: '127.0.0.1:70000'; expected ADDRESS:PORT, "
            "[IPv6]:PORT or ADDRESS PORT");
  EXPECT_EQ(err("global_defs {\n  http_listen 127.0.0.1 0\n}\n"),
            "t.conf:2:25: http_listen port is out of range: '0'; expected an integer 1..65535");
}

// conn_log names a file or syslog; conn_log_rate is lines per second (default 1000).
TEST(KeepalivedConnLog, FileSyslogAndRate) {
  const auto off = parse_keepalived("global_defs {\n}\n", "t.conf");
  ASSERT_TRUE(off.ok());
  EXPECT_EQ(off->global.conn_log, "");
  EXPECT_EQ(off->global.conn_log_rate, 1000U);
  const auto file = parse_keepalived(
      "global_defs {\n  conn_log /var/log/lvsd-conn.log\n  conn_log_rate 200\n}\n", "t.conf");
  ASSERT_TRUE(file.ok()) << file.error().message;
  EXPECT_EQ(file->global.conn_log, "/var/log/lvsd-conn.log");
  EXPECT_EQ(file->global.conn_log_rate, 200U);
  const auto sys = parse_keepalived("global_defs {\n  conn_log syslog\n}\n", "t.conf");
  ASSERT_TRUE(sys.ok());
  EXPECT_EQ(sys->global.conn_log, "syslog");
  EXPECT_EQ(sys->global.conn_log_facility, "daemon");
  const auto local = parse_keepalived(
      "global_defs {\n  conn_log syslog\n  conn_log_facility local0\n}\n", "t.conf");
  ASSERT_TRUE(local.ok());
  EXPECT_EQ(local->global.conn_log_facility, "local0");
}

// Bad conn_log values are located errors saying what is valid.
TEST(KeepalivedConnLog, BadValuesAreLocatedErrors) {
  const auto err = [](const std::string& text) {
    auto r = parse_keepalived(text, "t.conf");
    return r.ok() ? std::string() : r.error().message;
  };
  EXPECT_EQ(err("global_defs {\n  conn_log_rate 0\n}\n"),
            "t.conf:2:17: conn_log_rate is out of range: '0'; expected an integer 1..1000000");
  EXPECT_EQ(err("global_defs {\n  conn_log_rate lots\n}\n"),
            "t.conf:2:17: invalid conn_log_rate: 'lots'; expected an integer "
            "1..1000000");
  EXPECT_NE(err("global_defs {\n  conn_log\n}\n").find("t.conf:2:3: "), std::string::npos);
  EXPECT_EQ(err("global_defs {\n  conn_log_facility kern\n}\n"),
            "t.conf:2:21: invalid conn_log_facility: 'kern'; expected daemon or local0..local7");
}

}  // namespace
}  // namespace lvs::config

namespace lvs::config {
namespace {

// xdp_interfaces lists the interfaces of lvsd --xdp; a name that cannot be one is located.
TEST(KeepalivedXdpInterfaces, ListsInterfaces) {
  const auto c = parse_keepalived("global_defs {\n  xdp_interfaces eth0 eth1\n}\n", "t.conf");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->global.xdp_interfaces, (std::vector<std::string>{"eth0", "eth1"}));
  EXPECT_TRUE(parse_keepalived("global_defs {\n}\n", "t.conf")->global.xdp_interfaces.empty());
  const auto bad = parse_keepalived("global_defs {\n  xdp_interfaces a/b\n}\n", "t.conf");
  ASSERT_FALSE(bad.ok());
  EXPECT_TRUE(bad.error().message.starts_with("t.conf:2:18: invalid xdp_interfaces name"))
      << bad.error().message;
}

}  // namespace
}  // namespace lvs::config
