#include "dp/dual/dual.h"

#include "core/log.h"

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <utility>

namespace lvs::dp::dual {

bool for_packet_engine(const model::VirtualService& svc) {
  return std::all_of(svc.dests.begin(), svc.dests.end(), [](const auto& d) {
    return std::find(kPacketMethods.begin(), kPacketMethods.end(), d.forward) !=
           kPacketMethods.end();
  });
}

Split split(const model::ServiceTable& table, const Accepts& accepts) {
  Split s;
  for (const auto& svc : table.services) {
    if (!for_packet_engine(svc)) {
      s.proxy.services.push_back(svc);
      continue;
    }
    if (accepts) {
      if (auto ok = accepts(svc); !ok) {
        const bool proxy_can = std::all_of(svc.dests.begin(), svc.dests.end(), [](const auto& d) {
          return d.forward == model::ForwardMethod::kMasq;
        });
        if (!proxy_can) {
          s.unserved.push_back(ok.error().message);
          continue;
        }
        s.fallbacks.push_back(ok.error().message);
        s.proxy.services.push_back(svc);
        continue;
      }
    }
    s.packet.services.push_back(svc);
  }
  return s;
}

namespace {

Rates add(const Rates& a, const Rates& b) {
  return Rates{.cps = a.cps + b.cps,
               .inpps = a.inpps + b.inpps,
               .outpps = a.outpps + b.outpps,
               .inbps = a.inbps + b.inbps,
               .outbps = a.outbps + b.outbps};
}

}  // namespace

Stats merge(const Stats& a, const Stats& b) {
  Stats m = a;
  m.total += b.total;
  m.rates = add(a.rates, b.rates);
  m.refused += b.refused;
  m.services.insert(m.services.end(), b.services.begin(), b.services.end());
  return m;
}

core::Result<void> DualDataPlane::apply(const model::ServiceTable& table) {
  const std::lock_guard lock(mu_);
  Split next = split(table, accepts_);
  if (!next.unserved.empty()) return core::fail(EOPNOTSUPP, next.unserved.front());
  if (auto r = packet_.apply(next.packet); !r) return r;
  if (auto r = proxy_.apply(next.proxy); !r) {
    // The packet engine accepted its old table once: taking it back cannot fail for a reason
    // the new one did not; if it does anyway, say so next to the proxy's refusal.
    if (auto back = packet_.apply(applied_.packet); !back) {
      return core::fail(r.error().code, r.error().message +
                                            "; and restoring the XDP engine's "
                                            "previous table failed: " +
                                            back.error().message);
    }
    return r;
  }
  for (const auto& why : next.fallbacks) {
    if (std::find(applied_.fallbacks.begin(), applied_.fallbacks.end(), why) ==
        applied_.fallbacks.end()) {
      core::log().info("{}; the user-space data plane forwards it", why);
    }
  }
  applied_ = std::move(next);
  return {};
}

Stats DualDataPlane::stats() const {
  const std::lock_guard lock(mu_);
  return merge(packet_.stats(), proxy_.stats());
}

std::vector<ConnEntry> DualDataPlane::connections() const {
  const std::lock_guard lock(mu_);
  auto all = packet_.connections();
  auto more = proxy_.connections();
  all.insert(all.end(), more.begin(), more.end());
  return all;
}

void DualDataPlane::set_timeouts(const IdleTimeouts& timeouts) {
  const std::lock_guard lock(mu_);
  packet_.set_timeouts(timeouts);
  proxy_.set_timeouts(timeouts);
}

void DualDataPlane::zero_rates(const std::optional<model::ServiceKey>& only) {
  const std::lock_guard lock(mu_);
  packet_.zero_rates(only);
  proxy_.zero_rates(only);
}

// The packet engine keeps no sockets: stopping means closing the proxy's listeners only.
void DualDataPlane::stop_accepting() {
  const std::lock_guard lock(mu_);
  proxy_.stop_accepting();
}

std::uint64_t DualDataPlane::open_connections() const {
  const std::lock_guard lock(mu_);
  return proxy_.open_connections();
}

void DualDataPlane::with_packet_engine(const std::function<void()>& fn) {
  const std::lock_guard lock(mu_);
  fn();
}

ErrorCounts DualDataPlane::errors() const {
  const std::lock_guard lock(mu_);
  ErrorCounts e = proxy_.errors();
  const ErrorCounts p = packet_.errors();
  for (std::size_t i = 0; i < e.n.size(); ++i) e.n[i] += p.n[i];
  return e;
}

std::vector<EngineHealth> DualDataPlane::health(core::TimePoint now) const {
  const std::lock_guard lock(mu_);
  auto out = packet_.health(now);
  for (auto& h : proxy_.health(now)) out.push_back(std::move(h));
  return out;
}

}  // namespace lvs::dp::dual
