// Direct routing (-g) in the XDP program, packet by packet through bpf_prog_test_run_opts: input
// frame + map state -> expected verdict and output frame. A private network namespace holds one
// veth link (dr0, 198.51.100.1/24 and 2001:db8:d::1/64) with permanent neighbour entries for the
// realservers, so the route lookup succeeds and the frames come out as the director sends them:
// the IP packet byte for byte as it came in, only the MACs changed. Root only; skipped otherwise.
#include <linux/bpf.h>
#include <net/if.h>
#include <sched.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "dp/xdp/bpf/tcp_state.h"
#include "dp/xdp/loader.h"
#include "integration/dp/xdp/frame.h"
#include "sync/codec.h"

namespace lvs::dp::xdp::testing {
namespace {

const std::uint32_t kVip = v4("192.0.2.1");
const std::uint32_t kClient = v4("203.0.113.5");
const Addr6 kVip6 = v6("2001:db8:f::1");
const Addr6 kClient6 = v6("2001:db8:c::5");
// The director's link and the realservers' MACs (permanent neighbour entries).
const Bytes kLinkMac = {0x02, 0, 0, 0, 0x0d, 0x01};
const Bytes kRs1Mac = {0x02, 0, 0, 0, 0x0a, 0x10};
const Bytes kRs2Mac = {0x02, 0, 0, 0, 0x0a, 0x11};

model::RealServer real(const char* addr, model::ForwardMethod m = model::ForwardMethod::kRoute) {
  model::RealServer r;
  r.addr = core::Endpoint::parse(addr).value();
  r.forward = m;
  r.weight = 1;
  r.last_weight = 1;
  return r;
}

model::VirtualService service(model::Protocol proto, const char* vip,
                              std::vector<model::RealServer> dests) {
  model::VirtualService vs;
  vs.key = model::ServiceKey::address(proto, core::Endpoint::parse(vip).value());
  vs.scheduler = "rr";
  vs.dests = std::move(dests);
  return vs;
}

// TCP 192.0.2.1:80 -> rs1, rs2 (-g; the 8080 given is overridden by the service port); UDP
// 192.0.2.1:53 -> rs1; TCP [2001:db8:f::1]:80 -> [2001:db8:d::10] (-g).
model::ServiceTable table() {
  return model::ServiceTable{
      .services = {
          service(model::Protocol::kTcp, "192.0.2.1:80",
                  {real("198.51.100.10:8080"), real("198.51.100.11:8080")}),
          service(model::Protocol::kUdp, "192.0.2.1:53", {real("198.51.100.10:53")}),
          service(model::Protocol::kTcp, "[2001:db8:f::1]:80", {real("[2001:db8:d::10]:80")}),
      }};
}

bool sh(const std::string& cmd) {
  const std::string quiet = cmd + " >/dev/null 2>&1";
  return std::system(quiet.c_str()) == 0;  // NOLINT(cert-env33-c): the test's own namespace
}

class XdpRoute : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (geteuid() != 0) return;
    // A namespace of our own: nothing of the host is touched, and it goes with the process.
    ASSERT_EQ(unshare(CLONE_NEWNET), 0) << "unshare(CLONE_NEWNET) failed";
    if (!sh("ip -V")) return;
    const char* setup[] = {
        "ip link set lo up",
        "ip link add dr0 address 02:00:00:00:0d:01 type veth peer name dr1",
        "ip link set dr0 up",
        "ip link set dr1 up",
        "ip addr add 198.51.100.1/24 dev dr0",
        "ip addr add 2001:db8:d::1/64 dev dr0 nodad",
        "ip neigh replace 198.51.100.10 lladdr 02:00:00:00:0a:10 dev dr0 nud permanent",
        "ip -6 neigh replace 2001:db8:d::10 lladdr 02:00:00:00:0a:10 dev dr0 nud permanent",
        "sysctl -qw net.ipv4.ip_forward=1",
        "sysctl -qw net.ipv6.conf.all.forwarding=1",
    };
    for (const char* c : setup) ASSERT_TRUE(sh(c)) << c;
    ready_ = true;
  }

  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root (CAP_BPF, CAP_NET_ADMIN): XDP test runs";
    if (!ready_) GTEST_SKIP() << "needs ip (iproute2) and sysctl";
    ifindex_ = if_nametoindex("dr0");
    ASSERT_NE(ifindex_, 0U);
    auto e = Engine::load(Engine::LoadOptions{.max_conns = Engine::kMinConns});  // quick to load
    ASSERT_TRUE(e.ok()) << e.error().message;
    engine_ = std::move(*e);
    auto r = engine_->apply(table());
    ASSERT_TRUE(r.ok()) << r.error().message;
  }

  // Runs `in` as received on dr0 (the one-armed director: realservers on the same link).
  TestRun run(const Bytes& in) {
    auto r = engine_->test_run(in, ifindex_);
    EXPECT_TRUE(r.ok()) << r.error().message;
    return r.ok() ? *r : TestRun{};
  }

  // What the director must send: `in` with the realserver's MAC as destination and the link's
  // as source, nothing else changed.
  static Bytes to_mac(const Bytes& in, const Bytes& mac) {
    Bytes out = in;
    std::copy(mac.begin(), mac.end(), out.begin());
    std::copy(kLinkMac.begin(), kLinkMac.end(), out.begin() + 6);
    return out;
  }

  static Packet tcp(std::uint8_t flags, std::uint16_t sport = 40000) {
    return Packet{
        .proto = 6, .saddr = kClient, .daddr = kVip, .sport = sport, .dport = 80, .flags = flags};
  }

  // The entries of the flow from client port `sport`.
  std::vector<lvs_conn> entries(std::uint16_t sport) const {
    std::vector<lvs_conn> out;
    for (const auto& [k, v] : engine_->raw_connections()) {
      if (ntohs(k.sport) == sport || ntohs(k.dport) == sport) out.push_back(v);
    }
    return out;
  }

  static inline bool ready_ = false;
  unsigned int ifindex_ = 0;
  std::unique_ptr<Engine> engine_;
};

