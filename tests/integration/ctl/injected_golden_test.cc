// Spec §6 cases 26 and 28 through the real binaries: lvsd runs with --test-hooks (its test data
// plane, dp/fixture/fixture.h), the configuration is built with real `lvsadm -A/-a` commands,
// the counters, rates and connection entries a block displays are injected through the
// `--test-hook` control request, and the real `lvsadm -L ...` output is compared byte for byte
// with spec §4.6's blocks (tests/common/spec_listings.h, shared with the unit tests).

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

#include "common/spec_listings.h"
#include "ctl/control_socket.h"
#include "integration/ctl/harness.h"

namespace lvs::testing {
namespace {

std::vector<std::string> split_words(const std::string& line) {
  std::vector<std::string> v;
  std::istringstream in(line);
  for (std::string w; in >> w;) v.push_back(w);
  return v;
}

class InjectedGolden : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(d.ready()) << "lvsd --test-hooks did not start"; }

  // Runs lvsadm and expects success with empty stderr; returns stdout.
  std::string ok(const std::vector<std::string>& args) {
    const auto r = d.lvsadm(args);
    EXPECT_EQ(r.exit_code, 0) << fmt::format("{}", fmt::join(args, " ")) << "\n" << r.err;
    EXPECT_EQ(r.err, "");
    return r.out;
  }
  // One lvsadm invocation per line ("-A -t ..." etc.).
  void configure(std::string_view lines) {
    std::istringstream in{std::string(lines)};
    for (std::string line; std::getline(in, line);) {
      if (!line.empty()) ok(split_words(line));
    }
  }
  // The test hook: a control request whose argv is {prog, "--test-hook"} and whose input is
  // the injection text.
  ctl::Reply hook(const std::string& text) {
    auto r = ctl::call_control(
        d.socket(), ctl::Request{.argv = {"injected_golden_test", "--test-hook"}, .input = text});
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
    return r.ok() ? *r : ctl::Reply{.exit_code = -1};
  }
  void inject(const std::string& text) {
    const auto r = hook(text);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.err, "");
  }

  Lvsd d{{"--test-hooks"}};
};

constexpr std::string_view kOneMasq =
    "-A -t 192.168.1.100:80\n"
    "-a -t 192.168.1.100:80 -r 10.0.0.11:80 -m\n";

// Case 28, the default block: Masq, Route and Tunnel realservers, a fwmark service,
// persistence with a mask, scheduler flags, ops, trailing spaces.
TEST_F(InjectedGolden, Case28DefaultBlock) {
  configure(spec::kSavedDefaultConfig);
  inject(
      "load tcp:192.168.1.100:80 10.0.0.11:80 3 12 0\n"
      "load udp:192.168.1.100:53 10.0.0.21:53 0 17 0\n");
  EXPECT_EQ(ok({"-L", "-n"}), spec::kDefaultBlock);
  // The same configuration saves as the §4.7 block (case 32's first half, through lvsd).
  EXPECT_EQ(ok({"-S", "-n"}), spec::kSavedDefaultConfig);
}

constexpr std::string_view kStatsCounters =
    "counters tcp:192.168.1.100:80 1523 98211 87640 123456789 9876543210\n"
    "counters tcp:192.168.1.100:80 10.0.0.11:80 800 50000 45000 61728394 4938271605\n";

// Case 28, --stats: the K/M suffixes on large counters.
TEST_F(InjectedGolden, Case28StatsBlock) {
  configure(kOneMasq);
  inject(std::string(kStatsCounters));
  EXPECT_EQ(ok({"-L", "-n", "--stats"}), spec::kStatsBlock);
}

// Case 28, --stats --exact: full digits, width max(9, digits + 1).
TEST_F(InjectedGolden, Case28StatsExactBlock) {
  configure(kOneMasq);
  inject(std::string(kStatsCounters));
  EXPECT_EQ(ok({"-L", "-n", "--stats", "--exact"}),
            "IP Virtual Server version 1.2.1 (size=4096)\n"
            "Prot LocalAddress:Port               Conns   InPkts  OutPkts  InBytes OutBytes\n"
            "  -> RemoteAddress:Port\n" +
                std::string(spec::kStatsExactServiceLine) +
                "  -> 10.0.0.11:80                      800    50000    45000 61728394 "
                "4938271605\n");
}

