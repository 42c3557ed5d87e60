// Tunnelling (-i) packet by packet through bpf_prog_test_run_opts: the director's engine
// encapsulates (IPv4 in IPv4, IPv6 in IPv6) and the realserver's decapsulation program strips
// what the engine built, giving back the client's packet byte for byte. Runs in a private
// network namespace with one veth towards the realservers and permanent neighbour entries, so
// bpf_fib_lookup finds the next hop and the director's source address. Root only; skipped
// otherwise.
#include <linux/bpf.h>
#include <sched.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <string>

#include "dp/xdp/bpf/tcp_state.h"
#include "dp/xdp/decap.h"
#include "dp/xdp/loader.h"
#include "integration/dp/xdp/frame.h"

namespace lvs::dp::xdp::testing {
namespace {

const std::uint32_t kVip = v4("192.0.2.1");
const std::uint32_t kClient = v4("203.0.113.5");
const std::uint32_t kDirector = v4("198.51.100.1");
const std::uint32_t kRs = v4("198.51.100.10");
constexpr std::uint8_t kRsMac[6] = {0x02, 0, 0, 0, 0, 0x10};

model::RealServer tun(const char* addr) {
  model::RealServer r;
  r.addr = core::Endpoint::parse(addr).value();
  r.forward = model::ForwardMethod::kTunnel;
  r.weight = 1;
  r.last_weight = 1;
  return r;
}

model::VirtualService service(model::Protocol p, const char* vip,
                              std::vector<model::RealServer> dests) {
  model::VirtualService vs;
  vs.key = model::ServiceKey::address(p, core::Endpoint::parse(vip).value());
  vs.scheduler = "rr";
  vs.dests = std::move(dests);
  return vs;
}

model::ServiceTable table() {
  return model::ServiceTable{
      .services = {
          service(model::Protocol::kTcp, "192.0.2.1:80", {tun("198.51.100.10:80")}),
          service(model::Protocol::kUdp, "192.0.2.1:53", {tun("198.51.100.10:53")}),
          // No neighbour entry for this one: the next hop is not resolved.
          service(model::Protocol::kTcp, "192.0.2.1:81", {tun("198.51.100.99:81")}),
          service(model::Protocol::kTcp, "[2001:db8::1]:80", {tun("[2001:db8:1::10]:80")}),
      }};
}

bool sh(const std::string& cmd) { return std::system((cmd + " >/dev/null 2>&1").c_str()) == 0; }

class XdpTunnel : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (geteuid() != 0) return;
    // A namespace of our own: the veth and neighbours below touch nothing of the host.
    ASSERT_EQ(unshare(CLONE_NEWNET), 0) << "unshare(CLONE_NEWNET) failed";
    for (const char* c :
         {"ip link set lo up", "ip link add t0 type veth peer name t1",
          "ip link set t0 address 02:00:00:00:00:01", "ip link set t0 up", "ip link set t1 up",
          "ip addr add 198.51.100.1/24 dev t0", "ip -6 addr add 2001:db8:1::1/64 dev t0 nodad",
          "ip neigh add 198.51.100.10 lladdr 02:00:00:00:00:10 dev t0 nud permanent",
          "ip -6 neigh add 2001:db8:1::10 lladdr 02:00:00:00:00:10 dev t0 nud "
          "permanent",
          "sysctl -qw net.ipv4.ip_forward=1", "sysctl -qw net.ipv6.conf.all.forwarding=1"}) {
      ASSERT_TRUE(sh(c)) << c;
    }
  }

  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root (CAP_BPF, CAP_NET_ADMIN): XDP test runs";
    auto e = Engine::load();
    ASSERT_TRUE(e.ok()) << e.error().message;
    engine_ = std::move(*e);
    auto r = engine_->apply(table());
    ASSERT_TRUE(r.ok()) << r.error().message;
    auto d = Decap::load();
    ASSERT_TRUE(d.ok()) << d.error().message;
    decap_ = std::move(*d);
    const std::vector<core::IpAddress> vips = {core::IpAddress::parse("192.0.2.1").value(),
                                               core::IpAddress::parse("2001:db8::1").value()};
    const std::vector<core::IpAddress> locals = {core::IpAddress::parse("198.51.100.10").value(),
                                                 core::IpAddress::parse("2001:db8:1::10").value()};
    ASSERT_TRUE(decap_->set_addresses(vips, locals).ok());
  }

  TestRun run(const Bytes& frame) {
    auto r = engine_->test_run(frame);
    EXPECT_TRUE(r.ok()) << r.error().message;
    return r.ok() ? *r : TestRun{};
  }
  TestRun strip(const Bytes& frame) {
    auto r = decap_->test_run(frame);
    EXPECT_TRUE(r.ok()) << r.error().message;
    return r.ok() ? *r : TestRun{};
  }

  static Packet syn(std::uint16_t dport = 80, std::uint8_t flags = kSyn) {
    return Packet{.proto = 6,
                  .saddr = kClient,
                  .daddr = kVip,
                  .sport = 40000,
                  .dport = dport,
                  .flags = flags,
                  .payload = "hello"};
  }

  std::unique_ptr<Engine> engine_;
  std::unique_ptr<Decap> decap_;
};