// The SYN goes back out of the link it came in on (XDP_TX) to rs1's MAC, the IP packet
// untouched (VIP destination, same TTL and checksums); the flow has a forward entry only.
TEST_F(XdpRoute, ANewFlowIsSentToTheRealserversMacWithTheIpPacketUnchanged) {
  const Bytes in = build(tcp(kSyn));
  const TestRun r = run(in);
  EXPECT_EQ(r.verdict, XDP_TX);
  EXPECT_EQ(r.frame, to_mac(in, kRs1Mac));
  const auto e = entries(40000);
  ASSERT_EQ(e.size(), 1U);  // no reply entry: replies bypass the director
  EXPECT_NE(e[0].flags & LVS_XDP_CONN_NO_OUTPUT, 0U);
  EXPECT_EQ(e[0].method, LVS_XDP_ROUTE);
  EXPECT_EQ(e[0].state, LVS_TCP_S_SR);
  const auto conns = engine_->connections();
  ASSERT_EQ(conns.size(), 1U);
  EXPECT_EQ(conns[0].client.to_string(), "203.0.113.5:40000");
  EXPECT_EQ(conns[0].virt.to_string(), "192.0.2.1:80");
  EXPECT_EQ(conns[0].dest.to_string(), "198.51.100.10:80");  // the service port (spec §1.2)
  EXPECT_EQ(conns[0].state, ConnState::kSynRecv);
}

// The DR trace of spec §3.1 from the client's packets alone (the INPUT-ONLY table), with the
// active/inactive counts and the "in"-only counters that follow.
TEST_F(XdpRoute, TcpStateFollowsTheInputOnlyTable) {
  struct Step {
    const char* what;
    std::uint8_t flags;
    std::uint32_t state;
    ConnState listed;
    std::uint32_t active;
  };
  const Step steps[] = {
      {"SYN", kSyn, LVS_TCP_S_SR, ConnState::kSynRecv, 1},
      {"ACK", kAck, LVS_TCP_S_ES, ConnState::kEstablished, 1},
      {"data", kAck, LVS_TCP_S_ES, ConnState::kEstablished, 1},
      {"FIN", kFin | kAck, LVS_TCP_S_FW, ConnState::kFinWait, 0},  // INPUT would say CLOSE_WAIT
      {"last ACK", kAck, LVS_TCP_S_FW, ConnState::kFinWait, 0},
      {"RST", kRst, LVS_TCP_S_CL, ConnState::kClose, 0},
      {"SYN again", kSyn, LVS_TCP_S_SR, ConnState::kSynRecv, 1},
  };
  for (const Step& s : steps) {
    const Bytes in = build(tcp(s.flags));
    const TestRun r = run(in);
    EXPECT_EQ(r.verdict, XDP_TX) << s.what;
    EXPECT_EQ(r.frame, to_mac(in, kRs1Mac)) << s.what;
    const auto e = entries(40000);
    ASSERT_EQ(e.size(), 1U) << s.what;
    EXPECT_EQ(e[0].state, s.state) << s.what;
    const auto conns = engine_->connections();
    ASSERT_EQ(conns.size(), 1U) << s.what;
    EXPECT_EQ(conns[0].state, s.listed) << s.what;
    const Stats st = engine_->stats();
    EXPECT_EQ(st.services[0].dests[0].active, s.active) << s.what;
    EXPECT_EQ(st.services[0].dests[0].inactive, 1U - s.active) << s.what;
  }
  const Stats st = engine_->stats();
  EXPECT_EQ(st.services[0].counters.conns, 1U);
  EXPECT_EQ(st.services[0].counters.inpkts, 7U);
  EXPECT_EQ(st.services[0].counters.outpkts, 0U);  // replies never pass the director
  EXPECT_EQ(st.services[0].counters.inbytes, 7U * 40U);
  EXPECT_EQ(st.services[0].dests[0].counters.inpkts, 7U);
}

