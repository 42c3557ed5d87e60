// ipvsadm's command line: spec §4.1-§4.3 and the CLI error cases 34-46.
#include "ctl/ipvsadm_args.h"

#include <random>

#include "unit/ctl/fixture.h"

namespace lvs::ctl::testing {
namespace {

CliError error_of(const std::string& line) {
  const auto r = parse(line);
  EXPECT_FALSE(r.ok()) << line;
  return r.ok() ? CliError{} : r.error();
}

CliError exit2(std::string text) { return CliError{.text = std::move(text), .exit_code = 2}; }

// No arguments at all lists with names (not numeric).
TEST(IpvsadmArgs, NoArgumentsIsList) {
  const auto r = parse("");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->kind, CommandKind::kList);
  EXPECT_FALSE(r->list.numeric);
}

// Bundled short options: -Ln and -lnc.
TEST(IpvsadmArgs, BundledShortOptions) {
  auto r = parse("-Ln");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->kind, CommandKind::kList);
  EXPECT_TRUE(r->list.numeric);
  r = parse("-lnc");
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->list.numeric && r->list.connection);
}

// An add-service command becomes the complete service object with the given options.
TEST(IpvsadmArgs, AddServiceFields) {
  const auto r = parse("-A -t 192.168.1.100:443 -s rr -p 600 -M 255.255.255.0");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->kind, CommandKind::kAddService);
  EXPECT_EQ(r->service.key,
            model::ServiceKey::address(model::Protocol::kTcp, ep("192.168.1.100:443")));
  EXPECT_EQ(r->service.scheduler, "rr");
  EXPECT_TRUE(r->service.persistent);
  EXPECT_EQ(r->service.timeout, 600U);
  EXPECT_EQ(r->service.netmask, 0xFFFFFF00U);
}

// -p without a value means 360 s; a following word starting with '-' is not its value.
TEST(IpvsadmArgs, PersistentDefaultsTo360) {
  const auto r = parse("-A -t 192.168.1.100:0 -p -s rr");
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->service.persistent);
  EXPECT_EQ(r->service.timeout, 360U);
  EXPECT_EQ(r->service.scheduler, "rr");
  EXPECT_EQ(error_of("-A -t 192.168.1.100:80 -p 0"), exit2("invalid timeout value `0' specified"));
  EXPECT_EQ(error_of("-A -t 192.168.1.100:80 -p 2678401"),
            exit2("invalid timeout value `2678401' specified"));
}

// Service names resolve through the injected resolver for the service's protocol; hostnames too.
TEST(IpvsadmArgs, NamesResolveThroughTheResolver) {
  const auto r = parse("-a -t vip.example:http -r 10.0.0.1 -m");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->service.key.vip, ep("192.168.1.100:80"));
  EXPECT_EQ(r->dest.addr, ep("10.0.0.1:80"));  // no port: the service port
  EXPECT_EQ(error_of("-A -u 10.0.0.1:http"),
            exit2("illegal virtual server address[:port] specified"));
  EXPECT_EQ(error_of("-A -t 80"), exit2("illegal virtual server address[:port] specified"));
  EXPECT_EQ(error_of("-A -t 10.0.0.1:65536"),
            exit2("illegal virtual server address[:port] specified"));
}

// IPv6: brackets with a port, a bare literal without one; -M takes a prefix length.
TEST(IpvsadmArgs, Ipv6Addresses) {
  auto r = parse("-A -t [2001:db8::1]:80 -p -M 64");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->service.key.af, core::Family::kInet6);
  EXPECT_EQ(r->service.netmask, 64U);
  r = parse("-A -t 2001:db8::1 -p");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->service.key.vip.port, 0);
  EXPECT_EQ(r->service.netmask, 128U);
  EXPECT_EQ(error_of("-A -t [2001:db8::1]:80 -p -M 129"), exit2("illegal ipv6 netmask specified"));
  EXPECT_EQ(error_of("-A -t 10.0.0.1:80 -p -M bogus"),
            exit2("illegal virtual server persistent mask specified"));
}

