// Spec §6 cases 48-53 (logic side): Monitor on the fake clock with scripted probe results,
// wired to Effects and a ServiceTable the way the Director wires them.
#include "health/monitor.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>

#include "core/rng.h"
#include "health/effects.h"
#include "unit/health/fixtures.h"

namespace lvs::health {
namespace {

using namespace lvs::health::testing;  // NOLINT(google-build-using-namespace)
using config::CheckerKind;

core::TimePoint at(double secs) {
  return core::TimePoint{} +
         std::chrono::duration_cast<core::Duration>(std::chrono::duration<double>(secs));
}

// Fails while `from <= t < to`.
ScriptedChecker::Script down_between(double from, double to) {
  return [from, to](core::TimePoint t) { return t >= at(from) && t < at(to) ? fail() : ok(); };
}

struct Harness {
  explicit Harness(config::ServiceHealth svc, MonitorOptions options = {})
      : health(std::move(svc)),
        monitor(
            clock, rng,
            [this](const config::CheckerSpec& spec) -> core::Result<std::unique_ptr<Checker>> {
              auto it = scripts.find(spec.kind);
              ScriptedChecker::Script s =
                  it != scripts.end() ? it->second : [](core::TimePoint) { return ok(); };
              return std::unique_ptr<Checker>(
                  std::make_unique<ScriptedChecker>(clock, s, &probes[spec.kind]));
            },
            options),
        effects(health, dests_of(health), true) {
    monitor.set_on_change([this](const RealId& id, bool up, const std::string& reason) {
      record(effects.set_alive(id.real, up, reason));
    });
    monitor.set_on_weight(
        [this](const RealId& id, std::int32_t w) { record(effects.set_weight(id.real, w)); });
  }

  void start() {
    ASSERT_TRUE(monitor.add_service(health).ok());
    record(effects.start());
  }

  void record(const std::vector<Action>& out) {
    for (const Action& a : out) {
      ASSERT_TRUE(apply(table, a).ok()) << a.text;
      log.emplace_back(clock.now(), a);
    }
  }

  void run_until(double secs) {
    while (auto due = monitor.next_due()) {
      if (*due > at(secs)) break;
      clock.advance(*due - clock.now());
      monitor.run_due();
    }
  }

  const model::RealServer* dest(const char* addr) const {
    return table.services[0].find_dest(ep(addr));
  }
  std::vector<std::pair<core::TimePoint, Action>> of_kind(ActionKind k) const {
    std::vector<std::pair<core::TimePoint, Action>> out;
    std::copy_if(log.begin(), log.end(), std::back_inserter(out),
                 [k](const auto& e) { return e.second.kind == k; });
    return out;
  }

