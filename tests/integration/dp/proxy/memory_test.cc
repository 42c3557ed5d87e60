// The relay memory budget: connections are admitted while their worst-case relay bytes fit;
// the next one is reset and counted as refused, the admitted ones keep relaying both ways
// byte for byte, and a closed connection gives its share back.

#include <poll.h>
#include <sys/socket.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <future>
#include <vector>

#include "dp/proxy/admission.h"
#include "harness.h"
#include "loopback.h"

namespace lvs::dp::proxy {
namespace {

// A realserver listener in the test: accepted connections are handed back to the test.
struct Listener {
  core::Fd fd{};
  core::Endpoint addr{};
  Listener() {
    fd.reset(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    const SockAddr sa = to_sockaddr(*core::Endpoint::parse("127.0.0.2:0"));
    EXPECT_EQ(::bind(fd.get(), sa.get(), sa.len), 0);
    EXPECT_EQ(::listen(fd.get(), 16), 0);
    addr = *local_endpoint(fd.get());
  }
  core::Fd accept_one() const {
    pollfd p{.fd = fd.get(), .events = POLLIN, .revents = 0};
    if (::poll(&p, 1, testing::kWaitMs) <= 0) return {};
    return core::Fd(::accept4(fd.get(), nullptr, nullptr, SOCK_CLOEXEC));
  }
};

class ProxyMemoryBudget : public ::testing::TestWithParam<bool> {};

TEST_P(ProxyMemoryBudget, RefusesBeyondTheBudgetAndKeepsHeldConnectionsFlowing) {
  constexpr int kHeld = 3;
  constexpr std::uint64_t kBytes = std::uint64_t{4} << 20U;
  const ProxyOptions opts{.workers = 2, .pipe_size = 64 * 1024, .splice = GetParam()};
  const std::uint64_t per_conn = relay_bytes_per_connection(opts);
  ASSERT_EQ(per_conn, std::uint64_t{2} * 64 * 1024);
  ProxyOptions budgeted = opts;
  budgeted.relay_memory_budget = per_conn * kHeld + per_conn / 2;  // room for 3, not 4
  Listener real;
  Harness h(budgeted);
  const auto vip = h.add(make_service(model::Protocol::kTcp, "127.0.0.1:0", "rr", {real.addr}));

  std::vector<core::Fd> clients;
  std::vector<core::Fd> servers;
  for (int i = 0; i < kHeld; ++i) {
    clients.push_back(testing::connect_tcp(vip));
    ASSERT_TRUE(clients.back().valid());
    servers.push_back(real.accept_one());
    ASSERT_TRUE(servers.back().valid()) << "connection " << i << " did not reach the realserver";
  }
  // The fourth does not fit: reset, counted, and it never reaches the realserver.
  auto extra = testing::connect_tcp(vip);
  ASSERT_TRUE(extra.valid());
  EXPECT_EQ(testing::wait_closed(extra.get()), ECONNRESET);
  EXPECT_EQ(h.proxy->stats().refused, 1U);

  // The held ones relay both ways at once, byte-identical.
  std::vector<std::future<testing::TransferResult>> far;
  for (int i = 0; i < kHeld; ++i) {
    far.push_back(std::async(std::launch::async, [&, i] {
      return testing::transfer(servers[static_cast<std::size_t>(i)].get(), kBytes,
                               100 + static_cast<std::uint64_t>(i), false);
    }));
  }
  std::vector<std::future<testing::TransferResult>> near;
  for (int i = 0; i < kHeld; ++i) {
    near.push_back(std::async(std::launch::async, [&, i] {
      return testing::transfer(clients[static_cast<std::size_t>(i)].get(), kBytes,
                               200 + static_cast<std::uint64_t>(i), false);
    }));
  }
  for (int i = 0; i < kHeld; ++i) {
    const auto c = near[static_cast<std::size_t>(i)].get();
    const auto s = far[static_cast<std::size_t>(i)].get();
    ASSERT_TRUE(c.ok && s.ok) << "connection " << i;
    EXPECT_EQ(c.received_bytes, kBytes);
    EXPECT_EQ(s.received_bytes, kBytes);
    EXPECT_EQ(c.received_hash, s.sent_hash) << "realserver -> client, connection " << i;
    EXPECT_EQ(s.received_hash, c.sent_hash) << "client -> realserver, connection " << i;
  }

  // Closed connections give their share back: a new one is admitted again.
  clients.clear();
  servers.clear();
  ASSERT_TRUE(eventually([&] {
    const auto st = h.dest_stats(real.addr);
    return st.active + st.inactive == 0;
  }));
  auto again = testing::connect_tcp(vip);
  ASSERT_TRUE(again.valid());
  auto again_server = real.accept_one();
  EXPECT_TRUE(again_server.valid());
  EXPECT_EQ(h.proxy->stats().refused, 1U);
}

INSTANTIATE_TEST_SUITE_P(SpliceAndBuffer, ProxyMemoryBudget, ::testing::Bool(),
                         [](const auto& p) { return std::string(p.param ? "Splice" : "Buffer"); });

}  // namespace
}  // namespace lvs::dp::proxy
