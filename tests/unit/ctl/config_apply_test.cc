// How the configuration file, health and lvsadm share the running table (ctl/config_apply.h,
// docs/CONTROL-PROTOCOL.md "Precedence"): health actions are "make it so" under the operator's
// weight overrides, a reload is planned as a diff and carries realserver health state over, and
// the Director keeps operator changes across health transitions and reloads.

#include "ctl/config_apply.h"

#include <gtest/gtest.h>

#include "config/keepalived.h"
#include "ctl/director.h"
#include "sched/registry.h"

namespace lvs::ctl {
namespace {

config::Config parse(std::string_view text) {
  auto c = config::parse_keepalived(text, "lvsd.conf");
  EXPECT_TRUE(c.ok()) << (c ? "" : c.error().message);
  return c ? *c : config::Config{};
}

core::Endpoint ep(std::string_view s) { return *core::Endpoint::parse(s); }

model::ServiceKey tcp(std::string_view s) {
  return model::ServiceKey::address(model::Protocol::kTcp, ep(s));
}

constexpr std::string_view kTwoReals = R"(
virtual_server 10.0.0.1 80 {
  lvs_sched rr
  lvs_method FNAT
  protocol TCP
  real_server 10.0.0.11 80 {
    weight 3
    TCP_CHECK { connect_timeout 1 }
  }
  real_server 10.0.0.12 80 {
    TCP_CHECK { connect_timeout 1 }
  }
}
)";

health::Action add(std::string_view real, std::int32_t weight) {
  return health::Action{
      .kind = health::ActionKind::kAddDest,
      .service = tcp("10.0.0.1:80"),
      .dest = model::RealServer{
          .addr = ep(real), .forward = model::ForwardMethod::kFullNat, .weight = weight}};
}

health::Action with_kind(health::Action a, health::ActionKind k) {
  a.kind = k;
  return a;
}

// Health's start-up actions fill the configured services: the base table has none of their reals.
TEST(HealthBaseTable, ConfiguredServicesStartWithoutRealservers) {
  const auto cfg = parse(kTwoReals);
  const auto base = health_base_table(cfg);
  ASSERT_EQ(base.services.size(), 1U);
  EXPECT_TRUE(base.services[0].dests.empty());
  EXPECT_EQ(base.services[0].scheduler, "rr");
}

// An operator's weight replaces health's on add and enable; a disable (weight 0) still wins.
TEST(ApplyHealthAction, OperatorWeightSurvivesAndDisableStillWins) {
  auto table = health_base_table(parse(kTwoReals));
  const WeightOverrides ov{{DestKey{tcp("10.0.0.1:80"), ep("10.0.0.11:80")}, 7}};
  ASSERT_TRUE(apply_health_action(table, add("10.0.0.11:80", 3), ov).value());
  EXPECT_EQ(table.services[0].find_dest(ep("10.0.0.11:80"))->weight, 7);
  auto disable = with_kind(add("10.0.0.11:80", 0), health::ActionKind::kEditDest);
  ASSERT_TRUE(apply_health_action(table, disable, ov).value());
  EXPECT_EQ(table.services[0].find_dest(ep("10.0.0.11:80"))->weight, 0);
  auto enable = with_kind(add("10.0.0.11:80", 3), health::ActionKind::kEditDest);
  ASSERT_TRUE(apply_health_action(table, enable, ov).value());
  EXPECT_EQ(table.services[0].find_dest(ep("10.0.0.11:80"))->weight, 7);
}

// A realserver the operator quiesced (override 0) is re-added at weight 0 with health's weight
// as its last non-zero one: what enabling it restores after a reload.
TEST(ApplyHealthAction, QuiescedOverrideKeepsHealthWeightAsLastWeight) {
  auto table = health_base_table(parse(kTwoReals));
  const WeightOverrides ov{{DestKey{tcp("10.0.0.1:80"), ep("10.0.0.11:80")}, 0}};
  ASSERT_TRUE(apply_health_action(table, add("10.0.0.11:80", 3), ov).value());
  const auto* d = table.services[0].find_dest(ep("10.0.0.11:80"));
  EXPECT_EQ(d->weight, 0);
  EXPECT_EQ(d->last_weight, 3);
}

// Actions are "make it so": adding what is there, deleting what is not, or touching a service
// the operator deleted changes nothing and is no error.
TEST(ApplyHealthAction, IsIdempotent) {
  auto table = health_base_table(parse(kTwoReals));
  ASSERT_TRUE(apply_health_action(table, add("10.0.0.11:80", 3), {}).value());
  EXPECT_FALSE(apply_health_action(table, add("10.0.0.11:80", 3), {}).value());
  auto del = with_kind(add("10.0.0.12:80", 1), health::ActionKind::kDeleteDest);
  EXPECT_FALSE(apply_health_action(table, del, {}).value());
  auto elsewhere = add("10.0.0.11:80", 3);
  elsewhere.service = tcp("10.0.0.2:80");
  EXPECT_FALSE(apply_health_action(table, elsewhere, {}).value());
  auto cmd = with_kind(add("10.0.0.11:80", 3), health::ActionKind::kRunCommand);
  EXPECT_FALSE(apply_health_action(table, cmd, {}).value());
}

// The proxy serves full-NAT and NAT: a DR realserver is refused at its file:line, naming both.
TEST(CheckServedMethods, NamesTheRealserverAndTheFix) {
  const auto cfg = parse(
      "virtual_server 10.0.0.1 80 {\n  protocol TCP\n  lvs_sched rr\n  lvs_method DR\n"
      "  real_server 10.0.0.11 80 {\n  }\n}\n");
  const std::vector served{model::ForwardMethod::kFullNat, model::ForwardMethod::kMasq};
  auto r = check_served_methods(cfg, served);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message,
            "lvsd.conf:5:3: real_server 10.0.0.11:80 uses lvs_method DR, which this lvsd does "
            "not serve yet (it runs the user-space proxy); expected lvs_method NAT or FNAT");
  EXPECT_TRUE(check_served_methods(parse(kTwoReals), served).ok());
}