// Case 28, --rate: injected estimates; dest CPS/PPS are plain numbers.
TEST_F(InjectedGolden, Case28RateBlock) {
  configure(kOneMasq);
  inject(
      "rates tcp:192.168.1.100:80 12 340 310 45210 390112\n"
      "rates tcp:192.168.1.100:80 10.0.0.11:80 6 170 155 22605 195056\n");
  EXPECT_EQ(ok({"-L", "-n", "--rate"}), spec::kRateBlock);
}

// Case 28, --thresholds.
TEST_F(InjectedGolden, Case28ThresholdsBlock) {
  configure(
      "-A -t 192.168.1.100:80\n"
      "-a -t 192.168.1.100:80 -r 10.0.0.11:80 -m -x 100 -y 50\n");
  inject("load tcp:192.168.1.100:80 10.0.0.11:80 3 12 0\n");
  EXPECT_EQ(ok({"-L", "-n", "--thresholds"}), spec::kThresholdsBlock);
}

// Case 28, --persistent-conn: the realserver's template count.
TEST_F(InjectedGolden, Case28PersistentConnBlock) {
  configure(
      "-A -t 192.168.1.100:80 -p\n"
      "-a -t 192.168.1.100:80 -r 10.0.0.11:80 -m\n");
  inject("load tcp:192.168.1.100:80 10.0.0.11:80 3 12 4\n");
  EXPECT_EQ(ok({"-L", "-n", "--persistent-conn"}), spec::kPersistentConnBlock);
}

// Case 28, --tun-info: gue:PORT:CS for the tunnel, n/a for the Route realserver.
TEST_F(InjectedGolden, Case28TunInfoBlock) {
  configure(
      "-A -t 192.168.1.100:80 -s rr\n"
      "-a -t 192.168.1.100:80 -r 10.0.0.31:80 -i --tun-type gue --tun-port 6080\n"
      "-a -t 192.168.1.100:80 -r 10.0.0.32:80\n");
  EXPECT_EQ(ok({"-L", "-n", "--tun-info"}), spec::kTunInfoBlock);
}

// Case 28, -c: connections, an address template and a fwmark template (FWM 7 persistent),
// injected in an order unlike the listing's.
TEST_F(InjectedGolden, Case28ConnectionBlock) {
  configure(spec::kSavedDefaultConfig);
  ok({"-E", "-f", "7", "-s", "wrr", "-p"});
  inject(
      "template fwm:7 203.0.113.7:0 10.0.0.41:0 358\n"
      "template tcp:192.168.1.100:443 203.0.113.0:0 10.0.0.11:443 358\n"
      "conn udp:192.168.1.100:53 UDP 203.0.113.9:5353 10.0.0.21:53 299\n"
      "conn tcp:192.168.1.100:80 SYN_RECV 203.0.113.8:40000 10.0.0.12:8080 54\n"
      "conn tcp:192.168.1.100:80 ESTABLISHED 203.0.113.7:51514 10.0.0.11:80 897\n");
  EXPECT_EQ(ok({"-L", "-n", "-c"}), spec::kConnectionBlock);
}

std::string rate_listing(std::uint64_t cps) {
  return fmt::format(
      "IP Virtual Server version 1.2.1 (size=4096)\n"
      "Prot LocalAddress:Port                 CPS    InPPS   OutPPS    InBPS   OutBPS\n"
      "  -> RemoteAddress:Port\n"
      "{:<33}{:>9}{:>9}{:>9}{:>9}{:>9}\n"
      "  -> {:<28}{:>9}{:>9}{:>9}{:>9}{:>9}\n",
      "TCP  192.168.1.100:80", cps, 0, 0, 0, 0, "10.0.0.11:80", cps, 0, 0, 0, 0);
}

std::string stats_listing(std::uint64_t conns) {
  return fmt::format(
      "IP Virtual Server version 1.2.1 (size=4096)\n"
      "Prot LocalAddress:Port               Conns   InPkts  OutPkts  InBytes OutBytes\n"
      "  -> RemoteAddress:Port\n"
      "{:<33}{:>9}{:>9}{:>9}{:>9}{:>9}\n"
      "  -> {:<28}{:>9}{:>9}{:>9}{:>9}{:>9}\n",
      "TCP  192.168.1.100:80", conns, 0, 0, 0, 0, "10.0.0.11:80", conns, 0, 0, 0, 0);
}

