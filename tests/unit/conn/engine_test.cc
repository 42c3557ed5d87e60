// Engine behaviour beyond the numbered cases: service lookup order (§1.1), failure to
// schedule (§1.5), control-plane changes, deleted dests, one-packet scheduling, handles.
#include "unit/conn/harness.h"

namespace lvs::conn::testing {
namespace {

using namespace tcp_flag;

const std::string kHttp = fmt::format("{}:80", kVip);

VirtualService rr(const ServiceKey& key, std::vector<RealServer> dests, bool persistent = false) {
  return VirtualService{
      .key = key, .scheduler = "rr", .persistent = persistent, .dests = std::move(dests)};
}

std::string dest_of(const Verdict& v) {
  return v.action == Action::kForward ? v.dest.to_string() : std::string(reason_name(v.reason));
}

// §1.1: a fwmark service wins over the exact service; the exact one over the port-0 one.
TEST(ServiceLookup, FwmarkThenExactThenPortZero) {
  Harness h;
  h.add(rr(ServiceKey::mark(7), {real("10.0.0.41:0")}));
  h.add(rr(tcp(kHttp), {real("10.0.0.11:80")}));
  h.add(rr(tcp(fmt::format("{}:0", kVip)), {real("10.0.0.31:0")}, true));
  EXPECT_EQ(dest_of(h.in("203.0.113.1:1000", kHttp, kSyn, Protocol::kTcp, 7)), "10.0.0.41:80");
  EXPECT_EQ(dest_of(h.in("203.0.113.2:1000", kHttp, kSyn)), "10.0.0.11:80");
  EXPECT_EQ(dest_of(h.in("203.0.113.3:1000", fmt::format("{}:8080", kVip), kSyn)),
            "10.0.0.31:8080");
  // A mark without a service of its own falls through to the address lookup.
  EXPECT_EQ(dest_of(h.in("203.0.113.4:1000", kHttp, kSyn, Protocol::kTcp, 9)), "10.0.0.11:80");
  // No service at all: not ours.
  EXPECT_EQ(h.in("203.0.113.5:1000", "192.168.1.200:80", kSyn).reason, Reason::kNoService);
}

// §1.1 rule 3: TCP to port 20 or an unprivileged port finds the FTP (21) service on that
// address; a privileged port other than 20 does not.
TEST(ServiceLookup, FtpDataConnectionsFindTheFtpService) {
  Harness h;
  h.add(rr(tcp(fmt::format("{}:21", kVip)), {real("10.0.0.51:21")}, true));
  EXPECT_EQ(dest_of(h.syn("203.0.113.1:1000", fmt::format("{}:21", kVip))), "10.0.0.51:21");
  const auto data = h.syn("203.0.113.1:1001", fmt::format("{}:20", kVip));
  EXPECT_EQ(dest_of(data), "10.0.0.51:20");
  EXPECT_EQ(data.reason, Reason::kTemplateHit);  // FTP template key has vport 0
  EXPECT_EQ(dest_of(h.syn("203.0.113.1:1002", fmt::format("{}:40000", kVip))), "10.0.0.51:40000");
  EXPECT_EQ(h.syn("203.0.113.1:1003", fmt::format("{}:80", kVip)).reason, Reason::kNoService);
  // The rule is TCP only.
  EXPECT_EQ(h.in("203.0.113.1:1004", fmt::format("{}:2000", kVip), 0, Protocol::kUdp).reason,
            Reason::kNoService);
}

// §1.5: no dest -> drop with ICMP unreachable and no entry; FTP data -> passed up; fwmark with
// cache_bypass -> sent on unmodified; scheduler "none" never schedules.
TEST(FailureToSchedule, VerdictsPerServiceKind) {
  Harness h;
  h.add(rr(tcp(kHttp), {real("10.0.0.11:80", ForwardMethod::kMasq, 0)}));
  const auto v = h.syn("203.0.113.1:1000", kHttp);
  EXPECT_EQ(v.action, Action::kDropUnreachable);
  EXPECT_EQ(v.reason, Reason::kNoDest);
  EXPECT_EQ(h.engine.entry_count(), 0U);
  EXPECT_EQ(h.engine.totals().conns, 0U);

  h.add(rr(tcp(fmt::format("{}:21", kVip)), {}, true));
  EXPECT_EQ(h.syn("203.0.113.1:1000", fmt::format("{}:21", kVip)).action, Action::kDropUnreachable);
  const auto ftp_data = h.syn("203.0.113.1:1001", fmt::format("{}:20", kVip));
  EXPECT_EQ(ftp_data.action, Action::kPass);
  EXPECT_EQ(ftp_data.reason, Reason::kFtpPassUp);

  h.add(rr(ServiceKey::mark(3), {}));
  EXPECT_EQ(h.in("203.0.113.1:1002", kHttp, kSyn, Protocol::kTcp, 3).action,
            Action::kDropUnreachable);
  h.engine.set_sysctls(Sysctls{.cache_bypass = true});
  const auto bypass = h.in("203.0.113.1:1003", kHttp, kSyn, Protocol::kTcp, 3);
  EXPECT_EQ(bypass.action, Action::kPass);
  EXPECT_EQ(bypass.reason, Reason::kCacheBypass);

  h.add(VirtualService{.key = tcp(fmt::format("{}:81", kVip)),
                       .scheduler = "none",
                       .dests = {real("10.0.0.11:81")}});
  EXPECT_EQ(h.syn("203.0.113.1:1004", fmt::format("{}:81", kVip)).action, Action::kDropUnreachable);
}

// §1.5: with sloppy_tcp a non-SYN segment may open an entry; RST still never does.
TEST(FailureToSchedule, SloppyTcpSchedulesNonSynButNeverRst) {
  Harness h(Sysctls{.sloppy_tcp = true});
  h.add(rr(tcp(kHttp), {real("10.0.0.11:80")}));
  EXPECT_EQ(h.in("203.0.113.1:1000", kHttp, kRst).reason, Reason::kRst);
  const auto v = h.in("203.0.113.1:1000", kHttp, kAck);
  EXPECT_EQ(v.reason, Reason::kScheduled);
  EXPECT_EQ(v.state, ConnState::kEstablished);  // NONE + ack -> ESTABLISHED
}

// §1.3/§4.4: a deleted dest keeps its connections; expire_nodest_conn drops them instead.
TEST(DeletedDest, ConnectionsKeepFlowingUnlessExpireNodestConn) {
  Harness h;
  h.add(rr(tcp(kHttp), {real("10.0.0.11:80"), real("10.0.0.12:80")}));
  h.syn("203.0.113.1:1000", kHttp);
  ASSERT_TRUE(h.engine.delete_dest(tcp(kHttp), ep("10.0.0.11:80")).ok());
  EXPECT_EQ(dest_of(h.in("203.0.113.1:1000", kHttp, kAck)), "10.0.0.11:80");
  EXPECT_EQ(dest_of(h.syn("203.0.113.2:1000", kHttp)), "10.0.0.12:80");

  h.engine.set_sysctls(Sysctls{.expire_nodest_conn = true});
  const auto v = h.in("203.0.113.1:1000", kHttp, kAck);
  EXPECT_EQ(v.action, Action::kDrop);
  EXPECT_EQ(v.reason, Reason::kDestGone);
  EXPECT_FALSE(h.conn("203.0.113.1:1000", kHttp).has_value());
}

// §4.4: a dest re-added while its connections live comes back with its counters and stats.
TEST(DeletedDest, ReAddedDestKeepsCountersOfLiveConnections) {
  Harness h;
  h.add(rr(tcp(kHttp), {real("10.0.0.11:80")}));
  h.syn("203.0.113.1:1000", kHttp);
  ASSERT_TRUE(h.engine.delete_dest(tcp(kHttp), ep("10.0.0.11:80")).ok());
  EXPECT_TRUE(h.engine.service(tcp(kHttp))->dests.empty());
  ASSERT_TRUE(h.engine.add_dest(tcp(kHttp), real("10.0.0.11:80")).ok());
  const auto d = h.dest(tcp(kHttp), "10.0.0.11:80");
  EXPECT_EQ(d.active, 1U);
  EXPECT_EQ(d.stats.conns, 1U);
  h.advance(60s);  // SYN_RECV expires: the counter goes back to 0 on the same dest
  EXPECT_EQ(h.dest(tcp(kHttp), "10.0.0.11:80").active, 0U);
}

// Deleting a service keeps its entries alive until they expire.
TEST(DeletedService, EntriesLiveOnUntilTheyExpire) {
  Harness h;
  h.add(rr(tcp(kHttp), {real("10.0.0.11:80")}));
  h.syn("203.0.113.1:1000", kHttp);
  ASSERT_TRUE(h.engine.delete_service(tcp(kHttp)).ok());
  EXPECT_EQ(dest_of(h.in("203.0.113.1:1000", kHttp, kAck)), "10.0.0.11:80");
  EXPECT_EQ(h.syn("203.0.113.2:1000", kHttp).reason, Reason::kNoService);
  h.advance(900s);
  EXPECT_EQ(h.engine.entry_count(), 0U);
}

// Control-plane errors carry the errno the spec names (§4.4).
TEST(ControlPlane, ErrorsCarrySpecErrno) {
  Harness h;
  h.add(rr(tcp(kHttp), {real("10.0.0.11:80")}));
  EXPECT_EQ(h.engine.add_service(rr(tcp(kHttp), {})).error().code, EEXIST);
  auto bad = rr(tcp(fmt::format("{}:81", kVip)), {});
  bad.scheduler = "foo";
  EXPECT_EQ(h.engine.add_service(bad).error().code, ENOENT);
  EXPECT_EQ(h.engine.delete_service(tcp("10.9.9.9:80")).error().code, ESRCH);
  EXPECT_EQ(h.engine.add_dest(tcp("10.9.9.9:80"), real("10.0.0.1:80")).error().code, ESRCH);
  EXPECT_EQ(h.engine.add_dest(tcp(kHttp), real("10.0.0.11:80")).error().code, EEXIST);
  EXPECT_EQ(h.engine.delete_dest(tcp(kHttp), ep("10.0.0.99:80")).error().code, ENOENT);
  auto thresholds = real("10.0.0.12:80");
  thresholds.l_threshold = 5;
  EXPECT_EQ(h.engine.add_dest(tcp(kHttp), thresholds).error().code, ERANGE);
  EXPECT_EQ(h.engine.zero_service(tcp("10.9.9.9:80")).error().code, ESRCH);
}

// Dests are iterated newest first, so rr over dests added A, B, C picks C B A (case 1), both
// through add_dest and through apply() of a table listing [C, B, A].
TEST(ControlPlane, ApplyBuildsIterationOrderAndIncrementalChanges) {
  Harness h;
  model::ServiceTable table{.services = {rr(tcp(kHttp), {real("10.0.0.3:80"), real("10.0.0.2:80"),
                                                         real("10.0.0.1:80")})}};
  ASSERT_TRUE(h.engine.apply(table).ok());
  std::vector<std::string> got;
  got.reserve(4);
  for (int c = 0; c < 4; ++c) {
    got.push_back(dest_of(h.syn(fmt::format("203.0.113.{}:1", c + 1), kHttp)));
  }
  EXPECT_EQ(got,
            (std::vector<std::string>{"10.0.0.3:80", "10.0.0.2:80", "10.0.0.1:80", "10.0.0.3:80"}));
  // Remove B and quiesce A: the rest keeps its statistics and the rr pointer.
  table.services[0].dests = {real("10.0.0.3:80"), real("10.0.0.1:80", ForwardMethod::kMasq, 0)};
  ASSERT_TRUE(h.engine.apply(table).ok());
  EXPECT_EQ(h.dest(tcp(kHttp), "10.0.0.3:80").stats.conns, 2U);
  EXPECT_EQ(dest_of(h.syn("203.0.113.9:1", kHttp)), "10.0.0.3:80");
  const auto dests = h.engine.service(tcp(kHttp))->config.dests;
  ASSERT_EQ(dests.size(), 2U);
  EXPECT_EQ(dests[0].addr, ep("10.0.0.3:80"));
  EXPECT_EQ(dests[1].weight, 0);
  EXPECT_EQ(dests[1].last_weight, 1);  // the last non-zero weight
  // An empty table deletes the service.
  ASSERT_TRUE(h.engine.apply(model::ServiceTable{}).ok());
  EXPECT_TRUE(h.engine.services().empty());
}

// The scheduler hears every change at the right index: case 1 via add_dest (kAdded), case 2
// via delete_dest of the dest under rr's pointer (kRemoved) and a quiesce (kEdited).
TEST(ControlPlane, SchedulerFollowsIncrementalChanges) {
  Harness h;
  h.add(rr(tcp(kHttp), {}));
  for (const auto* a : {"10.0.0.1:80", "10.0.0.2:80", "10.0.0.3:80"}) {
    ASSERT_TRUE(h.engine.add_dest(tcp(kHttp), real(a)).ok());
  }
  int client = 0;
  const auto next = [&] { return dest_of(h.syn(fmt::format("203.0.113.{}:1", ++client), kHttp)); };
  EXPECT_EQ(next(), "10.0.0.3:80");
  EXPECT_EQ(next(), "10.0.0.2:80");
  ASSERT_TRUE(h.engine.delete_dest(tcp(kHttp), ep("10.0.0.2:80")).ok());
  EXPECT_EQ(next(), "10.0.0.1:80");
  EXPECT_EQ(next(), "10.0.0.3:80");
  ASSERT_TRUE(h.engine.edit_dest(tcp(kHttp), real("10.0.0.1:80", ForwardMethod::kMasq, 0)).ok());
  EXPECT_EQ(next(), "10.0.0.3:80");
}

// A bad table changes nothing.
TEST(ControlPlane, ApplyOfInvalidTableChangesNothing) {
  Harness h;
  h.add(rr(tcp(kHttp), {real("10.0.0.11:80")}));
  auto bad = rr(tcp(kHttp), {real("10.0.0.11:80", ForwardMethod::kMasq, -1)});
  EXPECT_EQ(h.engine.apply(model::ServiceTable{.services = {bad}}).error().code, ERANGE);
  EXPECT_EQ(h.dest(tcp(kHttp), "10.0.0.11:80").config.weight, 1);
}

// Editing a service's scheduler replaces it; persistence can be switched on by an edit.
TEST(ControlPlane, EditServiceSwitchesPersistence) {
  Harness h;
  h.add(rr(tcp(kHttp), {real("10.0.0.11:80"), real("10.0.0.12:80")}));
  ASSERT_TRUE(h.engine.edit_service(rr(tcp(kHttp), {}, true)).ok());
  EXPECT_EQ(h.engine.service(tcp(kHttp))->dests.size(), 2U);
  h.syn("203.0.113.1:1000", kHttp);
  EXPECT_EQ(h.templates().size(), 1U);
}

// last_weight follows non-zero weights only (mh reads it).
TEST(ControlPlane, LastWeightFollowsNonZeroWeights) {
  Harness h;
  h.add(rr(tcp(kHttp), {real("10.0.0.11:80", ForwardMethod::kMasq, 5)}));
  ASSERT_TRUE(h.engine.edit_dest(tcp(kHttp), real("10.0.0.11:80", ForwardMethod::kMasq, 0)).ok());
  EXPECT_EQ(h.dest(tcp(kHttp), "10.0.0.11:80").config.last_weight, 5);
}

// One-packet scheduling: each datagram is scheduled on its own and no entry is kept, but it
// counts as a connection.
TEST(OnePacket, UdpDatagramsAreScheduledIndependently) {
  Harness h;
  const auto dns = fmt::format("{}:53", kVip);
  h.add(VirtualService{.key = udp(dns),
                       .scheduler = "rr",
                       .one_packet = true,
                       .dests = {real("10.0.0.21:53"), real("10.0.0.22:53")}});
  const auto a = h.in("203.0.113.1:5353", dns, 0, Protocol::kUdp);
  const auto b = h.in("203.0.113.1:5353", dns, 0, Protocol::kUdp);
  EXPECT_EQ(dest_of(a), "10.0.0.21:53");
  EXPECT_EQ(dest_of(b), "10.0.0.22:53");
  EXPECT_FALSE(a.conn.valid());
  EXPECT_EQ(h.engine.entry_count(), 0U);
  EXPECT_EQ(h.dest(udp(dns), "10.0.0.21:53").inactive, 0U);
  EXPECT_EQ(h.engine.service(udp(dns))->stats.conns, 2U);
  EXPECT_EQ(h.engine.service(udp(dns))->stats.inpkts, 2U);
}

// IPv6 persistence granularity is a prefix length.
TEST(Persistence, Ipv6PrefixGranularity) {
  Harness h;
  const std::string vip6 = "[2001:db8::100]:443";
  h.add(VirtualService{.key = tcp(vip6),
                       .scheduler = "rr",
                       .persistent = true,
                       .netmask = 64,
                       .dests = {real("[2001:db8:1::11]:443"), real("[2001:db8:1::12]:443")}});
  EXPECT_EQ(dest_of(h.syn("[2001:db8:aa:bb::1]:1000", vip6)), "[2001:db8:1::11]:443");
  EXPECT_EQ(dest_of(h.syn("[2001:db8:aa:bb:ffff::2]:1000", vip6)), "[2001:db8:1::11]:443");
  EXPECT_EQ(dest_of(h.syn("[2001:db8:aa:bc::1]:1000", vip6)), "[2001:db8:1::12]:443");
  ASSERT_EQ(h.templates().size(), 2U);
  EXPECT_EQ(h.templates()[0].client, ep("[2001:db8:aa:bb::]:0"));
}

// The handle API drives the same state machine; a handle dies with its entry.
TEST(Handles, OnConnDrivesEntryAndGoesStale) {
  Harness h;
  h.add(rr(tcp(kHttp), {real("10.0.0.11:80", ForwardMethod::kFullNat)}));
  const auto v = h.syn("203.0.113.1:1000", kHttp);
  ASSERT_TRUE(v.conn.valid());
  EXPECT_FALSE(h.conn("203.0.113.1:1000", kHttp)->no_output);  // the proxy sees replies
  EXPECT_EQ(h.engine.on_conn(v.conn, Direction::kOut, kSyn | kAck, 60, h.now()).state,
            ConnState::kSynRecv);
  EXPECT_EQ(h.engine.on_conn(v.conn, Direction::kIn, kAck, 60, h.now()).state,
            ConnState::kEstablished);
  EXPECT_EQ(h.engine.on_conn(v.conn, Direction::kIn, kRst, 60, h.now()).state, ConnState::kClose);
  h.advance(10s);
  EXPECT_EQ(h.engine.on_conn(v.conn, Direction::kIn, kAck, 60, h.now()).reason, Reason::kNoEntry);
  // The freed slot is reused under a new generation: the old handle stays stale.
  const auto w = h.syn("203.0.113.2:1000", kHttp);
  EXPECT_EQ(w.conn.slot, v.conn.slot);
  EXPECT_NE(w.conn, v.conn);
  EXPECT_EQ(h.engine.on_conn(v.conn, Direction::kIn, kAck, 60, h.now()).reason, Reason::kNoEntry);
}

// A DR entry that ever sees a reply leaves INPUT-ONLY for good (§3.1).
TEST(NoOutput, FirstReplyClearsNoOutput) {
  Harness h;
  h.add(rr(tcp(kHttp), {real("10.0.0.11:80", ForwardMethod::kRoute)}));
  h.syn("203.0.113.1:1000", kHttp);
  h.in("203.0.113.1:1000", kHttp, kAck);
  h.out("10.0.0.11:80", "203.0.113.1:1000", kAck);
  EXPECT_FALSE(h.conn("203.0.113.1:1000", kHttp)->no_output);
  // Client FIN now uses the INPUT table: ES -> CLOSE_WAIT (INPUT-ONLY would give FIN_WAIT).
  EXPECT_EQ(h.in("203.0.113.1:1000", kHttp, kFin).state, ConnState::kCloseWait);
  EXPECT_EQ(h.out("10.0.0.99:80", "203.0.113.1:1000", kAck).reason, Reason::kNoEntry);
}

// -Z of one service zeroes it and its dests, not other services or the totals.
TEST(Zero, ServiceZeroLeavesOthersAndTotals) {
  Harness h;
  h.add(rr(tcp(kHttp), {real("10.0.0.11:80")}));
  h.add(rr(tcp(fmt::format("{}:81", kVip)), {real("10.0.0.11:81")}));
  h.syn("203.0.113.1:1000", kHttp);
  h.syn("203.0.113.1:1000", fmt::format("{}:81", kVip));
  ASSERT_TRUE(h.engine.zero_service(tcp(kHttp)).ok());
  EXPECT_EQ(h.engine.service(tcp(kHttp))->stats, Counters{});
  EXPECT_EQ(h.dest(tcp(kHttp), "10.0.0.11:80").stats, Counters{});
  EXPECT_EQ(h.engine.service(tcp(fmt::format("{}:81", kVip)))->stats.conns, 1U);
  EXPECT_EQ(h.engine.totals().conns, 2U);
}

}  // namespace
}  // namespace lvs::conn::testing
