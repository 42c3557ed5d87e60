// The sync daemon over real UDP sockets on loopback (unicast peers): a master sends its table
// to a backup, changes follow, and a restarted backup gets the whole table by a resync request.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <chrono>
#include <map>
#include <mutex>
#include <optional>
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
    auto backup =
        Daemon::start(config(Role::kBackup, backup_port, master_port),
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
  auto backup =
      Daemon::start(config(Role::kBackup, backup_port, master_port),
                    {.sink = [&second](const std::vector<Entry>& es) { second.put(es); }});
  ASSERT_TRUE(backup) << backup.error().message;
  EXPECT_TRUE(second.wait_for([](const auto& m) { return m.size() == 2; }));
  EXPECT_GE((*master)->counters().resyncs, 2U);
  EXPECT_EQ((*master)->counters().errors, 0U);
}

// Counter entries reach the backup with the master's address; when the master falls silent
// (its daemon gone) the backup is out of sync after `silence` and asks again; a master back on
// the same port answers with a bulk resync and the backup is in sync again. Short times here,
// the same state machine as the defaults (BackupLink).
TEST(SyncDaemon, CountersArriveAndSilenceEndsTheSyncUntilAResync) {
  const std::uint16_t master_port = free_udp_port();
  const std::uint16_t backup_port = free_udp_port();
  const CounterEntry counted{
      .service =
          model::ServiceKey::address(model::Protocol::kTcp, *core::Endpoint::parse("127.0.0.2:80")),
      .dest = *core::Endpoint::parse("127.0.0.3:8080"),
      .counters = {.conns = 300, .inpkts = 1800, .outpkts = 1500, .inbytes = 90000}};
  const auto master_config = [&] {
    DaemonConfig c = config(Role::kMaster, master_port, backup_port);
    c.counters_interval = std::chrono::milliseconds(50);
    return c;
  };
  const auto start_master = [&] {
    return Daemon::start(
        master_config(),
        {.source = [] { return std::vector<Entry>{}; },
         .counters_out =
             [&](core::TimePoint) { return std::optional(std::vector<CounterEntry>{counted}); }});
  };
  auto master = start_master();
  ASSERT_TRUE(master) << master.error().message;

  std::mutex mu;
  std::vector<CounterEntry> got;
  core::IpAddress sender{};
  DaemonConfig bc = config(Role::kBackup, backup_port, master_port);
  bc.silence = std::chrono::milliseconds(300);
  bc.request_interval = std::chrono::milliseconds(50);
  auto backup = Daemon::start(bc, {.sink = [](const std::vector<Entry>&) {},
                                   .counters_in =
                                       [&](const core::IpAddress& from,
                                           const std::vector<CounterEntry>& in, core::TimePoint) {
                                         std::lock_guard lock(mu);
                                         got = in;
                                         sender = from;
                                       }});
  ASSERT_TRUE(backup) << backup.error().message;
  Received waiter;  // only its bounded wait
  EXPECT_TRUE(waiter.wait_for([&](const auto&) {
    std::lock_guard lock(mu);
    return (*backup)->synced() && got == std::vector<CounterEntry>{counted};
  }));
  {
    std::lock_guard lock(mu);  // the backup's thread may be writing it again
    EXPECT_EQ(sender, core::IpAddress::v4(0x7f000001));
  }

  master->reset();  // silent from now on
  EXPECT_TRUE(waiter.wait_for([&](const auto&) { return !(*backup)->synced(); }));
  const std::uint64_t asked = (*backup)->counters().resyncs;
  EXPECT_TRUE(waiter.wait_for([&](const auto&) { return (*backup)->counters().resyncs > asked; }));

  master = start_master();  // back: answers the next request
  ASSERT_TRUE(master) << master.error().message;
  EXPECT_TRUE(waiter.wait_for([&](const auto&) { return (*backup)->synced(); }));
  EXPECT_GE((*master)->counters().resyncs, 1U);
}

// A master with nothing to send sends a header-only heartbeat: a backup it answered stays in
// sync for longer than `silence`.
TEST(SyncDaemon, HeartbeatKeepsAnIdleBackupInSync) {
  const std::uint16_t master_port = free_udp_port();
  const std::uint16_t backup_port = free_udp_port();
  DaemonConfig mc = config(Role::kMaster, master_port, backup_port);
  mc.heartbeat = std::chrono::milliseconds(50);
  auto master = Daemon::start(mc, {.source = [] { return std::vector<Entry>{}; }});
  ASSERT_TRUE(master) << master.error().message;
  DaemonConfig bc = config(Role::kBackup, backup_port, master_port);
  bc.silence = std::chrono::milliseconds(200);
  auto backup = Daemon::start(bc, {.sink = [](const std::vector<Entry>&) {}});
  ASSERT_TRUE(backup) << backup.error().message;
  Received waiter;
  ASSERT_TRUE(waiter.wait_for([&](const auto&) { return (*backup)->synced(); }));
  const std::uint64_t heard = (*backup)->counters().received_messages;
  // Bounded: until ten heartbeats more arrived (about 500 ms, over two silences).
  EXPECT_TRUE(waiter.wait_for(
      [&](const auto&) { return (*backup)->counters().received_messages >= heard + 10; }));
  EXPECT_TRUE((*backup)->synced());
  EXPECT_EQ((*backup)->counters().resyncs, 1U);  // the first request only
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
