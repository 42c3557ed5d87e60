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

  bool fail_next = false;
  std::vector<model::ServiceTable> applied{};
  dp::Stats live{};
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
            "this lvsd does not run yet; use --fullnat\n");
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
