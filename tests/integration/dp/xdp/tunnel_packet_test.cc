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
constexpr std::uint16_t kGuePort = 6080;

model::RealServer tun(const char* addr, model::TunnelType type = model::TunnelType::kIpip,
                      model::TunnelCsum csum = model::TunnelCsum::kNoCsum) {
  model::RealServer r;
  r.addr = core::Endpoint::parse(addr).value();
  r.forward = model::ForwardMethod::kTunnel;
  r.weight = 1;
  r.last_weight = 1;
  r.tun_type = type;
  r.tun_port = type == model::TunnelType::kGue ? kGuePort : 0;
  r.tun_csum = csum;
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
          // GUE and GRE, without and with checksum, both families: service port 82-85.
          service(model::Protocol::kTcp, "192.0.2.1:82",
                  {tun("198.51.100.10:82", model::TunnelType::kGue)}),
          service(model::Protocol::kTcp, "192.0.2.1:83",
                  {tun("198.51.100.10:83", model::TunnelType::kGue, model::TunnelCsum::kCsum)}),
          service(model::Protocol::kTcp, "192.0.2.1:84",
                  {tun("198.51.100.10:84", model::TunnelType::kGre)}),
          service(model::Protocol::kTcp, "192.0.2.1:85",
                  {tun("198.51.100.10:85", model::TunnelType::kGre, model::TunnelCsum::kCsum)}),
          service(model::Protocol::kTcp, "[2001:db8::1]:82",
                  {tun("[2001:db8:1::10]:82", model::TunnelType::kGue)}),
          service(model::Protocol::kTcp, "[2001:db8::1]:83",
                  {tun("[2001:db8:1::10]:83", model::TunnelType::kGue, model::TunnelCsum::kCsum)}),
          service(model::Protocol::kTcp, "[2001:db8::1]:84",
                  {tun("[2001:db8:1::10]:84", model::TunnelType::kGre)}),
          service(model::Protocol::kTcp, "[2001:db8::1]:85",
                  {tun("[2001:db8:1::10]:85", model::TunnelType::kGre, model::TunnelCsum::kCsum)}),
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
    const std::vector<std::uint16_t> gue_ports = {kGuePort};
    ASSERT_TRUE(decap_->set_gue_ports(gue_ports).ok());
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

// GUE and GRE as IPVS builds them (ip_vs_xmit.c), table-driven over both families, without
// and with --tun-csum, with an odd-sized small packet and a large one (the checksum loop's
// chunks and its odd last byte): the outer header's protocol and length; GUE's UDP source
// port in the ephemeral range, stable for the flow (another for another flow), destination
// --tun-port, length, checksum 0 or valid, and its 4-byte header (version 0, protocol 4 or
// 41); GRE's flags (C with the checksum) and protocol type, and its checksum over header and
// payload. The inner packet is unchanged, and the realserver's program strips it back to the
// client's packet.
struct EncapCase {
  const char* what;
  bool v6;
  std::uint16_t port;  // the service port: which realserver (table())
  bool gue;            // else GRE
  bool csum;
  std::size_t payload;  // TCP payload bytes
};

// Bytes of the inner packet and outer headers (ordered as the frame).
Bytes inner_of(const EncapCase& c, std::uint16_t sport, std::uint8_t flags) {
  const std::string payload(c.payload, 'p');
  if (!c.v6) {
    Packet p{.proto = 6,
             .saddr = kClient,
             .daddr = kVip,
             .sport = sport,
             .dport = c.port,
             .flags = flags,
             .payload = payload};
    return build(p);
  }
  return build6(Packet6{.proto = 6,
                        .saddr = v6("2001:db8:2::5"),
                        .daddr = v6("2001:db8::1"),
                        .sport = sport,
                        .dport = c.port,
                        .flags = flags,
                        .payload = payload});
}

TEST_F(XdpTunnel, GueAndGreAreBuiltAsIpvsBuildsThem) {
  const std::vector<EncapCase> cases = {
      {"gue v4", false, 82, true, false, 5},
      {"gue v4 csum", false, 83, true, true, 5},
      {"gue v4 csum big", false, 83, true, true, 1001},
      {"gre v4", false, 84, false, false, 5},
      {"gre v4 csum", false, 85, false, true, 5},
      {"gre v4 csum big", false, 85, false, true, 1001},
      {"gue v6", true, 82, true, false, 5},
      {"gue v6 csum", true, 83, true, true, 5},
      {"gue v6 csum big", true, 83, true, true, 1001},
      {"gre v6", true, 84, false, false, 5},
      {"gre v6 csum", true, 85, false, true, 5},
      {"gre v6 csum big", true, 85, false, true, 1001},
  };
  std::uint16_t sport = 41000;
  for (const EncapCase& c : cases) {
    SCOPED_TRACE(c.what);
    ++sport;  // a flow of its own per case
    const Bytes in = inner_of(c, sport, kSyn);
    const TestRun r = run(in);
    EXPECT_EQ(r.verdict, XDP_REDIRECT);
    const std::size_t ip = c.v6 ? kIp6 : kIp;
    const std::size_t encap = c.gue ? 12U : (c.csum ? 8U : 4U);
    const std::size_t inner_len = in.size() - kEth;
    ASSERT_EQ(r.frame.size(), in.size() + ip + encap);
    EXPECT_EQ(std::memcmp(r.frame.data(), kRsMac, 6), 0);
    const std::uint8_t proto = c.gue ? 17 : 47;
    if (c.v6) {
      EXPECT_EQ(get16(r.frame, 12), 0x86DD);
      EXPECT_EQ(get16(r.frame, kEth + 4), encap + inner_len);
      EXPECT_EQ(r.frame.at(kEth + 6), proto);
    } else {
      EXPECT_EQ(get16(r.frame, 12), 0x0800);
      EXPECT_EQ(get16(r.frame, kEth + 2), kIp + encap + inner_len);
      EXPECT_EQ(r.frame.at(kEth + 9), proto);
      EXPECT_EQ(v4_text(get32(r.frame, kEth + 12)), v4_text(kDirector));
      EXPECT_EQ(get16(r.frame, kEth + 10), ip_checksum(r.frame));
    }
    const std::size_t at = kEth + ip;  // the UDP or GRE header
    const std::uint8_t inner_proto = c.v6 ? 41 : 4;
    // Ones' complement sum over the pseudo header's addresses (UDP only).
    const std::uint32_t addrs =
        c.v6 ? sum16(r.frame, kEth + 8, 32, 0) : sum16(r.frame, kEth + 12, 8, 0);
    if (c.gue) {
      const std::uint16_t src = get16(r.frame, at);
      EXPECT_GE(src, 32768);
      EXPECT_LT(src, 60999);
      EXPECT_EQ(get16(r.frame, at + 2), kGuePort);
      EXPECT_EQ(get16(r.frame, at + 4), encap + inner_len);
      if (c.csum) {
        EXPECT_NE(get16(r.frame, at + 6), 0);
        const std::uint32_t s = addrs + 17U + static_cast<std::uint32_t>(encap + inner_len);
        EXPECT_EQ(fold(sum16(r.frame, at, encap + inner_len, s)), 0) << "UDP checksum";
      } else {
        EXPECT_EQ(get16(r.frame, at + 6), 0);
      }
      EXPECT_EQ(get32(r.frame, at + 8), std::uint32_t{inner_proto} << 16U);
      // The flow's next packet leaves from the same port.
      const TestRun ack = run(inner_of(c, sport, kAck));
      EXPECT_EQ(ack.verdict, XDP_REDIRECT);
      EXPECT_EQ(get16(ack.frame, at), src);
    } else {
      EXPECT_EQ(get16(r.frame, at), c.csum ? 0x8000 : 0);
      EXPECT_EQ(get16(r.frame, at + 2), c.v6 ? 0x86DD : 0x0800);
      if (c.csum) {
        EXPECT_EQ(get16(r.frame, at + 6), 0);  // reserved
        EXPECT_EQ(fold(sum16(r.frame, at, encap + inner_len, 0)), 0) << "GRE checksum";
      }
    }
    EXPECT_TRUE(std::equal(in.begin() + kEth, in.end(),
                           r.frame.begin() + static_cast<std::ptrdiff_t>(kEth + ip + encap)));
    const TestRun back = strip(r.frame);
    EXPECT_EQ(back.verdict, XDP_PASS);
    ASSERT_EQ(back.frame.size(), in.size());
    EXPECT_EQ(get16(back.frame, 12), c.v6 ? 0x86DD : 0x0800);
    EXPECT_TRUE(std::equal(in.begin() + kEth, in.end(), back.frame.begin() + kEth));
  }
  EXPECT_EQ(decap_->counters().decapped, cases.size());
  EXPECT_EQ(engine_->tun_dropped(), 0U);
  // Another flow to the same GUE realserver takes another source port (the hash spreads flows
  // over ECMP paths, as udp_flow_src_port).
  const TestRun a = run(inner_of(cases[0], 42001, kSyn));
  const TestRun b = run(inner_of(cases[0], 42002, kSyn));
  ASSERT_EQ(a.verdict, XDP_REDIRECT);
  ASSERT_EQ(b.verdict, XDP_REDIRECT);
  EXPECT_NE(get16(a.frame, kEth + kIp), get16(b.frame, kEth + kIp));
}

// Over the MTU with the GUE or GRE headers: IPv4 with DF gets "fragmentation needed" with the
// MTU less all the outer headers (GUE 32 bytes, GRE with checksum 28); IPv6 is dropped and
// counted. A packet that fits with IPIP's 20 bytes does not with GUE's 32.
TEST_F(XdpTunnel, GueAndGreOverTheMtu) {
  struct Case {
    const char* what;
    std::uint16_t port;
    std::uint16_t mtu;
  };
  std::uint64_t dropped = 0;
  for (const Case& c : {Case{"gue", 82, 1500 - 32}, Case{"gre csum", 85, 1500 - 28}}) {
    SCOPED_TRACE(c.what);
    Packet big = syn(c.port);
    big.payload.assign(1500 - kIp - kIp - 20, 'x');  // exactly the MTU with IPIP
    const TestRun r = run(build(big));
    EXPECT_EQ(r.verdict, XDP_TX);
    EXPECT_EQ(r.frame.at(kEth + kIp), 3);
    EXPECT_EQ(r.frame.at(kEth + kIp + 1), 4);
    EXPECT_EQ(get16(r.frame, kEth + kIp + 6), c.mtu);
    EXPECT_TRUE(read_icmp(r.frame).icmp_ok);
    EXPECT_EQ(engine_->tun_dropped(), ++dropped);
  }
  const std::string payload(1500 - kIp6 - 20 - 8, 'x');  // fits IPv6 in IPv6, not with GRE
  const TestRun r6 = run(build6(Packet6{.proto = 6,
                                        .saddr = v6("2001:db8:2::5"),
                                        .daddr = v6("2001:db8::1"),
                                        .sport = 40000,
                                        .dport = 84,
                                        .flags = kSyn,
                                        .payload = payload}));
  EXPECT_EQ(r6.verdict, XDP_DROP);
  EXPECT_EQ(engine_->tun_dropped(), dropped + 1);
}

// The decapsulator strips GUE only on its --gue-port and only well-formed GUE and GRE; the
// rest passes byte for byte: GUE to another port, a UDP length that disagrees, GUE with
// options or of another protocol, GUE cut short, GRE with other flags (key) or of the other
// family, GRE cut short.
TEST_F(XdpTunnel, DecapStripsOnlyWellFormedGueAndGre) {
  const Bytes gue = run(build(syn(82))).frame;
  const Bytes gre = run(build(syn(85))).frame;
  ASSERT_EQ(gue.size(), build(syn(82)).size() + kIp + 12);
  ASSERT_EQ(gre.size(), build(syn(85)).size() + kIp + 8);
  const std::size_t at = kEth + kIp;
  Bytes other_port = gue;
  put16(other_port, at + 2, kGuePort + 1);
  Bytes udp_len = gue;
  put16(udp_len, at + 4, static_cast<std::uint16_t>(get16(gue, at + 4) - 1));
  Bytes gue_hlen = gue;
  gue_hlen.at(at + 8) = 0x01;  // one 32-bit word of options
  Bytes gue_proto = gue;
  gue_proto.at(at + 9) = 41;  // IPv6 under an IPv4 GUE
  const Bytes gue_short(gue.begin(), gue.begin() + static_cast<std::ptrdiff_t>(at + 10));
  Bytes gre_key = gre;
  put16(gre_key, at, 0x2000);  // K
  Bytes gre_family = gre;
  put16(gre_family, at + 2, 0x86DD);
  const Bytes gre_short(gre.begin(), gre.begin() + static_cast<std::ptrdiff_t>(at + 6));
  struct Case {
    const char* what;
    const Bytes& frame;
  };
  for (const Case& c : {Case{"GUE to another port", other_port}, Case{"UDP length", udp_len},
                        Case{"GUE options", gue_hlen}, Case{"GUE protocol", gue_proto},
                        Case{"GUE truncated", gue_short}, Case{"GRE key", gre_key},
                        Case{"GRE protocol", gre_family}, Case{"GRE truncated", gre_short}}) {
    const TestRun r = strip(c.frame);
    EXPECT_EQ(r.verdict, XDP_PASS) << c.what;
    EXPECT_EQ(r.frame, c.frame) << c.what;
  }
  EXPECT_EQ(decap_->counters(), (DecapCounters{.decapped = 0, .foreign = 0}));
  // Without the port configured, GUE is not stripped at all.
  ASSERT_TRUE(decap_->set_gue_ports({}).ok());
  const TestRun none = strip(gue);
  EXPECT_EQ(none.verdict, XDP_PASS);
  EXPECT_EQ(none.frame, gue);
  EXPECT_EQ(decap_->set_gue_ports(std::vector<std::uint16_t>{0}).error().message,
            "lvs-decap: GUE port 0 is not a port: give 1-65535");
}

}  // namespace
}  // namespace lvs::dp::xdp::testing