// The outer header as IPVS builds it: director's address -> realserver, protocol 4, DF and TTL
// copied, a valid checksum; the inner packet unchanged; MACs of the next hop; redirected.
TEST_F(XdpTunnel, NewTcpFlowIsEncapsulatedIpipToTheRealserver) {
  const Bytes in = build(syn());
  const TestRun r = run(in);
  EXPECT_EQ(r.verdict, XDP_REDIRECT);  // out of t0, not the ingress (lo)
  ASSERT_EQ(r.frame.size(), in.size() + kIp);
  EXPECT_EQ(std::memcmp(r.frame.data(), kRsMac, 6), 0);
  EXPECT_EQ(r.frame.at(11), 0x01);  // t0's MAC as the source
  EXPECT_EQ(get16(r.frame, 12), 0x0800);
  EXPECT_EQ(r.frame.at(kEth), 0x45);
  EXPECT_EQ(get16(r.frame, kEth + 2), in.size() - kEth + kIp);
  EXPECT_EQ(get16(r.frame, kEth + 6), 0x4000);  // DF from the inner header
  EXPECT_EQ(r.frame.at(kEth + 8), 64);          // TTL from the inner header
  EXPECT_EQ(r.frame.at(kEth + 9), 4);           // IPIP
  EXPECT_EQ(v4_text(get32(r.frame, kEth + 12)), v4_text(kDirector));
  EXPECT_EQ(v4_text(get32(r.frame, kEth + 16)), v4_text(kRs));
  EXPECT_EQ(get16(r.frame, kEth + 10), ip_checksum(r.frame));
  // The inner packet, byte for byte.
  EXPECT_TRUE(std::equal(in.begin() + kEth, in.end(), r.frame.begin() + kEth + kIp));
  // Forward entry only: replies bypass the director.
  const auto entries = engine_->raw_connections();
  ASSERT_EQ(entries.size(), 1U);
  EXPECT_NE(entries[0].second.flags & LVS_XDP_CONN_NO_OUTPUT, 0U);
  EXPECT_EQ(entries[0].second.method, LVS_XDP_TUNNEL);
  const auto conns = engine_->connections();
  ASSERT_EQ(conns.size(), 1U);
  EXPECT_EQ(conns[0].dest.to_string(), "198.51.100.10:80");
}

// Later packets of the flow are encapsulated too; the state follows the input-only table
// (SYN -> SYN_RECV, ACK -> ESTABLISHED, FIN -> FIN_WAIT), as IPVS tracks DR/TUN flows.
TEST_F(XdpTunnel, LaterPacketsFollowTheInputOnlyTable) {
  ASSERT_EQ(run(build(syn())).verdict, XDP_REDIRECT);
  EXPECT_EQ(engine_->raw_connections().at(0).second.state, LVS_TCP_S_SR);
  const TestRun ack = run(build(syn(80, kAck)));
  EXPECT_EQ(ack.verdict, XDP_REDIRECT);
  EXPECT_EQ(ack.frame.at(kEth + 9), 4);
  EXPECT_EQ(engine_->raw_connections().at(0).second.state, LVS_TCP_S_ES);
  ASSERT_EQ(run(build(syn(80, kFin | kAck))).verdict, XDP_REDIRECT);
  EXPECT_EQ(engine_->raw_connections().at(0).second.state, LVS_TCP_S_FW);
  const Stats st = engine_->stats();
  EXPECT_EQ(st.services.at(0).counters.inpkts, 3U);
  EXPECT_EQ(st.services.at(0).counters.conns, 1U);
}

