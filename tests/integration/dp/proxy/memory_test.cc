// Running short refuses new connections and never breaks running ones. The relay memory
// budget: connections are admitted while their worst-case relay bytes fit; the next one is
// reset and counted as refused, the admitted ones keep relaying both ways byte for byte, and a
// closed connection gives its share back. Descriptor exhaustion (RLIMIT_NOFILE lowered in this
// process): accept failing, then the realserver socket failing, each reset one new client while
// the held connections keep relaying through pooled pipes or the copy buffer; with splice, a
// worker that cannot get a relay pipe refuses the new connection at admission.

#include <fcntl.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <filesystem>
#include <future>
#include <vector>

#include "core/log.h"
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
  EXPECT_EQ(h.proxy->errors()[dp::ErrorKind::kMemory], 1U);

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
  // (They stay counted as inactive while they linger in TIME_WAIT, holding no socket.)
  ASSERT_TRUE(eventually([&] {
    const auto st = h.dest_stats(real.addr);
    return st.active == 0 && h.proxy->open_connections() == 0;
  }));
  auto again = testing::connect_tcp(vip);
  ASSERT_TRUE(again.valid());
  auto again_server = real.accept_one();
  EXPECT_TRUE(again_server.valid());
  EXPECT_EQ(h.proxy->stats().refused, 1U);
}

INSTANTIATE_TEST_SUITE_P(SpliceAndBuffer, ProxyMemoryBudget, ::testing::Bool(),
                         [](const auto& p) { return std::string(p.param ? "Splice" : "Buffer"); });

std::size_t open_fds() {
  std::size_t n = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator("/proc/self/fd")) ++n;
  return n;
}

// Lowers the soft descriptor limit for its lifetime, then restores it.
class NofileLimit {
 public:
  explicit NofileLimit(rlim_t soft) {
    ::getrlimit(RLIMIT_NOFILE, &saved_);
    rlimit low = saved_;
    low.rlim_cur = soft;
    ok_ = ::setrlimit(RLIMIT_NOFILE, &low) == 0;
  }
  ~NofileLimit() { ::setrlimit(RLIMIT_NOFILE, &saved_); }
  NofileLimit(const NofileLimit&) = delete;
  NofileLimit& operator=(const NofileLimit&) = delete;
  bool ok() const { return ok_; }

 private:
  rlimit saved_{};
  bool ok_ = false;
};

// Both ways at once on each pair: {client's view, realserver's view} per connection.
using Views = std::vector<std::pair<testing::TransferResult, testing::TransferResult>>;
Views relay_both_ways(std::vector<core::Fd>& clients, std::vector<core::Fd>& servers,
                      std::uint64_t bytes) {
  std::vector<std::future<testing::TransferResult>> far;
  std::vector<std::future<testing::TransferResult>> near;
  for (std::size_t i = 0; i < clients.size(); ++i) {
    far.push_back(std::async(std::launch::async, [&, i] {
      return testing::transfer(servers[i].get(), bytes, 300 + i, false);
    }));
  }
  for (std::size_t i = 0; i < clients.size(); ++i) {
    near.push_back(std::async(std::launch::async, [&, i] {
      return testing::transfer(clients[i].get(), bytes, 400 + i, false);
    }));
  }
  Views out;
  for (std::size_t i = 0; i < clients.size(); ++i) out.emplace_back(near[i].get(), far[i].get());
  return out;
}

// Every byte arrived, byte-identical by hash, both ways.
void expect_identical(const Views& views, std::uint64_t bytes) {
  for (std::size_t i = 0; i < views.size(); ++i) {
    const auto& [c, s] = views[i];
    ASSERT_TRUE(c.ok && s.ok) << "connection " << i;
    EXPECT_EQ(c.received_bytes, bytes);
    EXPECT_EQ(s.received_bytes, bytes);
    EXPECT_EQ(c.received_hash, s.sent_hash) << "realserver -> client, connection " << i;
    EXPECT_EQ(s.received_hash, c.sent_hash) << "client -> realserver, connection " << i;
  }
}

class ProxyDescriptors : public ::testing::TestWithParam<bool> {};

