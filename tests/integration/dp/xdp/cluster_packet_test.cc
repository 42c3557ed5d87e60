// Cluster mode (lvsd --cluster-seed; Engine::LoadOptions::cluster) in the XDP program: a TCP
// segment other than a SYN of a flow this director has no entry for (ECMP moved the flow here,
// a director was lost). Two engines play two directors: `a` saw the client's SYN, `b` sees the
// flow only from mid-stream on. A private network namespace holds one veth link (cl0,
// 198.51.100.1/24) with permanent neighbour entries for the realservers, as in
// route_packet_test.cc, so routed frames come out with only their MACs changed. Root only.
#include <linux/bpf.h>
#include <net/if.h>
#include <sched.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "dp/xdp/bpf/tcp_state.h"
#include "dp/xdp/loader.h"
#include "integration/dp/xdp/frame.h"

namespace lvs::dp::xdp::testing {
namespace {

const std::uint32_t kVip = v4("192.0.2.1");
const std::uint32_t kClient = v4("203.0.113.5");
constexpr std::uint32_t kSeed = 7;
const Bytes kLinkMac = {0x02, 0, 0, 0, 0x0c, 0x01};
const Bytes kRs1Mac = {0x02, 0, 0, 0, 0x0a, 0x10};
const Bytes kRs2Mac = {0x02, 0, 0, 0, 0x0a, 0x11};
const Bytes kRs3Mac = {0x02, 0, 0, 0, 0x0a, 0x12};
constexpr std::uint8_t kPsh = 0x08;

// The services, by port: 80 mh with the cluster seed over two -g realservers; 81 rr over one
// -g realserver (no cluster-wide choice); 82 mh with the cluster seed over one -m realserver;
// 83 mh with the cluster seed over one -i (IPIP) realserver. IPv6: [2001:db8:f::1]:80, mh with
// the cluster seed over one -g realserver.
constexpr std::uint16_t kMhRoute = 80;
constexpr std::uint16_t kRrRoute = 81;
constexpr std::uint16_t kMhMasq = 82;
constexpr std::uint16_t kMhTunnel = 83;
const Addr6 kVip6 = v6("2001:db8:f::1");
const Addr6 kClient6 = v6("2001:db8:c::5");

model::RealServer real(const char* addr, model::ForwardMethod m = model::ForwardMethod::kRoute) {
  model::RealServer r;
  r.addr = core::Endpoint::parse(addr).value();
  r.forward = m;
  r.weight = 1;
  r.last_weight = 1;
  return r;
}

model::VirtualService service(std::uint16_t port, const char* scheduler,
                              std::vector<model::RealServer> dests,
                              const std::string& vip_addr = "192.0.2.1") {
  model::VirtualService vs;
  const std::string vip = vip_addr + ":" + std::to_string(port);
  vs.key = model::ServiceKey::address(model::Protocol::kTcp, core::Endpoint::parse(vip).value());
  vs.scheduler = scheduler;
  vs.dests = std::move(dests);
  // As the Director stamps it on what it gives the data plane (Director::for_data_plane).
  if (vs.scheduler == "mh") vs.cluster_seed = kSeed;
  return vs;
}

// `reversed`: the realservers listed in the other order, as another director's configuration
// may list them; the cluster seed makes the choice independent of the order.
model::ServiceTable table(bool reversed = false) {
  std::vector<model::RealServer> two = {real("198.51.100.10:80"), real("198.51.100.11:80")};
  if (reversed) std::swap(two[0], two[1]);
  return model::ServiceTable{
      .services = {
          service(kMhRoute, "mh", two),
          service(kRrRoute, "rr", {real("198.51.100.10:80")}),
          service(kMhMasq, "mh", {real("198.51.100.12:8080", model::ForwardMethod::kMasq)}),
          service(kMhTunnel, "mh", {real("198.51.100.10:83", model::ForwardMethod::kTunnel)}),
          service(kMhRoute, "mh", {real("[2001:db8:d::10]:80")}, "[2001:db8:f::1]"),
      }};
}

bool sh(const std::string& cmd) {
  const std::string quiet = cmd + " >/dev/null 2>&1";
  return std::system(quiet.c_str()) == 0;  // NOLINT(cert-env33-c): the test's own namespace
}

Packet tcp(std::uint16_t dport, std::uint8_t flags, std::uint16_t sport = 40000) {
  return Packet{
      .proto = 6, .saddr = kClient, .daddr = kVip, .sport = sport, .dport = dport, .flags = flags};
}

class XdpCluster : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (geteuid() != 0) return;
    ASSERT_EQ(unshare(CLONE_NEWNET), 0) << "unshare(CLONE_NEWNET) failed";
    if (!sh("ip -V")) return;
    const char* setup[] = {
        "ip link set lo up",
        "ip link add cl0 address 02:00:00:00:0c:01 type veth peer name cl1",
        "ip link set cl0 up",
        "ip link set cl1 up",
        "ip addr add 198.51.100.1/24 dev cl0",
        "ip addr add 2001:db8:d::1/64 dev cl0 nodad",
        "ip -6 neigh replace 2001:db8:d::10 lladdr 02:00:00:00:0a:10 dev cl0 nud permanent",
        "sysctl -qw net.ipv6.conf.all.forwarding=1",
        "ip neigh replace 198.51.100.10 lladdr 02:00:00:00:0a:10 dev cl0 nud permanent",
        "ip neigh replace 198.51.100.11 lladdr 02:00:00:00:0a:11 dev cl0 nud permanent",
        "ip neigh replace 198.51.100.12 lladdr 02:00:00:00:0a:12 dev cl0 nud permanent",
        "sysctl -qw net.ipv4.ip_forward=1",
    };
    for (const char* c : setup) ASSERT_TRUE(sh(c)) << c;
    ready_ = true;
  }

  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root (CAP_BPF, CAP_NET_ADMIN): XDP test runs";
    if (!ready_) GTEST_SKIP() << "needs ip (iproute2) and sysctl";
    ifindex_ = if_nametoindex("cl0");
    ASSERT_NE(ifindex_, 0U);
    a_ = load(true, false);
    b_ = load(true, true);
  }

  static std::unique_ptr<Engine> load(bool cluster, bool reversed) {
    auto e = Engine::load(Engine::LoadOptions{.max_conns = Engine::kMinConns, .cluster = cluster});
    EXPECT_TRUE(e.ok()) << e.error().message;
    if (!e.ok()) return nullptr;
    auto r = (*e)->apply(table(reversed));
    EXPECT_TRUE(r.ok()) << r.error().message;
    return std::move(*e);
  }

  // Runs `in` through `e` as received on cl0 (the one-armed director).
  TestRun run(const Engine& e, const Bytes& in) const {
    auto r = e.test_run(in, ifindex_);
    EXPECT_TRUE(r.ok()) << r.error().message;
    return r.ok() ? *r : TestRun{};
  }

  // `in` as a director sends it to the realserver of MAC `mac` by direct routing.
  static Bytes to_mac(const Bytes& in, const Bytes& mac) {
    Bytes out = in;
    std::copy(mac.begin(), mac.end(), out.begin());
    std::copy(kLinkMac.begin(), kLinkMac.end(), out.begin() + 6);
    return out;
  }

  // The forward entry of the flow from client port `sport` to `dport` in `e`, if any.
  static std::optional<lvs_conn> entry(const Engine& e, std::uint16_t dport,
                                       std::uint16_t sport = 40000) {
    for (const auto& [k, v] : e.raw_connections()) {
      if (ntohs(k.sport) == sport && ntohs(k.dport) == dport) return v;
    }
    return std::nullopt;
  }

  static inline bool ready_ = false;
  unsigned int ifindex_ = 0;
  std::unique_ptr<Engine> a_;  // saw the flow's SYN
  std::unique_ptr<Engine> b_;  // the flow reaches it mid-stream
};

