#pragma once
// The running connection-sync daemons (--start-daemon/--stop-daemon, -L --daemon): at most one
// master and one backup, as IPVS. Each is a sync::Daemon on its own thread; `source` gives the
// master the packet engine's table, `sink` writes what a backup receives into it (lvsd wires
// both through the dual data plane's lock). Without the packet engine (proxy only) both are
// unset: the daemons still run and exchange messages, but no flow is synced, because the
// proxy's TCP connections end at lvsd and cannot move to another director; `start` says so.
// Thread-safe (one mutex); the Director calls it under its own lock.

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "ctl/ipvsadm_args.h"
#include "ctl/listing.h"
#include "ctl/table_commands.h"
#include "sync/daemon.h"

namespace lvs::ctl {

struct SyncHooks {
  sync::Daemon::Source source{};  // unset: no packet engine
  sync::Daemon::Sink sink{};
  // Test and unicast set-ups: bind the unicast socket to this address (sync::DaemonConfig).
  std::optional<core::IpAddress> local{};
};

class SyncControl {
 public:
  explicit SyncControl(SyncHooks hooks) : hooks_(std::move(hooks)) {}
  ~SyncControl();
  SyncControl(const SyncControl&) = delete;
  SyncControl& operator=(const SyncControl&) = delete;

  // "Daemon has already run" (exit 255) when that role runs; a socket error names what to fix.
  Outcome start(const DaemonOptions& options);
  // "No daemon is running" (exit 255) when that role does not run.
  Outcome stop(const DaemonOptions& options);
  // For -L --daemon: master first, then backup, each with its counters.
  std::vector<DaemonView> views() const;
  // Stops every daemon (lvsd's shutdown).
  void stop_all();
  // The counter entries daemons started from now on send (master) and hand over (backup); set
  // by the Director, which owns them (ctl/peer_counters.h). Unset: no counters are synced.
  void set_counter_hooks(sync::Daemon::CounterSource out, sync::Daemon::CounterSink in);

 private:
  struct Running {
    DaemonOptions options{};
    std::unique_ptr<sync::Daemon> daemon{};
  };
  SyncHooks hooks_;
  mutable std::mutex mu_;
  sync::Daemon::CounterSource counters_out_{};
  sync::Daemon::CounterSink counters_in_{};
  std::map<SyncState, Running> running_{};
};

// `lvsadm --check-sync` (keepalived's track_script `lvsd_sync`, issue 9): exit 1 while a
// backup daemon runs that has not received the master's whole table (its bulk resync), with
// one line on stderr naming it; exit 0 otherwise (in sync, or no backup daemon: nothing to wait
// for), with one line on stdout. Pure: the views are passed in.
Outcome sync_readiness(const std::vector<DaemonView>& daemons);

// The daemon settings an lvsadm --start-daemon asks for: IPVS's defaults (224.0.0.81:8848,
// ttl 1, 1472-byte datagrams) where no option was given.
sync::DaemonConfig daemon_config(const DaemonOptions& options);

}  // namespace lvs::ctl