constexpr std::string_view kTickWith100 =
    "add-conns tcp:192.168.1.100:80 10.0.0.11:80 100\n"
    "tick\n";

// Case 26: 100 new connections per 2 s period; after ticks 1..5 --rate reads 12, 22, 29, 34,
// 38 (the real estimator, conn::RateEstimator); -Z then shows 0 for every counter and rate,
// and the estimator starts again from 0.
TEST_F(InjectedGolden, Case26EstimatorSequenceThenZero) {
  configure(kOneMasq);
  EXPECT_EQ(ok({"-L", "-n", "--rate"}), rate_listing(0));
  for (const std::uint64_t cps : std::vector<std::uint64_t>{12, 22, 29, 34, 38}) {
    inject(std::string(kTickWith100));
    EXPECT_EQ(ok({"-L", "-n", "--rate"}), rate_listing(cps)) << "expected " << cps;
  }
  EXPECT_EQ(ok({"-L", "-n", "--stats"}), stats_listing(500));
  EXPECT_EQ(ok({"-Z"}), "");
  EXPECT_EQ(ok({"-L", "-n", "--stats"}), stats_listing(0));
  EXPECT_EQ(ok({"-L", "-n", "--rate"}), rate_listing(0));
  // A period without new connections stays at 0; the next 100 read 12 again.
  inject("tick\n");
  EXPECT_EQ(ok({"-L", "-n", "--rate"}), rate_listing(0));
  inject(std::string(kTickWith100));
  EXPECT_EQ(ok({"-L", "-n", "--rate"}), rate_listing(12));
  EXPECT_EQ(ok({"-L", "-n", "--stats"}), stats_listing(100));
}

// Bad injection texts are refused whole with an error naming the line and the word; nothing
// changes.
TEST_F(InjectedGolden, BadInjectionIsRefusedWhole) {
  configure(kOneMasq);
  auto r = hook("load tcp:192.168.1.100:80 10.0.0.11:80 3 12 0\nfrobnicate\n");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err,
            "lvsd: test hook line 2: unknown command: 'frobnicate'; expected counters, rates, "
            "load, add-conns, conn, template, clear-conns or tick\n");
  r = hook("counters tcp:192.168.1.100:80 1 2 x 4 5\n");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "lvsd: test hook line 1: not a number: 'x'; expected an unsigned integer\n");
  r = hook("load tcp:192.168.1.100:80 10.0.0.99:80 1 1 1\n");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err,
            "lvsd: test hook: realserver 10.0.0.99:80 is not in service TCP 192.168.1.100:80; "
            "add it with lvsadm -a first\n");
  r = hook("tick\nload udp:192.168.1.100:80 10.0.0.11:80 1 1 1\n");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err,
            "lvsd: test hook: service UDP 192.168.1.100:80 is not in the table; add it with "
            "lvsadm -A first\n");
  // Counters the estimator could not take (its arithmetic is signed) are refused at the tick.
  r = hook("counters tcp:192.168.1.100:80 10.0.0.11:80 4503599627370497 0 0 0 0\ntick\n");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err,
            "lvsd: test hook: a counter of realserver 10.0.0.11:80 is 4503599627370497, above "
            "4503599627370496; inject smaller values\n");
  // Nothing of the refused texts was applied (the first one's load line, the ticks).
  EXPECT_EQ(ok({"-L", "-n"}),
            "IP Virtual Server version 1.2.1 (size=4096)\n"
            "Prot LocalAddress:Port Scheduler Flags\n"
            "  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n"
            "TCP  192.168.1.100:80 wlc\n"
            "  -> 10.0.0.11:80                 Masq    1      0          0         \n");
}

// Without --test-hooks the request is refused, and lvsd serves only what its data plane does.
TEST(InjectedGoldenHooksOff, HookIsRefusedWithoutTestHooks) {
  const Lvsd plain;
  ASSERT_TRUE(plain.ready());
  auto r = ctl::call_control(
      plain.socket(),
      ctl::Request{.argv = {"injected_golden_test", "--test-hook"}, .input = "tick\n"});
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->exit_code, 1);
  EXPECT_EQ(r->err,
            "lvsd: --test-hook refused: this lvsd was not started with --test-hooks (a hook "
            "for the test suite only)\n");
  EXPECT_EQ(r->out, "");
}

}  // namespace
}  // namespace lvs::testing
