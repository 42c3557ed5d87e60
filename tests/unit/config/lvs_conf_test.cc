// The article's /etc/lvs.conf: its example file as a golden test, and every error's text.
#include "config/lvs_conf.h"

#include <gtest/gtest.h>

#include <map>

#include "unit/config/temp_dir.h"

namespace lvs::config {
namespace {

core::Endpoint ep(const char* s) { return *core::Endpoint::parse(s); }

// A fake /etc/services and a fake resolver, so nothing depends on the machine.
LvsConfOptions fake_lookups() {
  LvsConfOptions o;
  o.lookup_service = [](std::string_view name,
                        std::string_view proto) -> std::optional<std::uint16_t> {
    static const std::map<std::pair<std::string, std::string>, std::uint16_t> kServices = {
        {{"telnet", "tcp"}, 23}, {{"xdmcp", "udp"}, 177}, {{"http", "tcp"}, 80}};
    const auto it = kServices.find({std::string(name), std::string(proto)});
    if (it == kServices.end()) return std::nullopt;
    return it->second;
  };
  o.resolve_host = [](std::string_view host) -> std::optional<core::IpAddress> {
    // epsg90NN -> 10.1.90.NN
    if (host.size() == 8 && host.substr(0, 6) == "epsg90") {
      const int last = std::stoi(std::string(host.substr(6)));
      return core::IpAddress::v4(0x0A015A00U + static_cast<std::uint32_t>(last));
    }
    return std::nullopt;
  };
  return o;
}

// The example from the article (Listing 2's settings as the text describes them; the
// article's RIPS example is cut off after the last backslash, closed here).
constexpr const char* kArticle = R"(# /etc/lvs.conf
VIP=epsg9008
VIP_IF=eth0:110
LVS_IF="eth0"
TPORTS="telnet"
UPORTS="xdmcp"
RIPS="epsg9010 \
epsg9011 \
epsg9012 \
epsg9013 \
epsg9014 \
epsg9015"
)";

// Golden: one NAT service per port on the VIP, every realserver with weight 1, newest first.
TEST(LvsConf, ArticleExampleBecomesTwoNatServices) {
  auto r = parse_lvs_conf(kArticle, "lvs.conf", fake_lookups());
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->vip_text, "epsg9008");
  EXPECT_EQ(r->vip, *core::IpAddress::parse("10.1.90.8"));
  EXPECT_EQ(r->vip_if, "eth0:110");
  EXPECT_EQ(r->lvs_if, std::vector<std::string>{"eth0"});
  EXPECT_EQ(r->tcp_ports, std::vector<std::uint16_t>{23});
  EXPECT_EQ(r->udp_ports, std::vector<std::uint16_t>{177});
  EXPECT_TRUE(r->config.warnings.empty());

  model::ServiceTable want;
  for (const auto& [proto, port] :
       {std::pair{model::Protocol::kTcp, 23}, std::pair{model::Protocol::kUdp, 177}}) {
    model::VirtualService svc{
        .key = model::ServiceKey::address(
            proto, core::Endpoint{.addr = r->vip, .port = static_cast<std::uint16_t>(port)}),
        .scheduler = "wlc"};
    for (int host = 15; host >= 10; --host) {
      svc.dests.push_back(model::RealServer{
          .addr = core::Endpoint{.addr = *core::IpAddress::parse("10.1.90." + std::to_string(host)),
                                 .port = static_cast<std::uint16_t>(port)},
          .forward = model::ForwardMethod::kMasq,
          .weight = 1,
          .last_weight = 1});
    }
    want.services.push_back(svc);
  }
  EXPECT_EQ(r->config.table, want);

  // The script's `update` (ping every realserver) becomes one PING_CHECK per realserver.
  ASSERT_EQ(r->config.health.size(), 2U);
  const auto& reals = r->config.health[0].reals;
  ASSERT_EQ(reals.size(), 6U);
  EXPECT_EQ(reals[0].addr, ep("10.1.90.10:23"));
  EXPECT_EQ(reals[0].checkers.at(0).kind, CheckerKind::kPing);
  EXPECT_EQ(reals[5].where, (SourceLocation{.file = "lvs.conf", .line = 7, .col = 7}));
}