// UDP (with and without checksum) is encapsulated the same way.
TEST_F(XdpTunnel, UdpIsEncapsulated) {
  for (const bool csum : {true, false}) {
    Packet p{.proto = 17,
             .saddr = kClient,
             .daddr = kVip,
             .sport = csum ? std::uint16_t{5000} : std::uint16_t{5001},
             .dport = 53,
             .payload = "query",
             .udp_csum = csum};
    const Bytes in = build(p);
    const TestRun r = run(in);
    EXPECT_EQ(r.verdict, XDP_REDIRECT);
    ASSERT_EQ(r.frame.size(), in.size() + kIp);
    EXPECT_EQ(r.frame.at(kEth + 9), 4);
    EXPECT_TRUE(std::equal(in.begin() + kEth, in.end(), r.frame.begin() + kEth + kIp));
  }
}

// No resolved next hop: dropped and counted, never sent half-built, never passed (the kernel
// would not forward a packet from its own address).
TEST_F(XdpTunnel, UnresolvedNextHopIsDroppedAndCounted) {
  EXPECT_EQ(run(build(syn(81))).verdict, XDP_DROP);
  EXPECT_EQ(engine_->tun_dropped(), 1U);
}

// Over the MTU once encapsulated: with DF the client gets ICMP "fragmentation needed" with the
// next-hop MTU less the outer header, quoting its packet, back out of the interface it came
// in (as IPVS answers); without DF the packet is dropped. Exactly the MTU goes through.
TEST_F(XdpTunnel, OverTheMtuAnswersFragmentationNeededOrDrops) {
  Packet big = syn();
  big.payload.assign(1500 - kIp - 20 - 10, 'x');  // 1490 bytes: 1510 with the outer header
  const Bytes in = build(big);
  const TestRun r = run(in);
  EXPECT_EQ(r.verdict, XDP_TX);
  ASSERT_EQ(r.frame.size(), kEth + kIp + 8 + kIp + 8);
  EXPECT_EQ(std::memcmp(r.frame.data(), in.data() + 6, 6), 0);  // to the client's MAC
  EXPECT_EQ(std::memcmp(r.frame.data() + 6, in.data(), 6), 0);
  const SeenIcmp icmp = read_icmp(r.frame);
  EXPECT_EQ(v4_text(icmp.outer_src), "192.0.2.1");
  EXPECT_EQ(v4_text(icmp.outer_dst), "203.0.113.5");
  EXPECT_TRUE(icmp.ip_ok);
  EXPECT_TRUE(icmp.icmp_ok);
  EXPECT_EQ(r.frame.at(kEth + kIp), 3);
  EXPECT_EQ(r.frame.at(kEth + kIp + 1), 4);
  EXPECT_EQ(get16(r.frame, kEth + kIp + 6), 1480);  // 1500 less the outer header
  EXPECT_TRUE(
      std::equal(in.begin() + kEth, in.begin() + kEth + kIp + 8, r.frame.begin() + kEth + kIp + 8));
  EXPECT_EQ(engine_->tun_dropped(), 1U);

  Bytes no_df = build(big);
  put16(no_df, kEth + 6, 0);
  put16(no_df, kEth + 10, ip_checksum(no_df));
  EXPECT_EQ(run(no_df).verdict, XDP_DROP);
  EXPECT_EQ(engine_->tun_dropped(), 2U);

  Packet fits = syn();
  fits.sport = 40001;
  fits.payload.assign(1500 - kIp - 20 - kIp, 'x');  // exactly the MTU with the outer header
  EXPECT_EQ(run(build(fits)).verdict, XDP_REDIRECT);
}