// -6 is legal only after -f; it makes the fwmark service IPv6.
TEST(IpvsadmArgs, Ipv6FlagOnlyAfterFwmark) {
  const auto r = parse("-A -f 7 -6");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->service.key, model::ServiceKey::mark(7, core::Family::kInet6));
  EXPECT_EQ(error_of("-A -6 -f 7"), exit2("-6 used before -f"));
}

// Server options: forwarding, weight, thresholds; Route forces the service port.
TEST(IpvsadmArgs, ServerFields) {
  const auto r = parse("-a -t 192.168.1.100:80 -r 10.0.0.1:8080 -g -w 3 -x 10 -y 5");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->dest.addr, ep("10.0.0.1:80"));  // Route: port forced to the service port
  EXPECT_EQ(r->dest.weight, 3);
  EXPECT_EQ(r->dest.u_threshold, 10U);
  EXPECT_EQ(r->dest.l_threshold, 5U);
  const auto m = parse("-a -t 192.168.1.100:80 -r 10.0.0.1:8080 -m");
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->dest.addr, ep("10.0.0.1:8080"));
  EXPECT_EQ(m->dest.forward, model::ForwardMethod::kMasq);
  EXPECT_EQ(m->dest.weight, 1);
}

// --fullnat, and -b with -a/-e, select FullNat; -b with -A stays --sched-flags.
TEST(IpvsadmArgs, FullNatAndTheDashBRule) {
  for (const char* line : {"-a -t 192.168.1.100:80 -r 10.0.0.1:8080 --fullnat",
                           "-a -t 192.168.1.100:80 -r 10.0.0.1:8080 -b",
                           "-e -t 192.168.1.100:80 -b -r 10.0.0.1:8080 -w 2"}) {
    const auto r = parse(line);
    ASSERT_TRUE(r.ok()) << line << ": " << r.error().text;
    EXPECT_EQ(r->dest.forward, model::ForwardMethod::kFullNat) << line;
    EXPECT_EQ(r->dest.addr.port, 8080) << line;  // full-NAT keeps the given port
  }
  EXPECT_EQ(error_of("-a -t 192.168.1.100:80 -r 10.0.0.1 -m -b"),
            exit2("multiple 'forwarding-method' options specified"));
  EXPECT_EQ(error_of("-a -t 192.168.1.100:80 -r 10.0.0.1 --sched-flags flag-1"),
            exit2("Illegal 'sched-flags' option with the 'add-server' command"));
  const auto s = parse("-A -t 192.168.1.100:80 -s sh -b sh-port");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->service.sched_flags, model::sched_flag::kShPort);
}

// Case 34.
TEST(IpvsadmArgs, Case34ZeroPortNonPersistent) {
  EXPECT_EQ(error_of("-A -t 192.168.1.100 -s rr"),
            exit2("Zero port specified for non-persistent service"));
}

// Case 35: ops only for UDP (or fwmark) services.
TEST(IpvsadmArgs, Case35OpsOnlyForUdp) {
  EXPECT_EQ(error_of("-A -t 192.168.1.100:53 -o"),
            exit2("One-Packet Scheduling is only for UDP virtual services"));
  EXPECT_TRUE(parse("-A -u 192.168.1.100:53 -o").ok());
  EXPECT_TRUE(parse("-A -f 9 -o").ok());
}

// Case 36.
TEST(IpvsadmArgs, Case36WeightOutOfRange) {
  EXPECT_EQ(error_of("-a -t 192.168.1.100:80 -r 10.0.0.1 -w 65536"),
            exit2("illegal weight specified"));
  EXPECT_EQ(error_of("-a -t 192.168.1.100:80 -r 10.0.0.1 -w -1"),
            exit2("illegal weight specified"));
  EXPECT_EQ(error_of("-a -t 192.168.1.100:80 -r 10.0.0.1 -x 2147483648"),
            exit2("illegal u_threshold specified"));
  EXPECT_EQ(error_of("-a -t 192.168.1.100:80 -r 10.0.0.1 -y x"),
            exit2("illegal l_threshold specified"));
}

