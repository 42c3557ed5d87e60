// One loader for every configuration file: the shipped examples load into the tables their
// comments promise, the format is detected from content (or forced), rules files are checked
// line by line with ipvsadm's messages located at file:line:col, and forwarding can be rewritten
// to run a masquerading file on lvsd's full-NAT proxy.
#include "daemon/config_file.h"

#include <gtest/gtest.h>

#include <string>

#include "ctl/save.h"

namespace lvs::daemon {
namespace {

using config::CheckerKind;
using ctl::format_save;
using ctl::numeric_names;
using model::ForwardMethod;
using model::Protocol;

core::Endpoint ep(const char* s) { return *core::Endpoint::parse(s); }

model::ServiceKey tcp(const char* vip) {
  return model::ServiceKey::address(Protocol::kTcp, ep(vip));
}
model::ServiceKey udp(const char* vip) {
  return model::ServiceKey::address(Protocol::kUdp, ep(vip));
}

std::string example(const char* name) { return std::string(LVS_SOURCE_DIR) + "/examples/" + name; }

config::Config load_ok(const std::string& path, const LoadOptions& options = {}) {
  auto r = load_config_file(path, options);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
  return r.ok() ? *r : config::Config{};
}

config::Config parse_ok(const std::string& text, const LoadOptions& options = {}) {
  auto r = parse_config_text(text, "f.conf", options);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
  return r.ok() ? *r : config::Config{};
}

std::string parse_error(const std::string& text, const LoadOptions& options = {}) {
  auto r = parse_config_text(text, "r.ipvsadm", options);
  EXPECT_FALSE(r.ok());
  return r.ok() ? "" : r.error().message;
}

// (address, forwarding, weight) of every realserver, newest first, as the table holds them.
struct Dest {
  std::string addr;
  ForwardMethod forward;
  std::int32_t weight;
  bool operator==(const Dest&) const = default;
};
std::vector<Dest> dests(const config::Config& c, const model::ServiceKey& key) {
  std::vector<Dest> out;
  const auto* svc = c.table.find(key);
  if (svc == nullptr) return out;
  for (const auto& d : svc->dests) out.push_back({d.addr.to_string(), d.forward, d.weight});
  return out;
}

// The two examples that describe the same cluster (rules.ipvsadm, lvs.conf aside for weights).
constexpr const char* kExampleSave =
    "-A -t 127.0.0.10:8080 -s wrr\n"
    "-a -t 127.0.0.10:8080 -r 127.0.0.2:9000 --fullnat -w 1\n"
    "-a -t 127.0.0.10:8080 -r 127.0.0.3:9000 --fullnat -w 2\n"
    "-a -t 127.0.0.10:8080 -r 127.0.0.4:9000 --fullnat -w 3\n"
    "-A -u 127.0.0.10:5353 -s rr\n"
    "-a -u 127.0.0.10:5353 -r 127.0.0.2:9053 --fullnat -w 1\n"
    "-a -u 127.0.0.10:5353 -r 127.0.0.3:9053 --fullnat -w 1\n";

// examples/keepalived.conf: TCP wrr 1/2/3 with HTTP_GET/TCP_CHECK, UDP rr with UDP_CHECK, FNAT.
TEST(ConfigFile, KeepalivedExampleLoads) {
  const auto c = load_ok(example("keepalived.conf"));
  EXPECT_EQ(format_save(c.table, true, numeric_names()), kExampleSave);
  EXPECT_EQ(c.global.router_id, "lvsd_example");
  ASSERT_EQ(c.health.size(), 2U);
  ASSERT_EQ(c.health[0].reals.size(), 3U);
  EXPECT_EQ(c.health[0].reals[0].checkers.at(0).kind, CheckerKind::kHttpGet);
  EXPECT_EQ(c.health[0].reals[0].checkers.at(0).urls.at(0).path, "/");
  EXPECT_EQ(c.health[0].reals[2].checkers.at(0).kind, CheckerKind::kTcp);
  EXPECT_EQ(c.health[0].reals[2].checkers.at(0).target, ep("127.0.0.4:9000"));
  ASSERT_EQ(c.health[1].reals.size(), 2U);
  EXPECT_EQ(c.health[1].reals[0].checkers.at(0).kind, CheckerKind::kUdp);
  EXPECT_TRUE(c.health[1].reals[0].checkers.at(0).require_reply);
  EXPECT_TRUE(c.warnings.empty());
}

// examples/lvs.conf: the article's variables; LVS_FORWARD=fullnat makes every realserver FullNat.
TEST(ConfigFile, LvsConfExampleLoadsAsFullNat) {
  const auto c = load_ok(example("lvs.conf"));
  const std::vector<Dest> tcp_reals = {{"127.0.0.4:8080", ForwardMethod::kFullNat, 1},
                                       {"127.0.0.3:8080", ForwardMethod::kFullNat, 1},
                                       {"127.0.0.2:8080", ForwardMethod::kFullNat, 1}};
  EXPECT_EQ(dests(c, tcp("127.0.0.10:8080")), tcp_reals);
  ASSERT_EQ(c.table.services.size(), 2U);
  EXPECT_EQ(c.table.services[0].scheduler, "wlc");
  EXPECT_EQ(c.table.services[1].key, udp("127.0.0.10:5353"));
  EXPECT_EQ(c.table.services[1].dests.size(), 3U);
  ASSERT_EQ(c.health.size(), 2U);
  EXPECT_EQ(c.health[1].reals.at(2).checkers.at(0).kind, CheckerKind::kPing);
  EXPECT_TRUE(c.warnings.empty());
}

// examples/rules.ipvsadm: an -S file; it saves back to itself, every realserver always up.
TEST(ConfigFile, RulesExampleLoadsAndSavesBack) {
  const auto c = load_ok(example("rules.ipvsadm"));
  EXPECT_EQ(format_save(c.table, true, numeric_names()), kExampleSave);
  ASSERT_EQ(c.health.size(), 2U);
  EXPECT_EQ(c.health[0].key, tcp("127.0.0.10:8080"));
  ASSERT_EQ(c.health[0].reals.size(), 3U);
  EXPECT_EQ(c.health[0].reals[0].addr, ep("127.0.0.2:9000"));  // file order
  EXPECT_EQ(c.health[0].reals[2].weight, 3);
  EXPECT_EQ(c.health[0].reals[2].where.to_string(), example("rules.ipvsadm") + ":4:1");
  EXPECT_TRUE(c.health[0].reals[0].checkers.empty());
  EXPECT_EQ(c.health[1].where.to_string(), example("rules.ipvsadm") + ":5:1");
}

// Detection reads the first line that is not blank or a comment.
TEST(ConfigFile, FormatIsDetectedFromTheFirstSignificantLine) {
  struct Case {
    const char* text;
    ConfigFormat format;
  };
  const Case cases[] = {
      {"", ConfigFormat::kKeepalived},
      {"# only a comment\n", ConfigFormat::kKeepalived},
      {"global_defs {\n}\n", ConfigFormat::kKeepalived},
      {"! keepalived comment\nvirtual_server 10.0.0.1 80 {\n", ConfigFormat::kKeepalived},
      {"include other.conf\n", ConfigFormat::kKeepalived},
      {"VIP=10.0.0.1\n", ConfigFormat::kLvsConf},
      {"# lvs.conf\n\n  export TPORTS=\"80\"\n", ConfigFormat::kLvsConf},
      {"-A -t 10.0.0.1:80 -s rr\n", ConfigFormat::kIpvsadmRules},
      {"\n# saved\nipvsadm -A -t 10.0.0.1:80\n", ConfigFormat::kIpvsadmRules},
      {"--add-service --tcp-service 10.0.0.1:80\n", ConfigFormat::kIpvsadmRules},
      {"VIP = 10.0.0.1\n", ConfigFormat::kKeepalived},  // not a shell assignment
  };
  for (const auto& c : cases) EXPECT_EQ(detect_format(c.text), c.format) << c.text;
}

// A forced format wins over detection, and its parser names the problem.
TEST(ConfigFile, ForcedFormatIsUsed) {
  LoadOptions o;
  o.format = ConfigFormat::kIpvsadmRules;
  EXPECT_EQ(parse_error("VIP=10.0.0.1\n", o),
            "r.ipvsadm:1:1: Try `ipvsadm -h' or 'ipvsadm --help' for more information.: "
            "'VIP=10.0.0.1'; expected a line `ipvsadm -R' accepts (-A/-a/-E/-e/-D/-d/-C with "
            "their options; see lvsadm -h)");
  o.format = ConfigFormat::kLvsConf;
  EXPECT_EQ(parse_error("-A -t 10.0.0.1:80\n", o).substr(0, 48),
            "r.ipvsadm:1:1: not a variable assignment: '-A'; ");
  EXPECT_EQ(parse_format_name("lvs.conf"), ConfigFormat::kLvsConf);
  EXPECT_EQ(parse_format_name("rules"), ConfigFormat::kIpvsadmRules);
  EXPECT_EQ(parse_format_name("yaml"), std::nullopt);
}

// Rules errors: ipvsadm's message at file:line:col of the offending option and its value.
TEST(ConfigFile, RulesErrorsNameLineOptionAndValue) {
  EXPECT_EQ(parse_error("-A -t 10.0.0.1:80\n\n-a -t 10.0.0.1:80 -r 10.0.0.2 -m -w 70000\n"),
            "r.ipvsadm:3:34: illegal weight specified: '-w 70000'; expected -w WEIGHT, an "
            "integer 0..65535");
  EXPECT_EQ(parse_error("-A -t 10.0.0.1:80 --weight=3\n"),
            "r.ipvsadm:1:19: Illegal 'weight' option with the 'add-service' command: "
            "'--weight=3'; expected this command without that option (see lvsadm -h)");
  EXPECT_EQ(parse_error("-A -t 10.0.0.300:80\n"),
            "r.ipvsadm:1:4: illegal virtual server address[:port] specified: '-t 10.0.0.300:80'; "
            "expected -t|-u ADDRESS:PORT (IPv4, [IPv6] or a host name; port 1..65535 or a "
            "service name)");
  EXPECT_EQ(parse_error("-A -t 10.0.0.1:80 --bogus\n"),
            "r.ipvsadm:1:19: --bogus: unknown option: '--bogus'; expected a line `ipvsadm -R' "
            "accepts (-A/-a/-E/-e/-D/-d/-C with their options; see lvsadm -h)");
  EXPECT_EQ(parse_error("-A -t 10.0.0.1:80 -s nope\n"),
            "r.ipvsadm:1:19: Scheduler or persistence engine not found: '-s nope'; expected a "
            "scheduler: rr wrr lc wlc sed nq fo ovf twos sh dh mh lblc lblcr");
}

// Engine errors (what -R would print and go on after) stop the load at their line.
TEST(ConfigFile, RulesEngineErrorsStopTheLoad) {
  EXPECT_EQ(parse_error("-a -t 10.0.0.1:80 -r 10.0.0.2:80 -m\n"),
            "r.ipvsadm:1:4: Service not defined: '-t 10.0.0.1:80'; expected a service added by "
            "an earlier -A line");
  EXPECT_EQ(parse_error("-A -t 10.0.0.1:80\n-A -t 10.0.0.1:80 -s rr\n"),
            "r.ipvsadm:2:4: Service already exists: '-t 10.0.0.1:80'; expected each service "
            "added once (-E changes one)");
  EXPECT_EQ(parse_error("-A -t 10.0.0.1:80\n-a -t 10.0.0.1:80 -r 10.0.0.2:80\n"
                        "  -a -t 10.0.0.1:80 -r 10.0.0.2:80\n"),
            "r.ipvsadm:3:21: Destination already exists: '-r 10.0.0.2:80'; expected each "
            "realserver once per service (-e changes one)");
}

// Only table commands belong in a rules file; `#` lines are comments (lvsd extension).
TEST(ConfigFile, RulesAcceptCommentsAndOnlyTableCommands) {
  const auto c = parse_ok(
      "# saved by ipvsadm -S\n-A -t 10.0.0.1:80 -s rr\n  # a realserver\n"
      "ipvsadm -a -t 10.0.0.1:80 -r 10.0.0.2:8080 -m -w 2\n-E -t 10.0.0.1:80 -s wlc\n");
  ASSERT_EQ(c.table.services.size(), 1U);
  EXPECT_EQ(c.table.services[0].scheduler, "wlc");
  EXPECT_EQ(c.health.at(0).where.to_string(), "f.conf:5:1");  // the last -A/-E
  EXPECT_EQ(parse_error("-A -t 10.0.0.1:80\n-L -n\n"),
            "r.ipvsadm:2:1: the 'list' command does not belong in a rules file: '-L'; expected "
            "-A, -E, -D, -a, -e, -d or -C (what ipvsadm -S writes)");
}

// Files keep their forwarding method; LoadOptions::forward rewrites all of them.
TEST(ConfigFile, ForwardingOverrideRunsMasqFilesOnTheProxy) {
  const std::string rules =
      "-A -t 10.0.0.1:80 -s rr\n-a -t 10.0.0.1:80 -r 10.0.0.2:8080 -m -w 2\n"
      "-a -t 10.0.0.1:80 -r 10.0.0.3:80 -g -w 0\n";
  const auto as_written = parse_ok(rules);
  EXPECT_EQ(dests(as_written, tcp("10.0.0.1:80")),
            (std::vector<Dest>{{"10.0.0.3:80", ForwardMethod::kRoute, 0},
                               {"10.0.0.2:8080", ForwardMethod::kMasq, 2}}));
  LoadOptions o;
  o.forward = ForwardMethod::kFullNat;
  const auto proxied = parse_ok(rules, o);
  EXPECT_EQ(dests(proxied, tcp("10.0.0.1:80")),
            (std::vector<Dest>{{"10.0.0.3:80", ForwardMethod::kFullNat, 0},
                               {"10.0.0.2:8080", ForwardMethod::kFullNat, 2}}));
  EXPECT_EQ(proxied.table.services[0].dests[0].last_weight,
            as_written.table.services[0].dests[0].last_weight);
  // An lvs.conf without LVS_FORWARD is the article's masquerading, unless overridden.
  const std::string lvs = "VIP=10.0.0.1\nTPORTS=80\nRIPS=\"10.0.0.2 10.0.0.3\"\n";
  EXPECT_EQ(parse_ok(lvs).table.services.at(0).dests.at(0).forward, ForwardMethod::kMasq);
  EXPECT_EQ(parse_ok(lvs, o).table.services.at(0).dests.at(0).forward, ForwardMethod::kFullNat);
  o.forward = ForwardMethod::kRoute;
  EXPECT_EQ(parse_error(rules, o),
            "forwarding override Route is not supported; expected FullNat or Masq (methods that "
            "keep realserver ports)");
}

// LVS_FORWARD (lvsd extension in lvs.conf) takes masq or fullnat only.
TEST(ConfigFile, LvsForwardValues) {
  const std::string base = "VIP=10.0.0.1\nTPORTS=80\nRIPS=10.0.0.2\n";
  EXPECT_EQ(parse_ok(base + "LVS_FORWARD=fullnat\n").table.services.at(0).dests.at(0).forward,
            ForwardMethod::kFullNat);
  EXPECT_EQ(parse_error(base + "LVS_FORWARD=dr\n"),
            "r.ipvsadm:4:13: unknown forwarding method in LVS_FORWARD: 'dr'; expected masq (the "
            "article's NAT, the default) or fullnat (lvsd's proxy)");
}

// A missing file is an error naming it.
TEST(ConfigFile, MissingFileIsNamed) {
  auto r = load_config_file("/nonexistent/lvsd.conf", {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message,
            "/nonexistent/lvsd.conf:0:0: cannot read configuration file: "
            "'/nonexistent/lvsd.conf'; expected a readable file");
}

}  // namespace
}  // namespace lvs::daemon
