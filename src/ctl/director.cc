#include "ctl/director.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <tuple>

#include <fmt/format.h>

#include "core/log.h"
#include "ctl/listing_json.h"
#include "ctl/save.h"

namespace lvs::ctl {

namespace {

Outcome failed(const CliError& e) {
  return Outcome{.err = e.text + "\n", .exit_code = e.exit_code};
}

Outcome engine_error(model::Operation op, int code) {
  return Outcome{.err = model::ipvsadm_text(op, code) + "\n", .exit_code = 255};
}

std::string_view method_option(model::ForwardMethod f) {
  switch (f) {
    case model::ForwardMethod::kMasq:
      return "-m";
    case model::ForwardMethod::kRoute:
    case model::ForwardMethod::kLocal:
      return "-g";
    case model::ForwardMethod::kTunnel:
      return "-i";
    case model::ForwardMethod::kFullNat:
      return "--fullnat";
  }
  return "?";
}

// a - b, never below zero: a realserver that was deleted and re-added restarts its counters.
std::uint64_t since(std::uint64_t now, std::uint64_t base) { return now > base ? now - base : 0; }

Stats relative(const dp::Counters& now, const dp::Counters& base) {
  return Stats{.conns = since(now.conns, base.conns),
               .failed = since(now.failed, base.failed),
               .inpkts = since(now.inpkts, base.inpkts),
               .outpkts = since(now.outpkts, base.outpkts),
               .inbytes = since(now.inbytes, base.inbytes),
               .outbytes = since(now.outbytes, base.outbytes)};
}

// Entries as `-L -c` shows them: connections first, then address templates, then fwmark
// templates (the order of spec §4.6's example); within each, by protocol, service, client,
// realserver (ipvsadm prints hash order; a fixed order reads better).
std::vector<ConnView> connection_views(std::vector<dp::ConnEntry> entries) {
  std::sort(entries.begin(), entries.end(), [](const dp::ConnEntry& a, const dp::ConnEntry& b) {
    const bool afw = a.fwmark != 0;
    const bool bfw = b.fwmark != 0;
    return std::tie(a.is_template, afw, a.protocol, a.virt, a.client, a.dest) <
           std::tie(b.is_template, bfw, b.protocol, b.virt, b.client, b.dest);
  });
  std::vector<ConnView> out;
  out.reserve(entries.size());
  for (const auto& e : entries) {
    out.push_back(ConnView{.protocol = e.protocol,
                           .fwmark_template = e.is_template && e.fwmark != 0,
                           .expire_seconds = e.expire_seconds,
                           .state = std::string(dp::conn_state_name(e.state)),
                           .client = e.client,
                           .virt = e.virt,
                           .dest = e.dest});
  }
  return out;
}

const core::Clock& steady_clock() {
  static const core::SteadyClock kClock;
  return kClock;
}

template <typename Map, typename Key>
dp::Counters lookup(const Map& m, const Key& k) {
  const auto it = m.find(k);
  return it == m.end() ? dp::Counters{} : it->second;
}

}  // namespace

std::string unserved_method_text(const model::RealServer& dest) {
  return fmt::format(
      "lvsadm: forwarding method {} ({}) for {} needs the packet engine, which this lvsd does "
      "not run yet; use -m (masquerading) or --fullnat",
      model::forward_name(dest.forward), method_option(dest.forward), dest.addr.to_string());
}

Director::Director(dp::DataPlane& dp, DirectorOptions opts)
    : dp_(dp), opts_(std::move(opts)), timeouts_(opts_.timeouts) {
  if (opts_.sync == nullptr) return;
  opts_.sync->set_counter_hooks(
      [this](core::TimePoint now) { return sync_counters_out(now); },
      [this](const core::IpAddress& from, const std::vector<sync::CounterEntry>& in,
             core::TimePoint now) { sync_counters_in(from, in, now); });
}

Director::~Director() {
  if (opts_.sync == nullptr) return;
  opts_.sync->stop_all();  // their threads call this Director
  opts_.sync->set_counter_hooks({}, {});
}

void Director::set_table(model::ServiceTable next) {
  table_ = std::move(next);
  const std::lock_guard lock(peer_mu_);
  peer_.follow(table_);
}

std::optional<std::vector<sync::CounterEntry>> Director::sync_counters_out(core::TimePoint now) {
  const std::unique_lock lock(mu_, std::try_to_lock);
  if (!lock.owns_lock()) return std::nullopt;
  const dp::Stats live = dp_.stats();
  const std::lock_guard peer_lock(peer_mu_);
  peer_.tick(now);
  std::vector<sync::CounterEntry> out;
  for (const auto& s : live.services) {
    if (table_.find(s.key) == nullptr) continue;
    out.push_back(
        sync::CounterEntry{.service = s.key,
                           .dest = std::nullopt,
                           .counters = peer_.outgoing({s.key, std::nullopt}, s.counters)});
    for (const auto& d : s.dests) {
      out.push_back(sync::CounterEntry{.service = s.key,
                                       .dest = d.addr,
                                       .counters = peer_.outgoing({s.key, d.addr}, d.counters)});
    }
  }
  return out;
}

void Director::sync_counters_in(const core::IpAddress& from,
                                const std::vector<sync::CounterEntry>& in, core::TimePoint now) {
  const std::lock_guard lock(peer_mu_);
  peer_.receive(from, in, now);
}

model::ServiceTable Director::for_data_plane(const model::ServiceTable& t) const {
  if (!opts_.cluster_seed) return t;
  model::ServiceTable out = t;
  for (auto& svc : out.services) {
    if (svc.scheduler == "mh") svc.cluster_seed = opts_.cluster_seed;
  }
  return out;
}

core::Result<void> Director::start(const model::ServiceTable& initial) {
  const std::lock_guard lock(mu_);
  if (auto r = dp_.apply(for_data_plane(initial)); !r) return r;
  set_table(initial);
  return {};
}

core::Result<void> Director::load(const config::Config& cfg,
                                  const std::vector<health::Action>& start) {
  const std::lock_guard lock(mu_);
  if (stopping_) return core::fail(ESHUTDOWN, "lvsd is stopping");
  if (auto r = check_served_methods(cfg, opts_.served_methods); !r) return r;
  // Overrides of realservers the new file no longer has are forgotten.
  WeightOverrides kept;
  for (const auto& [key, weight] : overrides_) {
    const auto* svc = cfg.table.find(key.first);
    if (svc != nullptr && svc->find_dest(key.second) != nullptr) kept.emplace(key, weight);
  }
  model::ServiceTable configured = health_base_table(cfg);
  for (const auto& a : start) {
    if (auto r = apply_health_action(configured, a, kept); !r) {
      return core::fail(r.error().code, fmt::format("{}: {}", a.text, r.error().message));
    }
  }
  std::map<DestKey, model::RealServer> reals;
  for (const auto& [key, dest] : operator_reals_) {
    const auto* svc = cfg.table.find(key.first);
    if (svc == nullptr || svc->find_dest(key.second) != nullptr) continue;  // gone, or the file's
    if (auto r = model::add_dest(configured, key.first, dest); !r) continue;
    reals.emplace(key, dest);
  }
  model::ServiceTable next = merge_reload(table_, config_keys_, std::move(configured));
  if (auto r = dp_.apply(for_data_plane(next)); !r) return r;
  set_table(std::move(next));
  overrides_ = std::move(kept);
  operator_reals_ = std::move(reals);
  config_keys_.clear();
  for (const auto& svc : cfg.table.services) config_keys_.insert(svc.key);
  return {};
}

void Director::apply_health(const std::vector<health::Action>& actions) {
  const std::lock_guard lock(mu_);
  if (stopping_) return;
  model::ServiceTable next = table_;
  bool changed = false;
  for (const auto& a : actions) {
    auto r = apply_health_action(next, a, overrides_);
    if (!r) {
      core::log().error("health: {}: {}", a.text, r.error().message);
      continue;
    }
    changed = changed || *r;
  }
  if (!changed) return;
  if (auto r = dp_.apply(for_data_plane(next)); !r) {
    core::log().error("health: the data plane refused the change: {}", r.error().message);
    return;
  }
  set_table(std::move(next));
}

void Director::stop_accepting() {
  const std::lock_guard lock(mu_);
  stopping_ = true;
  dp_.stop_accepting();
}

std::uint64_t Director::open_connections() const {
  const std::lock_guard lock(mu_);
  return dp_.open_connections();
}

model::ServiceTable Director::table() const {
  const std::lock_guard lock(mu_);
  return table_;
}

Timeouts Director::timeouts() const {
  const std::lock_guard lock(mu_);
  return timeouts_;
}

WeightOverrides Director::overrides() const {
  const std::lock_guard lock(mu_);
  return overrides_;
}

Outcome Director::run(const std::vector<std::string>& argv, std::string_view input) {
  const auto cmd = parse_ipvsadm_args(argv, opts_.resolver);
  if (!cmd) return failed(cmd.error());
  if (cmd->kind == CommandKind::kReload) {
    if (!opts_.reload) {
      return Outcome{.err =
                         "lvsadm: --reload: lvsd was started without a configuration file "
                         "(-f FILE); there is nothing to re-read\n",
                     .exit_code = 1};
    }
    return opts_.reload();
  }
  const std::lock_guard lock(mu_);
  return execute(*cmd, argv.empty() ? "lvsadm" : argv.front(), input);
}

ListingInput Director::listing() const {
  const std::lock_guard lock(mu_);
  return listing_locked();
}

ListingInput Director::listing_locked() const {
  ListingInput in = listing_input(table_);
  in.timeouts = timeouts_;
  const dp::Stats live = dp_.stats();
  const std::lock_guard peer_lock(peer_mu_);
  peer_.tick((opts_.clock != nullptr ? *opts_.clock : steady_clock()).now());
  for (auto& view : in.services) {
    const auto& key = view.service.key;
    const auto svc = std::find_if(live.services.begin(), live.services.end(),
                                  [&](const dp::ServiceStats& s) { return s.key == key; });
    if (svc == live.services.end()) continue;
    const CounterKey skey{key, std::nullopt};
    view.stats = relative(sum(svc->counters, peer_.shown(skey)), lookup(service_zero_, key));
    view.rates = sum(svc->rates, peer_.rates(skey));
    for (auto& d : view.dests) {
      const auto& addr = d.dest.addr;
      const auto ds = std::find_if(svc->dests.begin(), svc->dests.end(),
                                   [&](const dp::DestStats& s) { return s.addr == addr; });
      if (ds == svc->dests.end()) continue;
      d.active = ds->active;
      d.inactive = ds->inactive;
      d.persist = ds->persistconns;
      const CounterKey dkey{key, addr};
      d.rates = sum(ds->rates, peer_.rates(dkey));
      d.stats =
          relative(sum(ds->counters, peer_.shown(dkey)), lookup(dest_zero_, DestKey{key, addr}));
    }
  }
  if (opts_.sync != nullptr) in.daemons = opts_.sync->views();
  return in;
}

Outcome Director::execute(const Command& cmd, std::string_view prog, std::string_view input) {
  switch (cmd.kind) {
    case CommandKind::kList: {
      auto in = listing_locked();
      if (cmd.list.connection) in.connections = connection_views(dp_.connections());
      const std::optional<model::ServiceKey> only = listed_service(cmd);
      if (cmd.list.json) {
        if (only && table_.find(*only) == nullptr) {
          return Outcome{.err = "No such service\n", .exit_code = 1};
        }
        ListingInput one = in;
        if (only) {
          std::erase_if(one.services,
                        [&](const ServiceView& v) { return !(v.service.key == *only); });
        }
        return Outcome{.out = format_json(one, cmd.list.nosort)};
      }
      const auto text = format_listing(in, cmd.list, only, opts_.names);
      if (!text) return failed(text.error());
      return Outcome{.out = *text};
    }
    case CommandKind::kSave:
      return Outcome{.out = format_save(table_, cmd.list.numeric, opts_.names)};
    case CommandKind::kRestore:
      return restore(input, prog);
    case CommandKind::kSet:
      timeouts_ = apply_timeouts(timeouts_, cmd.timeouts);
      dp_.set_timeouts(dp::IdleTimeouts{.tcp = std::chrono::seconds(cmd.timeouts.tcp),
                                        .tcpfin = std::chrono::seconds(cmd.timeouts.tcpfin),
                                        .udp = std::chrono::seconds(cmd.timeouts.udp)});
      return {};
    case CommandKind::kZero:
      return zero(cmd);
    case CommandKind::kHelp:
    case CommandKind::kVersion:
      return *informational(cmd, prog);
    case CommandKind::kStartDaemon:
    case CommandKind::kStopDaemon:
      if (opts_.sync == nullptr) {
        return Outcome{.err = fmt::format("not supported: connection synchronisation (--{}) is "
                                          "not wired in this lvsd\n",
                                          command_name(cmd.kind)),
                       .exit_code = 1};
      }
      return cmd.kind == CommandKind::kStartDaemon ? opts_.sync->start(cmd.daemon)
                                                   : opts_.sync->stop(cmd.daemon);
    case CommandKind::kDrain:
      return drain(cmd);
    default:
      return change(cmd);
  }
}

Outcome Director::restore(std::string_view text, std::string_view prog) {
  return run_restore(text, prog, opts_.resolver,
                     [&](const Command& cmd) { return execute(cmd, prog, {}); });
}

Outcome Director::change(const Command& cmd) {
  if (stopping_) return Outcome{.err = "lvsadm: lvsd is stopping\n", .exit_code = 1};
  model::ServiceTable next = table_;
  if (auto r = apply_to_table(next, cmd, opts_.scheduler_exists); r.exit_code != 0) return r;
  auto out = commit(std::move(next));
  if (out.exit_code == 0) remember_operator_change(cmd);
  return out;
}

void Director::remember_operator_change(const Command& cmd) {
  const auto& key = cmd.service.key;
  const auto dest_now = [&]() -> const model::RealServer* {
    const auto* svc = table_.find(key);
    return svc == nullptr ? nullptr : svc->find_dest(cmd.dest.addr);
  };
  switch (cmd.kind) {
    case CommandKind::kAddServer:
      if (const auto* d = dest_now(); d != nullptr && config_keys_.contains(key)) {
        operator_reals_[DestKey{key, d->addr}] = *d;
      }
      break;
    case CommandKind::kEditServer:
    case CommandKind::kDrain:
      if (auto it = operator_reals_.find(DestKey{key, cmd.dest.addr});
          it != operator_reals_.end()) {
        if (const auto* d = dest_now(); d != nullptr) it->second = *d;
        break;  // the operator's own realserver: its weight is simply what the table says
      }
      if (config_keys_.contains(key)) {
        if (const auto* svc = table_.find(key); svc != nullptr) {
          if (const auto* d = svc->find_dest(cmd.dest.addr); d != nullptr) {
            overrides_[DestKey{key, d->addr}] = d->weight;
          }
        }
      }
      break;
    case CommandKind::kDeleteServer:
      overrides_.erase(DestKey{key, cmd.dest.addr});
      operator_reals_.erase(DestKey{key, cmd.dest.addr});
      break;
    case CommandKind::kDeleteService:
      std::erase_if(overrides_, [&](const auto& kv) { return kv.first.first == key; });
      std::erase_if(operator_reals_, [&](const auto& kv) { return kv.first.first == key; });
      break;
    case CommandKind::kFlush:
      overrides_.clear();
      operator_reals_.clear();
      break;
    default:
      break;
  }
}

Outcome Director::commit(model::ServiceTable next) {
  const auto& served = opts_.served_methods;
  for (const auto& svc : next.services) {
    for (const auto& d : svc.dests) {
      if (std::find(served.begin(), served.end(), d.forward) == served.end()) {
        return Outcome{.err = unserved_method_text(d) + "\n", .exit_code = 255};
      }
    }
  }
  if (auto r = dp_.apply(for_data_plane(next)); !r) {
    return Outcome{
        .err = fmt::format("lvsadm: lvsd cannot apply the change: {}\n", r.error().message),
        .exit_code = 255};
  }
  // Forget the -Z baselines of what left the table: re-added objects restart their counters.
  std::erase_if(service_zero_, [&](const auto& kv) { return next.find(kv.first) == nullptr; });
  std::erase_if(dest_zero_, [&](const auto& kv) {
    const auto* svc = next.find(kv.first.first);
    return svc == nullptr ||
           std::none_of(svc->dests.begin(), svc->dests.end(),
                        [&](const model::RealServer& d) { return d.addr == kv.first.second; });
  });
  set_table(std::move(next));
  return {};
}

Outcome Director::drain(const Command& cmd) {
  if (stopping_) return Outcome{.err = "lvsadm: lvsd is stopping\n", .exit_code = 1};
  const auto* svc = table_.find(cmd.service.key);
  if (svc == nullptr) return engine_error(model::Operation::kEditDest, ESRCH);
  const auto it = std::find_if(svc->dests.begin(), svc->dests.end(),
                               [&](const auto& d) { return d.addr == cmd.dest.addr; });
  if (it == svc->dests.end()) return engine_error(model::Operation::kEditDest, ENOENT);
  model::RealServer quiesced = *it;  // every other field stays: this is not ipvsadm's -e
  quiesced.weight = 0;
  model::ServiceTable next = table_;
  if (auto r = model::edit_dest(next, cmd.service.key, quiesced); !r) {
    return engine_error(model::Operation::kEditDest, r.error().code);
  }
  auto out = commit(std::move(next));
  if (out.exit_code == 0) remember_operator_change(cmd);
  return out;
}

Outcome Director::zero(const Command& cmd) {
  const bool one = cmd.has(Option::kServiceAddress);
  if (one && table_.find(cmd.service.key) == nullptr) {
    return engine_error(model::Operation::kZeroService, ESRCH);
  }
  dp_.zero_rates(one ? std::optional(cmd.service.key) : std::nullopt);
  const dp::Stats live = dp_.stats();
  const std::lock_guard peer_lock(peer_mu_);
  peer_.restart_rates();
  for (const auto& s : live.services) {
    if (one && !(s.key == cmd.service.key)) continue;
    service_zero_[s.key] = sum(s.counters, peer_.shown({s.key, std::nullopt}));
    for (const auto& d : s.dests) {
      dest_zero_[DestKey{s.key, d.addr}] = sum(d.counters, peer_.shown({s.key, d.addr}));
    }
  }
  return {};
}

}  // namespace lvs::ctl
