// dp::masq::Routing against the real kernel, each test in a private network namespace of its
// own (unshare(CLONE_NEWNET)), so nothing on the host is touched. Needs root: skipped otherwise.

#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <array>
#include <cstring>
#include <string>
#include <vector>

#include "core/fd.h"
#include "dp/masq/masq.h"

namespace lvs::dp::masq {
namespace {

using core::Family;

class MasqRouting : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!has_net_admin()) GTEST_SKIP() << "needs root (CAP_NET_ADMIN) for a network namespace";
    ASSERT_EQ(::unshare(CLONE_NEWNET), 0) << std::strerror(errno);
    // The namespace's lo starts down; the local routes go through it.
    core::Fd s(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    ifreq ifr{};
    std::strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
    ASSERT_EQ(::ioctl(s.get(), SIOCGIFFLAGS, &ifr), 0);
    ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP);
    ASSERT_EQ(::ioctl(s.get(), SIOCSIFFLAGS, &ifr), 0);
  }
};

// Both families installed, then one removal takes every piece and says what it took.
TEST_F(MasqRouting, EnsureInstallsAndRemoveTakesEverything) {
  Routing r(Settings{});
  ASSERT_TRUE(r.ensure(Family::kInet4).ok());
  ASSERT_TRUE(r.ensure(Family::kInet6).ok());
  ASSERT_TRUE(r.ensure(Family::kInet4).ok());  // again: nothing changes
  EXPECT_TRUE(r.installed());
  auto removed = r.remove();
  ASSERT_TRUE(removed.ok()) << removed.error().message;
  EXPECT_EQ(removed->items, (std::vector<std::string>{
                                "nftables table inet lvsd",
                                "ip rule fwmark 0x4c56 lookup 19542 (IPv4) priority 19542",
                                "ip route local 0.0.0.0/0 dev lo table 19542 (IPv4)",
                                "ip rule fwmark 0x4c56 lookup 19542 (IPv6) priority 19542",
                                "ip route local ::/0 dev lo table 19542 (IPv6)",
                            }));
  EXPECT_FALSE(r.installed());
  auto again = remove_all(Settings{});
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_TRUE(again->items.empty());
}

// A second run (after a crash of the first) replaces the leftovers: one rule, not two.
TEST_F(MasqRouting, NextRunReplacesLeftovers) {
  Routing crashed(Settings{});
  ASSERT_TRUE(crashed.ensure(Family::kInet4).ok());
  Routing next(Settings{});
  ASSERT_TRUE(next.ensure(Family::kInet4).ok());
  auto removed = remove_all(Settings{});
  ASSERT_TRUE(removed.ok()) << removed.error().message;
  EXPECT_EQ(removed->items, (std::vector<std::string>{
                                "nftables table inet lvsd",
                                "ip rule fwmark 0x4c56 lookup 19542 (IPv4) priority 19542",
                                "ip route local 0.0.0.0/0 dev lo table 19542 (IPv4)",
                            }));
}

// The destructor removes what ensure() installed (lvsd's error exits rely on it).
TEST_F(MasqRouting, DestructorRemovesTheState) {
  {
    Routing r(Settings{.fwmark = 7, .table = 100});
    ASSERT_TRUE(r.ensure(Family::kInet6).ok());
  }
  auto left = remove_all(Settings{.fwmark = 7, .table = 100});
  ASSERT_TRUE(left.ok()) << left.error().message;
  EXPECT_TRUE(left->items.empty());
}

// --masq-fwmark/--masq-table: removal finds only state with its own mark and table.
TEST_F(MasqRouting, SettingsSelectWhatIsRemoved) {
  Routing r(Settings{.fwmark = 7, .table = 100});
  ASSERT_TRUE(r.ensure(Family::kInet4).ok());
  auto other = remove_all(Settings{.fwmark = 8, .table = 101});
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(other->items, std::vector<std::string>{"nftables table inet lvsd"});
  auto mine = remove_all(Settings{.fwmark = 7, .table = 100});
  ASSERT_TRUE(mine.ok());
  EXPECT_EQ(mine->items, (std::vector<std::string>{
                             "ip rule fwmark 0x7 lookup 100 (IPv4) priority 19542",
                             "ip route local 0.0.0.0/0 dev lo table 100 (IPv4)",
                         }));
}

// At start, lvsd removes a dead lvsd's state but leaves a running one's alone (the table's
// comment names its owner). The owner here is a child process named lvsd, killed like a crash.
TEST_F(MasqRouting, LeftoversOfADeadLvsdGoAtStartALiveOnesStay) {
  std::array<int, 2> ready{};
  ASSERT_EQ(::pipe(ready.data()), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::prctl(PR_SET_NAME, "lvsd");
    Routing r(Settings{});
    const char ok = r.ensure(Family::kInet4).ok() ? 'y' : 'n';
    (void)::write(ready[1], &ok, 1);
    for (;;) ::pause();  // until SIGKILL: the destructor never runs
  }
  ::close(ready[1]);
  char ok = 0;
  ASSERT_EQ(::read(ready[0], &ok, 1), 1);
  ::close(ready[0]);
  ASSERT_EQ(ok, 'y');
  auto busy = remove_leftovers(Settings{});
  ASSERT_FALSE(busy.ok());
  EXPECT_EQ(busy.error().message, "the nftables table inet lvsd belongs to a running lvsd (pid " +
                                      std::to_string(child) +
                                      "); its masquerading state is left alone");
  ::kill(child, SIGKILL);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  auto removed = remove_leftovers(Settings{});
  ASSERT_TRUE(removed.ok()) << removed.error().message;
  EXPECT_EQ(removed->items, (std::vector<std::string>{
                                "nftables table inet lvsd",
                                "ip rule fwmark 0x4c56 lookup 19542 (IPv4) priority 19542",
                                "ip route local 0.0.0.0/0 dev lo table 19542 (IPv4)",
                            }));
}

}  // namespace
}  // namespace lvs::dp::masq
