#include "ctl/peer_counters.h"

namespace lvs::ctl {
namespace {

using Kind = conn::RateEstimator::Kind;
constexpr std::array<Kind, 5> kKinds{Kind::kCount, Kind::kCount, Kind::kCount, Kind::kBytes,
                                     Kind::kBytes};
// After this many periods without a tick the estimators restart instead of catching up.
constexpr int kMaxCatchUp = 16;

// The five estimated counters, in conn::Stats' order (conns, inpkts, outpkts, inbytes, outbytes).
std::array<std::uint64_t, 5> estimated(const model::Counters& c) {
  return {c.conns, c.inpkts, c.outpkts, c.inbytes, c.outbytes};
}

// A counter went down: the sender restarted it (its lvsd, or the realserver re-added).
bool went_down(const model::Counters& now, const model::Counters& last) {
  return now.conns < last.conns || now.failed < last.failed || now.inpkts < last.inpkts ||
         now.outpkts < last.outpkts || now.inbytes < last.inbytes || now.outbytes < last.outbytes;
}

}  // namespace

model::Counters sum(model::Counters a, const model::Counters& b) {
  a += b;
  return a;
}

model::Rates sum(const model::Rates& a, const model::Rates& b) {
  return model::Rates{.cps = a.cps + b.cps,
                      .inpps = a.inpps + b.inpps,
                      .outpps = a.outpps + b.outpps,
                      .inbps = a.inbps + b.inbps,
                      .outbps = a.outbps + b.outbps};
}

void PeerCounters::follow(const model::ServiceTable& table) {
  followed_.clear();
  for (const auto& svc : table.services) {
    followed_.insert(CounterKey{svc.key, std::nullopt});
    for (const auto& d : svc.dests) followed_.insert(CounterKey{svc.key, d.addr});
  }
  std::erase_if(keys_, [&](const auto& kv) { return !followed_.contains(kv.first); });
}

void PeerCounters::receive(const core::IpAddress& from, const std::vector<sync::CounterEntry>& in,
                           core::TimePoint now) {
  tick(now);
  for (const sync::CounterEntry& e : in) {
    const CounterKey key{e.service, e.dest};
    if (!followed_.contains(key)) continue;
    KeyState& k = keys_[key];
    const auto [it, first] = k.peers.try_emplace(from);
    Peer& p = it->second;
    if (first) {
      // A peer's first numbers are history, not traffic of this period: the baseline moves.
      const auto add = estimated(e.counters);
      for (std::size_t i = 0; i < add.size(); ++i) k.est.at(i).last += add.at(i);
    } else if (went_down(e.counters, p.last)) {
      p.carried += p.last;
    }
    p.last = e.counters;
  }
}

void PeerCounters::tick(core::TimePoint now) {
  if (!next_tick_) {
    next_tick_ = now + kEstimatorPeriod;
    return;
  }
  for (int i = 0; i < kMaxCatchUp && now >= *next_tick_; ++i) {
    tick_all();
    *next_tick_ += kEstimatorPeriod;
  }
  if (now >= *next_tick_) {  // a long pause: nothing to catch up with but zeros
    restart_rates();
    next_tick_ = now + kEstimatorPeriod;
  }
}

void PeerCounters::tick_all() {
  for (auto& [key, k] : keys_) {
    const auto v = estimated(shown(key));
    for (std::size_t i = 0; i < v.size(); ++i) k.est.at(i).tick(v.at(i), kKinds.at(i));
  }
}

void PeerCounters::restart_rates() {
  for (auto& [key, k] : keys_) {
    const auto v = estimated(shown(key));
    for (std::size_t i = 0; i < v.size(); ++i) {
      k.est.at(i) = conn::RateEstimator{.last = v.at(i), .est = 0};
    }
  }
}

model::Counters PeerCounters::shown(const CounterKey& key) const {
  model::Counters out;
  const auto it = keys_.find(key);
  if (it == keys_.end()) return out;
  for (const auto& [from, p] : it->second.peers) {
    out += p.carried;
    out += p.last;
  }
  return out;
}

model::Rates PeerCounters::rates(const CounterKey& key) const {
  const auto it = keys_.find(key);
  if (it == keys_.end()) return {};
  const auto& e = it->second.est;
  return model::Rates{.cps = e[0].rate(kKinds[0]),
                      .inpps = e[1].rate(kKinds[1]),
                      .outpps = e[2].rate(kKinds[2]),
                      .inbps = e[3].rate(kKinds[3]),
                      .outbps = e[4].rate(kKinds[4])};
}

model::Counters PeerCounters::outgoing(const CounterKey& key, const model::Counters& own) const {
  model::Counters out = own;
  const auto it = keys_.find(key);
  if (it == keys_.end()) return out;
  for (const auto& [from, p] : it->second.peers) out += p.carried;
  return out;
}

}  // namespace lvs::ctl