// A reload is described per service: added, removed, edited (settings or reals), unchanged.
TEST(PlanReload, SortsServicesIntoAddedRemovedEditedUnchanged) {
  const auto old = parse(std::string(kTwoReals) + R"(
virtual_server 10.0.0.2 80 { lvs_sched rr
 lvs_method FNAT
 protocol TCP
 real_server 10.0.0.21 80 { }
}
virtual_server 10.0.0.3 80 { lvs_sched rr
 lvs_method FNAT
 protocol TCP
}
)");
  const auto next = parse(std::string(kTwoReals) + R"(
virtual_server 10.0.0.2 80 { lvs_sched wrr
 lvs_method FNAT
 protocol TCP
 real_server 10.0.0.21 80 { }
}
virtual_server 10.0.0.4 80 { lvs_sched rr
 lvs_method FNAT
 protocol TCP
}
)");
  const auto plan = plan_reload(old, next);
  EXPECT_EQ(plan.added, std::vector{tcp("10.0.0.4:80")});
  EXPECT_EQ(plan.removed, std::vector{tcp("10.0.0.3:80")});
  EXPECT_EQ(plan.edited, std::vector{tcp("10.0.0.2:80")});
  EXPECT_EQ(plan.unchanged, 1U);
  EXPECT_EQ(describe(plan),
            "1 added (TCP 10.0.0.4:80), 1 removed (TCP 10.0.0.3:80), 1 edited (TCP 10.0.0.2:80), "
            "1 unchanged");
  EXPECT_EQ(plan_reload(old, old).unchanged, 3U);
}

