#pragma once
// A DataPlane over two: the XDP engine (`packet`) forwards the services whose realservers are
// all masqueraded (-m); the user-space proxy (`proxy`) forwards every other service. A service
// that mixes -m with other methods goes whole to the proxy (which masquerades too, through its
// transparent path): a service is never split between engines. A service without realservers
// (`lvsadm -A` before its `-a ... -m`) goes to the packet engine, which drops its new flows as
// IPVS does, and needs no local VIP to bind as the proxy would.
//
// apply() is all-or-nothing across both: the packet engine's part is applied first, then the
// proxy's; if the proxy refuses, the packet engine gets its previous table back. stats(),
// connections() and errors() are the two engines' merged (their services are disjoint);
// set_timeouts() and zero_rates() go to both. Called from the control thread like any
// DataPlane, and besides from the owner's timer through with_packet_engine(): one mutex
// serializes every call into the two engines.

#include <functional>
#include <mutex>
#include <optional>

#include "core/result.h"
#include "dp/data_plane.h"
#include "model/service.h"

namespace lvs::dp::dual {

struct Split {
  model::ServiceTable packet{};  // for the XDP engine
  model::ServiceTable proxy{};   // for the user-space proxy

  bool operator==(const Split&) const = default;
};

// True when the packet engine takes `svc`: every realserver (of none or more) is -m.
bool for_packet_engine(const model::VirtualService& svc);

// Splits `table` by forwarding method (the rule above); order within each part is kept.
Split split(const model::ServiceTable& table);

// Sums two Stats of disjoint service sets: totals, rates and refusals added, services listed
// one after the other.
Stats merge(const Stats& a, const Stats& b);

class DualDataPlane final : public DataPlane {
 public:
  // Both must outlive this object.
  DualDataPlane(DataPlane& packet, DataPlane& proxy) : packet_(packet), proxy_(proxy) {}

  core::Result<void> apply(const model::ServiceTable& table) override;
  Stats stats() const override;
  std::vector<ConnEntry> connections() const override;
  void set_timeouts(const IdleTimeouts& timeouts) override;
  void zero_rates(const std::optional<model::ServiceKey>& only) override;
  void stop_accepting() override;
  std::uint64_t open_connections() const override;
  ErrorCounts errors() const override;

  // Runs `fn` under the lock every call above takes: for the owner's periodic work on the
  // packet engine (its expire(now)), which must not overlap an apply() or a listing.
  void with_packet_engine(const std::function<void()>& fn);

 private:
  mutable std::mutex mu_;
  DataPlane& packet_;
  DataPlane& proxy_;
  Split applied_{};  // what each engine runs now
};

}  // namespace lvs::dp::dual
