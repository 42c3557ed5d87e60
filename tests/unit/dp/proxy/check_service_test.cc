// What the proxy accepts at apply(): full-NAT and Masq realservers, Masq only in the VIP's
// family (its upstream socket is bound to the client's address).

#include <gtest/gtest.h>

#include "dp/proxy/proxy.h"

namespace lvs::dp::proxy {
namespace {

model::VirtualService tcp_service(const char* vip) {
  const auto ep = core::Endpoint::parse(vip).value();
  model::VirtualService svc{.key = model::ServiceKey::address(model::Protocol::kTcp, ep)};
  svc.scheduler = "rr";
  return svc;
}

model::RealServer real(const char* addr, model::ForwardMethod m) {
  return model::RealServer{.addr = core::Endpoint::parse(addr).value(), .forward = m};
}

// Masq and full NAT run on the proxy; Route needs the packet engine.
TEST(CheckService, ServesFullNatAndMasq) {
  auto svc = tcp_service("192.0.2.100:23");
  svc.dests = {real("192.0.2.21:2323", model::ForwardMethod::kMasq),
               real("[2001:db8::21]:23", model::ForwardMethod::kFullNat)};
  EXPECT_TRUE(check_service(svc).ok());
  svc.dests = {real("192.0.2.21:23", model::ForwardMethod::kRoute)};
  EXPECT_EQ(check_service(svc).error().message,
            "realserver 192.0.2.21:23 of service TCP 192.0.2.100:23 uses Route forwarding; the "
            "proxy data plane does full-NAT and Masq only");
}

// A Masq realserver of the other family is refused with the reason and the fix.
TEST(CheckService, MasqMustShareTheVipFamily) {
  auto svc = tcp_service("192.0.2.100:23");
  svc.dests = {real("[2001:db8::21]:23", model::ForwardMethod::kMasq)};
  const auto r = check_service(svc);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message,
            "realserver [2001:db8::21]:23 of service TCP 192.0.2.100:23: a Masq (-m) realserver "
            "must be in the VIP's address family (the realserver sees the client's own "
            "address); use --fullnat to cross families");
}

}  // namespace
}  // namespace lvs::dp::proxy