// Unchanged checkers keep their realserver's state: dead stays dead (alpha: the first success
// brings it back), alive stays alive even under a service-level alpha; others start as set.
TEST(CarryHealth, UnchangedRealsKeepTheirState) {
  auto old_cfg = parse(kTwoReals);
  auto next_cfg =
      parse(std::string(kTwoReals).replace(kTwoReals.find("  real_server"), 0, "  alpha\n"));
  const auto& old = old_cfg.health.at(0);
  const AliveMap alive{{DestKey{old.key, ep("10.0.0.11:80")}, false},
                       {DestKey{old.key, ep("10.0.0.12:80")}, true}};
  const auto carried = carry_health(next_cfg.health.at(0), &old, alive);
  EXPECT_FALSE(carried.alpha);
  EXPECT_FALSE(health::starts_alive(carried.reals.at(0), carried.alpha));  // 10.0.0.11: dead
  EXPECT_TRUE(health::starts_alive(carried.reals.at(1), carried.alpha));   // 10.0.0.12: alive
  // Without an old state the service's alpha applies: both start dead.
  const auto fresh = carry_health(next_cfg.health.at(0), nullptr, {});
  EXPECT_FALSE(health::starts_alive(fresh.reals.at(0), fresh.alpha));
  EXPECT_FALSE(health::starts_alive(fresh.reals.at(1), fresh.alpha));
}

// A reload keeps services the operator added and drops configured ones the file no longer has.
TEST(MergeReload, KeepsOperatorServices) {
  model::ServiceTable running;
  running.services.push_back(model::VirtualService{.key = tcp("10.0.0.1:80")});
  running.services.push_back(model::VirtualService{.key = tcp("10.0.0.9:80")});
  model::ServiceTable configured;
  configured.services.push_back(model::VirtualService{.key = tcp("10.0.0.2:80")});
  const auto merged = merge_reload(running, {tcp("10.0.0.1:80")}, configured);
  ASSERT_EQ(merged.services.size(), 2U);
  EXPECT_EQ(merged.services[0].key, tcp("10.0.0.2:80"));
  EXPECT_EQ(merged.services[1].key, tcp("10.0.0.9:80"));
}

class NullDataPlane final : public dp::DataPlane {
 public:
  core::Result<void> apply(const model::ServiceTable&) override { return {}; }
  dp::Stats stats() const override { return {}; }
};

class PrecedenceTest : public ::testing::Test {
 protected:
  Outcome run(std::vector<std::string> args) {
    args.insert(args.begin(), "lvsadm");
    return director.run(args);
  }
  std::int32_t weight_of(std::string_view real) {
    const auto t = director.table();
    const auto* d = t.services.at(0).find_dest(ep(real));
    return d == nullptr ? -1 : d->weight;
  }
  NullDataPlane dp{};
  Director director{dp, DirectorOptions{.resolver = numeric_resolver(),
                                        .names = numeric_names(),
                                        .scheduler_exists = sched::scheduler_exists}};
};

// lvsadm -e -w on a configured realserver outlives a health down/up cycle.
TEST_F(PrecedenceTest, OperatorWeightSurvivesHealthTransitions) {
  const auto cfg = parse(kTwoReals);
  ASSERT_TRUE(director.load(cfg, {add("10.0.0.11:80", 3), add("10.0.0.12:80", 1)}).ok());
  ASSERT_EQ(
      run({"-e", "-t", "10.0.0.1:80", "-r", "10.0.0.11:80", "--fullnat", "-w", "9"}).exit_code, 0);
  director.apply_health({with_kind(add("10.0.0.11:80", 3), health::ActionKind::kDeleteDest)});
  EXPECT_EQ(weight_of("10.0.0.11:80"), -1);
  director.apply_health({add("10.0.0.11:80", 3)});
  EXPECT_EQ(weight_of("10.0.0.11:80"), 9);
}