  core::FakeClock clock;
  core::SequenceRng rng{{0}};
  std::map<CheckerKind, ScriptedChecker::Script> scripts;
  std::map<CheckerKind, std::vector<core::TimePoint>> probes;
  config::ServiceHealth health;
  Monitor monitor;
  Effects effects;
  model::ServiceTable table = empty_table();
  std::vector<std::pair<core::TimePoint, Action>> log;
};

config::ServiceHealth one_tcp_real() {
  auto r = real("10.0.0.11:80", 1, {tcp_check("10.0.0.11:80")});
  r.notify_up = "/bin/up.sh";
  r.notify_down = "/bin/down.sh";
  return service({r});
}

// Case 48: retry 2 / delay_before_retry 1: failing probes at 10, 11, 12; deleted at 12, not
// before; notify_down once with the FIFO line; re-added on the first success at 22.
TEST(HealthCase48, RetriesSpacedByDelayBeforeRetryThenDeleteAndReAdd) {
  Harness h(one_tcp_real());
  h.scripts[CheckerKind::kTcp] = down_between(10, 20);
  h.start();
  ASSERT_NE(h.dest("10.0.0.11:80"), nullptr);
  h.run_until(11.5);
  EXPECT_NE(h.dest("10.0.0.11:80"), nullptr) << "not removed before the third failure";
  h.run_until(30);
  EXPECT_EQ(h.probes[CheckerKind::kTcp],
            (std::vector{at(0), at(5), at(10), at(11), at(12), at(17), at(22), at(27)}));
  const auto deletes = h.of_kind(ActionKind::kDeleteDest);
  ASSERT_EQ(deletes.size(), 1U);
  EXPECT_EQ(deletes[0].first, at(12));
  EXPECT_EQ(deletes[0].second.text,
            "Removing service [10.0.0.11]:tcp:80 from VS [192.168.1.100]:tcp:80");
  const auto cmds = h.of_kind(ActionKind::kRunCommand);
  ASSERT_EQ(cmds.size(), 2U);
  EXPECT_EQ(cmds[0].second.text, "/bin/down.sh");
  EXPECT_EQ(cmds[1].second.text, "/bin/up.sh");
  EXPECT_EQ(cmds[1].first, at(22));
  auto fifo = h.of_kind(ActionKind::kNotifyFifo);
  std::erase_if(fifo, [](const auto& e) { return e.second.text.rfind("RS ", 0) != 0; });
  ASSERT_EQ(fifo.size(), 2U);
  EXPECT_EQ(fifo[0].second.text, "RS [10.0.0.11]:tcp:80 [192.168.1.100]:tcp:80 DOWN");
  EXPECT_EQ(fifo[1].second.text, "RS [10.0.0.11]:tcp:80 [192.168.1.100]:tcp:80 UP");
  const auto adds = h.of_kind(ActionKind::kAddDest);
  ASSERT_EQ(adds.size(), 2U);  // start-up and recovery
  EXPECT_EQ(adds[1].first, at(22));
  EXPECT_EQ(adds[1].second.text, "Adding service [10.0.0.11]:tcp:80 to VS [192.168.1.100]:tcp:80");
  EXPECT_NE(h.dest("10.0.0.11:80"), nullptr);
}

// Case 49: without alpha the RS is in the table at once and its first failure removes it.
TEST(HealthCase49, WithoutAlphaFirstFailingProbeRemovesWithoutRetries) {
  Harness h(one_tcp_real());
  h.scripts[CheckerKind::kTcp] = down_between(0, 100);
  h.start();
  EXPECT_NE(h.dest("10.0.0.11:80"), nullptr);
  h.run_until(0);
  EXPECT_EQ(h.dest("10.0.0.11:80"), nullptr);
  EXPECT_EQ(h.probes[CheckerKind::kTcp], std::vector{at(0)});
}

// Case 49: with alpha the RS is absent until its first successful probe.
TEST(HealthCase49, AlphaKeepsTheRealAbsentUntilFirstSuccess) {
  auto svc = one_tcp_real();
  svc.reals[0].alpha = true;
  Harness h(svc);
  h.scripts[CheckerKind::kTcp] = down_between(0, 7);
  h.start();
  EXPECT_EQ(h.dest("10.0.0.11:80"), nullptr);
  h.run_until(5);
  EXPECT_EQ(h.dest("10.0.0.11:80"), nullptr);
  EXPECT_TRUE(h.of_kind(ActionKind::kRunCommand).empty()) << "no notify while never up";
  h.run_until(10);
  ASSERT_NE(h.dest("10.0.0.11:80"), nullptr);
}

// Case 50: inhibit_on_failure keeps the dest at weight 0; recovery restores its weight.
TEST(HealthCase50, InhibitOnFailureQuiescesInsteadOfRemoving) {
  auto svc = one_tcp_real();
  svc.reals[0].weight = 3;
  svc.reals[0].inhibit_on_failure = true;
  Harness h(svc);
  h.scripts[CheckerKind::kTcp] = down_between(0, 7);
  h.start();
  h.run_until(0);
  ASSERT_NE(h.dest("10.0.0.11:80"), nullptr);
  EXPECT_EQ(h.dest("10.0.0.11:80")->weight, 0);
  EXPECT_EQ(h.of_kind(ActionKind::kEditDest).at(0).second.text,
            "Disabling service [10.0.0.11]:tcp:80 of VS [192.168.1.100]:tcp:80");
  h.run_until(10);
  EXPECT_EQ(h.dest("10.0.0.11:80")->weight, 3);
  EXPECT_TRUE(h.of_kind(ActionKind::kDeleteDest).empty());
  EXPECT_EQ(h.of_kind(ActionKind::kEditDest).back().second.text,
            "Enabling service [10.0.0.11]:tcp:80 of VS [192.168.1.100]:tcp:80");
}

// Case 51: TCP_CHECK + HTTP_GET: removed when either fails, back only when both pass.
TEST(HealthCase51, TwoCheckersDownOnFirstUpOnlyAfterLast) {
  auto tcp = tcp_check("10.0.0.11:80", 0);
  auto http = tcp_check("10.0.0.11:80", 0);
  http.kind = CheckerKind::kHttpGet;
  Harness h(service({real("10.0.0.11:80", 1, {tcp, http})}));
  h.scripts[CheckerKind::kTcp] = down_between(10, 20);
  h.scripts[CheckerKind::kHttpGet] = down_between(15, 30);
  h.start();
  h.run_until(9);
  EXPECT_NE(h.dest("10.0.0.11:80"), nullptr);
  h.run_until(10);
  EXPECT_EQ(h.dest("10.0.0.11:80"), nullptr) << "TCP failure removes it";
  h.run_until(25);
  EXPECT_EQ(h.dest("10.0.0.11:80"), nullptr) << "TCP passes again but HTTP still fails";
  h.run_until(30);
  EXPECT_NE(h.dest("10.0.0.11:80"), nullptr) << "both pass";
  EXPECT_EQ(h.of_kind(ActionKind::kDeleteDest).size(), 1U);
  EXPECT_EQ(h.of_kind(ActionKind::kAddDest).size(), 2U);
}

// Case 53 (logic side): misc_dynamic exit 0 -> up, weight unchanged; exit 1 -> down;
// exit 12 -> up with weight 10 (edit-server issued).
TEST(HealthCase53, MiscDynamicWeights) {
  auto misc = tcp_check("10.0.0.11:80", 0);
  misc.kind = CheckerKind::kMisc;
  misc.misc_dynamic = true;
  Harness h(service({real("10.0.0.11:80", 5, {misc})}));
  h.scripts[CheckerKind::kMisc] = [](core::TimePoint t) {
    if (t < at(5)) return ok();  // exit 0
    if (t < at(10)) return fail("exit status 1");
    ProbeResult r = ok();  // exit 12
    r.weight = 10;
    return r;
  };
  h.start();
  h.run_until(0);
  EXPECT_EQ(h.dest("10.0.0.11:80")->weight, 5);
  h.run_until(5);
  EXPECT_EQ(h.dest("10.0.0.11:80"), nullptr);
  h.run_until(10);
  ASSERT_NE(h.dest("10.0.0.11:80"), nullptr);
  EXPECT_EQ(h.dest("10.0.0.11:80")->weight, 10);
  const auto edits = h.of_kind(ActionKind::kEditDest);
  ASSERT_EQ(edits.size(), 1U);
  EXPECT_EQ(edits[0].second.dest.weight, 10);
}

// Warm-up unset: the first probe comes at a random point in 0..delay_loop from the Rng.
TEST(Monitor, WarmupComesFromTheInjectedRng) {
  auto svc = one_tcp_real();
  svc.reals[0].checkers[0].timing.warmup.reset();
  Harness h(svc);
  h.rng = core::SequenceRng({3000});
  h.start();
  EXPECT_EQ(h.monitor.next_due(), at(3));
}

// Jitter spreads delay_loop by +-percent using the Rng; retries are never jittered.
TEST(Monitor, JitterSpreadsTheInterval) {
  Harness h(one_tcp_real(), MonitorOptions{.counts = std::nullopt, .jitter_percent = 10});
  h.rng = core::SequenceRng({0});  // lowest pick: -10%
  h.start();
  h.run_until(0);
  EXPECT_EQ(h.monitor.next_due(), at(4.5));
}

// HAProxy-style counts through the Monitor: fall 3 needs three failures, rise 2 two successes.
TEST(Monitor, HaproxyStyleCounts) {
  Harness h(one_tcp_real(), MonitorOptions{.counts = haproxy_counts(2, 3), .jitter_percent = 0});
  h.scripts[CheckerKind::kTcp] = down_between(0, 3);
  h.start();
  h.run_until(1);
  EXPECT_NE(h.dest("10.0.0.11:80"), nullptr);
  h.run_until(2);
  EXPECT_EQ(h.dest("10.0.0.11:80"), nullptr);
  h.run_until(7);
  EXPECT_EQ(h.dest("10.0.0.11:80"), nullptr) << "one success is not rise 2";
  h.run_until(12);
  EXPECT_NE(h.dest("10.0.0.11:80"), nullptr);
}

}  // namespace
}  // namespace lvs::health

