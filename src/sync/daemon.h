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
// Every `counters_interval` the master also sends the counter entries `counters_out` gives it,
// and a header-only heartbeat when it sent nothing for `heartbeat`.
// Backup: sends a resync request on start and once a second until the master's "resync done"
// arrives, and hands every received batch to `sink` (flows) and `counters_in` (counter
// entries, with the sender's address), on the daemon's thread. synced() turns true at "resync
// done" (for a VRRP follower: do not take the VIP before) and false again when the master has
// been silent for `silence`: then the requests start again (BackupLink). A backup with syncid
// 0 takes messages of any syncid (as IPVS); otherwise only its own.
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

// The daemons' times, in one place (docs/SYNC.md); DaemonConfig takes them as defaults.
inline constexpr std::chrono::milliseconds kTick{100};            // master: table diff
inline constexpr std::chrono::milliseconds kCountersEvery{1000};  // master: counter entries
inline constexpr std::chrono::milliseconds kHeartbeat{1000};      // master: nothing sent since
inline constexpr std::chrono::milliseconds kSilence{3000};        // backup: master lost after
inline constexpr std::chrono::milliseconds kRequestEvery{1000};   // backup: resync requests

struct DaemonConfig {
  Role role = Role::kMaster;
  std::string interface {};  // required for a multicast group
  std::uint8_t syncid = 0;
  core::IpAddress group = core::IpAddress::v4(0xe0000051);  // 224.0.0.81
  std::uint16_t port = 8848;    // bound locally, and the destination port
  std::uint16_t peer_port = 0;  // unicast peer's port if different (tests); 0: `port`
  std::uint8_t ttl = 1;
  std::size_t maxlen = 1472;  // one Ethernet frame of UDP payload
  std::chrono::milliseconds interval = kTick;
  std::chrono::milliseconds counters_interval = kCountersEvery;
  std::chrono::milliseconds heartbeat = kHeartbeat;
  std::chrono::milliseconds silence = kSilence;
  std::chrono::milliseconds request_interval = kRequestEvery;
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

// A backup's link to its master: when to ask for a bulk resync and whether it is in sync.
// Pure: the time is passed in. Asking (not in sync) from start; a request is due at once and
// then every `request_interval` until the master's "resync done" arrives; in sync until the
// master has been silent (no message of any kind) for `silence`, then asking again.
class BackupLink {
 public:
  BackupLink(core::TimePoint now, std::chrono::milliseconds request_interval,
             std::chrono::milliseconds silence)
      : request_interval_(request_interval), silence_(silence), next_request_(now) {}
  // A message from the master arrived at `now`; `resync_done`: it carried that flag.
  void heard(core::TimePoint now, bool resync_done);
  // Whether a resync request must go out at `now` (then the next one is due an interval
  // later). Also notices a silence that ended the sync.
  bool request_due(core::TimePoint now);
  bool synced(core::TimePoint now) const { return synced_ && now - last_heard_ < silence_; }
  // When request_due() or synced() may next change.
  core::TimePoint next_event() const;

 private:
  std::chrono::milliseconds request_interval_;
  std::chrono::milliseconds silence_;
  bool synced_ = false;
  core::TimePoint last_heard_{};
  core::TimePoint next_request_{};
};

class Daemon {
 public:
  using Source = std::function<std::vector<Entry>()>;
  using Sink = std::function<void(const std::vector<Entry>&)>;
  // Master: this director's counter entries at `now`; nullopt: not now (asked again at the
  // next tick).
  using CounterSource =
      std::function<std::optional<std::vector<CounterEntry>>(core::TimePoint now)>;
  // Backup: counter entries `from` one master, received at `now`.
  using CounterSink = std::function<void(const core::IpAddress& from,
                                         const std::vector<CounterEntry>&, core::TimePoint now)>;

  struct Hooks {
    Source source{};               // master: the flows and templates (required)
    Sink sink{};                   // backup: received flows and templates (required)
    CounterSource counters_out{};  // master: unset, no counter entries are sent
    CounterSink counters_in{};     // backup: unset, received counter entries are dropped
  };

  // Opens the socket (errors name the interface, group or port and what to fix) and starts
  // the thread. The master needs `source`, the backup `sink`.
  static core::Result<std::unique_ptr<Daemon>> start(const DaemonConfig& config, Hooks hooks);
  ~Daemon();  // stops and joins the thread
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  const DaemonConfig& config() const { return config_; }
  DaemonCounters counters() const;
  // Backup: the master's whole table arrived and the master has not been silent since
  // (BackupLink). Master: false.
  bool synced() const { return synced_.load(); }

 private:
  Daemon(DaemonConfig config, core::Fd fd, Hooks hooks);
  void run();
  void run_master();
  void run_backup();
  void tick_master(ChangeTracker& tracker, bool& answer_resync);
  void send(const std::vector<std::uint8_t>& datagram);
  // Reads every queued datagram; the master learns of resync requests, the backup of data.
  void receive(bool& resync_requested, BackupLink* link);
  // Waits for a datagram until `until` (at most 100 ms, so stop_ is seen); true: one is queued.
  bool wait(core::TimePoint until) const;

  DaemonConfig config_;
  core::Fd fd_;
  Hooks hooks_;
  core::TimePoint last_sent_{};
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