// Case 41: the legality table's "Illegal" and "You need to supply" messages.
TEST(IpvsadmArgs, Case41Legality) {
  EXPECT_EQ(error_of("-A -t 192.168.1.100:80 -w 3"),
            exit2("Illegal 'weight' option with the 'add-service' command"));
  EXPECT_EQ(error_of("-a -t 192.168.1.100:80"),
            exit2("You need to supply the 'real-server' option for the 'add-server' command"));
  EXPECT_EQ(error_of("-D"),
            exit2("You need to supply the 'service-address' option for the 'delete-service' "
                  "command"));
  EXPECT_EQ(error_of("-S -c"), exit2("Illegal 'connection' option with the 'save' command"));
  // The first violation in option order wins: numeric comes before weight.
  EXPECT_EQ(error_of("-A -t 192.168.1.100:80 -w 3 -n"),
            exit2("Illegal 'numeric' option with the 'add-service' command"));
}

// Case 42: conflicts inside the list command.
TEST(IpvsadmArgs, Case42ListConflicts) {
  EXPECT_EQ(error_of("-L -c -t 192.168.1.100:80"),
            exit2("The option 'service-address' conflicts with the 'connection' option in the "
                  "'list' command"));
  EXPECT_EQ(error_of("-L -c --stats"), exit2("options conflicts in the list command"));
  EXPECT_EQ(error_of("-L --timeout --persistent-conn"),
            exit2("options conflicts in the list command"));
  EXPECT_TRUE(parse("-L -c --persistent-conn").ok());
}

// Case 43: the first option must be a command.
TEST(IpvsadmArgs, Case43FirstOptionMustBeACommand) {
  const auto want = CliError{.text = "Try `ipvsadm -h' or 'ipvsadm --help' for more information.",
                             .exit_code = 255};
  EXPECT_EQ(error_of("-n -L"), want);
  EXPECT_EQ(error_of("--bogus"), want);
  EXPECT_EQ(error_of("list"), want);
}

// Case 44: scheduler flags, unknown and incompatible (the default wlc counts).
TEST(IpvsadmArgs, Case44SchedulerFlags) {
  EXPECT_EQ(error_of("-A -t 192.168.1.100:80 -s rr -b sh-port"),
            exit2("incompatible scheduler flag `sh-port'"));
  EXPECT_EQ(error_of("-A -t 192.168.1.100:80 -b bogus"), exit2("invalid scheduler flag `bogus'"));
  EXPECT_EQ(error_of("-A -t 192.168.1.100:80 -b mh-port"),
            exit2("incompatible scheduler flag `mh-port'"));
  // -s may come after -b.
  EXPECT_TRUE(parse("-A -t 192.168.1.100:80 -b mh-fallback,flag-3 -s mh").ok());
}

// Case 45: --set arity, fwmark range, repeated options, a command option later.
TEST(IpvsadmArgs, Case45MiscErrors) {
  EXPECT_EQ(error_of("--set 1 2"), exit2("--set option requires 3 timeout values"));
  EXPECT_EQ(error_of("--set 1 2 x"), exit2("invalid timeout value `x' specified"));
  EXPECT_EQ(error_of("--set 1 2 3 4"), exit2("unexpected argument 4"));
  EXPECT_EQ(error_of("-A -f 0"), exit2("invalid fwmark value `0' specified"));
  EXPECT_EQ(error_of("-A -t 10.0.0.1:1 -u 10.0.0.2:2"),
            exit2("multiple 'service-address' options specified"));
  EXPECT_EQ(error_of("-A -t 192.168.1.100:80 -D"), exit2("invalid option `-D'"));
  EXPECT_EQ(error_of("-L --set"), exit2("invalid option `--set'"));
  const auto set = parse("--set 3600 0 120");
  ASSERT_TRUE(set.ok());
  EXPECT_EQ(set->timeouts, (Timeouts{.tcp = 3600, .tcpfin = 0, .udp = 120}));
}

