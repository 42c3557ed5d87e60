#pragma once
// Director: the only writer of lvsd's running state. It holds the desired ServiceTable and the
// --set timeouts; every admin command is applied to a copy of the table (ctl's
// apply_to_table(), ipvsadm's edit semantics and texts), then the copy goes to dp.apply(). If
// either step fails nothing changes: the old table keeps running and the error text comes back
// with ipvsadm's exit status. Listings combine the table with live numbers from dp.stats().
//
// Internally synchronized: every public method takes one mutex, so the control thread (lvsadm),
// the health thread (health actions) and lvsd's main thread (reload, stop) may call it; the
// DataPlane is only ever called under that mutex. The precedence between the configuration
// file, health and lvsadm is in ctl/config_apply.h.
//
// lvsd-specific answers (documented in docs/CONTROL-PROTOCOL.md):
// * A realserver whose forwarding method the data plane cannot serve (the proxy: FullNat and
//   Masq) is refused, exit 255, naming what is missing. ipvsadm's default method stays -g
//   (Route), so `-a` or `-e` without -m or --fullnat is refused the same way. A Masq realserver
//   needs the director's routing state (dp/masq); if the data plane cannot install it (not
//   root, kernel features missing), its apply() fails and the error says what to fix.
// * A data-plane failure (e.g. the VIP cannot be bound) is an engine error: exit 255.
// * --start-daemon/--stop-daemon: run by the SyncControl in the options (ctl/sync_control.h);
//   without one, "not supported", exit 1.
// * --drain: sets the realserver's weight to 0 keeping its other fields; lvsadm then polls
//   `-L -n --json` for its connection count.
// * -Z keeps a baseline of the data plane's counters and lists them relative to it.
// * Counters synced from peer directors (ctl/peer_counters.h) are added to the data plane's in
//   every listing (-L --stats/--rate/--json, /metrics); the master sync daemon sends this
//   director's own plus what it carries. The daemon threads reach the Director only through
//   sync_counters_out (which gives up rather than wait for the Director's lock, so a
//   --stop-daemon joining that thread under the lock cannot deadlock) and
//   sync_counters_in (which takes only the lock of the peers' counters).

#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/config.h"
#include "core/clock.h"
#include "core/result.h"
#include "ctl/config_apply.h"
#include "ctl/ipvsadm_args.h"
#include "ctl/listing.h"
#include "ctl/peer_counters.h"
#include "ctl/sync_control.h"
#include "ctl/table_commands.h"
#include "dp/data_plane.h"
#include "health/effects.h"
#include "model/service.h"
#include "model/table_ops.h"

namespace lvs::ctl {

struct DirectorOptions {
  Resolver resolver = system_resolver();
  Names names = system_names();
  model::SchedulerExists scheduler_exists{};
  // Forwarding methods the data plane serves; a realserver with any other is refused. The
  // default is the proxy's: full NAT and masquerading (transparent sockets, dp/masq).
  std::vector<model::ForwardMethod> served_methods{model::ForwardMethod::kFullNat,
                                                   model::ForwardMethod::kMasq};
  Timeouts timeouts{.tcp = 900, .tcpfin = 120, .udp = 300};
  // `lvsadm --reload`: called without the Director's lock held (it calls load() itself).
  // Unset: the answer is "lvsd was started without -f", exit 1.
  std::function<Outcome()> reload{};
  // lvsd --cluster-seed: every mh service reaches the data plane with this cluster_seed (the
  // stateless cluster mode, model::VirtualService::cluster_seed). The Director's own table and
  // its listings do not carry it.
  std::optional<std::uint32_t> cluster_seed{};
  // The connection-sync daemons (outlives the Director); null: --start-daemon is refused.
  // The Director stops them when it goes (their counter hooks point at it).
  SyncControl* sync = nullptr;
  // Reads the time for the peers' rate estimators; null: the steady clock.
  const core::Clock* clock = nullptr;
};

class Director {
 public:
  Director(dp::DataPlane& dp, DirectorOptions opts);
  ~Director();
  Director(const Director&) = delete;
  Director& operator=(const Director&) = delete;

