// The proxy's Balancer in mh's stateless cluster mode: two directors whose realservers were
// added in different orders send a client to the same realserver; a changed seed means a new
// balancer (serves() is false), an unchanged one keeps it.

#include <gtest/gtest.h>

#include "dp/proxy/balancer.h"

namespace lvs::dp::proxy {
namespace {

model::VirtualService mh(std::vector<const char*> reals, std::optional<std::uint32_t> seed) {
  model::VirtualService vs{};
  vs.key = model::ServiceKey::address(model::Protocol::kTcp,
                                      core::Endpoint::parse("203.0.113.10:80").value());
  vs.scheduler = "mh";
  vs.cluster_seed = seed;
  for (const char* r : reals) {
    model::RealServer rs{};
    rs.addr = core::Endpoint::parse(r).value();
    rs.forward = model::ForwardMethod::kFullNat;
    vs.dests.push_back(rs);
  }
  return vs;
}

std::unique_ptr<Balancer> balancer(const model::VirtualService& vs) {
  std::vector<std::shared_ptr<DestRuntime>> rts;
  for (const auto& r : vs.dests) {
    rts.push_back(std::make_shared<DestRuntime>());
    rts.back()->addr = r.addr;
  }
  return Balancer::create(vs, std::move(rts)).value();
}

TEST(BalancerCluster, SameRealserverOnEveryDirector) {
  const auto a = mh({"198.51.100.131:80", "198.51.100.132:80", "198.51.100.133:80"}, 9U);
  const auto b = mh({"198.51.100.133:80", "198.51.100.131:80", "198.51.100.132:80"}, 9U);
  auto ba = balancer(a);
  auto bb = balancer(b);
  const auto vip = a.key.vip;
  int differ = 0;
  for (std::uint32_t c = 0; c < 2000; ++c) {
    const core::Endpoint client{.addr = core::IpAddress::v4(0xC0000200U + c), .port = 40000};
    auto fa = ba->pick(client, vip, {}, Count::kNone, 0);
    auto fb = bb->pick(client, vip, {}, Count::kNone, 0);
    ASSERT_TRUE(fa && fb);
    differ += fa->dest()->addr == fb->dest()->addr ? 0 : 1;
  }
  EXPECT_EQ(differ, 0);
  EXPECT_TRUE(ba->serves(a));
  EXPECT_FALSE(
      ba->serves(mh({"198.51.100.131:80", "198.51.100.132:80", "198.51.100.133:80"}, 10U)));
  EXPECT_FALSE(ba->serves(mh({"198.51.100.131:80", "198.51.100.132:80", "198.51.100.133:80"}, {})));
}

}  // namespace
}  // namespace lvs::dp::proxy