// What director b does with the first segment it sees of a flow it has no entry for, by the
// service's scheduler and the realserver's method.
TEST_F(XdpCluster, AMidStreamSegmentOfAnUnknownFlowIsTakenOverOrDropped) {
  struct Row {
    const char* what;
    std::uint16_t dport;
    std::uint8_t flags;
    std::uint32_t verdict;
    std::optional<std::uint8_t> state;  // the entry made, if any
    std::uint64_t dropped;              // midstream_dropped() after the row
  };
  const Row rows[] = {
      {"ACK, mh cluster, -g: scheduled, ESTABLISHED", kMhRoute, kAck, XDP_TX, LVS_TCP_S_ES, 0},
      {"PSH|ACK (data), mh cluster, -g", kMhRoute, kPsh | kAck, XDP_TX, LVS_TCP_S_ES, 0},
      {"FIN|ACK, mh cluster, -g: scheduled, CLOSE (input-only table)", kMhRoute, kFin | kAck,
       XDP_TX, LVS_TCP_S_CL, 0},
      {"RST, mh cluster, -g: not scheduled (as sloppy_tcp)", kMhRoute, kRst | kAck, XDP_DROP,
       std::nullopt, 1},
      {"ACK, rr, -g: no cluster-wide choice", kRrRoute, kAck, XDP_DROP, std::nullopt, 1},
      {"ACK, mh cluster, -m: the return path is unknown", kMhMasq, kAck, XDP_DROP, std::nullopt, 1},
      {"SYN, rr, -g: opens a flow as always", kRrRoute, kSyn, XDP_TX, LVS_TCP_S_SR, 0},
  };
  std::uint16_t sport = 41000;
  std::uint64_t dropped = 0;
  for (const Row& r : rows) {
    ++sport;
    const Bytes syn = build(tcp(r.dport, kSyn, sport));
    const Bytes seg = build(tcp(r.dport, r.flags, sport));
    const TestRun on_a = run(*a_, syn);  // where the flow started
    const TestRun on_b = run(*b_, seg);
    EXPECT_EQ(on_b.verdict, r.verdict) << r.what;
    dropped += r.dropped;
    EXPECT_EQ(b_->midstream_dropped(), dropped) << r.what;
    const auto e = entry(*b_, r.dport, sport);
    ASSERT_EQ(e.has_value(), r.state.has_value()) << r.what;
    if (!e) {
      EXPECT_EQ(on_b.frame, seg) << r.what;  // dropped as received
      continue;
    }
    EXPECT_EQ(e->state, *r.state) << r.what;
    EXPECT_EQ(e->method, LVS_XDP_ROUTE) << r.what;
    EXPECT_NE(e->flags & LVS_XDP_CONN_NO_OUTPUT, 0U) << r.what;
    // The same realserver as the director that saw the SYN: the same destination MAC.
    EXPECT_EQ(on_b.frame, to_mac(seg, Bytes(on_a.frame.begin(), on_a.frame.begin() + 6))) << r.what;
  }
  EXPECT_TRUE(b_->raw_templates().empty());
  EXPECT_EQ(b_->refused(), 0U);
  EXPECT_EQ(b_->passed(), 0U);  // nothing handed to the kernel, which would reset it
}

