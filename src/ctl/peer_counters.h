#pragma once
// Counters synced between directors (docs/SYNC.md "Counters"). Every director's master sync
// daemon sends, once a second, for each service and realserver its own counters plus what it
// carries for peers (below); every backup daemon hands what it receives here. A director then
// shows, for each service and realserver,
//
//   own counters + for each peer (by sender address): carried + last received
//
// so a standby that forwards nothing shows its master's numbers, both show the same when both
// run both daemons, and after a failover the new master counts up from there: nothing goes
// backwards. A peer's counter that goes down (its lvsd restarted, or it re-added that
// realserver) is not followed down: what was last received is carried (added to `carried`)
// and the new values count on top; the carried part is also sent on, so a restarted peer gets
// its own history back from this director. State follows the service table: a key that leaves
// the table is forgotten (a re-added realserver starts from what the peers send then).
//
// Rates: the peers' part runs its own 2 s estimator (conn::RateEstimator, linear, so adding it
// to the data plane's estimate of the own part is the estimate of the sum). A peer's first
// values for a key move the estimator's baseline instead of counting as traffic (no spike).
// Pure: values and time are passed in; the Director locks around it.

#include <array>
#include <map>
#include <optional>
#include <set>
#include <utility>
#include <vector>

#include "conn/stats.h"
#include "core/clock.h"
#include "core/endpoint.h"
#include "model/service.h"
#include "model/stats.h"
#include "sync/codec.h"

namespace lvs::ctl {

// A service (no dest) or one of its realservers.
using CounterKey = std::pair<model::ServiceKey, std::optional<core::Endpoint>>;

class PeerCounters {
 public:
  static constexpr std::chrono::seconds kEstimatorPeriod{2};

  // Follows `table`'s services and realservers; the state of every other key goes.
  void follow(const model::ServiceTable& table);
  // Counter entries from the peer at `from`, received at `now`. Keys not followed are ignored.
  void receive(const core::IpAddress& from, const std::vector<sync::CounterEntry>& in,
               core::TimePoint now);
  // Runs the estimators up to `now` (2 s periods; after a long pause they restart at 0).
  void tick(core::TimePoint now);
  // -Z: the estimates restart from 0 at the current values.
  void restart_rates();

  // The peers' part of `key`: for each peer, carried + last received (zero if none).
  model::Counters shown(const CounterKey& key) const;
  model::Rates rates(const CounterKey& key) const;
  // What this director sends for `key` given its own counters: own + carried for every peer.
  model::Counters outgoing(const CounterKey& key, const model::Counters& own) const;

 private:
  struct Peer {
    model::Counters carried{};
    model::Counters last{};
  };
  struct KeyState {
    std::map<core::IpAddress, Peer> peers{};
    std::array<conn::RateEstimator, 5> est{};
  };
  void tick_all();

  std::set<CounterKey> followed_{};
  std::map<CounterKey, KeyState> keys_{};
  std::optional<core::TimePoint> next_tick_{};
};

// Field-wise sums, for adding the peers' part to this director's own numbers.
model::Counters sum(model::Counters a, const model::Counters& b);
model::Rates sum(const model::Rates& a, const model::Rates& b);

}  // namespace lvs::ctl