// rr alternates; UDP flows are routed too (state UDP, inactive); IPv6 uses the IPv6 route and
// neighbour tables.
TEST_F(XdpRoute, RoundRobinUdpAndIpv6AreRoutedToTheirRealserversMac) {
  ASSERT_TRUE(sh("ip neigh replace 198.51.100.11 lladdr 02:00:00:00:0a:11 dev dr0 nud permanent"));
  const Bytes a = build(tcp(kSyn, 41000));
  const Bytes b = build(tcp(kSyn, 41001));
  EXPECT_EQ(run(a).frame, to_mac(a, kRs1Mac));
  EXPECT_EQ(run(b).frame, to_mac(b, kRs2Mac));
  const Bytes q = build(Packet{
      .proto = 17, .saddr = kClient, .daddr = kVip, .sport = 5000, .dport = 53, .payload = "q"});
  const TestRun u = run(q);
  EXPECT_EQ(u.verdict, XDP_TX);
  EXPECT_EQ(u.frame, to_mac(q, kRs1Mac));
  ASSERT_EQ(entries(5000).size(), 1U);
  EXPECT_EQ(entries(5000)[0].state, LVS_TCP_S_UDP);
  const Bytes s6 = build6(Packet6{
      .proto = 6, .saddr = kClient6, .daddr = kVip6, .sport = 42000, .dport = 80, .flags = kSyn});
  const TestRun r6 = run(s6);
  EXPECT_EQ(r6.verdict, XDP_TX);
  EXPECT_EQ(r6.frame, to_mac(s6, kRs1Mac));  // hop limit and addresses unchanged
  ASSERT_EQ(entries(42000).size(), 1U);
  const Stats st = engine_->stats();
  EXPECT_EQ(st.services[1].dests[0].inactive, 1U);
  EXPECT_EQ(st.services[2].dests[0].active, 1U);
}

// Received on another interface (lo here), the frame is redirected to the realserver's link.
TEST_F(XdpRoute, AFrameFromAnotherLinkIsRedirected) {
  const Bytes in = build(tcp(kSyn));
  auto r = engine_->test_run(in, if_nametoindex("lo"));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->verdict, XDP_REDIRECT);
  EXPECT_EQ(r->frame, to_mac(in, kRs1Mac));
}

// An unknown MAC drops the frame (passing it would deliver it to a local VIP) and counts it;
// resolve_neighbours() then asks the kernel once; when the neighbour is known, the client's
// retransmitted SYN goes through on the flow already made.
TEST_F(XdpRoute, AnUnresolvedNeighbourDropsAndIsResolvedForTheRetransmission) {
  sh("ip neigh del 198.51.100.11 dev dr0");  // an earlier test may have made it known
  run(build(tcp(kSyn, 43000)));              // rs1
  const Bytes syn = build(tcp(kSyn, 43001));
  const TestRun r = run(syn);  // rs2: no MAC
  EXPECT_EQ(r.verdict, XDP_DROP);
  EXPECT_EQ(engine_->unresolved(), 1U);
  EXPECT_EQ(engine_->resolve_neighbours(), 3U);  // every -g realserver, IPv6 too
  EXPECT_EQ(engine_->resolve_neighbours(), 0U);  // nothing new dropped since
  ASSERT_TRUE(sh("ip neigh replace 198.51.100.11 lladdr 02:00:00:00:0a:11 dev dr0 nud permanent"));
  const TestRun again = run(syn);
  EXPECT_EQ(again.verdict, XDP_TX);
  EXPECT_EQ(again.frame, to_mac(syn, kRs2Mac));
  EXPECT_EQ(engine_->unresolved(), 1U);
}

