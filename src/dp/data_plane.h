#pragma once
// The DataPlane seam: whatever forwards packets (the user-space full-NAT proxy, later the XDP
// engine) is driven by one call, apply(table), that makes forwarding match the whole desired
// table. apply() is all-or-nothing: on error nothing changed. Existing flows keep their
// realserver unless it was removed. stats() returns counters summed over the workers.
// connections() lists the live connection entries and persistence templates (`-L -c`);
// set_timeouts() changes the idle timeouts (`--set`), zero_rates() restarts the rate
// estimators (`-Z`). All are called from the control thread
// only.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "core/endpoint.h"
#include "core/result.h"
#include "dp/errors.h"
#include "dp/health.h"
#include "model/service.h"
#include "model/stats.h"

namespace lvs::dp {

using Counters = model::Counters;
using Rates = model::Rates;

struct DestStats {
  core::Endpoint addr{};
  std::uint32_t active = 0;
  std::uint32_t inactive = 0;
  std::uint32_t persistconns = 0;  // persistence templates pointing at it
  Counters counters{};
  Rates rates{};

  bool operator==(const DestStats&) const = default;
};

struct ServiceStats {
  model::ServiceKey key{};
  Counters counters{};  // the sum over its realservers
  Rates rates{};        // the estimate over its realservers' sum
  std::vector<DestStats> dests{};

  bool operator==(const ServiceStats&) const = default;
};

struct Stats {
  Counters total{};
  Rates rates{};              // over every service
  std::uint64_t refused = 0;  // new connections refused locally (no dest, no descriptors)
  std::vector<ServiceStats> services{};

  bool operator==(const Stats&) const = default;
};

// A connection entry's state in IPVS's names (spec §3). A data plane maps its own states onto
// these honestly; templates are always kNone.
enum class ConnState : std::uint8_t {
  kNone,
  kSynRecv,
  kEstablished,
  kFinWait,
  kCloseWait,
  kTimeWait,
  kClose,
  kUdp,
};

constexpr std::string_view conn_state_name(ConnState s) {
  switch (s) {
    case ConnState::kNone:
      return "NONE";
    case ConnState::kSynRecv:
      return "SYN_RECV";
    case ConnState::kEstablished:
      return "ESTABLISHED";
    case ConnState::kFinWait:
      return "FIN_WAIT";
    case ConnState::kCloseWait:
      return "CLOSE_WAIT";
    case ConnState::kTimeWait:
      return "TIME_WAIT";
    case ConnState::kClose:
      return "CLOSE";
    case ConnState::kUdp:
      return "UDP";
  }
  return "NONE";
}

// One connection entry or persistence template as `-L -c` lists it (spec §1.3, §4.6).
// Templates: `client` is the client network with port 0, `virt` the service, `dest` the
// realserver the network sticks to.
struct ConnEntry {
  model::Protocol protocol = model::Protocol::kTcp;
  ConnState state = ConnState::kNone;
  bool is_template = false;
  core::Endpoint client{};
  core::Endpoint virt{};
  core::Endpoint dest{};
  std::uint32_t expire_seconds = 0;  // until the idle timer fires, rounded up
  // Non-zero: a template of fwmark service `fwmark`; `virt` is then the mark as 0.0.0.MARK:0
  // and -L -c shows the protocol as IP.
  std::uint32_t fwmark = 0;

  bool operator==(const ConnEntry&) const = default;
};

// `--set tcp tcpfin udp`: the idle timeouts of established TCP, of TCP after a FIN, and of
// UDP flows. Zero keeps the current value (ipvsadm's rule).
struct IdleTimeouts {
  std::chrono::seconds tcp{0};
  std::chrono::seconds tcpfin{0};
  std::chrono::seconds udp{0};

  bool operator==(const IdleTimeouts&) const = default;
};

class DataPlane {
 public:
  virtual ~DataPlane() = default;
  virtual core::Result<void> apply(const model::ServiceTable& table) = 0;
  virtual Stats stats() const = 0;
  // The live entries, in no particular order. A data plane that keeps none lists none.
  virtual std::vector<ConnEntry> connections() const { return {}; }
  // Takes effect for every flow, existing ones included, from the data plane's next turn.
  virtual void set_timeouts(const IdleTimeouts& /*timeouts*/) {}
  // `-Z`: restarts the rate estimators of one service (or of all) from 0. Counters are not
  // touched: the caller keeps its own zero point.
  virtual void zero_rates(const std::optional<model::ServiceKey>& /*only*/) {}
  // Graceful stop: close the listeners (new connections are refused, UDP flows end) while
  // established TCP connections run on; open_connections() counts those still open.
  virtual void stop_accepting() {}
  virtual std::uint64_t open_connections() const { return 0; }
  // Errors by kind since start-up (errors.h). Any thread: only atomics are read.
  virtual ErrorCounts errors() const { return {}; }
  // Can it forward at `now` (health.h)? One answer per engine; a data plane that cannot break
  // (the test fixture) answers none. Any thread.
  virtual std::vector<EngineHealth> health(core::TimePoint /*now*/) const { return {}; }
};

}  // namespace lvs::dp
