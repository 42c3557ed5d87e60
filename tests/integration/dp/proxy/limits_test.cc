// Load-following, timeouts and resource bounds of the full-NAT proxy on loopback: wlc follows
// open connections, connect and FIN timeouts, a connect/close soak measured from /proc, and
// ~10,000 concurrent connections with clients and realserver in child processes.

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "harness.h"
#include "loopback.h"

namespace lvs::dp::proxy {
namespace {

using std::chrono::milliseconds;
using testing::NameServer;

std::size_t open_fds() {
  std::size_t n = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator("/proc/self/fd")) ++n;
  return n;
}

// Resident set size in KiB, from /proc/self/statm (pages).
std::uint64_t rss_kib() {
  std::FILE* f = std::fopen("/proc/self/statm", "r");
  if (f == nullptr) return 0;
  unsigned long size = 0, resident = 0;  // NOLINT(google-runtime-int): fscanf's %lu
  const int got = std::fscanf(f, "%lu %lu", &size, &resident);
  std::fclose(f);
  if (got != 2) return 0;
  return static_cast<std::uint64_t>(resident) *
         static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE)) / 1024;
}

// Connections the proxy holds open. Not active + inactive: an ended connection stays counted
// as inactive while it lingers in TIME_WAIT/CLOSE (linger_test.cc), with no socket left.
std::uint64_t open_conns(const Harness& h) { return h.proxy->open_connections(); }

// wlc: N connections held open on A make A's overhead N*256; once B and C join (weight 1,
// no connections), the next 2N connections all go to them, N each, never to A.
TEST(ProxyWlc, FollowsOpenConnections) {
  constexpr int kHeld = 5;
  NameServer a("A", "127.0.0.2"), b("B", "127.0.0.3"), c("C", "127.0.0.4");
  Harness h;
  auto svc =
      make_service(model::Protocol::kTcp, "127.0.0.1:0", "wlc", {a.addr(), b.addr(), c.addr()});
  svc.find_dest(b.addr())->weight = 0;
  svc.find_dest(c.addr())->weight = 0;
  const auto vip = h.add(svc);
  std::vector<core::Fd> held;
  for (int i = 0; i < kHeld; ++i) {
    held.push_back(testing::connect_tcp(vip));
    ASSERT_EQ(testing::read_line(held.back().get()), "A");
  }
  EXPECT_EQ(h.dest_stats(a.addr()).active, static_cast<std::uint32_t>(kHeld));
  h.table.services[0].find_dest(b.addr())->weight = 1;
  h.table.services[0].find_dest(c.addr())->weight = 1;
  h.apply();
  std::map<std::string, int> seen;
  std::vector<core::Fd> more;
  for (int i = 0; i < 2 * kHeld; ++i) {
    more.push_back(testing::connect_tcp(vip));
    ++seen[testing::read_line(more.back().get())];
  }
  EXPECT_EQ(seen, (std::map<std::string, int>{{"B", kHeld}, {"C", kHeld}}));
  // Now all three carry N: closing A's connections makes A the least loaded again.
  held.clear();
  ASSERT_TRUE(eventually([&] { return h.dest_stats(a.addr()).active == 0; }));
  auto next = testing::connect_tcp(vip);
  EXPECT_EQ(testing::read_line(next.get()), "A");
}

