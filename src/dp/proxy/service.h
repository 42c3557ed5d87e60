#pragma once
// What the control thread publishes to the workers. A Service lives from the apply() that adds
// its key to the one that removes it; its listeners (one per worker, SO_REUSEPORT) are made
// once. Its Balancer is replaced when the scheduler, realservers or weights change.
//
// Scheduling under several workers: one Balancer (one scheduler) per service, shared by all
// workers, behind a mutex held only for the pick of a new flow (never per packet). So rr, wrr,
// mh, lblc keep the single global sequence the kernel's IPVS has, whatever worker accepted the
// connection: 300 connections over 3 rr realservers are 100/100/100 with any worker count.

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "core/fd.h"
#include "dp/proxy/balancer.h"
#include "model/service.h"

namespace lvs::dp::proxy {

class Service {
 public:
  Service(model::ServiceKey key, std::vector<core::Fd> listeners)
      : key_(key), listeners_(std::move(listeners)) {}

  const model::ServiceKey& key() const { return key_; }
  int listener(std::size_t worker) const { return listeners_.at(worker).get(); }
  bool one_packet() const { return one_packet_.load(std::memory_order_relaxed); }
  void set_one_packet(bool on) { one_packet_.store(on, std::memory_order_relaxed); }

  // Any thread. A persistent service first looks for the client network's template; only
  // without a valid one does it call the scheduler (and make a template of its choice).
  // `worker` is the caller's index (its counter slot). Nothing when the service holds its
  // connection cap of open flows (the check and the count happen under one lock, so the cap
  // is never exceeded) or no realserver is available.
  std::optional<FlowHandle> pick(const core::Endpoint& client, core::TimePoint now, Count count,
                                 std::size_t worker) {
    const std::lock_guard lock(mu_);
    if (at_cap()) return std::nullopt;
    auto h = pick_locked(client, now, count, worker);
    if (h) h->hold(load_);
    return h;
  }
  // Any thread: true while the service holds its connection cap of open flows.
  bool at_cap() const {
    const std::uint32_t cap = conn_limit_.load(std::memory_order_relaxed);
    return cap != 0 && load_->open.load(std::memory_order_relaxed) >= cap;
  }
  std::uint32_t open_flows() const { return load_->open.load(std::memory_order_relaxed); }
  // Control thread: the cap (0 = none); flows above a lowered cap keep running.
  void set_conn_limit(std::uint32_t cap) { conn_limit_.store(cap, std::memory_order_relaxed); }

  // Control thread: the service's persistence settings (spec §1.3 -p/-M).
  void set_persistence(bool on, std::chrono::seconds timeout, std::uint32_t netmask) {
    const std::lock_guard lock(mu_);
    templates_.configure(on, timeout, netmask);
  }
  // Worker 0 every 2 s: drops expired templates (so persistconns falls without new traffic)
  // and runs one rate-estimator period over every realserver.
  void tick(core::TimePoint now) {
    const std::lock_guard lock(mu_);
    templates_.sweep(now);
    if (!balancer_) return;
    for (const auto& d : balancer_->dests()) d->rates.tick(d->counters.read());
  }

  // Any thread: appends the service's valid templates as `-L -c` lists them at `now`
  // (listing.cc).
  void list_templates(core::TimePoint now, std::vector<ConnEntry>& out);

  // Control thread (`-Z`): restarts every realserver's rate estimator from 0.
  void zero_rates() {
    const std::lock_guard lock(mu_);
    if (!balancer_) return;
    for (const auto& d : balancer_->dests()) d->rates.reset(d->counters.read());
  }

  // Control thread only (the only writer of the balancer pointer, so it may read unlocked).
  const Balancer* balancer() const { return balancer_.get(); }
  std::unique_ptr<Balancer> swap_balancer(std::unique_ptr<Balancer> next) {
    const std::lock_guard lock(mu_);
    balancer_.swap(next);
    return next;
  }

 private:
  // Under mu_: template lookup, else the scheduler (making a template when persistent).
  std::optional<FlowHandle> pick_locked(const core::Endpoint& client, core::TimePoint now,
                                        Count count, std::size_t worker) {
    if (!balancer_) return std::nullopt;
    if (!templates_.enabled()) return balancer_->pick(client, key_.vip, now, count, worker);
    const core::IpAddress network = client_network(client.addr, templates_.netmask());
    if (auto t = templates_.find(network, now)) {
      WorkerCounters::add(t->dest->counters.at(worker).conns, 1);
      templates_.touch(*t, now);
      FlowHandle h(t->dest, count);
      h.control(std::move(t));
      return h;
    }
    auto h = balancer_->pick(client, key_.vip, now, count, worker);
    if (!h) return h;
    h->control(templates_.add(network, h->dest_shared(), now));
    return h;
  }

  model::ServiceKey key_{};
  std::vector<core::Fd> listeners_{};
  std::atomic<bool> one_packet_{false};
  std::mutex mu_;
  std::unique_ptr<Balancer> balancer_;
  TemplateTable templates_{};  // kept across balancer swaps: weights change, templates stay
  std::atomic<std::uint32_t> conn_limit_{0};
  std::shared_ptr<ServiceLoad> load_ = std::make_shared<ServiceLoad>();
};

struct Snapshot {
  std::uint64_t generation = 0;
  std::vector<std::shared_ptr<Service>> services{};
};

// The published snapshot. Workers read it when woken (between events), not per packet.
class SnapshotBox {
 public:
  void publish(std::shared_ptr<const Snapshot> s) {
    const std::lock_guard lock(mu_);
    current_ = std::move(s);
  }
  std::shared_ptr<const Snapshot> get() const {
    const std::lock_guard lock(mu_);
    return current_;
  }

 private:
  mutable std::mutex mu_;
  std::shared_ptr<const Snapshot> current_ = std::make_shared<const Snapshot>();
};

}  // namespace lvs::dp::proxy
