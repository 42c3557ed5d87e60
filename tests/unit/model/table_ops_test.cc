// Engine validation of table changes (spec §4.4) and ipvsadm's error texts (§4.5).
#include "model/table_ops.h"

#include <gtest/gtest.h>

namespace lvs::model {
namespace {

core::Endpoint ep(const char* s) { return *core::Endpoint::parse(s); }
bool known(std::string_view name) { return name == "wlc" || name == "rr"; }

const ServiceKey kVip80 = ServiceKey::address(Protocol::kTcp, ep("192.168.1.100:80"));

ServiceTable table_with_vip80() {
  ServiceTable t;
  EXPECT_TRUE(add_service(t, VirtualService{.key = kVip80}, known).ok());
  return t;
}

TEST(TableOps, AddServiceTwiceIsEexist) {
  auto t = table_with_vip80();
  auto r = add_service(t, VirtualService{.key = kVip80}, known);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, EEXIST);
  EXPECT_EQ(r.error().message, "service TCP 192.168.1.100:80 already exists");
  EXPECT_EQ(ipvsadm_text(Operation::kAddService, r.error().code), "Service already exists");
}

TEST(TableOps, UnknownSchedulerIsEnoent) {
  ServiceTable t;
  auto r = add_service(t, VirtualService{.key = kVip80, .scheduler = "foo"}, known);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ENOENT);
  EXPECT_EQ(ipvsadm_text(Operation::kAddService, ENOENT),
            "Scheduler or persistence engine not found");
  EXPECT_TRUE(t.services.empty());
}

TEST(TableOps, Ipv6NetmaskOutsidePrefixRangeIsEinval) {
  ServiceTable t;
  const auto key = ServiceKey::address(Protocol::kTcp, ep("[2001:db8::1]:80"));
  auto r = add_service(t, VirtualService{.key = key, .persistent = true, .netmask = 129}, known);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, EINVAL);
  EXPECT_TRUE(
      add_service(t, VirtualService{.key = key, .persistent = true, .netmask = 64}, known).ok());
}

TEST(TableOps, MissingServiceIsEsrchForEveryOperation) {
  ServiceTable t;
  EXPECT_EQ(edit_service(t, VirtualService{.key = kVip80}, known).error().code, ESRCH);
  EXPECT_EQ(delete_service(t, kVip80).error().code, ESRCH);
  EXPECT_EQ(add_dest(t, kVip80, RealServer{.addr = ep("10.0.0.1:80")}).error().code, ESRCH);
  EXPECT_EQ(ipvsadm_text(Operation::kAddDest, ESRCH), "Service not defined");
  EXPECT_EQ(ipvsadm_text(Operation::kDeleteService, ESRCH), "No such service");
}

TEST(TableOps, NewDestsGoToTheFront) {
  auto t = table_with_vip80();
  for (const char* a : {"10.0.0.1:80", "10.0.0.2:80", "10.0.0.3:80"}) {
    ASSERT_TRUE(add_dest(t, kVip80, RealServer{.addr = ep(a)}).ok());
  }
  const auto& d = t.find(kVip80)->dests;
  ASSERT_EQ(d.size(), 3U);
  EXPECT_EQ(d[0].addr.to_string(), "10.0.0.3:80");
  EXPECT_EQ(d[2].addr.to_string(), "10.0.0.1:80");
}

TEST(TableOps, DuplicateDestIsEexistAndMissingDestIsEnoent) {
  auto t = table_with_vip80();
  ASSERT_TRUE(add_dest(t, kVip80, RealServer{.addr = ep("10.0.0.1:80")}).ok());
  EXPECT_EQ(add_dest(t, kVip80, RealServer{.addr = ep("10.0.0.1:80")}).error().code, EEXIST);
  EXPECT_EQ(ipvsadm_text(Operation::kAddDest, EEXIST), "Destination already exists");
  EXPECT_EQ(edit_dest(t, kVip80, RealServer{.addr = ep("10.0.0.9:80")}).error().code, ENOENT);
  EXPECT_EQ(delete_dest(t, kVip80, ep("10.0.0.9:80")).error().code, ENOENT);
  EXPECT_EQ(ipvsadm_text(Operation::kDeleteDest, ENOENT), "No such destination");
}

