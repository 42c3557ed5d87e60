// The Director over a recording fake DataPlane: every change reaches dp.apply() as a whole
// table, a refusal (ipvsadm error, unserved forwarding method, data-plane failure) leaves the
// running table untouched, listings show the data plane's live numbers relative to -Z.

#include "ctl/director.h"

#include <gtest/gtest.h>

#include "ctl/control_socket.h"
#include "sched/registry.h"

namespace lvs::ctl {
namespace {

class FakeDataPlane final : public dp::DataPlane {
 public:
  core::Result<void> apply(const model::ServiceTable& table) override {
    if (fail_next) {
      fail_next = false;
      return core::fail(EADDRNOTAVAIL, "service TCP 10.0.0.1:80: bind: Cannot assign");
    }
    applied.push_back(table);
    return {};
  }
  dp::Stats stats() const override { return live; }
  std::vector<dp::ConnEntry> connections() const override { return conns; }
  void set_timeouts(const dp::IdleTimeouts& t) override { timeouts.push_back(t); }
  void zero_rates(const std::optional<model::ServiceKey>& only) override { zeroed.push_back(only); }

  bool fail_next = false;
  std::vector<model::ServiceTable> applied{};
  dp::Stats live{};
  std::vector<dp::ConnEntry> conns{};
  std::vector<dp::IdleTimeouts> timeouts{};
  std::vector<std::optional<model::ServiceKey>> zeroed{};
};

class DirectorTest : public ::testing::Test {
 protected:
  Outcome run(std::vector<std::string> args) {
    args.insert(args.begin(), "lvsadm");
    return director.run(args);
  }
  FakeDataPlane dp{};
  Director director{dp, DirectorOptions{.resolver = numeric_resolver(),
                                        .names = numeric_names(),
                                        .scheduler_exists = sched::scheduler_exists}};
};

// Each accepted command ends in one dp.apply() of the whole new table.
TEST_F(DirectorTest, ChangesReachTheDataPlaneAsWholeTables) {
  ASSERT_EQ(run({"-A", "-t", "10.0.0.1:80", "-s", "rr"}).exit_code, 0);
  ASSERT_EQ(run({"-a", "-t", "10.0.0.1:80", "-r", "10.0.0.11:80", "--fullnat"}).exit_code, 0);
  ASSERT_EQ(dp.applied.size(), 2U);
  EXPECT_EQ(dp.applied.back(), director.table());
  EXPECT_EQ(director.table().services.at(0).dests.size(), 1U);
}

// Route (ipvsadm's default) is refused naming the missing engine; nothing is applied.
TEST_F(DirectorTest, UnservedMethodLeavesTheTableRunning) {
  ASSERT_EQ(run({"-A", "-t", "10.0.0.1:80"}).exit_code, 0);
  const auto before = director.table();
  const auto o = run({"-a", "-t", "10.0.0.1:80", "-r", "10.0.0.11:80"});
  EXPECT_EQ(o.exit_code, 255);
  EXPECT_EQ(o.err,
            "lvsadm: forwarding method Route (-g) for 10.0.0.11:80 needs the packet engine, which "
            "this lvsd does not run yet; use -m (masquerading) or --fullnat\n");
  EXPECT_EQ(director.table(), before);
  EXPECT_EQ(dp.applied.size(), 1U);
}

// A data-plane failure is an engine error (255) and the old table stays.
TEST_F(DirectorTest, DataPlaneFailureLeavesTheTableRunning) {
  dp.fail_next = true;
  const auto o = run({"-A", "-t", "10.0.0.1:80"});
  EXPECT_EQ(o.exit_code, 255);
  EXPECT_EQ(o.err,
            "lvsadm: lvsd cannot apply the change: service TCP 10.0.0.1:80: bind: Cannot "
            "assign\n");
  EXPECT_TRUE(director.table().services.empty());
}

// -L shows the data plane's active/inactive counts and counters; -Z zeroes the counters only.
TEST_F(DirectorTest, ListingShowsLiveNumbersRelativeToZero) {
  ASSERT_EQ(run({"-A", "-t", "10.0.0.1:80"}).exit_code, 0);
  ASSERT_EQ(run({"-a", "-t", "10.0.0.1:80", "-r", "10.0.0.11:80", "--fullnat"}).exit_code, 0);
  const auto key = director.table().services.at(0).key;
  const auto dest = director.table().services.at(0).dests.at(0).addr;
  dp.live.services.push_back(dp::ServiceStats{
      .key = key,
      .counters = {.conns = 7, .inpkts = 70},
      .dests = {dp::DestStats{
          .addr = dest, .active = 2, .inactive = 3, .counters = {.conns = 7, .inpkts = 70}}}});
  auto in = director.listing();
  EXPECT_EQ(in.services.at(0).dests.at(0).active, 2U);
  EXPECT_EQ(in.services.at(0).dests.at(0).inactive, 3U);
  EXPECT_EQ(in.services.at(0).stats.conns, 7U);
  ASSERT_EQ(run({"-Z"}).exit_code, 0);
  dp.live.services[0].counters.conns = 9;
  in = director.listing();
  EXPECT_EQ(in.services.at(0).stats.conns, 2U);
  EXPECT_EQ(in.services.at(0).stats.inpkts, 0U);
  EXPECT_EQ(in.services.at(0).dests.at(0).active, 2U);
  EXPECT_EQ(run({"-Z", "-t", "10.0.0.9:80"}).err, "No such service\n");
}

// Synced counters (docs/SYNC.md "Counters"): the listing adds what the master sent to the data
// plane's own numbers (the standby's -L --stats, --json, /metrics), -Z zeroes the sum, the
// master daemon sends own + carried, and a deleted realserver's synced numbers go.
TEST_F(DirectorTest, ListingAddsTheMastersSyncedCounters) {
  ASSERT_EQ(run({"-A", "-t", "10.0.0.1:80"}).exit_code, 0);
  ASSERT_EQ(run({"-a", "-t", "10.0.0.1:80", "-r", "10.0.0.11:80", "--fullnat"}).exit_code, 0);
  const auto key = director.table().services.at(0).key;
  const auto dest = director.table().services.at(0).dests.at(0).addr;
  dp.live.services.push_back(
      dp::ServiceStats{.key = key,
                       .counters = {.conns = 1},
                       .dests = {dp::DestStats{.addr = dest, .counters = {.conns = 1}}}});
  const core::IpAddress master = *core::IpAddress::parse("10.0.0.2");
  const core::TimePoint t0{};
  director.sync_counters_in(master,
                            {{.service = key, .counters = {.conns = 300, .inbytes = 9000}},
                             {.service = key, .dest = dest, .counters = {.conns = 300}}},
                            t0);
  auto in = director.listing();
  EXPECT_EQ(in.services.at(0).stats, (Stats{.conns = 301, .inbytes = 9000}));
  EXPECT_EQ(in.services.at(0).dests.at(0).stats.conns, 301U);
  // Sent back: this director's own numbers, nothing received (no echo).
  auto out = director.sync_counters_out(t0);
  ASSERT_TRUE(out.has_value());
  ASSERT_EQ(out->size(), 2U);
  EXPECT_EQ(out->at(0).counters.conns, 1U);
  // -Z: the shown sum is the zero point.
  ASSERT_EQ(run({"-Z"}).exit_code, 0);
  director.sync_counters_in(master, {{.service = key, .counters = {.conns = 305, .inbytes = 9000}}},
                            t0);
  EXPECT_EQ(director.listing().services.at(0).stats.conns, 5U);
  // The master restarts (0 again): carried, not followed down, and sent on as carried.
  director.sync_counters_in(master, {{.service = key, .counters = {.conns = 2}}}, t0);
  EXPECT_EQ(director.listing().services.at(0).stats.conns, 7U);
  out = director.sync_counters_out(t0);
  ASSERT_TRUE(out.has_value());
  EXPECT_EQ(out->at(0).counters.conns, 306U);  // own 1 + carried 305
  // The realserver deleted: its synced counters go; the service keeps its own.
  ASSERT_EQ(run({"-d", "-t", "10.0.0.1:80", "-r", "10.0.0.11:80"}).exit_code, 0);
  ASSERT_EQ(run({"-a", "-t", "10.0.0.1:80", "-r", "10.0.0.11:80", "--fullnat"}).exit_code, 0);
  EXPECT_EQ(director.listing().services.at(0).dests.at(0).stats.conns, 1U);
}

// lvsd --cluster-seed: every mh service reaches the data plane with the seed (the stateless
// cluster mode); other schedulers and the Director's own table do not carry it.
TEST(DirectorClusterSeed, MhServicesReachTheDataPlaneSeeded) {
  FakeDataPlane plane;
  Director d{plane, DirectorOptions{.resolver = numeric_resolver(),
                                    .names = numeric_names(),
                                    .scheduler_exists = sched::scheduler_exists,
                                    .cluster_seed = 2026U}};
  const auto run = [&d](std::vector<std::string> args) {
    args.insert(args.begin(), "lvsadm");
    return d.run(args).exit_code;
  };
  ASSERT_EQ(run({"-A", "-t", "10.0.0.1:80", "-s", "mh"}), 0);
  ASSERT_EQ(run({"-A", "-t", "10.0.0.2:80", "-s", "rr"}), 0);
  const auto& sent = plane.applied.back().services;
  ASSERT_EQ(sent.size(), 2U);
  EXPECT_EQ(sent[0].cluster_seed, std::optional<std::uint32_t>{2026U});
  EXPECT_FALSE(sent[1].cluster_seed.has_value());
  EXPECT_FALSE(d.table().services[0].cluster_seed.has_value());
}

// --drain quiesces keeping every other field (unlike -e); --set keeps its zeros.
TEST_F(DirectorTest, DrainQuiescesAndSetStoresTimeouts) {
  ASSERT_EQ(run({"-A", "-t", "10.0.0.1:80"}).exit_code, 0);
  ASSERT_EQ(
      run({"-a", "-t", "10.0.0.1:80", "-r", "10.0.0.11:80", "--fullnat", "-w", "4", "-x", "9"})
          .exit_code,
      0);
  ASSERT_EQ(run({"--drain", "-t", "10.0.0.1:80", "-r", "10.0.0.11:80"}).exit_code, 0);
  const auto d = director.table().services.at(0).dests.at(0);
  EXPECT_EQ(d.weight, 0);
  EXPECT_EQ(d.u_threshold, 9U);
  ASSERT_EQ(run({"--set", "0", "30", "0"}).exit_code, 0);
  EXPECT_EQ(director.timeouts(), (Timeouts{.tcp = 900, .tcpfin = 30, .udp = 300}));
  // The data plane gets the command's values, zeros included (0 = keep, its rule too).
  ASSERT_EQ(dp.timeouts.size(), 1U);
  EXPECT_EQ(dp.timeouts[0], (dp::IdleTimeouts{.tcpfin = std::chrono::seconds(30)}));
}

// -L -c lists the data plane's entries in IPVS's state names: connections, then templates, each
// ordered by protocol, service, client (the order of spec §4.6's example).
TEST_F(DirectorTest, ConnectionListingComesFromTheDataPlane) {
  const auto ep = [](const char* s) { return *core::Endpoint::parse(s); };
  dp.conns = {
      dp::ConnEntry{.protocol = model::Protocol::kTcp,
                    .is_template = true,
                    .client = ep("203.0.113.0:0"),
                    .virt = ep("192.168.1.100:443"),
                    .dest = ep("10.0.0.11:443"),
                    .expire_seconds = 358},
      dp::ConnEntry{.protocol = model::Protocol::kUdp,
                    .state = dp::ConnState::kUdp,
                    .client = ep("203.0.113.9:5353"),
                    .virt = ep("192.168.1.100:53"),
                    .dest = ep("10.0.0.21:53"),
                    .expire_seconds = 299},
      dp::ConnEntry{.protocol = model::Protocol::kTcp,
                    .state = dp::ConnState::kSynRecv,
                    .client = ep("203.0.113.8:40000"),
                    .virt = ep("192.168.1.100:80"),
                    .dest = ep("10.0.0.12:8080"),
                    .expire_seconds = 54},
      dp::ConnEntry{.protocol = model::Protocol::kTcp,
                    .state = dp::ConnState::kEstablished,
                    .client = ep("203.0.113.7:51514"),
                    .virt = ep("192.168.1.100:80"),
                    .dest = ep("10.0.0.11:80"),
                    .expire_seconds = 897},
  };
  const auto o = run({"-L", "-n", "-c"});
  EXPECT_EQ(o.exit_code, 0);
  EXPECT_EQ(o.out,
            "IPVS connection entries\n"
            "pro expire state       source             virtual            destination\n"
            "TCP 14:57  ESTABLISHED 203.0.113.7:51514  192.168.1.100:80   10.0.0.11:80\n"
            "TCP 00:54  SYN_RECV    203.0.113.8:40000  192.168.1.100:80   10.0.0.12:8080\n"
            "UDP 04:59  UDP         203.0.113.9:5353   192.168.1.100:53   10.0.0.21:53\n"
            "TCP 05:58  NONE        203.0.113.0:0      192.168.1.100:443  10.0.0.11:443\n");
}

// --rate and --persistent-conn show the data plane's estimates and template counts; -Z
// restarts the estimators of what it zeroes.
TEST_F(DirectorTest, RatesAndPersistConnsComeFromTheDataPlane) {
  ASSERT_EQ(run({"-A", "-t", "10.0.0.1:80", "-p"}).exit_code, 0);
  ASSERT_EQ(run({"-a", "-t", "10.0.0.1:80", "-r", "10.0.0.11:80", "--fullnat"}).exit_code, 0);
  const auto key = director.table().services.at(0).key;
  dp.live.services.push_back(
      dp::ServiceStats{.key = key,
                       .rates = {.cps = 12, .inpps = 340},
                       .dests = {dp::DestStats{.addr = *core::Endpoint::parse("10.0.0.11:80"),
                                               .persistconns = 4,
                                               .rates = {.cps = 6, .outbps = 195056}}}});
  const auto in = director.listing();
  EXPECT_EQ(in.services.at(0).rates, (Rates{.cps = 12, .inpps = 340}));
  EXPECT_EQ(in.services.at(0).dests.at(0).rates, (Rates{.cps = 6, .outbps = 195056}));
  EXPECT_EQ(in.services.at(0).dests.at(0).persist, 4U);
  ASSERT_EQ(run({"-Z", "-t", "10.0.0.1:80"}).exit_code, 0);
  ASSERT_EQ(run({"-Z"}).exit_code, 0);
  ASSERT_EQ(dp.zeroed.size(), 2U);
  EXPECT_EQ(dp.zeroed[0], std::optional(key));
  EXPECT_EQ(dp.zeroed[1], std::nullopt);
}

// The codec: round trips, and every malformed body is refused with EPROTO.
TEST(ControlProtocol, RoundTripsAndRefusesMalformedBodies) {
  const Request req{.argv = {"lvsadm", "-R"}, .input = std::string("-C\n\0x", 5)};
  const auto frame = encode_request(req);
  const auto n = decode_header(frame.substr(0, kFrameHeader), kMaxRequest);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, frame.size() - kFrameHeader);
  EXPECT_EQ(*decode_request(frame.substr(kFrameHeader)), req);
  const Reply reply{.exit_code = 255, .out = "x", .err = "No such service\n"};
  EXPECT_EQ(*decode_reply(encode_reply(reply).substr(kFrameHeader)), reply);
  EXPECT_EQ(decode_header("LVS2\0\0\0\0", kMaxRequest).error().code, EPROTO);
  EXPECT_EQ(decode_header(std::string("LVS1\0\x20\0\0", 8), kMaxRequest).error().code, EMSGSIZE);
  EXPECT_FALSE(decode_request(frame.substr(kFrameHeader, frame.size() - kFrameHeader - 1)).ok());
  EXPECT_FALSE(decode_request(std::string(4, '\0')).ok());
}

// The socket path: the flag, else $LVSD_SOCKET, else the default.
TEST(ControlProtocol, SocketPathPrecedence) {
  EXPECT_EQ(control_socket_path("/x.sock"), "/x.sock");
}

}  // namespace
}  // namespace lvs::ctl