namespace lvs::health {
namespace {

// Two services whose realservers configure the same probe share it: one probe per interval,
// both realservers flip together.
TEST(Monitor, SameProbeInTwoServicesIsShared) {
  using namespace lvs::health::testing;  // NOLINT(google-build-using-namespace)
  core::FakeClock clock;
  core::SequenceRng rng({0});
  std::vector<core::TimePoint> probes;
  int created = 0;
  Monitor monitor(clock, rng,
                  [&](const config::CheckerSpec&) -> core::Result<std::unique_ptr<Checker>> {
                    ++created;
                    return std::unique_ptr<Checker>(std::make_unique<ScriptedChecker>(
                        clock, [](core::TimePoint) { return fail(); }, &probes));
                  });
  std::vector<RealId> down;
  monitor.set_on_change([&](const RealId& id, bool up, const std::string&) {
    if (!up) down.push_back(id);
  });
  auto a = service({real("10.0.0.11:80", 1, {tcp_check("10.0.0.11:80")})});
  auto b = a;
  b.key = model::ServiceKey::address(model::Protocol::kTcp, ep("192.168.1.101:80"));
  b.reals[0].checkers[0].where.line = 42;  // written elsewhere, same probe
  ASSERT_TRUE(monitor.add_service(a).ok());
  ASSERT_TRUE(monitor.add_service(b).ok());
  EXPECT_EQ(created, 1);
  monitor.run_due();
  EXPECT_EQ(probes.size(), 1U);
  ASSERT_EQ(down.size(), 2U);
  EXPECT_EQ(down[0].service, a.key);
  EXPECT_EQ(down[1].service, b.key);
}

// A checker the factory cannot create fails add_service with a message naming the real.
TEST(Monitor, FactoryErrorNamesTheRealAndAddsNothing) {
  using namespace lvs::health::testing;  // NOLINT(google-build-using-namespace)
  core::FakeClock clock;
  core::SequenceRng rng({0});
  Monitor monitor(clock, rng,
                  [](const config::CheckerSpec&) -> core::Result<std::unique_ptr<Checker>> {
                    return core::fail(EPERM, "no ICMP socket");
                  });
  auto r = monitor.add_service(service({real("10.0.0.11:80", 1, {tcp_check("10.0.0.11:80")})}));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message,
            "TCP_CHECK for 10.0.0.11:80 of TCP 192.168.1.100:80: no ICMP socket");
  EXPECT_EQ(monitor.next_due(), std::nullopt);
}

}  // namespace
}  // namespace lvs::health
