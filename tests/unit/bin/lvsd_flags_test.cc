#include "bin/lvsd_flags.h"

#include <gtest/gtest.h>

#include <vector>

namespace lvs::bin {
namespace {

core::Result<LvsdConfig> parse(std::vector<std::string_view> args) {
  return parse_lvsd_flags(args);
}

// Service options apply to the preceding -t/-u; realservers are full-NAT, newest first.
TEST(LvsdFlags, ServiceOptionsApplyToThePrecedingService) {
  auto cfg =
      parse({"--workers", "2", "-t", "127.0.0.1:8080", "-s", "rr", "-r", "127.0.0.2:9000", "-r",
             "127.0.0.3:9000,weight=2", "-u", "127.0.0.1:5353", "-o", "-r", "127.0.0.2"});
  ASSERT_TRUE(cfg.ok()) << cfg.error().message;
  EXPECT_EQ(cfg->proxy.workers, 2U);
  ASSERT_EQ(cfg->table.services.size(), 2U);
  const auto& tcp = cfg->table.services[0];
  EXPECT_EQ(tcp.scheduler, "rr");
  ASSERT_EQ(tcp.dests.size(), 2U);
  EXPECT_EQ(tcp.dests[0].addr.to_string(), "127.0.0.3:9000");
  EXPECT_EQ(tcp.dests[0].weight, 2);
  EXPECT_EQ(tcp.dests[0].forward, model::ForwardMethod::kFullNat);
  const auto& udp = cfg->table.services[1];
  EXPECT_EQ(udp.scheduler, "wlc");
  EXPECT_TRUE(udp.one_packet);
  EXPECT_EQ(udp.dests[0].addr.to_string(), "127.0.0.2:5353");  // port from the service
}

// Errors name the flag's value and say what is wrong.
TEST(LvsdFlags, BadRealserverPortIsNamed) {
  auto cfg = parse({"-t", "127.0.0.1:80", "-r", "127.0.0.5:99999"});
  ASSERT_FALSE(cfg.ok());
  EXPECT_EQ(cfg.error().message,
            "realserver '127.0.0.5:99999': port '99999' in '127.0.0.5:99999' is not a number in "
            "0..65535");
}

TEST(LvsdFlags, RealserverNeedsAService) {
  auto cfg = parse({"-r", "127.0.0.2:80"});
  ASSERT_FALSE(cfg.ok());
  EXPECT_EQ(cfg.error().message, "-r must follow a service (-t or -u)");
}

TEST(LvsdFlags, DurationsTakeSecondsOrMilliseconds) {
  auto cfg = parse({"-t", "127.0.0.1:80", "--tcp-timeout", "90", "--udp-timeout=250ms"});
  ASSERT_TRUE(cfg.ok()) << cfg.error().message;
  EXPECT_EQ(cfg->proxy.tcp_established_timeout, std::chrono::seconds(90));
  EXPECT_EQ(cfg->proxy.udp_timeout, std::chrono::milliseconds(250));
  EXPECT_FALSE(parse({"-t", "127.0.0.1:80", "--tcp-timeout", "soon"}).ok());
}

// No service is fine (an empty table, filled by lvsadm); an unknown flag is an error.
TEST(LvsdFlags, UnknownFlagIsAnErrorAndNoServiceIsAnEmptyTable) {
  EXPECT_FALSE(parse({"--frobnicate"}).ok());
  ASSERT_TRUE(parse({}).ok());
  EXPECT_TRUE(parse({}).value().table.services.empty());
  EXPECT_TRUE(parse({"--help"}).ok());
  ASSERT_TRUE(parse({"--socket", "/tmp/x.sock"}).ok());
  EXPECT_EQ(parse({"--socket", "/tmp/x.sock"}).value().socket_path, "/tmp/x.sock");
}

}  // namespace
}  // namespace lvs::bin