// Numbers, names, `export`, single quotes and trailing comments are all accepted.
TEST(LvsConf, ShellSyntaxVariants) {
  auto r = parse_lvs_conf(
      "export VIP=192.168.1.100   # the VIP\nTPORTS='80 http 443'\nRIPS=10.0.0.1\n"
      "UPORT=53\n",
      "lvs.conf", fake_lookups());
  ASSERT_FALSE(r.ok());  // http and 80 are the same port
  EXPECT_EQ(r.error().message,
            "lvs.conf:2:12: duplicate tcp port 80 in TPORTS: 'http'; expected each port once");
  auto ok = parse_lvs_conf(
      "export VIP=192.168.1.100   # the VIP\nTPORTS='http 443'\nRIPS=10.0.0.1\nUPORT=53\n",
      "lvs.conf", fake_lookups());
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  EXPECT_EQ(ok->tcp_ports, (std::vector<std::uint16_t>{80, 443}));
  ASSERT_EQ(ok->config.warnings.size(), 1U);
  EXPECT_EQ(ok->config.warnings[0].to_string(),
            "lvs.conf:4:1: warning: ignoring unknown variable UPORT (did you mean UPORTS?)");
}

std::string error_of(const std::string& text) {
  auto r = parse_lvs_conf(text, "lvs.conf", fake_lookups());
  EXPECT_FALSE(r.ok());
  return r.ok() ? "" : r.error().message;
}

TEST(LvsConfErrors, UnknownServiceName) {
  EXPECT_EQ(error_of("VIP=10.0.0.100\nTPORTS=\"telnet xdmcp\"\nRIPS=10.0.0.1\n"),
            "lvs.conf:2:16: unknown tcp service name: 'xdmcp'; expected a port number 1..65535 "
            "or a service name from /etc/services");
}

TEST(LvsConfErrors, UnresolvableRealserverOnAContinuationLine) {
  EXPECT_EQ(error_of("VIP=10.0.0.100\nTPORTS=23\nRIPS=\"epsg9010 \\\n  nohost\"\n"),
            "lvs.conf:4:3: cannot resolve realserver: 'nohost'; expected an IP address or a "
            "host name that resolves");
}

TEST(LvsConfErrors, PortOutOfRange) {
  EXPECT_EQ(error_of("VIP=10.0.0.100\nUPORTS=70000\nRIPS=10.0.0.1\n"),
            "lvs.conf:2:8: udp port is out of range: '70000'; expected a port 1..65535 or a "
            "service name");
}

TEST(LvsConfErrors, NotAnAssignment) {
  EXPECT_EQ(error_of("VIP=10.0.0.100\nipvsadm -C\n"),
            "lvs.conf:2:1: not a variable assignment: 'ipvsadm'; expected NAME=value, "
            "NAME=\"a b c\" or a # comment");
}

TEST(LvsConfErrors, UnquotedListAndUnterminatedQuote) {
  EXPECT_EQ(error_of("RIPS=10.0.0.1 10.0.0.2\n"),
            "lvs.conf:1:15: unexpected word after RIPS=: '10.0.0.2'; expected quotes around a "
            "value with spaces: RIPS=\"a b\"");
  EXPECT_EQ(error_of("VIP=10.0.0.100\nRIPS=\"10.0.0.1\n"),
            "lvs.conf:2:6: unterminated quoted value of RIPS: '\"'; expected a closing \"");
}

TEST(LvsConfErrors, BadInterfaceAlias) {
  EXPECT_EQ(error_of("VIP_IF=eth0:\n"),
            "lvs.conf:1:8: invalid VIP_IF: 'eth0:'; expected an interface or alias name such "
            "as eth0:110 (at most 15 characters)");
}

TEST(LvsConfErrors, MissingSettings) {
  EXPECT_EQ(error_of("TPORTS=23\nRIPS=10.0.0.1\n"),
            "lvs.conf:1:1: missing variable: 'VIP'; expected VIP=<address or host name>");
  EXPECT_EQ(error_of("VIP=10.0.0.100\nRIPS=10.0.0.1\n"),
            "lvs.conf:1:1: no services: 'TPORTS'; expected TPORTS=\"<port or name> ...\" and/or "
            "UPORTS=\"...\"");
  EXPECT_EQ(error_of("VIP=10.0.0.100\nTPORTS=23\nRIPS=\"\"\n"),
            "lvs.conf:1:1: no realservers: 'RIPS'; expected RIPS=\"<address or host name> ...\"");
}

TEST(LvsConfErrors, DuplicateRealserver) {
  EXPECT_EQ(error_of("VIP=10.0.0.100\nTPORTS=23\nRIPS=\"10.1.90.10 epsg9010\"\n"),
            "lvs.conf:3:18: duplicate realserver 10.1.90.10: 'epsg9010'; expected each "
            "realserver once in RIPS");
}