// No route to the realserver: dropped and counted apart; nothing passes to the kernel.
TEST_F(XdpRoute, NoRouteToTheRealserverDrops) {
  model::ServiceTable t = table();
  t.services[0].dests = {real("192.0.2.200:80")};  // no route in this namespace
  ASSERT_TRUE(engine_->apply(t).ok());
  EXPECT_EQ(run(build(tcp(kSyn))).verdict, XDP_DROP);
  EXPECT_EQ(engine_->unrouted(), 1U);
  EXPECT_EQ(engine_->passed(), 0U);
}

// A service mixing -m and -g: each flow takes its realserver's method.
TEST_F(XdpRoute, MixedServiceRoutesOrMasqueradesByTheRealserversMethod) {
  model::ServiceTable t = table();
  t.services[0].dests = {real("198.51.100.10:80"),
                         real("198.51.100.12:8080", model::ForwardMethod::kMasq)};
  ASSERT_TRUE(sh("ip neigh replace 198.51.100.12 lladdr 02:00:00:00:0a:12 dev dr0 nud permanent"));
  ASSERT_TRUE(engine_->apply(t).ok());
  const Bytes a = build(tcp(kSyn, 44000));
  EXPECT_EQ(run(a).frame, to_mac(a, kRs1Mac));
  const TestRun b = run(build(tcp(kSyn, 44001)));
  EXPECT_EQ(b.verdict, XDP_TX);
  const Seen s = read(b.frame);
  EXPECT_EQ(v4_text(s.daddr), "198.51.100.12");  // DNAT
  EXPECT_EQ(s.dport, 8080);
  EXPECT_EQ(s.ttl, 63);
  EXPECT_TRUE(s.ip_ok);
  EXPECT_TRUE(s.l4_ok);
  EXPECT_EQ(entries(44000).size(), 1U);
  EXPECT_EQ(entries(44001).size(), 2U);  // forward and reply
}

// Persistence: the template keeps the method, so a client's second connection is routed to the
// same realserver without a reply entry.
TEST_F(XdpRoute, PersistenceKeepsAClientOnOneRealserverByDirectRouting) {
  ASSERT_TRUE(sh("ip neigh replace 198.51.100.11 lladdr 02:00:00:00:0a:11 dev dr0 nud permanent"));
  model::ServiceTable t = table();
  t.services[0].persistent = true;
  t.services[0].timeout = 300;
  t.services[0].netmask = 0xFFFFFFFFU;
  ASSERT_TRUE(engine_->apply(t).ok());
  for (std::uint16_t port = 45000; port < 45004; ++port) {
    const Bytes in = build(tcp(kSyn, port));
    const TestRun r = run(in);
    EXPECT_EQ(r.frame, to_mac(in, kRs1Mac)) << port;
    ASSERT_EQ(entries(port).size(), 1U) << port;
    EXPECT_EQ(entries(port)[0].method, LVS_XDP_ROUTE) << port;
  }
  const auto tpl = engine_->raw_templates();
  ASSERT_EQ(tpl.size(), 1U);
  EXPECT_EQ(tpl[0].second.method, LVS_XDP_ROUTE);
}

// Editing a realserver from -g to -m: its live flow stays routed, its template goes, so the
// client's next connection is masqueraded. (A packet of the old flow before that connection
// would re-make the template with the old method: keep_template copies the flow's.)
TEST_F(XdpRoute, AMethodChangeEndsTheTemplatesButNotTheFlows) {
  model::ServiceTable t = table();
  t.services[0].persistent = true;
  t.services[0].timeout = 300;
  t.services[0].netmask = 0xFFFFFFFFU;
  t.services[0].dests = {real("198.51.100.10:80")};
  ASSERT_TRUE(engine_->apply(t).ok());
  const Bytes first = build(tcp(kSyn, 46000));
  EXPECT_EQ(run(first).frame, to_mac(first, kRs1Mac));
  t.services[0].dests[0].forward = model::ForwardMethod::kMasq;
  ASSERT_TRUE(engine_->apply(t).ok());
  EXPECT_TRUE(engine_->raw_templates().empty());
  const TestRun next = run(build(tcp(kSyn, 46001)));
  EXPECT_EQ(next.verdict, XDP_TX);
  EXPECT_EQ(read(next.frame).ttl, 63);  // masqueraded: forwarded with the TTL decremented
  EXPECT_EQ(entries(46001).size(), 2U);
  const Bytes ack = build(tcp(kAck, 46000));
  EXPECT_EQ(run(ack).frame, to_mac(ack, kRs1Mac));  // the live flow: still routed
}