// Case 40: -y 5 without -x -> l > u -> ERANGE "Numerical result out of range".
TEST(TableOps, LowerThresholdAboveUpperIsErange) {
  auto t = table_with_vip80();
  auto r = add_dest(t, kVip80, RealServer{.addr = ep("10.0.0.1:80"), .l_threshold = 5});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ERANGE);
  EXPECT_EQ(ipvsadm_text(Operation::kAddDest, ERANGE), "Numerical result out of range");
  EXPECT_EQ(add_dest(t, kVip80, RealServer{.addr = ep("10.0.0.1:80"), .weight = -1}).error().code,
            ERANGE);
}

TEST(TableOps, GueWithoutPortAndNonUnicastAreEinval) {
  auto t = table_with_vip80();
  EXPECT_EQ(add_dest(t, kVip80,
                     RealServer{.addr = ep("10.0.0.1:80"),
                                .forward = ForwardMethod::kTunnel,
                                .tun_type = TunnelType::kGue})
                .error()
                .code,
            EINVAL);
  for (const char* a : {"224.0.0.1:80", "0.0.0.0:80", "255.255.255.255:80", "[ff02::1]:80"}) {
    EXPECT_EQ(add_dest(t, kVip80, RealServer{.addr = ep(a)}).error().code, EINVAL) << a;
  }
  EXPECT_EQ(ipvsadm_text(Operation::kAddDest, EINVAL),
            "Invalid operation.  Possibly wrong module version, address not unicast, ...");
}

// mh keeps the last non-zero weight: quiescing must not change its table.
TEST(TableOps, LastWeightFollowsOnlyNonZeroWeights) {
  auto t = table_with_vip80();
  ASSERT_TRUE(add_dest(t, kVip80, RealServer{.addr = ep("10.0.0.1:80"), .weight = 3}).ok());
  ASSERT_TRUE(edit_dest(t, kVip80, RealServer{.addr = ep("10.0.0.1:80"), .weight = 0}).ok());
  EXPECT_EQ(t.find(kVip80)->dests[0].last_weight, 3);
  ASSERT_TRUE(edit_dest(t, kVip80, RealServer{.addr = ep("10.0.0.1:80"), .weight = 5}).ok());
  EXPECT_EQ(t.find(kVip80)->dests[0].last_weight, 5);
}

TEST(TableOps, EditServiceKeepsDestsAndFailedOpsChangeNothing) {
  auto t = table_with_vip80();
  ASSERT_TRUE(add_dest(t, kVip80, RealServer{.addr = ep("10.0.0.1:80")}).ok());
  ASSERT_TRUE(edit_service(t, VirtualService{.key = kVip80, .scheduler = "rr"}, known).ok());
  EXPECT_EQ(t.find(kVip80)->scheduler, "rr");
  EXPECT_EQ(t.find(kVip80)->dests.size(), 1U);
  const auto before = t;
  EXPECT_FALSE(edit_service(t, VirtualService{.key = kVip80, .scheduler = "nope"}, known).ok());
  EXPECT_EQ(t, before);
}

TEST(ServiceKey, PrintsLikeIpvsadm) {
  EXPECT_EQ(kVip80.to_string(), "TCP 192.168.1.100:80");
  EXPECT_EQ(ServiceKey::mark(7).to_string(), "FWM 7");
  EXPECT_EQ(ServiceKey::mark(7, core::Family::kInet6).to_string(), "FWM 7 IPv6");
  EXPECT_EQ(forward_name(ForwardMethod::kFullNat), "FullNat");
}

TEST(IpvsadmText, FallsBackToStrerror) {
  EXPECT_EQ(ipvsadm_text(Operation::kOther, EPERM), "Permission denied (you must be root)");
  EXPECT_EQ(ipvsadm_text(Operation::kOther, ENOMEM), "Memory allocation problem");
  EXPECT_EQ(ipvsadm_text(Operation::kStartDaemon, EEXIST), "Daemon has already run");
}

}  // namespace
}  // namespace lvs::model