// A tunnelled (-i) realserver is taken over as a routed one: the segment goes out in IPIP to
// the realserver the other director chose (the outer destination), as a flow of the
// INPUT-ONLY table.
TEST_F(XdpCluster, AMidStreamSegmentToATunnelledRealserverIsEncapsulated) {
  const Bytes syn = build(tcp(kMhTunnel, kSyn));
  const Bytes ack = build(tcp(kMhTunnel, kAck));
  const TestRun on_a = run(*a_, syn);
  const TestRun on_b = run(*b_, ack);
  ASSERT_EQ(on_a.verdict, XDP_TX);
  ASSERT_EQ(on_b.verdict, XDP_TX);
  ASSERT_EQ(on_b.frame.size(), ack.size() + kIp);                         // an outer IPv4 header
  EXPECT_EQ(on_b.frame.at(kEth + 9), 4U);                                 // IPv4 in IPv4
  EXPECT_EQ(get32(on_b.frame, kEth + 16), get32(on_a.frame, kEth + 16));  // the same realserver
  const auto e = entry(*b_, kMhTunnel);
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->method, LVS_XDP_TUNNEL);
  EXPECT_EQ(e->state, LVS_TCP_S_ES);
  EXPECT_EQ(b_->midstream_dropped(), 0U);
}

// IPv6 takes the same path: an ACK of an unknown flow is routed to the realserver's MAC.
TEST_F(XdpCluster, AnIpv6MidStreamSegmentIsTakenOver) {
  const Bytes ack = build6(Packet6{
      .proto = 6, .saddr = kClient6, .daddr = kVip6, .sport = 42000, .dport = 80, .flags = kAck});
  const TestRun r = run(*b_, ack);
  EXPECT_EQ(r.verdict, XDP_TX);
  EXPECT_EQ(r.frame, to_mac(ack, kRs1Mac));
  const auto e = entry(*b_, 80, 42000);
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->state, LVS_TCP_S_ES);
  EXPECT_EQ(e->method, LVS_XDP_ROUTE);
}