// ICMP errors the client sends about a routed flow go on to its realserver unchanged.
TEST_F(XdpRoute, AnIcmpErrorAboutARoutedFlowGoesToItsRealserver) {
  run(build(tcp(kSyn)));
  // The client quotes a segment it got from the VIP (the realserver's reply).
  const Bytes icmp = build_icmp_error(
      kClient, kVip, 3, 4,
      Packet{.proto = 6, .saddr = kVip, .daddr = kClient, .sport = 80, .dport = 40000});
  const TestRun r = run(icmp);
  EXPECT_EQ(r.verdict, XDP_TX);
  EXPECT_EQ(r.frame, to_mac(icmp, kRs1Mac));
}

// Truncated and malformed frames to a -g service pass unchanged and open nothing.
TEST_F(XdpRoute, MalformedAndTruncatedFramesPassUnchanged) {
  const Bytes syn = build(tcp(kSyn));
  std::vector<std::pair<const char*, Bytes>> cases;
  cases.emplace_back("TCP header cut", Bytes(syn.begin(), syn.begin() + 14 + 20 + 10));
  cases.emplace_back("short IP header", Bytes(syn.begin(), syn.begin() + 14 + 12));
  Bytes options = syn;
  options.at(kEth) = 0x46;
  cases.emplace_back("IP options", options);
  Bytes longer = syn;
  put16(longer, kEth + 2, 200);
  cases.emplace_back("total length beyond the frame", longer);
  const Bytes s6 = build6(Packet6{
      .proto = 6, .saddr = kClient6, .daddr = kVip6, .sport = 42000, .dport = 80, .flags = kSyn});
  cases.emplace_back("IPv6 TCP header cut", Bytes(s6.begin(), s6.begin() + 14 + 40 + 10));
  for (const auto& [what, frame] : cases) {
    const TestRun r = run(frame);
    EXPECT_EQ(r.verdict, XDP_PASS) << what;
    EXPECT_EQ(r.frame, frame) << what;
  }
  EXPECT_TRUE(engine_->raw_connections().empty());
}

// Connection sync (src/sync) on a backup: a synced direct-routing flow gets a forward entry only,
// routed, matched to the -g realserver by address (the flow carries the service port, not the
// 8080 given with -r); the flow's next segment goes to that realserver's MAC unchanged.
TEST_F(XdpRoute, ASyncedFlowIsRoutedWithoutAReplyEntry) {
  const sync::Entry e{.kind = sync::EntryKind::kConnection,
                      .protocol = 6,
                      .state = LVS_TCP_S_ES,
                      .client = core::Endpoint::parse("203.0.113.5:47000").value(),
                      .vip = core::Endpoint::parse("192.0.2.1:80").value(),
                      .dest = core::Endpoint::parse("198.51.100.10:80").value(),
                      .timeout = 900};
  const auto now =
      static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                     std::chrono::steady_clock::now().time_since_epoch())
                                     .count());
  auto r = engine_->sync_import(e, now);
  ASSERT_TRUE(r.ok()) << r.error().message;
  const auto got = entries(47000);
  ASSERT_EQ(got.size(), 1U);  // no reply entry
  EXPECT_NE(got[0].flags & LVS_XDP_CONN_NO_OUTPUT, 0U);
  EXPECT_EQ(got[0].method, LVS_XDP_ROUTE);
  const Bytes in = build(tcp(kAck, 47000));
  const TestRun t = run(in);
  EXPECT_EQ(t.verdict, XDP_TX);
  EXPECT_EQ(t.frame, to_mac(in, kRs1Mac));
  EXPECT_EQ(entries(47000).size(), 1U);  // not re-picked: the synced flow was used
}

}  // namespace
}  // namespace lvs::dp::xdp::testing
