// The sync daemon over real UDP sockets on loopback (unicast peers): a master sends its table
// to a backup, changes follow, and a restarted backup gets the whole table by a resync request.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <chrono>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "core/fd.h"
#include "sync/daemon.h"

namespace lvs::sync {
namespace {

// A port the kernel just handed out on 127.0.0.1 (released before use: never a fixed port).
std::uint16_t free_udp_port() {
  core::Fd fd(::socket(AF_INET, SOCK_DGRAM, 0));
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(::bind(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
  socklen_t len = sizeof sa;
  ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&sa), &len);
  return ntohs(sa.sin_port);
}

Entry flow(std::uint16_t cport, std::uint8_t state) {
  return Entry{.kind = EntryKind::kConnection,
               .protocol = 6,
               .state = state,
               .persistent = false,
               .client = {.addr = core::IpAddress::v4(0x7f000001), .port = cport},
               .vip = {.addr = core::IpAddress::v4(0x7f000002), .port = 80},
               .dest = {.addr = core::IpAddress::v4(0x7f000003), .port = 8080},
               .netmask = 0,
               .timeout = 900};
}

// The master's table, changed by the test while the daemon reads it.
struct Table {
  std::mutex mu;
  std::vector<Entry> entries;
  std::vector<Entry> get() {
    std::lock_guard lock(mu);
    return entries;
  }
};

// What a backup received: the last entry per client port.
struct Received {
  std::mutex mu;
  std::map<std::uint16_t, Entry> by_port;
  void put(const std::vector<Entry>& es) {
    std::lock_guard lock(mu);
    for (const Entry& e : es) by_port[e.client.port] = e;
  }
  // Waits (bounded: 5 s) until `pred` holds.
  template <typename Pred>
  bool wait_for(Pred pred) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (std::chrono::steady_clock::now() < deadline) {
      {
        std::lock_guard lock(mu);
        if (pred(by_port)) return true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  }
};

DaemonConfig config(Role role, std::uint16_t port, std::uint16_t peer_port) {
  DaemonConfig c;
  c.role = role;
  c.syncid = 9;
  c.group = core::IpAddress::v4(0x7f000001);
  c.port = port;
  c.peer_port = peer_port;
  c.local = core::IpAddress::v4(0x7f000001);
  c.interval = std::chrono::milliseconds(20);
  return c;
}

TEST(SyncDaemon, MasterTableReachesBackupAndRestartedBackupResyncs) {
  const std::uint16_t master_port = free_udp_port();
  const std::uint16_t backup_port = free_udp_port();
  Table table;
  table.entries = {flow(1000, 1), flow(1001, 1)};
  auto master = Daemon::start(config(Role::kMaster, master_port, backup_port),
                              {.source = [&table] { return table.get(); }});
  ASSERT_TRUE(master) << master.error().message;

  Received first;
  {
    auto backup = Daemon::start(config(Role::kBackup, backup_port, master_port),
                                {.sink = [&first](const std::vector<Entry>& es) { first.put(es); }});
    ASSERT_TRUE(backup) << backup.error().message;
    EXPECT_TRUE(first.wait_for([](const auto& m) { return m.size() == 2; }));
    // The master's "resync done" follows the whole table (bounded wait).
    EXPECT_TRUE(first.wait_for([&backup](const auto&) { return (*backup)->synced(); }));
    EXPECT_FALSE((*master)->synced());
    // A state change follows.
    {
      std::lock_guard lock(table.mu);
      table.entries[0].state = 5;
    }
    EXPECT_TRUE(first.wait_for([](const auto& m) { return m.at(1000).state == 5; }));
    EXPECT_GE((*backup)->counters().received_entries, 3U);
  }
  // The backup restarts: its resync request brings the whole (unchanged) table again.
  Received second;
  auto backup = Daemon::start(config(Role::kBackup, backup_port, master_port),
                              {.sink = [&second](const std::vector<Entry>& es) { second.put(es); }});
  ASSERT_TRUE(backup) << backup.error().message;
  EXPECT_TRUE(second.wait_for([](const auto& m) { return m.size() == 2; }));
  EXPECT_GE((*master)->counters().resyncs, 2U);
  EXPECT_EQ((*master)->counters().errors, 0U);
}

// A multicast group without an interface, or on one that does not exist, is refused by name.
TEST(SyncDaemon, RefusesAMissingInterface) {
  DaemonConfig c;
  c.role = Role::kBackup;
  auto d = Daemon::start(c, {.sink = [](const std::vector<Entry>&) {}});
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error().message,
            "sync daemon: multicast group 224.0.0.81 needs an interface (--mcast-interface)");
  c.interface = "lvsd-i-nosuch";
  d = Daemon::start(c, {.sink = [](const std::vector<Entry>&) {}});
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error().message,
            "sync daemon: interface 'lvsd-i-nosuch' does not exist (--mcast-interface)");
}

}  // namespace
}  // namespace lvs::sync