// Case 46: tunnel option rules and the address-family rule.
TEST(IpvsadmArgs, Case46TunnelAndFamily) {
  EXPECT_EQ(error_of("-a -t 192.168.1.100:80 -r 10.0.0.1 -g --tun-type gue"),
            exit2("Tunnel options conflict with forward method"));
  EXPECT_EQ(error_of("-a -t 192.168.1.100:80 -r 10.0.0.1 -i --tun-type gue"),
            exit2("You need to supply the 'tun-port' option for the 'gue' tunnel type"));
  EXPECT_EQ(error_of("-a -t 192.168.1.100:80 -r [2001:db8::1]:80 -m"),
            exit2("Different address family is allowed only for tunneling servers"));
  EXPECT_EQ(error_of("-a -t 192.168.1.100:80 -r 10.0.0.1 -i --tun-port 9"),
            exit2("Illegal 'tun-port' option with the 'ipip' tunnel type"));
  EXPECT_EQ(error_of("-a -t 192.168.1.100:80 -r 10.0.0.1 -i --tun-type gre --tun-remcsum"),
            exit2("Illegal 'tun-remcsum' option with the 'gre' tunnel type"));
  EXPECT_EQ(
      error_of("-a -t 192.168.1.100:80 -r 10.0.0.1 -i --tun-type gue --tun-port 6080 "
               "--tun-nocsum --tun-csum"),
      exit2("The option 'tun-csum' conflicts with the 'tun-nocsum' option in the 'gue' tunnel "
            "type"));
  EXPECT_TRUE(parse("-a -t 192.168.1.100:80 -r [2001:db8::1] -i").ok());
  EXPECT_EQ(error_of("-a -t 192.168.1.100:80 -r 10.0.0.1 -i --tun-type vxlan"),
            exit2("illegal tunnel type specified"));
}

// Unknown or malformed later options: "WORD: <popt text>", exit 255.
TEST(IpvsadmArgs, UnknownLaterOptionExits255) {
  EXPECT_EQ(error_of("-L --bogus"),
            (CliError{.text = "--bogus: unknown option", .exit_code = 255}));
  EXPECT_EQ(error_of("-L -q"), (CliError{.text = "-q: unknown option", .exit_code = 255}));
  EXPECT_EQ(error_of("-A -t"), (CliError{.text = "-t: missing argument", .exit_code = 255}));
  EXPECT_EQ(error_of("-L foo"), exit2("unexpected argument foo"));
}

// Values may be attached: --weight=5 and -w5.
TEST(IpvsadmArgs, AttachedValues) {
  const auto r = parse("-a --tcp-service=192.168.1.100:80 -r10.0.0.1 -w5 -m");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->dest.weight, 5);
  EXPECT_EQ(r->dest.addr, ep("10.0.0.1:80"));
}

// Sync daemon commands parse fully, with their own messages.
TEST(IpvsadmArgs, SyncDaemonCommands) {
  const auto r = parse("--start-daemon backup --mcast-interface eth0 --syncid 7 --mcast-port 8848");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->kind, CommandKind::kStartDaemon);
  EXPECT_EQ(r->daemon.state, SyncState::kBackup);
  EXPECT_EQ(r->daemon.mcast_interface, "eth0");
  EXPECT_EQ(r->daemon.syncid, 7U);
  EXPECT_EQ(error_of("--start-daemon slave"), exit2("illegal start-daemon parameter specified"));
  EXPECT_EQ(error_of("--stop-daemon slave"), exit2("illegal start_daemon specified"));
  EXPECT_EQ(error_of("--stop-daemon master --mcast-port 1"),
            exit2("Illegal 'mcast-port' option with the 'stop-daemon' command"));
  EXPECT_EQ(error_of("--start-daemon master --syncid 256"), exit2("illegal syncid specified"));
}

// Extension: --drain -t V -r R [--wait SECONDS] [--progress].
TEST(IpvsadmArgs, DrainExtension) {
  const auto r = parse("--drain -t 192.168.1.100:80 -r 10.0.0.1:80 --wait 30");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->kind, CommandKind::kDrain);
  EXPECT_EQ(r->drain_wait_seconds, 30U);
  EXPECT_EQ(error_of("--drain -t 192.168.1.100:80"),
            exit2("You need to supply the 'real-server' option for the 'drain' command"));
  EXPECT_EQ(error_of("-L --wait 3"), exit2("Illegal 'wait' option with the 'list' command"));
  // --progress: the live view even when stdout is not a terminal; --drain only.
  const auto p = parse("--drain -t 192.168.1.100:80 -r 10.0.0.1:80 --wait 30 --progress");
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(p->drain_progress);
  EXPECT_FALSE(r->drain_progress);
  EXPECT_EQ(error_of("-L --progress"), exit2("Illegal 'progress' option with the 'list' command"));
}