TEST_P(ProxyDescriptors, ExhaustionRefusesNewConnectionsAndHeldOnesKeepFlowing) {
  constexpr std::uint64_t kBytes = std::uint64_t{2} << 20U;
  Listener real;
  Harness h({.workers = 1, .pipe_size = 64 * 1024, .splice = GetParam()});
  const auto vip = h.add(make_service(model::Protocol::kTcp, "127.0.0.1:0", "rr", {real.addr}));
  const auto open_pairs = [&](std::vector<core::Fd>& clients, std::vector<core::Fd>& servers) {
    for (int i = 0; i < 2; ++i) {
      clients.push_back(testing::connect_tcp(vip));
      servers.push_back(real.accept_one());
      ASSERT_TRUE(clients.back().valid() && servers.back().valid());
    }
  };
  // A first round while descriptors remain (a transfer ends its connection): every type the
  // relay and this test meet is then known to UBSan (see below).
  {
    std::vector<core::Fd> clients;
    std::vector<core::Fd> servers;
    open_pairs(clients, servers);
    expect_identical(relay_both_ways(clients, servers, kBytes / 16), kBytes / 16);
  }
  std::vector<core::Fd> clients;
  std::vector<core::Fd> servers;
  open_pairs(clients, servers);
  EXPECT_EQ(h.proxy->stats().refused, 0U);
  // With no descriptor left nothing may fail a gtest assertion (its message stream is such a
  // first meeting too): the outcomes are recorded here and checked once descriptors are back.
  int refused_errno_a = 0;
  int refused_errno_b = 0;
  bool counted_a = false;
  bool counted_b = false;
  int refused_errno_c = 0;
  bool counted_c = false;
  Views held;
  // A second proxy whose worker has no pooled pipe yet: with two descriptors free, accept takes
  // one and the relay pipe cannot be had (splice only; the copy buffer needs no descriptor).
  Harness fresh({.workers = 1, .pipe_size = 64 * 1024, .splice = true});
  const auto fresh_vip =
      fresh.add(make_service(model::Protocol::kTcp, "127.0.0.1:0", "rr", {real.addr}));
  core::Fd no_pipe(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  // An admission error's text, formatted once here (see below): a pipe size the kernel refuses.
  const auto refused_pipe = make_pipe(-1, true);
  ASSERT_FALSE(refused_pipe.ok());
  EXPECT_EQ(refused_pipe.error().message.rfind("cannot grow a relay pipe to -1 bytes: ", 0), 0U);
  // The clients to be refused get their sockets while descriptors remain.
  core::Fd no_accept(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  core::Fd no_upstream(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  {
    // UBSan checks a dynamic type it meets for the first time through a pipe, which fails with
    // no descriptor left; the refusal log lines (fmt, spdlog) would be such first meetings.
    const auto level = core::log().level();
    core::log().set_level(spdlog::level::off);
    struct Restore {
      spdlog::level::level_enum level;
      ~Restore() { core::log().set_level(level); }
    } restore{level};
    NofileLimit limit(open_fds() + 64);
    if (!limit.ok()) GTEST_SKIP() << "cannot lower RLIMIT_NOFILE";
    std::vector<core::Fd> filler;
    for (int i = 0; i < 4096; ++i) {
      core::Fd f(::open("/dev/null", O_RDONLY | O_CLOEXEC));
      if (!f) break;
      filler.push_back(std::move(f));
    }
    const bool exhausted = errno == EMFILE && !filler.empty();
    if (!exhausted) GTEST_SKIP() << "could not exhaust the descriptor table";

    // No descriptor left: accept fails, the spare descriptor accepts and resets.
    const SockAddr sa = to_sockaddr(vip);
    if (::connect(no_accept.get(), sa.get(), sa.len) == 0) {
      refused_errno_a = testing::wait_closed(no_accept.get());
    }
    counted_a = eventually([&] { return h.proxy->stats().refused == 1; });

    // One descriptor: accept succeeds, the realserver socket does not.
    filler.pop_back();
    if (::connect(no_upstream.get(), sa.get(), sa.len) == 0) {
      refused_errno_b = testing::wait_closed(no_upstream.get());
    }
    counted_b = eventually([&] { return h.proxy->stats().refused == 2; });

    // Two descriptors: accept succeeds, a relay pipe (two descriptors) does not.
    filler.pop_back();
    if (GetParam()) {
      const SockAddr fresh_sa = to_sockaddr(fresh_vip);
      if (::connect(no_pipe.get(), fresh_sa.get(), fresh_sa.len) == 0) {
        refused_errno_c = testing::wait_closed(no_pipe.get());
      }
      counted_c = eventually([&] { return fresh.proxy->stats().refused == 1; });
    }

    // Still short of descriptors: the held connections relay both ways.
    held = relay_both_ways(clients, servers, kBytes);
  }
  EXPECT_EQ(refused_errno_a, ECONNRESET) << "accept failing";
  EXPECT_TRUE(counted_a);
  EXPECT_EQ(refused_errno_b, ECONNRESET) << "realserver socket failing";
  EXPECT_TRUE(counted_b);
  if (GetParam()) {
    EXPECT_EQ(refused_errno_c, ECONNRESET) << "relay pipe failing";
    EXPECT_TRUE(counted_c);
  }
  expect_identical(held, kBytes);
  // Descriptors back: a new connection is served again.
  auto again = testing::connect_tcp(vip);
  ASSERT_TRUE(again.valid());
  EXPECT_TRUE(real.accept_one().valid());
  EXPECT_EQ(h.proxy->stats().refused, 2U);
  EXPECT_EQ(h.proxy->errors()[dp::ErrorKind::kDescriptors], 2U);  // accept, realserver socket
}

INSTANTIATE_TEST_SUITE_P(SpliceAndBuffer, ProxyDescriptors, ::testing::Bool(),
                         [](const auto& p) { return std::string(p.param ? "Splice" : "Buffer"); });

}  // namespace
}  // namespace lvs::dp::proxy
