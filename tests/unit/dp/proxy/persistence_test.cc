// The template table's lifetime rules (spec §1.3, §3.3) with explicit time points.

#include "dp/proxy/persistence.h"

#include <gtest/gtest.h>

#include "dp/proxy/balancer.h"

namespace lvs::dp::proxy {
namespace {

using std::chrono::seconds;

core::IpAddress ip(const char* text) { return *core::IpAddress::parse(text); }

struct TemplateTableTest : ::testing::Test {
  TemplateTable table;
  std::shared_ptr<DestRuntime> dest = std::make_shared<DestRuntime>();
  core::TimePoint t0{};
  void SetUp() override { table.configure(true, seconds(10), 0xFFFFFF00); }
};

// -M 255.255.255.0 groups a /24; an IPv6 prefix clears the bits past it.
TEST(ClientNetwork, MasksIpv4AndIpv6) {
  EXPECT_EQ(client_network(ip("192.0.2.77"), 0xFFFFFF00), ip("192.0.2.0"));
  EXPECT_EQ(client_network(ip("192.0.2.77"), 0xFFFFFFFF), ip("192.0.2.77"));
  EXPECT_EQ(client_network(ip("2001:db8:1:2::5"), 48), ip("2001:db8:1::"));
  EXPECT_EQ(client_network(ip("2001:db8:1:2::5"), 128), ip("2001:db8:1:2::5"));
}

// Without controlled flows a template lives exactly its timeout after the last touch.
TEST_F(TemplateTableTest, ExpiresAfterTimeoutWithoutFlows) {
  auto t = table.add(ip("192.0.2.0"), dest, t0);
  EXPECT_EQ(dest->load.persistent.load(), 1U);
  table.touch(*t, t0 + seconds(5));
  EXPECT_EQ(table.find(ip("192.0.2.0"), t0 + seconds(14)), t);
  EXPECT_EQ(table.find(ip("192.0.2.0"), t0 + seconds(15)), nullptr);
  EXPECT_EQ(table.size(), 0U);
  EXPECT_EQ(dest->load.persistent.load(), 0U);
}

// A template that still controls a live flow is re-armed by whole timeouts, not dropped.
TEST_F(TemplateTableTest, ControllingALiveFlowKeepsItAlive) {
  auto t = table.add(ip("192.0.2.0"), dest, t0);
  FlowHandle flow(dest, Count::kActive);
  flow.control(t);
  table.sweep(t0 + seconds(25));
  ASSERT_EQ(table.size(), 1U);
  EXPECT_EQ(t->expires, t0 + seconds(30));
  flow.release();
  EXPECT_EQ(t->n_control.load(), 0U);
  table.sweep(t0 + seconds(30));
  EXPECT_EQ(table.size(), 0U);
}

// A realserver deleted from the service invalidates its templates at once; quiesce does not.
TEST_F(TemplateTableTest, DeletedRealserverInvalidatesQuiescedDoesNot) {
  table.add(ip("192.0.2.0"), dest, t0);
  dest->weight.store(0);
  EXPECT_NE(table.find(ip("192.0.2.0"), t0), nullptr);
  dest->available.store(false);
  EXPECT_EQ(table.find(ip("192.0.2.0"), t0), nullptr);
  EXPECT_EQ(dest->load.persistent.load(), 0U);
}

// Changing the netmask or turning persistence off drops every template.
TEST_F(TemplateTableTest, NewNetmaskFlushes) {
  table.add(ip("192.0.2.0"), dest, t0);
  table.configure(true, seconds(20), 0xFFFFFF00);
  EXPECT_EQ(table.size(), 1U);
  table.configure(true, seconds(20), 0xFFFF0000);
  EXPECT_EQ(table.size(), 0U);
}

}  // namespace
}  // namespace lvs::dp::proxy
