#include "conn/stats.h"

namespace lvs::conn {

void RateEstimator::tick(std::uint64_t now, Kind kind) {
  // Counters only grow, so the delta of one period fits easily in 63 bits.
  const auto delta = static_cast<std::int64_t>(now - last);
  last = now;
  const int scale = kind == Kind::kCount ? 9 : 4;
  // Signed arithmetic shift, as the reference: est moves a quarter of the way to the target.
  est += (delta * (std::int64_t{1} << scale) - est) >> 2;
}

std::uint64_t RateEstimator::rate(Kind kind) const {
  if (est <= 0) return 0;
  const auto e = static_cast<std::uint64_t>(est);
  return kind == Kind::kCount ? (e + 511) >> 10 : (e + 15) >> 5;
}

Counters Stats::counters() const {
  return Counters{.conns = raw_.conns - zero_.conns,
                  .inpkts = raw_.inpkts - zero_.inpkts,
                  .outpkts = raw_.outpkts - zero_.outpkts,
                  .inbytes = raw_.inbytes - zero_.inbytes,
                  .outbytes = raw_.outbytes - zero_.outbytes};
}

Rates Stats::rates() const {
  using K = RateEstimator::Kind;
  return Rates{.cps = conns_.rate(K::kCount),
               .inpps = inpkts_.rate(K::kCount),
               .outpps = outpkts_.rate(K::kCount),
               .inbps = inbytes_.rate(K::kBytes),
               .outbps = outbytes_.rate(K::kBytes)};
}

void Stats::tick() {
  using K = RateEstimator::Kind;
  conns_.tick(raw_.conns, K::kCount);
  inpkts_.tick(raw_.inpkts, K::kCount);
  outpkts_.tick(raw_.outpkts, K::kCount);
  inbytes_.tick(raw_.inbytes, K::kBytes);
  outbytes_.tick(raw_.outbytes, K::kBytes);
}

void Stats::zero() {
  zero_ = raw_;
  conns_ = RateEstimator{.last = raw_.conns, .est = 0};
  inpkts_ = RateEstimator{.last = raw_.inpkts, .est = 0};
  outpkts_ = RateEstimator{.last = raw_.outpkts, .est = 0};
  inbytes_ = RateEstimator{.last = raw_.inbytes, .est = 0};
  outbytes_ = RateEstimator{.last = raw_.outbytes, .est = 0};
}

}  // namespace lvs::conn
