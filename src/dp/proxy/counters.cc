#include "dp/proxy/counters.h"

namespace lvs::dp::proxy {

namespace {

using Kind = conn::RateEstimator::Kind;
constexpr std::array<Kind, kRateCounters> kKinds = {Kind::kCount, Kind::kCount, Kind::kCount,
                                                    Kind::kBytes, Kind::kBytes};

}  // namespace

Counters CounterSlots::read() const {
  constexpr auto kRelaxed = std::memory_order_relaxed;
  Counters c;
  for (std::size_t i = 0; i < size_; ++i) {
    const WorkerCounters& s = slots_[i];
    c.conns += s.conns.load(kRelaxed);
    c.failed += s.failed.load(kRelaxed);
    c.inpkts += s.inpkts.load(kRelaxed);
    c.outpkts += s.outpkts.load(kRelaxed);
    c.inbytes += s.inbytes.load(kRelaxed);
    c.outbytes += s.outbytes.load(kRelaxed);
  }
  return c;
}

void RateState::tick(const Counters& now) {
  const std::array<std::uint64_t, kRateCounters> values = {now.conns, now.inpkts, now.outpkts,
                                                           now.inbytes, now.outbytes};
  for (std::size_t i = 0; i < kRateCounters; ++i) {
    est_[i].tick(values[i], kKinds[i]);
    published_[i].store(est_[i].est, std::memory_order_relaxed);
  }
}

void RateState::reset(const Counters& now) {
  const std::array<std::uint64_t, kRateCounters> values = {now.conns, now.inpkts, now.outpkts,
                                                           now.inbytes, now.outbytes};
  for (std::size_t i = 0; i < kRateCounters; ++i) {
    est_[i] = conn::RateEstimator{.last = values[i], .est = 0};
    published_[i].store(0, std::memory_order_relaxed);
  }
}

RateSums RateState::read() const {
  RateSums out{};
  for (std::size_t i = 0; i < kRateCounters; ++i) {
    out[i] = published_[i].load(std::memory_order_relaxed);
  }
  return out;
}

void add_to(RateSums& to, const RateSums& from) {
  for (std::size_t i = 0; i < kRateCounters; ++i) to[i] += from[i];
}

Rates rates_of(const RateSums& est) {
  std::array<std::uint64_t, kRateCounters> r{};
  for (std::size_t i = 0; i < kRateCounters; ++i) {
    r[i] = conn::RateEstimator{.last = 0, .est = est[i]}.rate(kKinds[i]);
  }
  return Rates{.cps = r[0], .inpps = r[1], .outpps = r[2], .inbps = r[3], .outbps = r[4]};
}

}  // namespace lvs::dp::proxy
