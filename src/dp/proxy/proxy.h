#pragma once
// The user-space full-NAT data plane: N workers (one per core by default), each with its own
// epoll loop, listeners (SO_REUSEPORT) and flow tables. apply() runs on the control thread:
// it validates the whole table, makes the listeners of new services, then publishes a new
// snapshot and wakes the workers. See service.h for how scheduling works across workers.

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <vector>

#include "core/clock.h"
#include "core/result.h"
#include "dp/data_plane.h"
#include "dp/proxy/options.h"
#include "dp/proxy/service.h"
#include "dp/proxy/worker.h"

namespace lvs::dp::proxy {

class Proxy final : public DataPlane {
 public:
  // Starts the workers. `clock` outlives the proxy; only the workers read it.
  static core::Result<std::unique_ptr<Proxy>> create(const ProxyOptions& opts,
                                                     const core::Clock& clock);
  ~Proxy() override;
  Proxy(const Proxy&) = delete;
  Proxy& operator=(const Proxy&) = delete;

  core::Result<void> apply(const model::ServiceTable& table) override;
  Stats stats() const override;
  // Asks every worker (listing.cc); waits at most 2 s for their answers.
  std::vector<ConnEntry> connections() const override;
  void set_timeouts(const IdleTimeouts& t) override;
  void zero_rates(const std::optional<model::ServiceKey>& only) override;
  // Removes every service (workers close their listeners); TCP connections run on and are
  // counted by open_connections() until they end.
  void stop_accepting() override;
  std::uint64_t open_connections() const override;
  ErrorCounts errors() const override;
  // One answer for the workers: each one's loop runs and turned within kWorkerStallLimit.
  std::vector<EngineHealth> health(core::TimePoint now) const override;

  // Masquerading (-m): apply() calls `ensure(family)` for every family that has a Masq
  // realserver before anything changes; its error fails the apply. Unset: Masq is refused.
  // Control thread (the one that calls apply()).
  using MasqEnsure = std::function<core::Result<void>(core::Family)>;
  void set_masq(MasqEnsure ensure) { masq_ensure_ = std::move(ensure); }

  std::size_t workers() const { return workers_.size(); }
  // The address the service's listeners are bound to (the real port when the VIP said 0).
  core::Result<core::Endpoint> bound(const model::ServiceKey& key) const;
  // Stops the workers; every open flow is closed. Also done by the destructor.
  void stop();

 private:
  explicit Proxy(const ProxyOptions& opts) : opts_(opts), budget_(opts.relay_memory_budget) {}
  core::Result<std::shared_ptr<Service>> make_service(const model::VirtualService& svc) const;

  ProxyOptions opts_{};
  SnapshotBox box_{};
  std::atomic<std::uint64_t> refused_{0};
  RelayBudget budget_;  // outlives the workers (declared before them)
  std::vector<std::unique_ptr<Worker>> workers_{};
  // Keyed by the table's key; a VIP with port 0 gets the port bound at creation.
  std::map<model::ServiceKey, std::shared_ptr<Service>> services_{};
  std::uint64_t generation_ = 0;
  std::vector<std::shared_ptr<Service>> draining_{};  // after stop_accepting()
  MasqEnsure masq_ensure_{};
};

// Checks that the proxy can serve `svc` (TCP/UDP, an address service with a port, full-NAT
// realservers, or Masq ones in the VIP's family), naming what is wrong.
core::Result<void> check_service(const model::VirtualService& svc);

}  // namespace lvs::dp::proxy