// -h and -v stop parsing at once.
TEST(IpvsadmArgs, HelpAndVersion) {
  EXPECT_EQ(parse("-h --bogus")->kind, CommandKind::kHelp);
  EXPECT_EQ(parse("--version")->kind, CommandKind::kVersion);
  EXPECT_EQ(help_text("lvsadm").substr(0, version_line().size()), version_line());
}

// Flag names follow the scheduler: sh-*/mh-* for sh/mh, flag-N otherwise.
TEST(IpvsadmArgs, SchedFlagNames) {
  EXPECT_EQ(sched_flag_names(3, "sh"), "sh-fallback,sh-port");
  EXPECT_EQ(sched_flag_names(7, "mh"), "mh-fallback,mh-port,flag-3");
  EXPECT_EQ(sched_flag_names(5, "rr"), "flag-1,flag-3");
}

}  // namespace
}  // namespace lvs::ctl::testing

namespace lvs::ctl::testing {
namespace {

// Robustness: random words from ipvsadm's vocabulary never crash the parser or the table
// commands, and every failure exits 2 or 255 with a one-line text.
TEST(IpvsadmArgs, RandomArgvNeverCrashes) {
  static const char* const kWords[] = {"-A",
                                       "-E",
                                       "-D",
                                       "-C",
                                       "-R",
                                       "-S",
                                       "-a",
                                       "-e",
                                       "-d",
                                       "-L",
                                       "-Z",
                                       "--set",
                                       "-t",
                                       "-u",
                                       "-f",
                                       "-6",
                                       "-s",
                                       "rr",
                                       "sh",
                                       "-p",
                                       "-M",
                                       "-b",
                                       "flag-1",
                                       "sh-port",
                                       "-o",
                                       "-r",
                                       "-g",
                                       "-i",
                                       "-m",
                                       "--fullnat",
                                       "-w",
                                       "-x",
                                       "-y",
                                       "--tun-type",
                                       "gue",
                                       "--tun-port",
                                       "--tun-csum",
                                       "-n",
                                       "-c",
                                       "--stats",
                                       "--rate",
                                       "--timeout",
                                       "10.0.0.1:80",
                                       "[::1]:80",
                                       "0",
                                       "1",
                                       "65536",
                                       "255.255.255.0",
                                       "-Ln",
                                       "--",
                                       "",
                                       "-",
                                       "--weight=3",
                                       "-w5",
                                       "x:y:z",
                                       "--start-daemon",
                                       "master",
                                       "--syncid",
                                       "--drain",
                                       "--wait",
                                       "-pn",
                                       "[",
                                       "]:"};
  std::mt19937 rng(42);
  std::uniform_int_distribution<std::size_t> word(0, std::size(kWords) - 1);
  std::uniform_int_distribution<std::size_t> length(0, 8);
  model::ServiceTable table;
  for (int i = 0; i < 5000; ++i) {
    std::vector<std::string> argv{"ipvsadm"};
    for (std::size_t n = length(rng); n > 0; --n) argv.emplace_back(kWords[word(rng)]);
    const auto r = parse_ipvsadm_args(argv, fake_resolver());
    if (!r.ok()) {
      EXPECT_TRUE(r.error().exit_code == 2 || r.error().exit_code == 255);
      EXPECT_FALSE(r.error().text.empty());
      EXPECT_EQ(r.error().text.find('\n'), std::string::npos);
      continue;
    }
    const auto o = apply_to_table(table, *r, sched::scheduler_exists);
    EXPECT_TRUE(o.exit_code == 0 || o.exit_code == 2 || o.exit_code == 255);
  }
}

}  // namespace
}  // namespace lvs::ctl::testing
