#pragma once
// The connection-sync daemon (--start-daemon master|backup): one thread per daemon.
//
// Master: every `interval` it asks `source` for the whole table (flows and templates, as the
// packet engine holds them) and sends what is new or changed since it last sent it (a
// periodic diff, ChangeTracker), at most `max_entries_per_tick` entries per tick, in datagrams
// of at most `maxlen` bytes. A live entry whose expiry moved later by `refresh` or more is sent
// again, so the backup's copy does not expire while the flow is busy on the master. A resync
// request from a backup makes it forget what it sent: the whole table goes out again (bounded
// per tick like any change), then a header-only "resync done" message once all of it went out.
// Backup: sends a resync request on start and once a second until the master answers, then
// hands every received batch to `sink` (on the daemon's thread); synced() turns true at the
// master's "resync done" (for a VRRP follower: do not take the VIP before). A backup with syncid 0
// takes messages of any syncid (as IPVS); otherwise only its own.
//
// Transport: UDP to the multicast `group` (default 224.0.0.81:8848, ttl 1, as IPVS) on
// `interface`; or, when `group` is a unicast address, to that one peer (an lvsd extension for
// routed or multicast-free networks; docs/SYNC.md). Both ends bind `port`.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "core/clock.h"
#include "core/endpoint.h"
#include "core/fd.h"
#include "core/result.h"
#include "sync/codec.h"

namespace lvs::sync {

enum class Role : std::uint8_t { kMaster, kBackup };

struct DaemonConfig {
  Role role = Role::kMaster;
  std::string interface {};  // required for a multicast group
  std::uint8_t syncid = 0;
  core::IpAddress group = core::IpAddress::v4(0xe0000051);  // 224.0.0.81
  std::uint16_t port = 8848;    // bound locally, and the destination port
  std::uint16_t peer_port = 0;  // unicast peer's port if different (tests); 0: `port`
  std::uint8_t ttl = 1;
  std::size_t maxlen = 1472;  // one Ethernet frame of UDP payload
  std::chrono::milliseconds interval{100};
  std::chrono::seconds refresh{10};
  std::size_t max_entries_per_tick = 4096;
  // Bind the unicast socket to this local address (tests on 127.0.0.0/8); unset: any.
  std::optional<core::IpAddress> local{};
};

// What the daemon did, for -L --daemon and /metrics.
struct DaemonCounters {
  std::uint64_t sent_messages = 0;
  std::uint64_t sent_entries = 0;
  std::uint64_t received_messages = 0;
  std::uint64_t received_entries = 0;
  std::uint64_t errors = 0;   // malformed datagrams and failed sends
  std::uint64_t resyncs = 0;  // master: requests served; backup: requests sent

  bool operator==(const DaemonCounters&) const = default;
};

// The master's memory of what it sent: which entries of the current table must go out now.
// Pure: the table and the time are passed in.
class ChangeTracker {
 public:
  explicit ChangeTracker(std::chrono::seconds refresh) : refresh_(refresh) {}
  // The entries of `table` that are new, changed (dest, state, persistence) or whose expiry
  // moved later by `refresh` or more, at most `limit` of them; those are remembered as sent.
  // Entries no longer in `table` are forgotten.
  std::vector<Entry> changes(const std::vector<Entry>& table, core::TimePoint now,
                             std::size_t limit);
  // Forget everything: the next changes() returns the whole table (bounded by its limit).
  void reset() { sent_.clear(); }
  std::size_t remembered() const { return sent_.size(); }

 private:
  using Key = std::tuple<EntryKind, std::uint8_t, core::Endpoint, core::Endpoint>;
  struct Sent {
    core::Endpoint dest{};
    std::uint8_t state = 0;
    bool persistent = false;
    core::TimePoint deadline{};
  };
  std::chrono::seconds refresh_;
  std::map<Key, Sent> sent_{};
};

class Daemon {
 public:
  using Source = std::function<std::vector<Entry>()>;
  using Sink = std::function<void(const std::vector<Entry>&)>;

  // Opens the socket (errors name the interface, group or port and what to fix) and starts
  // the thread. The master needs `source`, the backup `sink`.
  static core::Result<std::unique_ptr<Daemon>> start(const DaemonConfig& config, Source source,
                                                     Sink sink);
  ~Daemon();  // stops and joins the thread
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  const DaemonConfig& config() const { return config_; }
  DaemonCounters counters() const;
  // Backup: the master's whole table arrived since this daemon started. Master: false.
  bool synced() const { return synced_.load(); }

 private:
  Daemon(DaemonConfig config, core::Fd fd, Source source, Sink sink);
  void run();
  void tick_master(ChangeTracker& tracker, bool& answer_resync);
  void send(const std::vector<std::uint8_t>& datagram);
  // Reads every queued datagram; the master learns of resync requests, the backup of data.
  void receive(bool& resync_requested, bool& heard_master);

  DaemonConfig config_;
  core::Fd fd_;
  Source source_;
  Sink sink_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> synced_{false};
  std::atomic<std::uint64_t> sent_messages_{0};
  std::atomic<std::uint64_t> sent_entries_{0};
  std::atomic<std::uint64_t> received_messages_{0};
  std::atomic<std::uint64_t> received_entries_{0};
  std::atomic<std::uint64_t> errors_{0};
  std::atomic<std::uint64_t> resyncs_{0};
  std::thread thread_{};
};

}  // namespace lvs::sync