// A realserver that never answers the handshake: a listener with backlog 0 whose one queue
// slot is taken (Linux drops further SYNs while the accept queue is full, so lvsd's connect
// stays in SYN-SENT). After the connect timeout the client is reset and the failure counted.
TEST(ProxyTcp, ConnectTimeoutResetsClientAndCountsFailure) {
  auto blackhole = make_listener(SockType::kStream, *core::Endpoint::parse("127.0.0.6:0"), 0);
  ASSERT_TRUE(blackhole.ok());
  const auto dead = *local_endpoint(blackhole->get());
  auto filler = testing::connect_tcp(dead);  // completes: it fills the accept queue
  ASSERT_TRUE(filler.valid());
  Harness h({.workers = 1, .connect_timeout = milliseconds(300)});
  const auto vip = h.add(make_service(model::Protocol::kTcp, "127.0.0.1:0", "rr", {dead}));
  auto fd = testing::connect_tcp(vip);
  ASSERT_TRUE(fd.valid());
  EXPECT_EQ(testing::wait_closed(fd.get()), ECONNRESET);
  EXPECT_TRUE(eventually([&] { return h.dest_stats(dead).counters.failed == 1; }));
  EXPECT_TRUE(eventually([&] { return open_conns(h) == 0; }));
  EXPECT_EQ(h.proxy->errors()[dp::ErrorKind::kConnectTimeout], 1U);
  EXPECT_EQ(h.proxy->errors()[dp::ErrorKind::kConnectRefused], 0U);
}

// A connection half-closed by the client, whose realserver never answers the FIN (a listener
// that never accepts: the kernel completes the connection and holds it), is closed after the
// short FIN timeout although the established timeout is the default 900 s.
TEST(ProxyTcp, HalfClosedConnectionExpiresAfterFinTimeout) {
  auto silent = make_listener(SockType::kStream, *core::Endpoint::parse("127.0.0.7:0"), 16);
  ASSERT_TRUE(silent.ok());
  const auto real = *local_endpoint(silent->get());
  Harness h({.workers = 1, .tcp_fin_timeout = milliseconds(300)});
  const auto vip = h.add(make_service(model::Protocol::kTcp, "127.0.0.1:0", "rr", {real}));
  auto fd = testing::connect_tcp(vip);
  ASSERT_TRUE(fd.valid());
  ASSERT_TRUE(eventually([&] { return h.dest_stats(real).active == 1; }));
  ASSERT_EQ(::shutdown(fd.get(), SHUT_WR), 0);
  ASSERT_TRUE(eventually([&] { return h.dest_stats(real).inactive == 1; }));  // FIN state
  EXPECT_NE(testing::wait_closed(fd.get()), -1);
  EXPECT_TRUE(eventually([&] { return open_conns(h) == 0; }));
}

// Connect/close cycles leave no descriptors or memory behind: after a warm-up round, 20 rounds
// of 200 connections end with this process's open descriptors back at the baseline (+ a few
// pooled pipes) and RSS within a generous bound (sanitizer quarantines hold freed memory).
TEST(ProxySoak, ConnectCloseCyclesDoNotGrowDescriptorsOrMemory) {
  constexpr int kRounds = 20;
  constexpr int kPerRound = 200;
  constexpr std::size_t kFdSlack = 8;  // pipes a worker may keep pooled
  constexpr std::uint64_t kRssSlackKib = std::uint64_t{48} * 1024;  // measured growth is far below
  NameServer a("A", "127.0.0.2"), b("B", "127.0.0.3");
  Harness h({.workers = 2});
  const auto vip =
      h.add(make_service(model::Protocol::kTcp, "127.0.0.1:0", "rr", {a.addr(), b.addr()}));
  const auto round = [&] {
    for (int i = 0; i < kPerRound; ++i) {
      auto fd = testing::connect_tcp(vip);
      ASSERT_TRUE(fd.valid());
      ASSERT_FALSE(testing::read_line(fd.get()).empty());
    }
    ASSERT_TRUE(eventually([&] { return open_conns(h) == 0 && a.open() + b.open() == 0; }));
  };
  round();
  const std::size_t fds0 = open_fds();
  const std::uint64_t rss0 = rss_kib();
  for (int r = 0; r < kRounds; ++r) round();
  EXPECT_TRUE(eventually([&] { return open_fds() <= fds0 + kFdSlack; }))
      << "fds " << fds0 << " -> " << open_fds();
  const std::uint64_t rss1 = rss_kib();
  EXPECT_LE(rss1, rss0 + kRssSlackKib) << "rss KiB " << rss0 << " -> " << rss1;
  std::printf("soak: %d connections; fds %zu -> %zu; rss %llu KiB -> %llu KiB\n",
              kRounds * kPerRound, fds0, open_fds(), static_cast<unsigned long long>(rss0),
              static_cast<unsigned long long>(rss1));
}