// --drain holds: health re-adds a drained realserver at weight 0; -d forgets the override.
TEST_F(PrecedenceTest, DrainHoldsUntilTheOperatorDeletesTheRealserver) {
  ASSERT_TRUE(director.load(parse(kTwoReals), {add("10.0.0.11:80", 3)}).ok());
  ASSERT_EQ(run({"--drain", "-t", "10.0.0.1:80", "-r", "10.0.0.11:80"}).exit_code, 0);
  director.apply_health({with_kind(add("10.0.0.11:80", 3), health::ActionKind::kDeleteDest)});
  director.apply_health({add("10.0.0.11:80", 3)});
  EXPECT_EQ(weight_of("10.0.0.11:80"), 0);
  ASSERT_EQ(run({"-d", "-t", "10.0.0.1:80", "-r", "10.0.0.11:80"}).exit_code, 0);
  director.apply_health({add("10.0.0.11:80", 3)});
  EXPECT_EQ(weight_of("10.0.0.11:80"), 3);
}

// A reload keeps the operator's weights and services; the file decides the rest.
TEST_F(PrecedenceTest, ReloadKeepsOperatorChanges) {
  const auto cfg = parse(kTwoReals);
  ASSERT_TRUE(director.load(cfg, {add("10.0.0.11:80", 3), add("10.0.0.12:80", 1)}).ok());
  ASSERT_EQ(
      run({"-e", "-t", "10.0.0.1:80", "-r", "10.0.0.12:80", "--fullnat", "-w", "4"}).exit_code, 0);
  ASSERT_EQ(run({"-A", "-t", "10.0.0.9:80", "-s", "rr"}).exit_code, 0);
  ASSERT_TRUE(director.load(cfg, {add("10.0.0.11:80", 3), add("10.0.0.12:80", 1)}).ok());
  EXPECT_EQ(weight_of("10.0.0.12:80"), 4);
  EXPECT_EQ(weight_of("10.0.0.11:80"), 3);
  EXPECT_NE(director.table().find(tcp("10.0.0.9:80")), nullptr);
}

// A realserver lvsadm added to a configured service survives a reload, unless the new file
// defines it (the file wins) or drops the service.
TEST_F(PrecedenceTest, ReloadKeepsOperatorRealservers) {
  const auto cfg = parse(kTwoReals);
  ASSERT_TRUE(director.load(cfg, {add("10.0.0.11:80", 3)}).ok());
  ASSERT_EQ(
      run({"-a", "-t", "10.0.0.1:80", "-r", "10.0.0.13:80", "--fullnat", "-w", "5"}).exit_code, 0);
  ASSERT_TRUE(director.load(cfg, {add("10.0.0.11:80", 3)}).ok());
  EXPECT_EQ(weight_of("10.0.0.13:80"), 5);
  const auto defines_it = parse(std::string(kTwoReals).replace(
      kTwoReals.find("  real_server 10.0.0.12"), 0,
      "  real_server 10.0.0.13 80 {\n    weight 2\n    TCP_CHECK { connect_timeout 1 }\n  }\n"));
  ASSERT_TRUE(director.load(defines_it, {add("10.0.0.11:80", 3), add("10.0.0.13:80", 2)}).ok());
  EXPECT_EQ(weight_of("10.0.0.13:80"), 2);
  ASSERT_TRUE(director.load(cfg, {add("10.0.0.11:80", 3)}).ok());
  EXPECT_EQ(weight_of("10.0.0.13:80"), -1);  // the file took it over, then dropped it
}

// After stop_accepting() health and lvsadm no longer change the table.
TEST_F(PrecedenceTest, StoppingFreezesTheTable) {
  ASSERT_TRUE(director.load(parse(kTwoReals), {add("10.0.0.11:80", 3)}).ok());
  director.stop_accepting();
  director.apply_health({add("10.0.0.12:80", 1)});
  EXPECT_EQ(weight_of("10.0.0.12:80"), -1);
  EXPECT_EQ(run({"-A", "-t", "10.0.0.9:80"}).exit_code, 1);
}

}  // namespace
}  // namespace lvs::ctl