// CHECK_INTERVAL (lvsd extension): every realserver's ping runs that often and waits at most
// that long (never more than the default 5 s); without it, keepalived's 60 s and 5 s.
TEST(LvsConf, CheckIntervalSetsThePingTiming) {
  const auto timing_of = [](const std::string& text) {
    auto r = parse_lvs_conf(text, "lvs.conf", fake_lookups());
    EXPECT_TRUE(r.ok()) << r.error().message;
    return r->config.health.at(0).reals.at(0).checkers.at(0).timing;
  };
  const std::string base = "VIP=10.0.0.100\nTPORTS=23\nRIPS=10.0.0.1\n";
  const auto fast = timing_of(base + "CHECK_INTERVAL=2\n");
  EXPECT_EQ(fast.delay_loop, Millis{2000});
  EXPECT_EQ(fast.connect_timeout, Millis{2000});
  const auto slow = timing_of(base + "CHECK_INTERVAL=30\n");
  EXPECT_EQ(slow.delay_loop, Millis{30'000});
  EXPECT_EQ(slow.connect_timeout, Millis{5000});
  const auto unset = timing_of(base);
  EXPECT_EQ(unset.delay_loop, Millis{60'000});
  EXPECT_EQ(unset.connect_timeout, Millis{5000});
}

TEST(LvsConf, ServiceChecksProbeEachServiceItself) {
  auto r = parse_lvs_conf(
      "VIP=10.0.0.100\nTPORTS=23\nUPORTS=\"177 53\"\nRIPS=10.0.0.1\nLVS_CHECK=service\n",
      "lvs.conf", fake_lookups());
  ASSERT_TRUE(r.ok()) << r.error().message;
  const auto& health = r->config.health;
  ASSERT_EQ(health.size(), 3U);
  const auto kind_of = [&](std::size_t service) {
    const auto& checker = health.at(service).reals.at(0).checkers.at(0);
    EXPECT_EQ(checker.target, health.at(service).reals.at(0).addr);
    return checker.kind;
  };
  EXPECT_EQ(kind_of(0), CheckerKind::kTcp);    // telnet: a connect
  EXPECT_EQ(kind_of(1), CheckerKind::kXdmcp);  // xdmcp: Query answered by Willing
  EXPECT_EQ(kind_of(2), CheckerKind::kUdp);    // any other UDP port: no ICMP error
  auto ping = parse_lvs_conf("VIP=10.0.0.100\nTPORTS=23\nRIPS=10.0.0.1\nLVS_CHECK=ping\n",
                             "lvs.conf", fake_lookups());
  ASSERT_TRUE(ping.ok());
  EXPECT_EQ(ping->config.health.at(0).reals.at(0).checkers.at(0).kind, CheckerKind::kPing);
}

TEST(LvsConfErrors, UnknownCheck) {
  EXPECT_EQ(error_of("VIP=10.0.0.100\nTPORTS=23\nRIPS=10.0.0.1\nLVS_CHECK=http\n"),
            "lvs.conf:4:11: unknown health check in LVS_CHECK: 'http'; expected ping (the "
            "article's update, the default) or service (TCP connect, XDMCP query or UDP probe on "
            "each service's port)");
}

TEST(LvsConfErrors, BadCheckInterval) {
  for (const char* bad : {"0", "86401", "2s", "-1"}) {
    EXPECT_EQ(error_of(std::string("VIP=10.0.0.100\nTPORTS=23\nRIPS=10.0.0.1\nCHECK_INTERVAL=") +
                       bad + "\n"),
              std::string("lvs.conf:4:16: invalid CHECK_INTERVAL: '") + bad +
                  "'; expected seconds between two checks of a realserver, 1..86400")
        << bad;
  }
}

// The file loader reads a real file (written under a mkdtemp directory).
// What lvs-director reads instead of parsing lvs.conf itself: names resolved, ports numbers.
TEST(LvsConf, VariablesAsLvsdUnderstoodThem) {
  auto r = parse_lvs_conf(kArticle, "lvs.conf", fake_lookups());
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(lvs_conf_variables(*r),
            "VIP=10.1.90.8\n"
            "VIP_IF=eth0:110\n"
            "LVS_IF=eth0\n"
            "TPORTS=23\n"
            "UPORTS=177\n"
            "RIPS=10.1.90.10 10.1.90.11 10.1.90.12 10.1.90.13 10.1.90.14 10.1.90.15\n"
            "LVS_FORWARD=masq\n"
            "VRRP=no\n");
  auto full =
      parse_lvs_conf("VIP=10.0.0.100\nTPORTS=\"23 80\"\nRIPS=10.0.0.1\nLVS_FORWARD=fullnat\n",
                     "lvs.conf", fake_lookups());
  ASSERT_TRUE(full.ok()) << full.error().message;
  EXPECT_EQ(lvs_conf_variables(*full),
            "VIP=10.0.0.100\nVIP_IF=\nLVS_IF=\nTPORTS=23 80\nUPORTS=\nRIPS=10.0.0.1\n"
            "LVS_FORWARD=fullnat\nVRRP=no\n");
}

// VRRP_* (issue 9): what lvsd --gen-vrrp and lvs-director use; any of them turns VRRP on.
TEST(LvsConf, VrrpVariables) {
  auto r = parse_lvs_conf(
      "VIP=192.0.2.100\nVIP_IF=eth0:110\nTPORTS=80\nRIPS=192.0.2.11\nVRRP_PEER=192.0.2.2\n"
      "VRRP_PRIORITY=150\nVRRP_ROUTER_ID=7\nVRRP_ADVERT_INT=0.1\nVRRP_IF=eth1\n"
      "VRRP_INSTANCE=VI_1\n",
      "lvs.conf", fake_lookups());
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->vrrp, (LvsConf::Vrrp{.enabled = true,
                                    .peer = *core::IpAddress::parse("192.0.2.2"),
                                    .priority = 150,
                                    .router_id = 7,
                                    .advert_centis = 10,
                                    .preempt = false,
                                    .interface = "eth1",
                                    .instance = "VI_1"}));
  EXPECT_NE(lvs_conf_variables(*r).find("VRRP=yes\nVRRP_PEER=192.0.2.2\nVRRP_PRIORITY=150\n"
                                        "VRRP_ROUTER_ID=7\nVRRP_ADVERT_INT=0.10\n"
                                        "VRRP_PREEMPT=no\nVRRP_IF=eth1\nVRRP_INSTANCE=VI_1\n"),
            std::string::npos)
      << lvs_conf_variables(*r);
  const std::pair<const char*, const char*> bad[] = {
      {"VRRP_PRIORITY=255",
       "lvs.conf:5:15: invalid VRRP_PRIORITY: '255'; expected a number "
       "1..254 (the director meant to be master takes the higher one)"},
      {"VRRP_ROUTER_ID=0", "lvs.conf:5:16: invalid VRRP_ROUTER_ID: '0'"},
      {"VRRP_ADVERT_INT=0.001", "lvs.conf:5:17: invalid VRRP_ADVERT_INT: '0.001'"},
      {"VRRP_PREEMPT=maybe", "lvs.conf:5:14: invalid VRRP_PREEMPT: 'maybe'"},
      {"VRRP_INSTANCE=a/b", "lvs.conf:5:15: invalid VRRP_INSTANCE: 'a/b'"},
  };
  for (const auto& [line, want] : bad) {
    auto e = parse_lvs_conf(
        std::string("VIP=192.0.2.100\nVIP_IF=eth0\nTPORTS=80\nRIPS=192.0.2.11\n") + line + "\n",
        "lvs.conf", fake_lookups());
    ASSERT_FALSE(e.ok()) << line;
    EXPECT_TRUE(e.error().message.starts_with(want)) << e.error().message;
  }
}

TEST(LvsConf, LoadsFromAFile) {
  testing::TempDir dir;
  const auto path = dir.write("lvs.conf", kArticle);
  auto r = load_lvs_conf(path, fake_lookups());
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->config.table.services.size(), 2U);
  auto missing = load_lvs_conf(dir.path() + "/nope.conf", fake_lookups());
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().message, dir.path() +
                                         "/nope.conf:0:0: cannot read configuration "
                                         "file: '" +
                                         dir.path() + "/nope.conf'; expected a readable file");
}

}  // namespace
}  // namespace lvs::config