  // Makes `initial` (lvsd's flag-configured services) the running table. On error nothing
  // runs and the table stays empty.
  core::Result<void> start(const model::ServiceTable& initial);

  // The forwarding methods the data plane serves (DirectorOptions::served_methods).
  const std::vector<model::ForwardMethod>& served_methods() const { return opts_.served_methods; }

  // Makes a configuration the running one (start-up and reload): the file's services with
  // `start` (the health Effects' start-up actions) applied under the operator's overrides, plus
  // the services lvsadm added that the file does not define. On error nothing changes.
  core::Result<void> load(const config::Config& cfg, const std::vector<health::Action>& start);

  // Health table actions (any thread): applied in order to a copy, then dp.apply(). A failing
  // action is logged and skipped; nothing is applied once stop_accepting() ran.
  void apply_health(const std::vector<health::Action>& actions);

  // One lvsadm invocation: argv[0] is the program name, `input` is stdin for -R.
  Outcome run(const std::vector<std::string>& argv, std::string_view input = {});

  // Graceful stop: the data plane stops accepting new connections (established ones go on);
  // later table changes are refused.
  void stop_accepting();
  std::uint64_t open_connections() const;

  // The desired table: what the data plane was last told to forward.
  model::ServiceTable table() const;
  Timeouts timeouts() const;
  WeightOverrides overrides() const;
  // The table with live numbers (relative to the last -Z), as -L shows it.
  ListingInput listing() const;

  // The master sync daemon's counter entries: for every service and realserver this
  // director's own counters plus what it carries for peers; nullopt when the Director is busy
  // (its lock is taken: asked again later). The backup daemon's received ones go to
  // sync_counters_in. Any thread.
  std::optional<std::vector<sync::CounterEntry>> sync_counters_out(core::TimePoint now);
  void sync_counters_in(const core::IpAddress& from, const std::vector<sync::CounterEntry>& in,
                        core::TimePoint now);

 private:
  ListingInput listing_locked() const;
  // table_ = next, and the peers' counters follow it.
  void set_table(model::ServiceTable next);

  // The table as the data plane gets it: mh services stamped with opts_.cluster_seed.
  model::ServiceTable for_data_plane(const model::ServiceTable& t) const;
  void remember_operator_change(const Command& cmd);
  Outcome execute(const Command& cmd, std::string_view prog, std::string_view input);
  Outcome restore(std::string_view text, std::string_view prog);
  // apply_to_table() on a copy, then dp.apply(); commits only when both succeed.
  Outcome change(const Command& cmd);
  Outcome commit(model::ServiceTable next);
  Outcome drain(const Command& cmd);
  Outcome zero(const Command& cmd);

  mutable std::mutex mu_;
  dp::DataPlane& dp_;
  DirectorOptions opts_;
  model::ServiceTable table_{};
  Timeouts timeouts_{};
  // Counters at the last -Z, per service and per (service, dest).
  std::map<model::ServiceKey, dp::Counters> service_zero_{};
  std::map<DestKey, dp::Counters> dest_zero_{};
  // Services the configuration file defines (empty without -f) and the operator's weights.
  std::set<model::ServiceKey> config_keys_{};
  WeightOverrides overrides_{};
  // Realservers lvsadm added to configured services: kept across reloads unless the file
  // then defines the same realserver.
  std::map<DestKey, model::RealServer> operator_reals_{};
  bool stopping_ = false;
  // Counters of peer directors (sync); its own lock, taken after mu_ when both are.
  mutable std::mutex peer_mu_;
  mutable PeerCounters peer_{};
};

// The refusal text for a realserver the data plane cannot serve, e.g. "lvsadm: forwarding
// method Route (-g) for 10.0.0.1:80 needs the packet engine, which this lvsd does not run
// yet; use -m (masquerading) or --fullnat".
std::string unserved_method_text(const model::RealServer& dest);

}  // namespace lvs::ctl