// IPv6 in IPv6: next header 41, payload length = the inner packet, hop limit copied, the
// director's IPv6 address as the source.
TEST_F(XdpTunnel, Ipv6IsEncapsulatedInIpv6) {
  const Bytes in = build6(Packet6{.proto = 6,
                                  .saddr = v6("2001:db8:2::5"),
                                  .daddr = v6("2001:db8::1"),
                                  .sport = 40000,
                                  .dport = 80,
                                  .flags = kSyn});
  const TestRun r = run(in);
  EXPECT_EQ(r.verdict, XDP_REDIRECT);
  ASSERT_EQ(r.frame.size(), in.size() + kIp6);
  EXPECT_EQ(get16(r.frame, 12), 0x86DD);
  EXPECT_EQ(r.frame.at(kEth) >> 4U, 6);
  EXPECT_EQ(get16(r.frame, kEth + 4), in.size() - kEth);
  EXPECT_EQ(r.frame.at(kEth + 6), 41);
  EXPECT_EQ(r.frame.at(kEth + 7), 64);
  Addr6 src{};
  Addr6 dst{};
  std::memcpy(src.data(), r.frame.data() + kEth + 8, 16);
  std::memcpy(dst.data(), r.frame.data() + kEth + 24, 16);
  EXPECT_EQ(v6_text(src), "2001:db8:1::1");
  EXPECT_EQ(v6_text(dst), "2001:db8:1::10");
  EXPECT_TRUE(std::equal(in.begin() + kEth, in.end(), r.frame.begin() + kEth + kIp6));
  // The realserver strips it back to the client's packet.
  const TestRun back = strip(r.frame);
  EXPECT_EQ(back.verdict, XDP_PASS);
  ASSERT_EQ(back.frame.size(), in.size());
  EXPECT_TRUE(std::equal(in.begin() + 12, in.end(), back.frame.begin() + 12));
}

// The realserver's program gives back the client's packet byte for byte (after the MACs):
// the round trip director -> realserver.
TEST_F(XdpTunnel, DecapStripsWhatTheEngineBuilt) {
  const Bytes in = build(syn());
  const TestRun enc = run(in);
  ASSERT_EQ(enc.verdict, XDP_REDIRECT);
  const TestRun r = strip(enc.frame);
  EXPECT_EQ(r.verdict, XDP_PASS);
  ASSERT_EQ(r.frame.size(), in.size());
  EXPECT_EQ(std::memcmp(r.frame.data(), kRsMac, 6), 0);  // the outer frame's MACs kept
  EXPECT_EQ(get16(r.frame, 12), 0x0800);
  EXPECT_TRUE(std::equal(in.begin() + kEth, in.end(), r.frame.begin() + kEth));
  EXPECT_EQ(decap_->counters(), (DecapCounters{.decapped = 1, .foreign = 0}));
}

// What is not ours passes unchanged: a VIP not configured, an outer destination that is not
// the realserver's, a truncated tunnel packet, a plain (not tunnelled) packet, an inner length
// that disagrees with the outer one.
TEST_F(XdpTunnel, DecapLeavesEverythingElseAlone) {
  const Bytes good = run(build(syn())).frame;
  ASSERT_EQ(good.size(), build(syn()).size() + kIp);

  Bytes wrong_vip = good;
  put32(wrong_vip, kEth + kIp + 16, v4("192.0.2.99"));
  Bytes not_local = good;
  put32(not_local, kEth + 16, v4("198.51.100.77"));
  const Bytes truncated(good.begin(), good.begin() + kEth + kIp + 10);
  Bytes short_outer = good;  // the outer length cuts the inner packet
  put16(short_outer, kEth + 2, static_cast<std::uint16_t>(get16(good, kEth + 2) - 4));
  const Bytes plain = build(syn());
  Bytes not_ipip = good;
  not_ipip.at(kEth + 9) = 47;  // GRE
  struct Case {
    const char* what;
    const Bytes& frame;
  };
  for (const Case& c : {Case{"wrong VIP", wrong_vip}, Case{"not a local address", not_local},
                        Case{"truncated", truncated}, Case{"short outer length", short_outer},
                        Case{"not tunnelled", plain}, Case{"not IPIP", not_ipip}}) {
    const TestRun r = strip(c.frame);
    EXPECT_EQ(r.verdict, XDP_PASS) << c.what;
    EXPECT_EQ(r.frame, c.frame) << c.what;
  }
  EXPECT_EQ(decap_->counters(), (DecapCounters{.decapped = 0, .foreign = 2}));
}

}  // namespace
}  // namespace lvs::dp::xdp::testing
