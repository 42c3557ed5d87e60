#pragma once
// The proxy under test in this process: a Harness owning a Proxy and its table, helpers to build
// full-NAT services, and a bounded poll for conditions the workers make true.

#include <poll.h>

#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "dp/proxy/net.h"
#include "dp/proxy/proxy.h"

namespace lvs::dp::proxy {

inline model::VirtualService make_service(model::Protocol proto, const std::string& vip,
                                          const std::string& sched,
                                          const std::vector<core::Endpoint>& reals) {
  model::VirtualService svc{.key = model::ServiceKey::address(proto, *core::Endpoint::parse(vip)),
                            .scheduler = sched};
  for (const auto& r : reals) {
    svc.dests.insert(svc.dests.begin(),
                     model::RealServer{.addr = r, .forward = model::ForwardMethod::kFullNat});
  }
  return svc;
}

struct Harness {
  core::SteadyClock clock;
  std::unique_ptr<Proxy> proxy;
  model::ServiceTable table;

  explicit Harness(ProxyOptions opts = {.workers = 1}) {
    raise_nofile_limit();
    auto p = Proxy::create(opts, clock);
    EXPECT_TRUE(p.ok());
    proxy = std::move(p).value();
  }
  core::Endpoint add(model::VirtualService svc) {
    table.services.push_back(std::move(svc));
    auto r = proxy->apply(table);
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
    return *proxy->bound(table.services.back().key);
  }
  void apply() {
    auto r = proxy->apply(table);
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
  }
  DestStats dest_stats(const core::Endpoint& addr) const {
    for (const auto& s : proxy->stats().services) {
      for (const auto& d : s.dests) {
        if (d.addr == addr) return d;
      }
    }
    return {};
  }
};

// Waits (bounded) until `done()` holds; the proxy's counters change on its worker threads and
// no event announces it, so this polls with a short timeout.
template <typename F>
bool eventually(F done) {
  for (int i = 0; i < 1000; ++i) {
    if (done()) return true;
    ::poll(nullptr, 0, 10);
  }
  return done();
}

}  // namespace lvs::dp::proxy