// A service capped at 3 open connections resets the 4th client (counted as refused) and takes
// new ones again once one of the three has closed.
TEST(ProxyTcp, ConnectionCapResetsConnectionsBeyondIt) {
  NameServer a("A", "127.0.0.2");
  Harness h({.workers = 2});
  auto svc = make_service(model::Protocol::kTcp, "127.0.0.1:0", "rr", {a.addr()});
  svc.conn_limit = 3;
  const auto vip = h.add(svc);
  std::vector<core::Fd> held;
  for (int i = 0; i < 3; ++i) {
    held.push_back(testing::connect_tcp(vip));
    ASSERT_EQ(testing::read_line(held.back().get()), "A");
  }
  auto extra = testing::connect_tcp(vip);
  ASSERT_TRUE(extra.valid());  // the kernel completed the handshake; lvsd resets it
  EXPECT_EQ(testing::wait_closed(extra.get()), ECONNRESET);
  EXPECT_EQ(h.proxy->stats().refused, 1U);
  EXPECT_EQ(h.dest_stats(a.addr()).counters.conns, 3U);
  EXPECT_EQ(h.proxy->errors()[dp::ErrorKind::kConnLimit], 1U);
  EXPECT_EQ(h.proxy->errors()[dp::ErrorKind::kNoRealserver], 0U);
  held.pop_back();
  ASSERT_TRUE(eventually([&] { return open_conns(h) == 2; }));
  auto again = testing::connect_tcp(vip);
  EXPECT_EQ(testing::read_line(again.get()), "A");
}

// --- ~10,000 concurrent connections -----------------------------------------------------------
// This process is lvsd: it holds 2 descriptors per connection. The realserver and the clients
// run in two child processes (each holds ~1 descriptor per connection), forked before the
// proxy's threads start. The limit hit is the 20,000-descriptor hard cap of a process:
// 2 x 9,900 = 19,800 leaves ~200 for stdio, epoll, eventfds, listeners, pooled pipes and the
// test's own sockets, so 9,900 is held instead of exactly 10,000.
constexpr int kConcurrent = 9900;

// Child: accepts on `listener` until it holds `n` connections, greeting each with "R\n", then
// waits for EOF on `control` and exits (closing everything). Syscalls only after fork.
[[noreturn]] void realserver_child(int listener, int n, int control) {
  ::fcntl(listener, F_SETFL, 0);  // make_listener made it non-blocking
  for (int held = 0; held < n;) {
    const int fd = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR) continue;
      ::_exit(2);
    }
    if (::send(fd, "R\n", 2, MSG_NOSIGNAL) != 2) ::_exit(3);
    ++held;
  }
  char c = 0;
  while (::read(control, &c, 1) > 0) {
  }
  ::_exit(0);
}

// Child: reads the VIP (sockaddr) from `control`, opens `n` connections through it, reads
// each greeting, reports how many succeeded on `result`, then waits for EOF on `control`.
[[noreturn]] void client_child(int n, int control, int result) {
  SockAddr vip;
  if (::read(control, &vip, sizeof(vip)) != static_cast<ssize_t>(sizeof(vip))) ::_exit(2);
  int ok = 0;
  for (int i = 0; i < n; ++i) {
    const int fd = ::socket(vip.storage.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || ::connect(fd, vip.get(), vip.len) != 0) break;
    pollfd p{.fd = fd, .events = POLLIN, .revents = 0};
    std::array<char, 2> line{};
    if (::poll(&p, 1, testing::kWaitMs) != 1 || ::recv(fd, line.data(), 2, MSG_WAITALL) != 2) {
      break;
    }
    ++ok;
  }
  if (::write(result, &ok, sizeof(ok)) != static_cast<ssize_t>(sizeof(ok))) ::_exit(3);
  char c = 0;
  while (::read(control, &c, 1) > 0) {
  }
  ::_exit(0);
}