// Once taken over, the flow goes on from its entry: the next segments are routed without a
// new pick, counted as one connection, active in its realserver's load.
TEST_F(XdpCluster, ATakenOverFlowGoesOnFromItsEntry) {
  const Bytes first = build(tcp(kMhRoute, kAck));
  const TestRun r1 = run(*b_, first);
  ASSERT_EQ(r1.verdict, XDP_TX);
  const Bytes mac(r1.frame.begin(), r1.frame.begin() + 6);
  for (int i = 0; i < 3; ++i) {
    const Bytes seg = build(tcp(kMhRoute, kPsh | kAck));
    EXPECT_EQ(run(*b_, seg).frame, to_mac(seg, mac)) << i;
  }
  const Stats st = b_->stats();
  EXPECT_EQ(st.services[0].counters.conns, 1U);
  EXPECT_EQ(st.services[0].counters.inpkts, 4U);
  std::uint32_t active = 0;
  for (const DestStats& d : st.services[0].dests) active += d.active;
  EXPECT_EQ(active, 1U);
  const auto conns = b_->connections();
  ASSERT_EQ(conns.size(), 1U);
  EXPECT_EQ(conns[0].state, ConnState::kEstablished);
}

// Every director picks the same realserver for a flow it never saw, whatever the order of its
// realserver list; both realservers get clients.
TEST_F(XdpCluster, TwoDirectorsTakeOverEveryFlowToTheSameRealserver) {
  std::size_t to_rs1 = 0;
  std::size_t to_rs2 = 0;
  for (std::uint32_t host = 1; host <= 64; ++host) {  // mh hashes the client's address
    Packet p = tcp(kMhRoute, kAck);
    p.saddr = v4("203.0.113.0") + host;
    const Bytes seg = build(p);
    const TestRun on_a = run(*a_, seg);  // a's list is in the other order
    const TestRun on_b = run(*b_, seg);
    ASSERT_EQ(on_a.verdict, XDP_TX) << host;
    ASSERT_EQ(on_b.verdict, XDP_TX) << host;
    EXPECT_EQ(on_a.frame, on_b.frame) << host;
    const Bytes mac(on_b.frame.begin(), on_b.frame.begin() + 6);
    to_rs1 += mac == kRs1Mac ? 1U : 0U;
    to_rs2 += mac == kRs2Mac ? 1U : 0U;
  }
  EXPECT_EQ(to_rs1 + to_rs2, 64U);
  EXPECT_GT(to_rs1, 0U);
  EXPECT_GT(to_rs2, 0U);
}

// Without cluster mode nothing changes: a mid-stream segment of an unknown flow passes to the
// kernel unchanged, as IPVS lets it, even for an mh service built with a seed.
TEST_F(XdpCluster, WithoutClusterModeAnUnknownFlowsSegmentPasses) {
  const auto plain = load(false, false);
  ASSERT_NE(plain, nullptr);
  for (const std::uint16_t port : {kMhRoute, kRrRoute, kMhMasq}) {
    const Bytes seg = build(tcp(port, kAck));
    const TestRun r = run(*plain, seg);
    EXPECT_EQ(r.verdict, XDP_PASS) << port;
    EXPECT_EQ(r.frame, seg) << port;
  }
  EXPECT_TRUE(plain->raw_connections().empty());
  EXPECT_EQ(plain->midstream_dropped(), 0U);
}

// A third realserver in the mh service: a taken-over flow keeps its realserver (its entry
// decides), as IPVS keeps existing connections across a table change.
TEST_F(XdpCluster, ATakenOverFlowKeepsItsRealserverAcrossAnApply) {
  const Bytes seg = build(tcp(kMhRoute, kAck, 45000));
  const TestRun before = run(*b_, seg);
  ASSERT_EQ(before.verdict, XDP_TX);
  model::ServiceTable t = table(true);
  t.services[0].dests.push_back(real("198.51.100.12:80"));
  ASSERT_TRUE(b_->apply(t).ok());
  EXPECT_EQ(run(*b_, seg).frame, before.frame);
  EXPECT_NE(Bytes(before.frame.begin(), before.frame.begin() + 6), kRs3Mac);
}

}  // namespace
}  // namespace lvs::dp::xdp::testing
