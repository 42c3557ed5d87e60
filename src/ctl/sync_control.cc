#include "ctl/sync_control.h"

#include <fmt/format.h>

#include <utility>

#include "model/table_ops.h"

namespace lvs::ctl {

sync::DaemonConfig daemon_config(const DaemonOptions& o) {
  sync::DaemonConfig c;
  c.role = o.state == SyncState::kMaster ? sync::Role::kMaster : sync::Role::kBackup;
  c.interface = o.mcast_interface;
  c.syncid = static_cast<std::uint8_t>(o.syncid);
  if (o.mcast_group) c.group = *o.mcast_group;
  if (o.mcast_port != 0) c.port = o.mcast_port;
  if (o.mcast_ttl != 0) c.ttl = static_cast<std::uint8_t>(o.mcast_ttl);
  if (o.sync_maxlen != 0) c.maxlen = o.sync_maxlen;
  return c;
}

Outcome sync_readiness(const std::vector<DaemonView>& daemons) {
  for (const DaemonView& d : daemons) {
    if (d.state != SyncState::kBackup) continue;
    const std::string name =
        fmt::format("backup sync daemon (mcast={}, syncid={})", d.mcast_interface, d.syncid);
    if (!d.synced) {
      return Outcome{.err = fmt::format("lvsadm --check-sync: the {} has not received the "
                                        "master's table yet ({} messages so far): this node "
                                        "must not take the VIP from a synced peer\n",
                                        name, d.received_messages),
                     .exit_code = 1};
    }
    return Outcome{.out = fmt::format("in sync: the {} has the master's table\n", name)};
  }
  return Outcome{.out = "in sync: no backup sync daemon runs (nothing to wait for)\n"};
}

SyncControl::~SyncControl() { stop_all(); }

Outcome SyncControl::start(const DaemonOptions& options) {
  std::lock_guard lock(mu_);
  if (running_.count(options.state) != 0) {
    return Outcome{.err = model::ipvsadm_text(model::Operation::kStartDaemon, EEXIST) + "\n",
                   .exit_code = 255};
  }
  sync::DaemonConfig config = daemon_config(options);
  config.local = hooks_.local;
  const bool engine = static_cast<bool>(hooks_.source);
  sync::Daemon::Source source = engine ? hooks_.source : [] { return std::vector<sync::Entry>{}; };
  sync::Daemon::Sink sink =
      engine ? hooks_.sink : [](const std::vector<sync::Entry>&) { /* nowhere to put them */ };
  auto d = sync::Daemon::start(config, sync::Daemon::Hooks{.source = std::move(source),
                                                           .sink = std::move(sink),
                                                           .counters_out = counters_out_,
                                                           .counters_in = counters_in_});
  if (!d) return Outcome{.err = "lvsadm: " + d.error().message + "\n", .exit_code = 255};
  running_[options.state] = Running{.options = options, .daemon = std::move(*d)};
  if (!engine) {
    return Outcome{.err =
                       "lvsadm: note: this lvsd runs only the proxy engine; its TCP "
                       "connections end at this director and cannot survive a failover, so "
                       "the sync daemon carries only counters, no connections (run lvsd --xdp for "
                       "-m services)\n"};
  }
  return {};
}

Outcome SyncControl::stop(const DaemonOptions& options) {
  std::unique_ptr<sync::Daemon> gone;
  {
    std::lock_guard lock(mu_);
    auto it = running_.find(options.state);
    if (it == running_.end()) {
      return Outcome{.err = model::ipvsadm_text(model::Operation::kStopDaemon, ESRCH) + "\n",
                     .exit_code = 255};
    }
    gone = std::move(it->second.daemon);
    running_.erase(it);
  }
  gone.reset();  // joins the thread outside the lock
  return {};
}

std::vector<DaemonView> SyncControl::views() const {
  std::lock_guard lock(mu_);
  std::vector<DaemonView> out;
  for (const auto& [state, r] : running_) {
    const sync::DaemonCounters c = r.daemon->counters();
    out.push_back(DaemonView{.state = state,
                             .mcast_interface = r.options.mcast_interface,
                             .syncid = r.options.syncid,
                             .sync_maxlen = r.options.sync_maxlen,
                             .mcast_group = r.options.mcast_group,
                             .mcast_port = r.options.mcast_port,
                             .mcast_ttl = r.options.mcast_ttl,
                             .sent_messages = c.sent_messages,
                             .received_messages = c.received_messages,
                             .errors = c.errors,
                             .synced = r.daemon->synced()});
  }
  return out;
}

void SyncControl::set_counter_hooks(sync::Daemon::CounterSource out, sync::Daemon::CounterSink in) {
  std::lock_guard lock(mu_);
  counters_out_ = std::move(out);
  counters_in_ = std::move(in);
}

void SyncControl::stop_all() {
  std::map<SyncState, Running> gone;
  {
    std::lock_guard lock(mu_);
    gone.swap(running_);
  }
}

}  // namespace lvs::ctl
