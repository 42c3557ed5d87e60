#pragma once
// A DataPlane over two: the XDP engine (`packet`) forwards the services whose realservers all
// use a method it serves (kPacketMethods: -m, -g, -i); the user-space proxy (`proxy`) forwards
// every other service. A service that mixes those with other methods goes whole to the proxy
// (which masquerades too, through its transparent path): a service is never split between
// engines. A masquerading service the packet engine cannot take (a scheduler it lacks...) falls
// back to the proxy; one with direct-routing or tunnelling realservers cannot (the proxy does
// neither), so apply() refuses it with the packet engine's reason. A service without
// realservers (`lvsadm -A` before its `-a ... -m`) goes to the packet engine, which drops its
// new flows as IPVS does, and needs no local VIP to bind as the proxy would.
//
// apply() is all-or-nothing across both: the packet engine's part is applied first, then the
// proxy's; if the proxy refuses, the packet engine gets its previous table back. stats(),
// connections() and errors() are the two engines' merged (their services are disjoint);
// set_timeouts() and zero_rates() go to both. Called from the control thread like any
// DataPlane, and besides from the owner's timer through with_packet_engine(): one mutex
// serializes every call into the two engines.

#include <array>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/result.h"
#include "dp/data_plane.h"
#include "model/service.h"

namespace lvs::dp::dual {

// The forwarding methods the XDP engine serves.
inline constexpr std::array kPacketMethods = {
    model::ForwardMethod::kMasq, model::ForwardMethod::kRoute, model::ForwardMethod::kTunnel};

struct Split {
  model::ServiceTable packet{};  // for the XDP engine
  model::ServiceTable proxy{};   // for the user-space proxy
  // Masquerading services the packet engine refused (Accepts), with its reason: the proxy
  // forwards them.
  std::vector<std::string> fallbacks{};
  // Services the packet engine refused that the proxy cannot forward either (direct routing),
  // with its reason: apply() fails.
  std::vector<std::string> unserved{};

  bool operator==(const Split&) const = default;
};

// True when the packet engine takes `svc`: every realserver (of none or more) uses one of
// kPacketMethods.
bool for_packet_engine(const model::VirtualService& svc);

// Whether the packet engine can forward a service, else why not (e.g. a scheduler it lacks).
using Accepts = std::function<core::Result<void>(const model::VirtualService&)>;

// Splits `table` by forwarding method (the rule above); a service `accepts` refuses goes to the
// proxy, its reason in `fallbacks`. Order within each part is kept. No `accepts`: all accepted.
Split split(const model::ServiceTable& table, const Accepts& accepts = {});

// Sums two Stats of disjoint service sets: totals, rates and refusals added, services listed
// one after the other.
Stats merge(const Stats& a, const Stats& b);

class DualDataPlane final : public DataPlane {
 public:
  // Both must outlive this object. `accepts`: what the packet engine can forward (split()).
  DualDataPlane(DataPlane& packet, DataPlane& proxy, Accepts accepts = {})
      : packet_(packet), proxy_(proxy), accepts_(std::move(accepts)) {}

  core::Result<void> apply(const model::ServiceTable& table) override;
  Stats stats() const override;
  std::vector<ConnEntry> connections() const override;
  void set_timeouts(const IdleTimeouts& timeouts) override;
  void zero_rates(const std::optional<model::ServiceKey>& only) override;
  void stop_accepting() override;
  std::uint64_t open_connections() const override;
  ErrorCounts errors() const override;
  // The packet engine's answer, then the proxy's.
  std::vector<EngineHealth> health(core::TimePoint now) const override;

  // Runs `fn` under the lock every call above takes: for the owner's periodic work on the
  // packet engine (its expire(now)), which must not overlap an apply() or a listing.
  void with_packet_engine(const std::function<void()>& fn);

 private:
  mutable std::mutex mu_;
  DataPlane& packet_;
  DataPlane& proxy_;
  Accepts accepts_;
  Split applied_{};  // what each engine runs now
};

}  // namespace lvs::dp::dual
