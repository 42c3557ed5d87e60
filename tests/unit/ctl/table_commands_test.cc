// Whole invocations against a table: edit semantics (case 33), engine errors (cases 37-40, 47)
// and restore semantics (spec §4.7).
#include "ctl/table_commands.h"

#include "unit/ctl/fixture.h"

namespace lvs::ctl::testing {
namespace {

Outcome engine_error(const char* text) {
  return Outcome{.err = std::string(text) + "\n", .exit_code = 255};
}

OfflineDirector with_vip80() {
  auto d = director();
  run_all(d, {"-A -t 192.168.1.100:80"});
  return d;
}

// Case 33: -E without -s/-p resets the scheduler to wlc and drops persistence.
TEST(TableCommands, Case33EditServiceResetsUnspecifiedFields) {
  auto d = director();
  run_all(d, {"-A -t 192.168.1.100:80 -s rr -p 600", "-E -t 192.168.1.100:80"});
  EXPECT_EQ(d.run(words("-L -n")).out,
            "IP Virtual Server version 1.2.1 (size=4096)\n"
            "Prot LocalAddress:Port Scheduler Flags\n"
            "  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n"
            "TCP  192.168.1.100:80 wlc\n");
}

// Case 33: -e with only -w turns a Masq dest into Route and resets the thresholds.
TEST(TableCommands, Case33EditServerResetsUnspecifiedFields) {
  auto d = with_vip80();
  run_all(d, {"-a -t 192.168.1.100:80 -r 10.0.0.11:80 -m -w 3 -x 10",
              "-e -t 192.168.1.100:80 -r 10.0.0.11:80 -w 5"});
  EXPECT_EQ(d.run(words("-L -n")).out,
            "IP Virtual Server version 1.2.1 (size=4096)\n"
            "Prot LocalAddress:Port Scheduler Flags\n"
            "  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n"
            "TCP  192.168.1.100:80 wlc\n"
            "  -> 10.0.0.11:80                 Route   5      0          0         \n");
  EXPECT_EQ(d.run(words("-L -n --thresholds")).out,
            "IP Virtual Server version 1.2.1 (size=4096)\n"
            "Prot LocalAddress:Port            Uthreshold Lthreshold ActiveConn InActConn \n"
            "  -> RemoteAddress:Port\n"
            "TCP  192.168.1.100:80 wlc\n"
            "  -> 10.0.0.11:80                 0          0          0          0         \n");
}

// Case 35 (success half): a UDP service with -o lists " ops".
TEST(TableCommands, Case35UdpOpsListed) {
  auto d = director();
  run_all(d, {"-A -u 192.168.1.100:53 -o"});
  EXPECT_NE(d.run(words("-L -n")).out.find("UDP  192.168.1.100:53 wlc ops\n"), std::string::npos);
}

// Case 37.
TEST(TableCommands, Case37ServiceAlreadyExists) {
  auto d = with_vip80();
  EXPECT_EQ(d.run(words("-A -t 192.168.1.100:80")), engine_error("Service already exists"));
}

// Case 38: missing service or destination, per operation.
TEST(TableCommands, Case38MissingObjects) {
  auto d = director();
  EXPECT_EQ(d.run(words("-a -t 192.168.1.100:80 -r 10.0.0.1")),
            engine_error("Service not defined"));
  EXPECT_EQ(d.run(words("-E -t 192.168.1.100:80")), engine_error("No such service"));
  EXPECT_EQ(d.run(words("-D -t 192.168.1.100:80")), engine_error("No such service"));
  run_all(d, {"-A -t 192.168.1.100:80"});
  EXPECT_EQ(d.run(words("-d -t 192.168.1.100:80 -r 10.0.0.1")),
            engine_error("No such destination"));
  EXPECT_EQ(d.run(words("-e -t 192.168.1.100:80 -r 10.0.0.1")),
            engine_error("No such destination"));
  run_all(d, {"-a -t 192.168.1.100:80 -r 10.0.0.1"});
  EXPECT_EQ(d.run(words("-a -t 192.168.1.100:80 -r 10.0.0.1")),
            engine_error("Destination already exists"));
}

// Case 39.
TEST(TableCommands, Case39UnknownScheduler) {
  auto d = director();
  EXPECT_EQ(d.run(words("-A -t 192.168.1.100:80 -s foo")),
            engine_error("Scheduler or persistence engine not found"));
  EXPECT_TRUE(d.table().services.empty());
}

// Case 40: a lower threshold above the (default 0) upper one is ERANGE.
TEST(TableCommands, Case40LowerThresholdAboveUpper) {
  auto d = with_vip80();
  EXPECT_EQ(d.run(words("-a -t 192.168.1.100:80 -r 10.0.0.1 -y 5")),
            engine_error("Numerical result out of range"));
}

// Case 47: listing an absent service prints "No such service" and exits 1.
TEST(TableCommands, Case47ListMissingService) {
  auto d = director();
  EXPECT_EQ(d.run(words("-L -n -t 10.9.9.9:80")),
            (Outcome{.err = "No such service\n", .exit_code = 1}));
}

// Validation failures print their text and exit 2 without touching the table.
TEST(TableCommands, ValidationFailureExitsTwo) {
  auto d = director();
  EXPECT_EQ(d.run(words("-A -t 192.168.1.100 -s rr")),
            (Outcome{.err = "Zero port specified for non-persistent service\n", .exit_code = 2}));
  EXPECT_TRUE(d.table().services.empty());
}

// apply_to_table re-runs the CLI checks on commands built elsewhere (e.g. a control socket).
TEST(TableCommands, ApplyToTableChecksHandBuiltCommands) {
  model::ServiceTable t;
  Command c{.kind = CommandKind::kAddService};
  c.service.key = model::ServiceKey::address(model::Protocol::kTcp, ep("10.0.0.1:0"));
  EXPECT_EQ(apply_to_table(t, c, sched::scheduler_exists).exit_code, 2);
  c.service.persistent = true;
  EXPECT_EQ(apply_to_table(t, c, sched::scheduler_exists), Outcome{});
  EXPECT_EQ(t.services.size(), 1U);
  EXPECT_EQ(apply_to_table(t, Command{.kind = CommandKind::kFlush}, sched::scheduler_exists),
            Outcome{});
  EXPECT_TRUE(t.services.empty());
  EXPECT_EQ(apply_to_table(t, Command{.kind = CommandKind::kList}, sched::scheduler_exists),
            (Outcome{.err = "the 'list' command does not change the table\n", .exit_code = 2}));
}

// --set keeps a timeout given as 0.
TEST(TableCommands, SetZeroKeepsCurrentValue) {
  EXPECT_EQ(apply_timeouts({.tcp = 900, .tcpfin = 120, .udp = 300}, {.tcp = 0, .tcpfin = 30}),
            (Timeouts{.tcp = 900, .tcpfin = 30, .udp = 300}));
}

// Restore: a validation failure stops at once (earlier lines stay); engine errors continue.
TEST(TableCommands, RestoreStopsOnValidationAndContinuesOnEngineErrors) {
  auto d = director();
  const auto o = d.restore(
      "-A -t 10.0.0.1:80\n-A -t 10.0.0.1:80\n-A -t 10.0.0.2:80\n-A -t 10.0.0.3\n-A -t "
      "10.0.0.4:80\n",
      "ipvsadm");
  EXPECT_EQ(o.err, "Service already exists\nZero port specified for non-persistent service\n");
  EXPECT_EQ(o.exit_code, 2);
  EXPECT_EQ(d.table().services.size(), 2U);
  // The exit status is the last line's.
  auto e = director();
  EXPECT_EQ(e.restore("-A -t 10.0.0.1:80\n-A -t 10.0.0.1:80\n", "ipvsadm").exit_code, 255);
  EXPECT_EQ(e.restore("-A -t 10.0.0.1:80\n-A -t 10.0.0.2:80\n", "ipvsadm").exit_code, 0);
}

// -R inside restore input is the "Try" message.
TEST(TableCommands, RestoreInsideRestoreIsRefused) {
  auto d = director();
  EXPECT_EQ(d.run(words("-R"), "-R\n"),
            (Outcome{.err = "Try `ipvsadm -h' or 'ipvsadm --help' for more information.\n",
                     .exit_code = 255}));
}

// The sync daemon and drain are parsed but not served here: a clear non-zero answer.
TEST(TableCommands, DaemonIsNotSupportedOffline) {
  auto d = director();
  const auto o = d.run(words("--start-daemon master --mcast-interface eth0"));
  EXPECT_EQ(o.exit_code, 1);
  EXPECT_NE(o.err.find("not supported"), std::string::npos);
}

}  // namespace
}  // namespace lvs::ctl::testing
