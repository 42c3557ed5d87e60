// The XDP engine with real traffic: client, director and realserver network namespaces joined by
// veth pairs, the engine attached to both director legs, the realserver routing back through
// the director. A TCP transfer of a few MiB each way through the VIP (hash compared) and UDP
// request/response. Root only, and `ip`/`ethtool` are needed; skipped otherwise.
//
//   client 203.0.113.2 [c0] --- [d0] 203.0.113.1  director  198.51.100.1 [d1] --- [r0]
//   198.51.100.10 VIP 192.0.2.1 (routed by the client to the director; not a local address
//   anywhere)
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "core/fd.h"
#include "dp/xdp/loader.h"
#include "integration/dp/xdp/frame.h"

namespace lvs::dp::xdp {
namespace {

constexpr std::size_t kUpload = std::size_t{4} * 1024 * 1024;
constexpr std::size_t kDownload = std::size_t{2} * 1024 * 1024;
constexpr int kDatagrams = 20;

bool sh(const std::string& cmd) { return std::system((cmd + " >/dev/null 2>&1").c_str()) == 0; }

// Runs `fn` on a thread that has entered network namespace `ns` (setns is per thread).
void in_ns(const std::string& ns, const std::function<void()>& fn) {
  std::thread t([&] {
    const int fd = open(("/run/netns/" + ns).c_str(), O_RDONLY | O_CLOEXEC);
    ASSERT_GE(fd, 0) << "open netns " << ns;
    ASSERT_EQ(setns(fd, CLONE_NEWNET), 0) << "setns " << ns;
    close(fd);
    fn();
  });
  t.join();
}

std::uint64_t fnv(std::uint64_t h, const std::uint8_t* p, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 1099511628211ULL;
  return h;
}
constexpr std::uint64_t kFnvBasis = 14695981039346656037ULL;

// Deterministic bytes: byte i of stream `seed`.
std::uint8_t gen(std::uint32_t seed, std::size_t i) {
  return static_cast<std::uint8_t>((i * 2654435761U + seed) >> 13U);
}

void timeouts(int fd) {
  const timeval tv{.tv_sec = 10, .tv_usec = 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

// A socket address of either family from its text.
struct Sock {
  sockaddr_storage ss{};
  socklen_t len = 0;
  int family() const { return ss.ss_family; }
  const sockaddr* sa() const { return reinterpret_cast<const sockaddr*>(&ss); }
};

Sock addr(const char* ip, std::uint16_t port) {
  Sock s;
  auto* a4 = reinterpret_cast<sockaddr_in*>(&s.ss);
  auto* a6 = reinterpret_cast<sockaddr_in6*>(&s.ss);
  if (inet_pton(AF_INET, ip, &a4->sin_addr) == 1) {
    a4->sin_family = AF_INET;
    a4->sin_port = htons(port);
    s.len = sizeof(sockaddr_in);
  } else {
    inet_pton(AF_INET6, ip, &a6->sin6_addr);
    a6->sin6_family = AF_INET6;
    a6->sin6_port = htons(port);
    s.len = sizeof(sockaddr_in6);
  }
  return s;
}

bool send_all(int fd, const std::uint8_t* p, std::size_t n) {
  while (n > 0) {
    const ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
    if (w <= 0) return false;
    p += w;
    n -= static_cast<std::size_t>(w);
  }
  return true;
}

// A program that returns `action` for every frame. XDP_PASS on the peers: veth delivers
// redirected frames only to a peer with NAPI.
int load_const_prog(std::int32_t action) {
  const std::array<bpf_insn, 2> insns{{
      {.code = BPF_ALU64 | BPF_MOV | BPF_K,
       .dst_reg = BPF_REG_0,
       .src_reg = 0,
       .off = 0,
       .imm = action},
      {.code = BPF_JMP | BPF_EXIT, .dst_reg = 0, .src_reg = 0, .off = 0, .imm = 0},
  }};
  return bpf_prog_load(BPF_PROG_TYPE_XDP, "lvs_const", "GPL", insns.data(), insns.size(), nullptr);
}

// The MAC address of `ifname` in namespace `ns`.
std::array<std::uint8_t, 6> mac_of(const std::string& ns, const char* ifname) {
  std::array<std::uint8_t, 6> mac{};
  in_ns(ns, [&] {
    const core::Fd fd(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    ifreq req{};
    std::snprintf(req.ifr_name, sizeof(req.ifr_name), "%s", ifname);
    ASSERT_EQ(ioctl(fd.get(), SIOCGIFHWADDR, &req), 0) << ifname;
    std::memcpy(mac.data(), req.ifr_hwaddr.sa_data, mac.size());
  });
  return mac;
}

// The generator: writes the 42 header bytes of `frame` back into every frame (live-frames mode
// recycles pages the engine rewrote) and sends it out with XDP_TX.
int load_generator(const std::vector<std::uint8_t>& frame) {
  constexpr std::int16_t kHeader = 42;
  std::vector<bpf_insn> p;
  auto insn = [&](std::uint8_t code, std::uint8_t dst, std::uint8_t src, std::int16_t off,
                  std::int32_t imm) {
    bpf_insn i{};
    i.code = code;
    i.dst_reg = dst & 0xFU;
    i.src_reg = src & 0xFU;
    i.off = off;
    i.imm = imm;
    p.push_back(i);
  };
  insn(BPF_LDX | BPF_MEM | BPF_W, BPF_REG_2, BPF_REG_1, 0, 0);  // r2 = ctx->data
  insn(BPF_LDX | BPF_MEM | BPF_W, BPF_REG_3, BPF_REG_1, 4, 0);  // r3 = ctx->data_end
  insn(BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_4, BPF_REG_2, 0, 0);
  insn(BPF_ALU64 | BPF_ADD | BPF_K, BPF_REG_4, 0, 0, kHeader);
  const std::size_t jump_at = p.size();
  insn(BPF_JMP | BPF_JGT | BPF_X, BPF_REG_4, BPF_REG_3, 0, 0);  // short frame: drop
  for (std::int16_t off = 0; off + 4 <= kHeader; off += 4) {
    std::uint32_t word = 0;
    std::memcpy(&word, frame.data() + off, 4);
    insn(BPF_ST | BPF_MEM | BPF_W, BPF_REG_2, 0, off, static_cast<std::int32_t>(word));
  }
  std::uint16_t half = 0;
  std::memcpy(&half, frame.data() + 40, 2);
  insn(BPF_ST | BPF_MEM | BPF_H, BPF_REG_2, 0, 40, half);
  insn(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, XDP_TX);
  insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
  p[jump_at].off = static_cast<std::int16_t>(p.size() - jump_at - 1);
  insn(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, XDP_DROP);
  insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
  return bpf_prog_load(BPF_PROG_TYPE_XDP, "lvs_gen", "GPL", p.data(), p.size(), nullptr);
}

std::string mac_text(const std::array<std::uint8_t, 6>& m) {
  char buf[18] = {};
  std::snprintf(buf, sizeof(buf), "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4],
                m[5]);
  return buf;
}

class XdpNetns : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root: network namespaces and XDP";
    if (!sh("command -v ip") || !sh("command -v ethtool")) {
      GTEST_SKIP() << "needs ip (iproute2) and ethtool";
    }
    const std::string id = std::to_string(getpid());
    c_ = "lvsx-c-" + id;
    d_ = "lvsx-d-" + id;
    r_ = "lvsx-r-" + id;
    const std::vector<std::string> cmds = {
        "ip netns add " + c_,
        "ip netns add " + d_,
        "ip netns add " + r_,
        "ip -n " + c_ + " link add c0 type veth peer name d0 netns " + d_,
        "ip -n " + r_ + " link add r0 type veth peer name d1 netns " + d_,
        "ip -n " + c_ + " addr add 203.0.113.2/24 dev c0",
        "ip -n " + d_ + " addr add 203.0.113.1/24 dev d0",
        "ip -n " + d_ + " addr add 198.51.100.1/24 dev d1",
        "ip -n " + r_ + " addr add 198.51.100.10/24 dev r0",
        "ip -n " + c_ + " addr add 2001:db8:c::2/64 dev c0 nodad",
        "ip -n " + d_ + " addr add 2001:db8:c::1/64 dev d0 nodad",
        "ip -n " + d_ + " addr add 2001:db8:d::1/64 dev d1 nodad",
        "ip -n " + r_ + " addr add 2001:db8:d::10/64 dev r0 nodad",
        "ip -n " + c_ + " link set c0 up",
        "ip -n " + c_ + " link set lo up",
        "ip -n " + d_ + " link set d0 up",
        "ip -n " + d_ + " link set d1 up",
        "ip -n " + r_ + " link set r0 up",
        "ip -n " + r_ + " link set lo up",
        "ip -n " + c_ + " route add 192.0.2.0/24 via 203.0.113.1",
        "ip -n " + r_ + " route add default via 198.51.100.1",
        "ip -n " + c_ + " -6 route add 2001:db8:f::/64 via 2001:db8:c::1",
        "ip -n " + r_ + " -6 route add default via 2001:db8:d::1",
        "ip netns exec " + d_ + " sysctl -qw net.ipv6.conf.all.forwarding=1",
        "ip netns exec " + d_ + " sysctl -qw net.ipv4.ip_forward=1",
        // Local senders over veth hand out partial checksums that native XDP forwarding
        // keeps; real NICs deliver full ones.
        "ip netns exec " + c_ + " ethtool -K c0 tx off",
        "ip netns exec " + r_ + " ethtool -K r0 tx off",
    };
    for (const std::string& cmd : cmds) ASSERT_TRUE(sh(cmd)) << cmd;
    created_ = true;
  }

  void TearDown() override {
    if (engine_) in_ns(d_, [&] { engine_.reset(); });
    if (pass_fd_ >= 0) close(pass_fd_);
    if (created_) {
      sh("ip netns del " + c_);
      sh("ip netns del " + d_);
      sh("ip netns del " + r_);
    }
  }

  void start_engine(const model::ServiceTable& table) {
    in_ns(d_, [&] {
      auto e = Engine::load();
      ASSERT_TRUE(e.ok()) << e.error().message;
      engine_ = std::move(*e);
      auto applied = engine_->apply(table);
      ASSERT_TRUE(applied.ok()) << applied.error().message;
      for (const char* ifname : {"d0", "d1"}) {
        auto a = engine_->attach(ifname);
        ASSERT_TRUE(a.ok()) << a.error().message;
      }
    });
    ASSERT_TRUE(engine_);
    pass_fd_ = load_const_prog(XDP_PASS);
    ASSERT_GE(pass_fd_, 0) << "loading an XDP_PASS program";
    for (const auto& [ns, ifname] : {std::pair{c_, "c0"}, std::pair{r_, "r0"}}) {
      in_ns(ns, [&] {
        const int idx = static_cast<int>(if_nametoindex(ifname));
        ASSERT_EQ(bpf_xdp_attach(idx, pass_fd_, XDP_FLAGS_DRV_MODE, nullptr), 0) << ifname;
      });
    }
  }

  void traffic(const char* vip, const char* rs);

  std::string c_, d_, r_;
  bool created_ = false;
  int pass_fd_ = -1;
  std::unique_ptr<Engine> engine_;
};

model::ServiceTable cluster(const std::string& vip = "192.0.2.1",
                            const std::string& rs_ip = "198.51.100.10") {
  const bool v6 = vip.find(':') != std::string::npos;
  const auto ep = [&](const std::string& ip, int port) {
    return core::Endpoint::parse((v6 ? "[" + ip + "]" : ip) + ":" + std::to_string(port)).value();
  };
  model::RealServer rs;
  rs.forward = model::ForwardMethod::kMasq;
  model::VirtualService tcp;
  tcp.key = model::ServiceKey::address(model::Protocol::kTcp, ep(vip, 80));
  tcp.scheduler = "rr";
  rs.addr = ep(rs_ip, 8080);
  tcp.dests = {rs};
  model::VirtualService udp;
  udp.key = model::ServiceKey::address(model::Protocol::kUdp, ep(vip, 53));
  udp.scheduler = "wrr";
  rs.addr = ep(rs_ip, 5353);
  udp.dests = {rs};
  return model::ServiceTable{.services = {tcp, udp}};
}

// TCP both ways (hash compared) and UDP request/response through `vip` to realserver `rs`.
void XdpNetns::traffic(const char* vip, const char* rs) {
  // The realserver: TCP (hash what arrives, answer with the hash and kDownload bytes) and UDP
  // echo, bound to its own address.
  int lfd = -1;
  int ufd = -1;
  in_ns(r_, [&] {
    const Sock a = addr(rs, 8080);
    lfd = socket(a.family(), SOCK_STREAM | SOCK_CLOEXEC, 0);
    const int one = 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    ASSERT_EQ(bind(lfd, a.sa(), a.len), 0) << std::strerror(errno);
    ASSERT_EQ(listen(lfd, 4), 0);
    const Sock u = addr(rs, 5353);
    ufd = socket(u.family(), SOCK_DGRAM | SOCK_CLOEXEC, 0);
    ASSERT_EQ(bind(ufd, u.sa(), u.len), 0) << std::strerror(errno);
    timeouts(ufd);
  });
  const core::Fd listener(lfd);
  const core::Fd udp_server(ufd);
  ASSERT_GE(lfd, 0);
  std::thread server([&] {
    const int cfd = accept4(lfd, nullptr, nullptr, SOCK_CLOEXEC);
    if (cfd < 0) return;
    const core::Fd conn(cfd);
    timeouts(cfd);
    std::uint64_t h = kFnvBasis;
    std::vector<std::uint8_t> buf(65536);
    for (;;) {
      const ssize_t n = recv(cfd, buf.data(), buf.size(), 0);
      if (n <= 0) break;
      h = fnv(h, buf.data(), static_cast<std::size_t>(n));
    }
    std::vector<std::uint8_t> out(8 + kDownload);
    std::memcpy(out.data(), &h, 8);
    for (std::size_t i = 0; i < kDownload; ++i) out[8 + i] = gen(7, i);
    send_all(cfd, out.data(), out.size());
  });
  std::thread udp_echo([&] {
    std::array<std::uint8_t, 1500> buf{};
    for (int i = 0; i < kDatagrams; ++i) {
      sockaddr_storage from{};
      socklen_t len = sizeof(from);
      const ssize_t n =
          recvfrom(ufd, buf.data(), buf.size(), 0, reinterpret_cast<sockaddr*>(&from), &len);
      if (n < 0) return;
      sendto(ufd, buf.data(), static_cast<std::size_t>(n), 0,
             reinterpret_cast<const sockaddr*>(&from), len);
    }
  });

  std::uint64_t sent_hash = kFnvBasis;
  std::uint64_t echoed_hash = 0;
  std::size_t download_ok = 0;
  int udp_answers = 0;
  in_ns(c_, [&] {
    const Sock v = addr(vip, 80);
    const core::Fd fd(socket(v.family(), SOCK_STREAM | SOCK_CLOEXEC, 0));
    timeouts(fd.get());
    ASSERT_EQ(connect(fd.get(), v.sa(), v.len), 0)
        << "connect to the VIP: " << std::strerror(errno);
    std::vector<std::uint8_t> up(kUpload);
    for (std::size_t i = 0; i < kUpload; ++i) up[i] = gen(3, i);
    sent_hash = fnv(sent_hash, up.data(), up.size());
    ASSERT_TRUE(send_all(fd.get(), up.data(), up.size()));
    shutdown(fd.get(), SHUT_WR);
    std::vector<std::uint8_t> in;
    std::vector<std::uint8_t> buf(65536);
    while (in.size() < 8 + kDownload) {
      const ssize_t n = recv(fd.get(), buf.data(), buf.size(), 0);
      if (n <= 0) break;
      in.insert(in.end(), buf.begin(), buf.begin() + n);
    }
    ASSERT_EQ(in.size(), 8 + kDownload);
    std::memcpy(&echoed_hash, in.data(), 8);
    while (download_ok < kDownload && in[8 + download_ok] == gen(7, download_ok)) ++download_ok;

    const Sock dns = addr(vip, 53);
    const core::Fd u(socket(dns.family(), SOCK_DGRAM | SOCK_CLOEXEC, 0));
    timeouts(u.get());
    const timeval short_wait{.tv_sec = 2, .tv_usec = 0};
    setsockopt(u.get(), SOL_SOCKET, SO_RCVTIMEO, &short_wait, sizeof(short_wait));
    // Connected: only datagrams from VIP:53 are delivered.
    ASSERT_EQ(connect(u.get(), dns.sa(), dns.len), 0);
    for (int i = 0; i < kDatagrams; ++i) {
      const std::string q = "query " + std::to_string(i);
      send(u.get(), q.data(), q.size(), 0);
      std::array<char, 64> a{};
      const ssize_t n = recv(u.get(), a.data(), a.size(), 0);
      if (n == static_cast<ssize_t>(q.size()) && std::string(a.data(), q.size()) == q) {
        ++udp_answers;
      }
    }
  });
  server.join();
  udp_echo.join();

  EXPECT_EQ(echoed_hash, sent_hash) << "the realserver received other bytes than were sent";
  EXPECT_EQ(download_ok, kDownload) << "the download differs from byte " << download_ok;
  EXPECT_EQ(udp_answers, kDatagrams);

  const Stats st = engine_->stats();
  ASSERT_EQ(st.services.size(), 2U);
  EXPECT_EQ(st.services[0].counters.conns, 1U);
  EXPECT_GT(st.services[0].counters.inbytes, kUpload);
  EXPECT_GT(st.services[0].counters.outbytes, kDownload);
  EXPECT_EQ(st.services[1].counters.conns, 1U);
  EXPECT_EQ(st.services[1].counters.inpkts, static_cast<std::uint64_t>(kDatagrams));
  // Most packets took the fast path: only those before the neighbours were known went to the
  // kernel.
  const std::uint64_t packets = st.total.inpkts + st.total.outpkts;
  EXPECT_LT(engine_->passed() * 10, packets) << engine_->passed() << " of " << packets;
}

TEST_F(XdpNetns, TcpTransfersAndUdpExchangesGoThroughTheVip) {
  start_engine(cluster());
  if (HasFatalFailure()) return;
  traffic("192.0.2.1", "198.51.100.10");
}

TEST_F(XdpNetns, TheSameOverIpv6) {
  start_engine(cluster("2001:db8:f::1", "2001:db8:d::10"));
  if (HasFatalFailure()) return;
  // The client's first neighbour discovery of its router costs it a lost SYN and a 1 s
  // retransmission (not traced further); resolve it first so the test stays short.
  sh("ip netns exec " + c_ + " ping -6 -c1 -W1 2001:db8:c::1");
  traffic("2001:db8:f::1", "2001:db8:d::10");
}

// A measurement, not a test (disabled; run it by hand, as root):
//   build/release/bin/integration_dp_xdp_netns --gtest_also_run_disabled_tests
//     --gtest_filter='*Pps*'   (one command line)
// The client namespace generates one UDP flow with BPF_PROG_RUN in live-frames mode (an XDP_TX
// program restoring the 60-byte frame's headers and sending it out of c0); the engine on d0 DNATs
// it and redirects it to d1, where r0 drops it in XDP. Prints the packets the engine forwarded per
// second.
TEST_F(XdpNetns, DISABLED_PpsOneUdpFlow) {
  start_engine(cluster());
  if (HasFatalFailure()) return;
  const auto r0 = mac_of(r_, "r0");
  ASSERT_TRUE(sh("ip -n " + d_ + " neigh replace 198.51.100.10 lladdr " + mac_text(r0) +
                 " dev d1 nud permanent"));
  const int drop = load_const_prog(XDP_DROP);
  ASSERT_GE(drop, 0);
  in_ns(r_, [&] {
    const int idx = static_cast<int>(if_nametoindex("r0"));
    ASSERT_EQ(bpf_xdp_attach(idx, drop, XDP_FLAGS_DRV_MODE, nullptr), 0);
  });
  const auto d0 = mac_of(d_, "d0");
  const auto c0 = mac_of(c_, "c0");
  testing::Bytes frame = testing::build(testing::Packet{.proto = 17,
                                                        .saddr = testing::v4("203.0.113.2"),
                                                        .daddr = testing::v4("192.0.2.1"),
                                                        .sport = 5000,
                                                        .dport = 53,
                                                        .payload = std::string(18, 'x')});
  std::memcpy(frame.data(), d0.data(), 6);
  std::memcpy(frame.data() + 6, c0.data(), 6);
  const int tx = load_generator(frame);
  ASSERT_GE(tx, 0) << "loading the generator: " << std::strerror(errno);
  constexpr std::uint32_t kFrames = 5000000;
  std::uint64_t forwarded = 0;
  double seconds = 0;
  in_ns(c_, [&] {
    xdp_md ctx{};
    ctx.data_end = static_cast<std::uint32_t>(frame.size());  // the kernel wants it so
    ctx.ingress_ifindex = if_nametoindex("c0");
    bpf_test_run_opts opts{};
    opts.sz = sizeof(opts);
    opts.data_in = frame.data();
    opts.data_size_in = static_cast<std::uint32_t>(frame.size());
    opts.ctx_in = &ctx;
    opts.ctx_size_in = sizeof(ctx);
    opts.flags = BPF_F_TEST_XDP_LIVE_FRAMES;
    opts.repeat = 1000;  // warm-up: the flow's entries
    ASSERT_EQ(bpf_prog_test_run_opts(tx, &opts), 0) << std::strerror(errno);
    const std::uint64_t before = engine_->stats().total.inpkts;
    opts.repeat = kFrames;
    const auto t0 = std::chrono::steady_clock::now();
    ASSERT_EQ(bpf_prog_test_run_opts(tx, &opts), 0) << std::strerror(errno);
    seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    forwarded = engine_->stats().total.inpkts - before;
  });
  close(tx);
  close(drop);
  std::printf(
      "xdp engine, 1 UDP flow, 60-byte frames: %llu of %u frames forwarded in %.3f s = "
      "%.2f Mpps (kernel passes: %llu)\n",
      static_cast<unsigned long long>(forwarded), kFrames, seconds,
      static_cast<double>(forwarded) / seconds / 1e6,
      static_cast<unsigned long long>(engine_->passed()));
  EXPECT_GT(forwarded, 0U);
}

}  // namespace
}  // namespace lvs::dp::xdp