namespace lvs::config {
namespace {

// LVS_ENGINE=xdp puts the XDP engine on the LVS_IF interfaces (global_defs xdp_interfaces).
TEST(LvsConfEngine, XdpRunsOnLvsIf) {
  const std::string base = "VIP=192.0.2.100\nTPORTS=23\nRIPS=192.0.2.21\n";
  LvsConfOptions none{};
  auto plain = parse_lvs_conf(base + "LVS_IF=eth0\n", "lvs.conf", none);
  ASSERT_TRUE(plain.ok()) << plain.error().message;
  EXPECT_TRUE(plain->config.global.xdp_interfaces.empty());
  auto xdp = parse_lvs_conf(base + "LVS_IF=\"eth0 eth1\"\nLVS_ENGINE=xdp\n", "lvs.conf", none);
  ASSERT_TRUE(xdp.ok()) << xdp.error().message;
  EXPECT_EQ(xdp->config.global.xdp_interfaces, (std::vector<std::string>{"eth0", "eth1"}));
  auto no_if = parse_lvs_conf(base + "LVS_ENGINE=xdp\n", "lvs.conf", none);
  ASSERT_FALSE(no_if.ok());
  EXPECT_TRUE(no_if.error().message.starts_with("lvs.conf:4:12: LVS_ENGINE=xdp needs LVS_IF"))
      << no_if.error().message;
  auto bad = parse_lvs_conf(base + "LVS_ENGINE=fast\n", "lvs.conf", none);
  ASSERT_FALSE(bad.ok());
  EXPECT_TRUE(bad.error().message.starts_with("lvs.conf:4:12: unknown engine in LVS_ENGINE"))
      << bad.error().message;
}

}  // namespace
}  // namespace lvs::config
