#pragma once
// The scheduling and accounting seam of the proxy. A worker asks the service's Balancer for a
// realserver for a new flow and gets a FlowHandle; the handle keeps the realserver's
// active/inactive count while the flow lives and un-counts it when released. This is the one
// place scheduling meets accounting: it sits directly on sched::Scheduler and model::DestLoad;
// persistence templates (persistence.h) sit beside it in Service, and a handle may also hold
// the template that scheduled its flow (un-counted from it on release).
//
// Threading: DestRuntime is shared by all workers (atomics only; counters per worker). A Balancer
// is not thread-safe (neither is its Scheduler); Service (service.h) serializes pick() with a
// mutex.

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "core/clock.h"
#include "core/endpoint.h"
#include "core/result.h"
#include "dp/data_plane.h"
#include "dp/proxy/counters.h"
#include "dp/proxy/persistence.h"
#include "model/dest_load.h"
#include "model/service.h"
#include "sched/scheduler.h"

namespace lvs::dp::proxy {

// One realserver of one service as the data plane sees it. Outlives its removal from the
// table for as long as a flow holds it.
struct DestRuntime {
  explicit DestRuntime(std::size_t workers = 1) : counters(workers) {}
  core::Endpoint addr{};
  std::atomic<std::int32_t> weight{1};
  std::atomic<bool> available{true};  // false once deleted from its service
  std::atomic<std::uint32_t> u_threshold{0};
  std::atomic<std::uint32_t> l_threshold{0};
  std::atomic<model::ProxyProtocol> proxy_protocol{model::ProxyProtocol::kNone};
  // Masq (-m): upstream sockets are bound (IP_TRANSPARENT) to the client's address and port,
  // so the realserver sees the client; false: full NAT (the director's own address).
  std::atomic<bool> masq{false};
  model::DestLoad load;
  CounterSlots counters;
  RateState rates{};  // ticked by worker 0 under its Service's mutex
};

// How a bound flow is counted: TCP connections are active while connecting (IPVS's SYN_RECV)
// and established, inactive once closing; UDP flows are always inactive (spec §1.3, §3.1).
enum class Count : std::uint8_t { kNone, kActive, kInactive };

// The open flows of one service (its connection cap counts them). Shared with the flows, which
// may outlive the service.
struct ServiceLoad {
  std::atomic<std::uint32_t> open{0};
};

// Move-only binding of one flow to its realserver.
class FlowHandle {
 public:
  FlowHandle() = default;
  FlowHandle(std::shared_ptr<DestRuntime> dest, Count count);
  FlowHandle(const FlowHandle&) = delete;
  FlowHandle& operator=(const FlowHandle&) = delete;
  FlowHandle(FlowHandle&& other) noexcept;
  FlowHandle& operator=(FlowHandle&& other) noexcept;
  ~FlowHandle() { release(); }

  DestRuntime* dest() const { return dest_.get(); }
  const std::shared_ptr<DestRuntime>& dest_shared() const { return dest_; }
  // Marks the flow as controlled by `t` (counted in t->n_control until release).
  void control(std::shared_ptr<Template> t);
  // Counts the flow in its service's open flows until release.
  void hold(std::shared_ptr<ServiceLoad> service);
  explicit operator bool() const { return dest_ != nullptr; }
  // Moves the flow between the active and inactive counts (and updates the overload flag).
  void set_count(Count count);
  // The connection ended but IPVS keeps its entry (TIME_WAIT/CLOSE): counted as inactive from
  // now on, no longer an open flow of its service; realserver and template stay held.
  void linger();
  // Un-counts the flow and drops the realserver.
  void release();

 private:
  std::shared_ptr<DestRuntime> dest_;
  std::shared_ptr<Template> template_;
  std::shared_ptr<ServiceLoad> service_;
  Count count_ = Count::kNone;
};

// The scheduling state of one service: its scheduler and the realserver list it runs on.
class Balancer {
 public:
  // Builds the scheduler for `svc` over `dests` (same order as svc.dests). Fails when the
  // scheduler does not exist or refuses the list.
  static core::Result<std::unique_ptr<Balancer>> create(
      const model::VirtualService& svc, std::vector<std::shared_ptr<DestRuntime>> dests);

  // A realserver for a new flow from `client` to `vip`, counted as `count`; nullopt when the
  // scheduler finds none. Bumps the realserver's connection counter.
  // `worker` is the calling worker (its counter slot).
  std::optional<FlowHandle> pick(const core::Endpoint& client, const core::Endpoint& vip,
                                 core::TimePoint now, Count count, std::size_t worker);

  const std::vector<std::shared_ptr<DestRuntime>>& dests() const { return runtimes_; }
  const std::string& scheduler_name() const { return scheduler_name_; }
  std::uint32_t sched_flags() const { return sched_flags_; }
  // True when this balancer runs `svc`'s scheduler over the same realservers and weights, so
  // it can be kept (with its scheduler state) across an apply().
  bool serves(const model::VirtualService& svc) const;

 private:
  Balancer() = default;
  std::string scheduler_name_{};
  std::uint32_t sched_flags_ = 0;
  std::optional<std::uint32_t> cluster_seed_{};  // mh cluster mode (VirtualService::cluster_seed)
  std::unique_ptr<sched::Scheduler> scheduler_;
  std::vector<std::shared_ptr<DestRuntime>> runtimes_;
  std::vector<sched::Dest> dests_;
};

}  // namespace lvs::dp::proxy