TEST(ProxyTcp, NearlyTenThousandConcurrentConnectionsHeldAndClosed) {
  const std::uint64_t limit = raise_nofile_limit();
  if (limit < 2 * kConcurrent + 150) GTEST_SKIP() << "RLIMIT_NOFILE " << limit << " too low";
  auto listener = make_listener(SockType::kStream, *core::Endpoint::parse("127.0.0.8:0"), 4096);
  ASSERT_TRUE(listener.ok());
  const auto real = *local_endpoint(listener->get());
  std::array<int, 2> real_ctl{}, client_ctl{}, result{};
  ASSERT_EQ(::pipe2(real_ctl.data(), O_CLOEXEC), 0);
  ASSERT_EQ(::pipe2(client_ctl.data(), O_CLOEXEC), 0);
  ASSERT_EQ(::pipe2(result.data(), O_CLOEXEC), 0);
  const pid_t real_pid = ::fork();
  ASSERT_GE(real_pid, 0);
  if (real_pid == 0) realserver_child(listener->get(), kConcurrent, real_ctl[0]);
  const pid_t client_pid = ::fork();
  ASSERT_GE(client_pid, 0);
  if (client_pid == 0) client_child(kConcurrent, client_ctl[0], result[1]);
  listener->reset();
  core::Fd real_stop(real_ctl[1]), client_stop(client_ctl[1]), results(result[0]);
  ::close(real_ctl[0]);  // NOLINT: the children's ends, raw from pipe2
  ::close(client_ctl[0]);
  ::close(result[1]);
  bool reaped = false;
  const auto reap = [&] {
    if (std::exchange(reaped, true)) return;
    real_stop.reset();
    client_stop.reset();
    int status = 0;
    for (const pid_t pid : {real_pid, client_pid}) {
      ::kill(pid, SIGKILL);  // no-op once it exited; a stuck child must not outlive the test
      ::waitpid(pid, &status, 0);
    }
  };
  {
    Harness h({.workers = 2});
    const auto vip = h.add(make_service(model::Protocol::kTcp, "127.0.0.1:0", "rr", {real}));
    const std::size_t fds0 = open_fds();
    const SockAddr sa = to_sockaddr(vip);
    ASSERT_EQ(::write(client_stop.get(), &sa, sizeof(sa)), static_cast<ssize_t>(sizeof(sa)));
    int ok = -1;
    pollfd p{.fd = results.get(), .events = POLLIN, .revents = 0};
    // Bounded by the children's own bounded waits; generous for sanitizer builds.
    if (::poll(&p, 1, 120'000) == 1) {
      [[maybe_unused]] const auto n = ::read(results.get(), &ok, sizeof(ok));
    }
    EXPECT_EQ(ok, kConcurrent);
    EXPECT_EQ(h.dest_stats(real).active, static_cast<std::uint32_t>(kConcurrent));
    const std::size_t held_fds = open_fds();
    EXPECT_GE(held_fds, fds0 + 2 * static_cast<std::size_t>(kConcurrent));
    std::printf("concurrent: %d connections; lvsd process fds %zu (baseline %zu), refused %llu\n",
                ok, held_fds, fds0, static_cast<unsigned long long>(h.proxy->stats().refused));
    reap();
    EXPECT_TRUE(eventually([&] { return open_conns(h) == 0; }));
    EXPECT_TRUE(eventually([&] { return open_fds() <= fds0 + 8; })) << open_fds();
  }
  reap();
}

}  // namespace
}  // namespace lvs::dp::proxy
