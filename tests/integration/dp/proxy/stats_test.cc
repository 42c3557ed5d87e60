// Counters summed over per-worker slots and the 2 s rate estimator (spec §1.4), on loopback.

#include <gtest/gtest.h>

#include <string>

#include "harness.h"
#include "loopback.h"

namespace lvs::dp::proxy {
namespace {

using testing::NameServer;

// Connections over two workers are counted once each in the summed counters, and within one
// or two estimator periods the service, its realservers and the total show a non-zero rate.
TEST(ProxyStats, RatesAppearAfterAnEstimatorPeriod) {
  NameServer a("A", "127.0.0.2"), b("B", "127.0.0.3");
  Harness h({.workers = 2});
  const auto vip =
      h.add(make_service(model::Protocol::kTcp, "127.0.0.1:0", "rr", {a.addr(), b.addr()}));
  for (int i = 0; i < 40; ++i) {
    auto fd = testing::connect_tcp(vip);
    ASSERT_FALSE(testing::read_line(fd.get()).empty());
  }
  EXPECT_EQ(h.proxy->stats().total.conns, 40U);
  ASSERT_TRUE(eventually([&] {
    const Stats s = h.proxy->stats();
    return s.rates.cps > 0 && s.services.at(0).rates.cps > 0 && s.rates.outbps > 0;
  }));
  const Stats s = h.proxy->stats();
  EXPECT_GT(s.services.at(0).dests.at(0).rates.cps, 0U);
  EXPECT_GT(s.services.at(0).dests.at(1).rates.cps, 0U);
  EXPECT_GE(s.services.at(0).counters.outbytes, 80U);  // "A\n" or "B\n" per connection
}

}  // namespace
}  // namespace lvs::dp::proxy
