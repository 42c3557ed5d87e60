// The user-space full-NAT proxy on loopback: real realservers that answer with their own name,
// real clients, lvsd's Proxy in the test process. Ports are bound as 0.

#include "dp/proxy/proxy.h"

#include <gtest/gtest.h>
#include <poll.h>

#include <future>
#include <map>
#include <memory>

#include "dp/proxy/net.h"
#include "harness.h"
#include "loopback.h"

namespace lvs::dp::proxy {
namespace {

using testing::NameServer;
using testing::UdpNameServer;

// Proves rr over one global scheduler: 300 connections land 100/100/100.
TEST(ProxyTcp, RoundRobinSpreadsConnectionsEvenly) {
  NameServer a("A", "127.0.0.2"), b("B", "127.0.0.3"), c("C", "127.0.0.4");
  Harness h;
  const auto vip = h.add(
      make_service(model::Protocol::kTcp, "127.0.0.1:0", "rr", {a.addr(), b.addr(), c.addr()}));
  std::map<std::string, int> seen;
  for (int i = 0; i < 300; ++i) {
    auto fd = testing::connect_tcp(vip);
    ASSERT_TRUE(fd.valid());
    ++seen[testing::read_line(fd.get())];
  }
  EXPECT_EQ(seen, (std::map<std::string, int>{{"A", 100}, {"B", 100}, {"C", 100}}));
}

// Same with two workers: the scheduler is shared, so the split stays exact.
TEST(ProxyTcp, RoundRobinIsGlobalAcrossWorkers) {
  NameServer a("A", "127.0.0.2"), b("B", "127.0.0.3"), c("C", "127.0.0.4");
  Harness h({.workers = 2});
  const auto vip = h.add(
      make_service(model::Protocol::kTcp, "127.0.0.1:0", "rr", {a.addr(), b.addr(), c.addr()}));
  std::map<std::string, int> seen;
  for (int i = 0; i < 300; ++i) {
    auto fd = testing::connect_tcp(vip);
    ASSERT_TRUE(fd.valid());
    ++seen[testing::read_line(fd.get())];
  }
  EXPECT_EQ(seen, (std::map<std::string, int>{{"A", 100}, {"B", 100}, {"C", 100}}));
}

// IPv6 VIP in front of IPv4 realservers.
TEST(ProxyTcp, ServesAnIpv6Vip) {
  NameServer a("A", "127.0.0.2");
  Harness h;
  h.table.services.push_back(make_service(model::Protocol::kTcp, "[::1]:0", "rr", {a.addr()}));
  if (auto r = h.proxy->apply(h.table); !r)
    GTEST_SKIP() << "no IPv6 loopback: " << r.error().message;
  const auto vip = *h.proxy->bound(h.table.services.back().key);
  auto fd = testing::connect_tcp(vip);
  ASSERT_TRUE(fd.valid());
  EXPECT_EQ(testing::read_line(fd.get()), "A");
}

// Weight 0: the open connection keeps flowing, new ones go elsewhere.
TEST(ProxyTcp, QuiescedRealserverKeepsItsConnectionAndGetsNoNewOnes) {
  NameServer a("A", "127.0.0.2"), b("B", "127.0.0.3");
  Harness h;
  const auto vip =
      h.add(make_service(model::Protocol::kTcp, "127.0.0.1:0", "rr", {a.addr(), b.addr()}));
  auto kept = testing::connect_tcp(vip);
  const std::string first = testing::read_line(kept.get());
  ASSERT_FALSE(first.empty());
  const auto quiesced = first == "A" ? a.addr() : b.addr();
  h.table.services[0].find_dest(quiesced)->weight = 0;
  h.apply();
  for (int i = 0; i < 10; ++i) {
    auto fd = testing::connect_tcp(vip);
    EXPECT_NE(testing::read_line(fd.get()), first);
  }
  ASSERT_EQ(::send(kept.get(), "ping\n", 5, MSG_NOSIGNAL), 5);
  EXPECT_EQ(testing::read_line(kept.get()), "ping");
  EXPECT_EQ(h.dest_stats(quiesced).active, 1U);
}

// Bulk both ways at once, then the strict half-close order, byte-identical by hash.
class ProxyBulk : public ::testing::TestWithParam<std::tuple<bool, bool>> {};

TEST_P(ProxyBulk, TransferArrivesByteIdentical) {
  const bool use_splice = std::get<0>(GetParam());
  const bool half_close_first = std::get<1>(GetParam());
  const std::uint64_t size = use_splice ? 64ULL << 20U : 16ULL << 20U;
  core::Fd listener(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  const SockAddr sa = to_sockaddr(*core::Endpoint::parse("127.0.0.2:0"));
  ASSERT_EQ(::bind(listener.get(), sa.get(), sa.len), 0);
  ASSERT_EQ(::listen(listener.get(), 4), 0);
  const auto real = *local_endpoint(listener.get());
  Harness h({.workers = 1, .splice = use_splice});
  const auto vip = h.add(make_service(model::Protocol::kTcp, "127.0.0.1:0", "rr", {real}));

  auto server = std::async(std::launch::async, [&] {
    pollfd p{.fd = listener.get(), .events = POLLIN, .revents = 0};
    if (::poll(&p, 1, testing::kWaitMs) <= 0) return testing::TransferResult{};
    core::Fd c(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
    return testing::transfer(c.get(), size, 2, half_close_first);
  });
  auto client = testing::connect_tcp(vip);
  ASSERT_TRUE(client.valid());
  const auto mine = testing::transfer(client.get(), size, 1, false);
  const auto theirs = server.get();
  ASSERT_TRUE(mine.ok);
  ASSERT_TRUE(theirs.ok);
  EXPECT_EQ(theirs.received_bytes, size);
  EXPECT_EQ(mine.received_bytes, size);
  EXPECT_EQ(theirs.received_hash, mine.sent_hash);
  EXPECT_EQ(mine.received_hash, theirs.sent_hash);
  const auto st = h.dest_stats(real);
  EXPECT_EQ(st.counters.inbytes, size);
  EXPECT_EQ(st.counters.outbytes, size);
}

INSTANTIATE_TEST_SUITE_P(SpliceAndBuffer, ProxyBulk,
                         ::testing::Combine(::testing::Bool(), ::testing::Bool()),
                         [](const auto& p) {
                           return std::string(std::get<0>(p.param) ? "Splice" : "Buffer") +
                                  (std::get<1>(p.param) ? "HalfCloseFirst" : "BothWaysAtOnce");
                         });

// One-page pipes: pumps stop at their round limit long before the stream ends and are carried
// on by later edges or the re-pump after the loop turn; bulk both ways, then half-close, still
// byte-identical.
TEST(ProxyTcp, TinyPipesStillCarryABulkStreamToTheEnd) {
  constexpr std::uint64_t kSize = 8ULL << 20U;
  core::Fd listener(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  const SockAddr sa = to_sockaddr(*core::Endpoint::parse("127.0.0.2:0"));
  ASSERT_EQ(::bind(listener.get(), sa.get(), sa.len), 0);
  ASSERT_EQ(::listen(listener.get(), 4), 0);
  const auto real = *local_endpoint(listener.get());
  Harness h({.workers = 1, .pipe_size = 4096});
  const auto vip = h.add(make_service(model::Protocol::kTcp, "127.0.0.1:0", "rr", {real}));
  auto server = std::async(std::launch::async, [&] {
    pollfd p{.fd = listener.get(), .events = POLLIN, .revents = 0};
    if (::poll(&p, 1, testing::kWaitMs) <= 0) return testing::TransferResult{};
    core::Fd c(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
    return testing::transfer(c.get(), kSize, 2, true);
  });
  auto client = testing::connect_tcp(vip);
  ASSERT_TRUE(client.valid());
  const auto mine = testing::transfer(client.get(), kSize, 1, false);
  const auto theirs = server.get();
  ASSERT_TRUE(mine.ok);
  ASSERT_TRUE(theirs.ok);
  EXPECT_EQ(theirs.received_hash, mine.sent_hash);
  EXPECT_EQ(mine.received_hash, theirs.sent_hash);
}

// A realserver killed mid-stream: its clients get a reset, the others keep working.
TEST(ProxyTcp, KilledRealserverResetsOnlyItsOwnClients) {
  NameServer a("A", "127.0.0.2"), b("B", "127.0.0.3");
  Harness h;
  const auto vip =
      h.add(make_service(model::Protocol::kTcp, "127.0.0.1:0", "rr", {a.addr(), b.addr()}));
  std::vector<std::pair<std::string, core::Fd>> clients;
  for (int i = 0; i < 6; ++i) {
    auto fd = testing::connect_tcp(vip);
    std::string name = testing::read_line(fd.get());
    clients.emplace_back(std::move(name), std::move(fd));
  }
  a.kill();
  for (auto& [name, fd] : clients) {
    if (name == "A") {
      EXPECT_EQ(testing::wait_closed(fd.get()), ECONNRESET);
    } else {
      ASSERT_EQ(::send(fd.get(), "still\n", 6, MSG_NOSIGNAL), 6);
      EXPECT_EQ(testing::read_line(fd.get()), "still");
    }
  }
}

// A realserver that refuses: the client gets a reset and the failure is counted.
TEST(ProxyTcp, RefusedConnectResetsClientAndCountsFailure) {
  core::Fd reserved(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));  // bound, not listening
  const SockAddr sa = to_sockaddr(*core::Endpoint::parse("127.0.0.5:0"));
  ASSERT_EQ(::bind(reserved.get(), sa.get(), sa.len), 0);
  const auto dead = *local_endpoint(reserved.get());
  Harness h;
  const auto vip = h.add(make_service(model::Protocol::kTcp, "127.0.0.1:0", "rr", {dead}));
  auto fd = testing::connect_tcp(vip);
  ASSERT_TRUE(fd.valid());
  EXPECT_EQ(testing::wait_closed(fd.get()), ECONNRESET);
  EXPECT_TRUE(eventually([&] { return h.dest_stats(dead).counters.failed == 1; }));
}

// An idle established connection is closed after the (shortened) timeout.
TEST(ProxyTcp, IdleConnectionExpires) {
  NameServer a("A", "127.0.0.2");
  Harness h({.workers = 1, .tcp_established_timeout = std::chrono::milliseconds(200)});
  const auto vip = h.add(make_service(model::Protocol::kTcp, "127.0.0.1:0", "rr", {a.addr()}));
  auto fd = testing::connect_tcp(vip);
  EXPECT_EQ(testing::read_line(fd.get()), "A");
  EXPECT_NE(testing::wait_closed(fd.get()), -1);
  EXPECT_TRUE(eventually([&] { return a.open() == 0; }));
}

// Thousands of concurrent connections, held, then closed: counters and realservers go to 0.
TEST(ProxyTcp, ThousandsOfConcurrentConnectionsHeldAndClosed) {
  // Per connection this process holds 4 descriptors (client, lvsd x2, realserver): 3000
  // connections stay well under the 20000 hard limit.
  constexpr int kConns = 3000;
  NameServer a("A", "127.0.0.2"), b("B", "127.0.0.3"), c("C", "127.0.0.4");
  Harness h({.workers = 2});
  const auto vip = h.add(
      make_service(model::Protocol::kTcp, "127.0.0.1:0", "rr", {a.addr(), b.addr(), c.addr()}));
  std::vector<core::Fd> clients;
  std::map<std::string, int> seen;
  for (int i = 0; i < kConns; ++i) {
    clients.push_back(testing::connect_tcp(vip));
    ASSERT_TRUE(clients.back().valid()) << i;
    ++seen[testing::read_line(clients.back().get())];
  }
  EXPECT_EQ(seen, (std::map<std::string, int>{{"A", 1000}, {"B", 1000}, {"C", 1000}}));
  std::uint32_t active = 0;
  for (const auto& s : h.proxy->stats().services) {
    for (const auto& d : s.dests) active += d.active;
  }
  EXPECT_EQ(active, static_cast<std::uint32_t>(kConns));
  clients.clear();
  EXPECT_TRUE(eventually([&] { return a.open() + b.open() + c.open() == 0; }));
  // Every connection ended with both FINs: none open, each lingering as TIME_WAIT (inactive).
  EXPECT_TRUE(eventually([&] {
    std::uint64_t still_active = 0;
    std::uint64_t inactive = 0;
    for (const auto& s : h.proxy->stats().services) {
      for (const auto& d : s.dests) {
        still_active += d.active;
        inactive += d.inactive;
      }
    }
    return h.proxy->open_connections() == 0 && still_active == 0 &&
           inactive == static_cast<std::uint64_t>(kConns);
  }));
}

// UDP: flows from many source ports spread by rr and each sticks to its realserver.
TEST(ProxyUdp, FlowsSpreadAndStick) {
  UdpNameServer a("A", "127.0.0.2"), b("B", "127.0.0.3"), c("C", "127.0.0.4");
  Harness h;
  const auto vip = h.add(
      make_service(model::Protocol::kUdp, "127.0.0.1:0", "rr", {a.addr(), b.addr(), c.addr()}));
  std::map<std::string, int> seen;
  for (int i = 0; i < 30; ++i) {
    auto fd = testing::udp_socket("127.0.0.1");
    const std::string first = testing::udp_ask(fd.get(), vip, "hello");
    ASSERT_FALSE(first.empty());
    for (int k = 0; k < 3; ++k) EXPECT_EQ(testing::udp_ask(fd.get(), vip, "hello"), first);
    ++seen[first];
  }
  EXPECT_EQ(seen, (std::map<std::string, int>{{"A:hello", 10}, {"B:hello", 10}, {"C:hello", 10}}));
}

// A deleted realserver's UDP flow moves on its next datagram instead of black-holing.
TEST(ProxyUdp, DeletedRealserverFlowMovesOnNextDatagram) {
  UdpNameServer a("A", "127.0.0.2"), b("B", "127.0.0.3");
  Harness h;
  const auto vip =
      h.add(make_service(model::Protocol::kUdp, "127.0.0.1:0", "rr", {a.addr(), b.addr()}));
  auto fd = testing::udp_socket("127.0.0.1");
  const std::string first = testing::udp_ask(fd.get(), vip, "x");
  ASSERT_FALSE(first.empty());
  auto& dests = h.table.services[0].dests;
  const auto gone = first == "A:x" ? a.addr() : b.addr();
  std::erase_if(dests, [&](const model::RealServer& r) { return r.addr == gone; });
  h.apply();
  const std::string next = testing::udp_ask(fd.get(), vip, "x");
  EXPECT_FALSE(next.empty());
  EXPECT_NE(next, first);
}

// One-packet scheduling: every datagram of one flow is scheduled on its own.
TEST(ProxyUdp, OnePacketSchedulesEachDatagram) {
  UdpNameServer a("A", "127.0.0.2"), b("B", "127.0.0.3");
  Harness h;
  auto svc = make_service(model::Protocol::kUdp, "127.0.0.1:0", "rr", {a.addr(), b.addr()});
  svc.one_packet = true;
  const auto vip = h.add(svc);
  auto fd = testing::udp_socket("127.0.0.1");
  std::map<std::string, int> seen;
  for (int i = 0; i < 10; ++i) ++seen[testing::udp_ask(fd.get(), vip, "p")];
  EXPECT_EQ(seen, (std::map<std::string, int>{{"A:p", 5}, {"B:p", 5}}));
}

// `table` plus a TCP service on 127.0.0.9 whose one realserver `dest` uses `method`.
model::ServiceTable with_second_service(model::ServiceTable table, const core::Endpoint& dest,
                                        model::ForwardMethod method) {
  auto extra = make_service(model::Protocol::kTcp, "127.0.0.1:0", "rr", {dest});
  extra.key.vip.addr = *core::IpAddress::parse("127.0.0.9");
  extra.dests[0].forward = method;
  table.services.push_back(extra);
  return table;
}

// apply() is all-or-nothing: a bad service leaves the running table as it was.
TEST(ProxyApply, RejectsNonFullNatWithoutChangingAnything) {
  NameServer a("A", "127.0.0.2");
  Harness h;
  const auto vip = h.add(make_service(model::Protocol::kTcp, "127.0.0.1:0", "rr", {a.addr()}));
  const auto bad = with_second_service(h.table, a.addr(), model::ForwardMethod::kRoute);
  const auto r = h.proxy->apply(bad);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("full-NAT and Masq only"), std::string::npos)
      << r.error().message;
  EXPECT_EQ(h.proxy->stats().services.size(), 1U);
  auto fd = testing::connect_tcp(vip);
  EXPECT_EQ(testing::read_line(fd.get()), "A");
}

// Masq needs the director's routing state: a proxy nobody gave it to (Proxy::set_masq), or
// whose installer fails, refuses the whole table and keeps the running one.
TEST(ProxyApply, MasqWithoutRoutingStateChangesNothing) {
  NameServer a("A", "127.0.0.2");
  Harness h;
  const auto vip = h.add(make_service(model::Protocol::kTcp, "127.0.0.1:0", "rr", {a.addr()}));
  const auto bad = with_second_service(h.table, a.addr(), model::ForwardMethod::kMasq);
  auto r = h.proxy->apply(bad);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "masquerading (-m) is not available in this data plane");
  std::vector<core::Family> asked;
  h.proxy->set_masq([&asked](core::Family f) -> core::Result<void> {
    asked.push_back(f);
    return core::fail(EPERM, "masquerading (-m) needs CAP_NET_ADMIN");
  });
  r = h.proxy->apply(bad);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "masquerading (-m) needs CAP_NET_ADMIN");
  EXPECT_EQ(asked, std::vector<core::Family>{core::Family::kInet4});
  EXPECT_EQ(h.proxy->stats().services.size(), 1U);
  auto fd = testing::connect_tcp(vip);
  EXPECT_EQ(testing::read_line(fd.get()), "A");
}

}  // namespace
}  // namespace lvs::dp::proxy
