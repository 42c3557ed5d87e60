// Spec §6 cases 16-26 at engine level: thresholds, persistence, states, counters, estimator.
#include "unit/conn/harness.h"

namespace lvs::conn::testing {
namespace {

using namespace tcp_flag;

const std::string kHttp = fmt::format("{}:80", kVip);
const std::string kHttps = fmt::format("{}:443", kVip);

// rr service on VIP:80 with the given dests in iteration order.
VirtualService rr_service(std::vector<RealServer> dests, std::string_view vip = "") {
  return VirtualService{
      .key = tcp(vip.empty() ? kHttp : vip), .scheduler = "rr", .dests = std::move(dests)};
}

// Case 17's service: -t VIP:443 -s rr -p 360 -M 255.255.255.0, order [S1, S2].
VirtualService persistent_443() {
  return VirtualService{.key = tcp(kHttps),
                        .scheduler = "rr",
                        .persistent = true,
                        .timeout = 360,
                        .netmask = 0xFFFFFF00,
                        .dests = {real("10.0.0.11:443", ForwardMethod::kRoute),
                                  real("10.0.0.12:443", ForwardMethod::kRoute)}};
}

std::string dest_of(const Verdict& v) {
  return v.action == Action::kForward ? v.dest.to_string() : std::string(reason_name(v.reason));
}

// Case 4, engine half: a wrr service whose realservers all have weight 0 has no destination;
// a SYN is answered with ICMP port-unreachable, no entry is created, Conns stays 0.
TEST(Case4NoDestination, AllWeightsZeroDropsWithUnreachable) {
  Harness h;
  h.add(VirtualService{.key = tcp(kHttp),
                       .scheduler = "wrr",
                       .dests = {real("10.0.0.1:80", ForwardMethod::kMasq, 0),
                                 real("10.0.0.2:80", ForwardMethod::kMasq, 0)}});
  const auto v = h.syn("203.0.113.7:40000", kHttp);
  EXPECT_EQ(v.action, Action::kDropUnreachable);
  EXPECT_EQ(h.engine.entry_count(), 0U);
  EXPECT_EQ(h.engine.service(tcp(kHttp))->stats.conns, 0U);
}

// Case 16: S1 with -x 2 is flagged when its 2nd connection binds; rr then skips it. When one
// S1 connection expires (total 1, 1*4 < 2*3) the flag clears and the 6th goes to S1.
TEST(Case16Thresholds, UpperThresholdSkipsDestUntilConnectionExpires) {
  Harness h;
  auto s1 = real("10.0.0.11:80");
  s1.u_threshold = 2;
  h.add(rr_service({s1, real("10.0.0.12:80")}));
  std::vector<std::string> got;
  for (int c = 1; c <= 5; ++c) {
    got.push_back(dest_of(h.syn(fmt::format("203.0.113.{}:1000", c), kHttp)));
  }
  EXPECT_EQ(got, (std::vector<std::string>{"10.0.0.11:80", "10.0.0.12:80", "10.0.0.11:80",
                                           "10.0.0.12:80", "10.0.0.12:80"}));
  EXPECT_TRUE(h.dest(tcp(kHttp), "10.0.0.11:80").overloaded);
  // Close S1's first connection with RST: CLOSE for 10 s, then it expires. (RST in SYN_RECV
  // stays SYN_RECV by the INPUT table, so the connection is established first.)
  h.in("203.0.113.1:1000", kHttp, kAck);
  EXPECT_EQ(h.in("203.0.113.1:1000", kHttp, kRst).state, ConnState::kClose);
  h.advance(10s);
  EXPECT_FALSE(h.conn("203.0.113.1:1000", kHttp).has_value());
  EXPECT_FALSE(h.dest(tcp(kHttp), "10.0.0.11:80").overloaded);
  EXPECT_EQ(dest_of(h.syn("203.0.113.6:1000", kHttp)), "10.0.0.11:80");
}

// Case 16, alternative: raising S1's u_threshold to 3 clears the flag at once.
TEST(Case16Thresholds, RaisingUpperThresholdClearsOverloadImmediately) {
  Harness h;
  auto s1 = real("10.0.0.11:80");
  s1.u_threshold = 2;
  h.add(rr_service({s1, real("10.0.0.12:80")}));
  for (int c = 1; c <= 5; ++c) h.syn(fmt::format("203.0.113.{}:1000", c), kHttp);
  ASSERT_TRUE(h.dest(tcp(kHttp), "10.0.0.11:80").overloaded);
  s1.u_threshold = 3;
  ASSERT_TRUE(h.engine.edit_dest(tcp(kHttp), s1).ok());
  EXPECT_FALSE(h.dest(tcp(kHttp), "10.0.0.11:80").overloaded);
  EXPECT_EQ(dest_of(h.syn("203.0.113.6:1000", kHttp)), "10.0.0.11:80");
}

// Case 17: clients of one /24 stick to S1 through the template without consulting rr (so
// the next network still gets S2); templates are counted in PersistConn and listed as
// `TCP 06:00  NONE        203.0.113.0:0      192.168.1.100:443  10.0.0.11:443`.
TEST(Case17Persistence, NetmaskTemplateSticksAndSkipsScheduler) {
  Harness h;
  h.add(persistent_443());
  const auto a = h.syn("203.0.113.7:40000", kHttps);
  EXPECT_EQ(dest_of(a), "10.0.0.11:443");
  EXPECT_EQ(a.reason, Reason::kScheduled);
  const auto b = h.syn("203.0.113.99:40001", kHttps);
  EXPECT_EQ(dest_of(b), "10.0.0.11:443");
  EXPECT_EQ(b.reason, Reason::kTemplateHit);
  EXPECT_EQ(dest_of(h.syn("198.51.100.1:40002", kHttps)), "10.0.0.12:443");

  EXPECT_EQ(h.dest(tcp(kHttps), "10.0.0.11:443").persistent, 1U);
  EXPECT_EQ(h.dest(tcp(kHttps), "10.0.0.12:443").persistent, 1U);
  EXPECT_EQ(h.dest(tcp(kHttps), "10.0.0.11:443").active, 2U);  // templates are not conns
  const auto t = h.templates();
  ASSERT_EQ(t.size(), 2U);
  std::vector<std::string> lines{list_line(t[0]), list_line(t[1])};
  EXPECT_EQ(lines[0], "TCP 06:00  NONE        203.0.113.0:0      192.168.1.100:443  10.0.0.11:443");
  EXPECT_EQ(lines[1], "TCP 06:00  NONE        198.51.100.0:0     192.168.1.100:443  10.0.0.12:443");
  EXPECT_EQ(h.engine.service(tcp(kHttps))->stats.conns, 3U);  // templates are not counted
}

// Case 18: connections closed by RST expire after 10 s; the template lives 360 s from the
// last connection created through it, then the next client is scheduled by rr again.
TEST(Case18TemplateExpiry, TemplateExpiresAfterTimeoutOnceItsConnectionsAreGone) {
  Harness h;
  h.add(persistent_443());
  h.syn("203.0.113.7:40000", kHttps);
  h.advance(5s);
  h.syn("203.0.113.99:40001", kHttps);  // re-arms the template: 360 s from now
  h.syn("198.51.100.1:40002", kHttps);
  for (const auto* c : {"203.0.113.7:40000", "203.0.113.99:40001"}) {
    h.in(c, kHttps, kAck);
    EXPECT_EQ(h.in(c, kHttps, kRst).state, ConnState::kClose);
  }
  h.advance(10s);
  EXPECT_FALSE(h.conn("203.0.113.7:40000", kHttps).has_value());
  EXPECT_FALSE(h.conn("203.0.113.99:40001", kHttps).has_value());
  h.advance(349s);  // 359 s after the last connection
  EXPECT_EQ(h.templates().size(), 2U);
  EXPECT_EQ(mmss(h.templates()[0].remaining), "00:01");
  h.advance(1s);
  EXPECT_TRUE(h.templates().empty());
  EXPECT_EQ(h.dest(tcp(kHttps), "10.0.0.11:443").persistent, 0U);
  // rr's pointer is at S2 (the last scheduled pick), so rr now chooses S1 afresh.
  const auto v = h.syn("203.0.113.7:40003", kHttps);
  EXPECT_EQ(v.reason, Reason::kScheduled);
  EXPECT_EQ(dest_of(v), "10.0.0.11:443");
}

// Case 18: an ESTABLISHED connection (900 s) keeps its template alive beyond 360 s.
TEST(Case18TemplateExpiry, EstablishedConnectionKeepsTemplateAlive) {
  Harness h;
  h.add(persistent_443());
  h.syn("203.0.113.7:40000", kHttps);
  h.in("203.0.113.7:40000", kHttps, kAck);
  h.advance(361s);
  ASSERT_EQ(h.templates().size(), 1U);
  EXPECT_EQ(h.templates()[0].n_control, 1U);
  const auto v = h.syn("203.0.113.8:40001", kHttps);
  EXPECT_EQ(v.reason, Reason::kTemplateHit);
  EXPECT_EQ(dest_of(v), "10.0.0.11:443");
  // Everything ends: connections by their state timeouts, then the template.
  for (int step = 0; step < 10 && h.engine.entry_count() > 0; ++step) h.advance(900s);
  EXPECT_EQ(h.engine.entry_count(), 0U);
  EXPECT_EQ(h.dest(tcp(kHttps), "10.0.0.11:443").persistent, 0U);
}

// Case 19: weight 0 does not break persistence (template honoured).
TEST(Case19QuiesceVsTemplate, QuiescedDestKeepsItsTemplate) {
  Harness h;
  h.add(persistent_443());
  h.syn("203.0.113.7:40000", kHttps);
  ASSERT_TRUE(
      h.engine.edit_dest(tcp(kHttps), real("10.0.0.11:443", ForwardMethod::kRoute, 0)).ok());
  const auto v = h.syn("203.0.113.7:40001", kHttps);
  EXPECT_EQ(v.reason, Reason::kTemplateHit);
  EXPECT_EQ(dest_of(v), "10.0.0.11:443");
}

// Case 19: with expire_quiescent_template=1 the template of a weight-0 dest is invalid.
TEST(Case19QuiesceVsTemplate, ExpireQuiescentTemplateMovesClientToS2) {
  Harness h(Sysctls{.expire_quiescent_template = true});
  h.add(persistent_443());
  h.syn("203.0.113.7:40000", kHttps);
  ASSERT_TRUE(
      h.engine.edit_dest(tcp(kHttps), real("10.0.0.11:443", ForwardMethod::kRoute, 0)).ok());
  const auto v = h.syn("203.0.113.7:40001", kHttps);
  EXPECT_EQ(v.reason, Reason::kScheduled);
  EXPECT_EQ(dest_of(v), "10.0.0.12:443");
}

// Case 19: deleting S1 invalidates its template: the client goes to S2; the old template is
// unreachable (ports 65535) until it expires, and the old connection keeps flowing to S1.
TEST(Case19QuiesceVsTemplate, DeletedDestInvalidatesTemplate) {
  Harness h;
  h.add(persistent_443());
  h.syn("203.0.113.7:40000", kHttps);
  ASSERT_TRUE(h.engine.delete_dest(tcp(kHttps), ep("10.0.0.11:443")).ok());
  const auto v = h.syn("203.0.113.7:40001", kHttps);
  EXPECT_EQ(v.reason, Reason::kScheduled);
  EXPECT_EQ(dest_of(v), "10.0.0.12:443");
  std::vector<std::string> lines;
  for (const auto& t : h.templates()) lines.push_back(list_line(t));
  EXPECT_THAT(lines, ::testing::UnorderedElementsAre(
                         "TCP 06:00  NONE        203.0.113.0:65535  192.168.1.100:65535 "
                         "10.0.0.11:65535",
                         "TCP 06:00  NONE        203.0.113.0:0      192.168.1.100:443  "
                         "10.0.0.12:443"));
  EXPECT_EQ(dest_of(h.in("203.0.113.7:40000", kHttps, kAck)), "10.0.0.11:443");
}

// Case 20: a persistent port-0 service sends all ports of a client to one realserver, with
// the packet's destination port.
TEST(Case20PortZeroService, AllPortsOfAClientStickWithTheirOwnPort) {
  Harness h;
  const auto vip0 = fmt::format("{}:0", kVip);
  h.add(VirtualService{.key = tcp(vip0),
                       .scheduler = "rr",
                       .persistent = true,
                       .dests = {real("10.0.0.11:0", ForwardMethod::kRoute)}});
  EXPECT_EQ(dest_of(h.syn("203.0.113.7:40000", fmt::format("{}:22", kVip))), "10.0.0.11:22");
  const auto v = h.syn("203.0.113.7:40001", kHttp);
  EXPECT_EQ(dest_of(v), "10.0.0.11:80");
  EXPECT_EQ(v.reason, Reason::kTemplateHit);
  ASSERT_EQ(h.templates().size(), 1U);
  EXPECT_EQ(list_line(h.templates()[0]),
            "TCP 06:00  NONE        203.0.113.7:0      192.168.1.100:0    10.0.0.11:0");
}

// Case 20: the engine refuses non-persistent port-0 traffic (drop + ICMP unreachable).
TEST(Case20PortZeroService, NonPersistentPortZeroIsNotScheduled) {
  Harness h;
  h.add(rr_service({real("10.0.0.11:0")}, fmt::format("{}:0", kVip)));
  const auto v = h.syn("203.0.113.7:40000", kHttp);
  EXPECT_EQ(v.action, Action::kDropUnreachable);
  EXPECT_EQ(h.engine.entry_count(), 0U);
}

// Case 21: a persistent fwmark service keys its template on (IP, client, mark): listed with
// protocol IP and virtual 0.0.0.7:0; any address and port carrying the mark sticks.
TEST(Case21FwmarkPersistence, TemplateKeyIsTheMark) {
  Harness h;
  h.add(VirtualService{.key = ServiceKey::mark(7),
                       .scheduler = "rr",
                       .persistent = true,
                       .timeout = 60,
                       .dests = {real("10.0.0.41:0", ForwardMethod::kRoute),
                                 real("10.0.0.42:0", ForwardMethod::kRoute)}});
  EXPECT_EQ(dest_of(h.in("203.0.113.7:40000", kHttp, kSyn, Protocol::kTcp, 7)), "10.0.0.41:80");
  const auto v = h.in("203.0.113.7:40001", "192.168.1.101:53", 0, Protocol::kUdp, 7);
  EXPECT_EQ(v.reason, Reason::kTemplateHit);
  EXPECT_EQ(dest_of(v), "10.0.0.41:53");
  ASSERT_EQ(h.templates().size(), 1U);
  EXPECT_EQ(list_line(h.templates()[0]),
            "IP  01:00  NONE        203.0.113.7:0      0.0.0.7:0          10.0.0.41:0");
}

// Case 22: NAT TCP: counters and timers through a full connection.
TEST(Case22NatTcp, CountersAndTimersThroughOneConnection) {
  Harness h;
  h.add(rr_service({real("10.0.0.11:80", ForwardMethod::kMasq)}));
  const auto key = tcp(kHttp);
  const std::string client = "203.0.113.7:40000";
  const std::string rs = "10.0.0.11:80";

  EXPECT_EQ(h.syn(client, kHttp).state, ConnState::kSynRecv);
  EXPECT_EQ(h.dest(key, rs).active, 1U);
  EXPECT_EQ(h.dest(key, rs).inactive, 0U);
  EXPECT_EQ(h.out(rs, client, kSyn | kAck).state, ConnState::kSynRecv);
  EXPECT_EQ(h.in(client, kHttp, kAck).state, ConnState::kEstablished);
  EXPECT_EQ(mmss(h.conn(client, kHttp)->remaining), "15:00");
  EXPECT_EQ(h.in(client, kHttp, kFin | kAck).state, ConnState::kCloseWait);
  EXPECT_EQ(h.dest(key, rs).active, 0U);
  EXPECT_EQ(h.dest(key, rs).inactive, 1U);
  EXPECT_EQ(h.out(rs, client, kFin | kAck).state, ConnState::kTimeWait);
  EXPECT_EQ(h.in(client, kHttp, kAck).state, ConnState::kTimeWait);
  EXPECT_EQ(list_line(*h.conn(client, kHttp)),
            "TCP 02:00  TIME_WAIT   203.0.113.7:40000  192.168.1.100:80   10.0.0.11:80");
  h.advance(119s);
  EXPECT_TRUE(h.conn(client, kHttp).has_value());
  h.advance(1s);
  EXPECT_FALSE(h.conn(client, kHttp).has_value());
  EXPECT_EQ(h.dest(key, rs).active, 0U);
  EXPECT_EQ(h.dest(key, rs).inactive, 0U);
  const auto stats = h.dest(key, rs).stats;
  EXPECT_EQ(stats,
            (Counters{.conns = 1, .inpkts = 4, .outpkts = 2, .inbytes = 240, .outbytes = 120}));
  EXPECT_EQ(h.engine.totals(), stats);
}

// Case 23: DR TCP uses INPUT-ONLY: SYN, ACK, FIN -> FIN_WAIT, removed 120 s later; after
// `--set 0 30 0` a new one is removed after 30 s while ESTABLISHED stays 900 s.
TEST(Case23DrInputOnly, FinWaitUsesTcpfinTimeout) {
  Harness h;
  h.add(rr_service({real("10.0.0.11:80", ForwardMethod::kRoute)}));
  const std::string c1 = "203.0.113.7:40000";
  h.syn(c1, kHttp);
  EXPECT_TRUE(h.conn(c1, kHttp)->no_output);
  h.in(c1, kHttp, kAck);
  EXPECT_EQ(h.in(c1, kHttp, kFin | kAck).state, ConnState::kFinWait);
  EXPECT_EQ(h.dest(tcp(kHttp), "10.0.0.11:80").inactive, 1U);
  h.advance(119s);
  EXPECT_TRUE(h.conn(c1, kHttp).has_value());
  h.advance(1s);
  EXPECT_FALSE(h.conn(c1, kHttp).has_value());

  h.engine.set_timeouts(0s, 30s, 0s);
  const std::string c2 = "203.0.113.8:40000";
  h.syn(c2, kHttp);
  h.in(c2, kHttp, kAck);
  EXPECT_EQ(mmss(h.conn(c2, kHttp)->remaining), "15:00");
  EXPECT_EQ(h.in(c2, kHttp, kFin | kAck).state, ConnState::kFinWait);
  h.advance(29s);
  EXPECT_TRUE(h.conn(c2, kHttp).has_value());
  h.advance(1s);
  EXPECT_FALSE(h.conn(c2, kHttp).has_value());
  EXPECT_EQ(h.dest(tcp(kHttp), "10.0.0.11:80").inactive, 0U);
}

// Case 24: UDP entries count only as inactive and live 300 s after their last packet (60 s
// after `--set 0 0 60`).
TEST(Case24Udp, InactiveOnlyAndIdleTimeout) {
  Harness h;
  const auto dns = fmt::format("{}:53", kVip);
  h.add(VirtualService{.key = udp(dns), .scheduler = "rr", .dests = {real("10.0.0.21:53")}});
  EXPECT_EQ(h.in("203.0.113.7:5353", dns, 0, Protocol::kUdp).state, ConnState::kUdp);
  h.in("203.0.113.8:5353", dns, 0, Protocol::kUdp);
  EXPECT_EQ(h.dest(udp(dns), "10.0.0.21:53").active, 0U);
  EXPECT_EQ(h.dest(udp(dns), "10.0.0.21:53").inactive, 2U);
  h.advance(100s);
  h.in("203.0.113.7:5353", dns, 0, Protocol::kUdp);              // refreshes only this entry
  h.out("10.0.0.21:53", "203.0.113.8:5353", 0, Protocol::kUdp);  // replies refresh too
  h.advance(299s);
  EXPECT_TRUE(h.conn("203.0.113.7:5353", dns).has_value());
  h.advance(1s);
  EXPECT_FALSE(h.conn("203.0.113.7:5353", dns).has_value());
  EXPECT_EQ(h.dest(udp(dns), "10.0.0.21:53").inactive, 0U);

  h.engine.set_timeouts(0s, 0s, 60s);
  h.in("203.0.113.9:5353", dns, 0, Protocol::kUdp);
  EXPECT_EQ(list_line(*h.conn("203.0.113.9:5353", dns)),
            "UDP 01:00  UDP         203.0.113.9:5353   192.168.1.100:53   10.0.0.21:53");
  h.advance(60s);
  EXPECT_EQ(h.engine.entry_count(), 0U);
}

// Case 25: a TCP ACK without an entry is not scheduled: no entry, Conns unchanged.
TEST(Case25TcpWithoutSyn, AckWithoutEntryIsPassedNotScheduled) {
  Harness h;
  h.add(rr_service({real("10.0.0.11:80")}));
  const auto v = h.in("203.0.113.7:40000", kHttp, kAck);
  EXPECT_EQ(v.action, Action::kPass);
  EXPECT_EQ(v.reason, Reason::kNotSyn);
  EXPECT_EQ(h.engine.entry_count(), 0U);
  EXPECT_EQ(h.engine.service(tcp(kHttp))->stats.conns, 0U);
  EXPECT_EQ(h.in("203.0.113.7:40000", kHttp, kRst | kAck).reason, Reason::kRst);
}

// Case 25: RST on ESTABLISHED -> CLOSE (inactive), removed after 10 s.
TEST(Case25TcpWithoutSyn, RstOnEstablishedClosesForTenSeconds) {
  Harness h;
  h.add(rr_service({real("10.0.0.11:80")}));
  h.syn("203.0.113.7:40000", kHttp);
  h.in("203.0.113.7:40000", kHttp, kAck);
  EXPECT_EQ(h.in("203.0.113.7:40000", kHttp, kRst).state, ConnState::kClose);
  EXPECT_EQ(h.dest(tcp(kHttp), "10.0.0.11:80").inactive, 1U);
  EXPECT_EQ(h.dest(tcp(kHttp), "10.0.0.11:80").active, 0U);
  h.advance(9s);
  EXPECT_TRUE(h.conn("203.0.113.7:40000", kHttp).has_value());
  h.advance(1s);
  EXPECT_FALSE(h.conn("203.0.113.7:40000", kHttp).has_value());
}

// Case 26: 100 new connections per 2 s -> CPS 12, 22, 29, 34, 38 for the service, its dest
// and the totals; -Z then shows 0 for all counters and rates.
TEST(Case26Estimator, CpsConvergesAndZeroClearsEverything) {
  Harness h;
  h.add(rr_service({real("10.0.0.11:80")}));
  std::vector<std::uint64_t> svc_cps;
  std::vector<std::uint64_t> dest_cps;
  std::vector<std::uint64_t> total_cps;
  int client = 0;
  for (int tick = 0; tick < 5; ++tick) {
    for (int c = 0; c < 100; ++c, ++client) {
      h.syn(fmt::format("10.1.{}.{}:1000", client / 250, client % 250 + 1), kHttp);
    }
    h.advance(Engine::kEstimatorPeriod);
    h.engine.tick_estimators();
    svc_cps.push_back(h.engine.service(tcp(kHttp))->rates.cps);
    dest_cps.push_back(h.dest(tcp(kHttp), "10.0.0.11:80").rates.cps);
    total_cps.push_back(h.engine.total_rates().cps);
  }
  const std::vector<std::uint64_t> want{12, 22, 29, 34, 38};
  EXPECT_EQ(svc_cps, want);
  EXPECT_EQ(dest_cps, want);
  EXPECT_EQ(total_cps, want);
  EXPECT_EQ(h.engine.service(tcp(kHttp))->stats.conns, 500U);

  h.engine.zero_all();
  const auto svc = *h.engine.service(tcp(kHttp));
  EXPECT_EQ(svc.stats, Counters{});
  EXPECT_EQ(svc.rates, Rates{});
  EXPECT_EQ(svc.dests[0].stats, Counters{});
  EXPECT_EQ(svc.dests[0].rates, Rates{});
  EXPECT_EQ(h.engine.totals(), Counters{});
  EXPECT_EQ(h.engine.total_rates(), Rates{});
  EXPECT_EQ(svc.dests[0].active, 500U);  // -Z clears statistics, not live connections
}

}  // namespace
}  // namespace lvs::conn::testing
