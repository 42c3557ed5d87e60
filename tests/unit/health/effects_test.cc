// Spec §5.4-5.5 as a state machine: table actions, notify commands and FIFO lines.
#include "health/effects.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "unit/health/fixtures.h"

namespace lvs::health {
namespace {

using namespace lvs::health::testing;  // NOLINT(google-build-using-namespace)

struct Table {
  model::ServiceTable table = empty_table();
  std::vector<Action> log;
  void apply_all(const std::vector<Action>& out) {
    for (const Action& a : out) {
      ASSERT_TRUE(apply(table, a).ok()) << a.text;
      log.push_back(a);
    }
  }
  std::vector<std::string> listing() const {
    std::vector<std::string> out;
    for (const auto& d : table.services[0].dests) {
      out.push_back(d.addr.to_string() + " " + std::to_string(d.weight));
    }
    std::sort(out.begin(), out.end());
    return out;
  }
  std::size_t commands(const std::string& text) const {
    return static_cast<std::size_t>(std::count_if(log.begin(), log.end(), [&](const Action& a) {
      return a.kind == ActionKind::kRunCommand && a.text == text;
    }));
  }
};

config::ServiceHealth quorum_service() {
  auto check = tcp_check("10.0.0.11:80");
  auto svc = service({real("10.0.0.11:80", 2, {check}), real("10.0.0.12:80", 2, {check}),
                      real("10.0.0.13:80", 2, {check})});
  svc.quorum = 3;
  svc.hysteresis = 1;
  svc.quorum_up = "/bin/qup";
  svc.quorum_down = "/bin/qdown";
  svc.sorry_server = model::RealServer{.addr = ep("10.0.0.99:80")};
  return svc;
}

// Case 54: quorum 3, hysteresis 1, three reals of weight 2 and a sorry server.
TEST(HealthCase54, QuorumHysteresisAndSorryServer) {
  Effects fx(quorum_service(), {}, true);
  Table t;
  t.apply_all(fx.start());
  EXPECT_TRUE(fx.quorum_up());
  EXPECT_EQ(t.listing(),
            (std::vector<std::string>{"10.0.0.11:80 2", "10.0.0.12:80 2", "10.0.0.13:80 2"}));
  t.apply_all(fx.set_alive(ep("10.0.0.11:80"), false, "refused"));  // 4: still up
  t.apply_all(fx.set_alive(ep("10.0.0.12:80"), false, "refused"));  // 2: 2 < 2 is false
  EXPECT_TRUE(fx.quorum_up());
  EXPECT_EQ(t.listing(), std::vector<std::string>{"10.0.0.13:80 2"});
  t.apply_all(fx.set_alive(ep("10.0.0.13:80"), false, "refused"));  // 0: lost
  EXPECT_FALSE(fx.quorum_up());
  EXPECT_EQ(t.listing(), std::vector<std::string>{"10.0.0.99:80 1"});
  t.apply_all(fx.set_alive(ep("10.0.0.11:80"), true, "ok"));  // 2 < 4: still down
  EXPECT_EQ(t.listing(), std::vector<std::string>{"10.0.0.99:80 1"});
  t.apply_all(fx.set_alive(ep("10.0.0.12:80"), true, "ok"));  // 4: gained
  EXPECT_TRUE(fx.quorum_up());
  EXPECT_EQ(t.listing(), (std::vector<std::string>{"10.0.0.11:80 2", "10.0.0.12:80 2"}));
  EXPECT_EQ(t.commands("/bin/qdown"), 1U);
  EXPECT_EQ(t.commands("/bin/qup"), 1U);
  const auto fifo_has = [&](const std::string& line) {
    return std::any_of(t.log.begin(), t.log.end(), [&](const Action& a) {
      return a.kind == ActionKind::kNotifyFifo && a.text == line;
    });
  };
  EXPECT_TRUE(fifo_has("VS [192.168.1.100]:tcp:80 DOWN"));
  EXPECT_TRUE(fifo_has("VS [192.168.1.100]:tcp:80 UP"));
  EXPECT_TRUE(std::any_of(t.log.begin(), t.log.end(), [](const Action& a) {
    return a.text == "Adding sorry server [10.0.0.99]:tcp:80 to VS [192.168.1.100]:tcp:80";
  }));
}

// sorry_server_inhibit: the sorry server sits at weight 0 while unused.
TEST(Effects, SorryServerInhibitKeepsItAtWeightZero) {
  auto svc = quorum_service();
  svc.sorry_server_inhibit = true;
  Effects fx(svc, {}, false);
  Table t;
  t.apply_all(fx.start());
  EXPECT_EQ(t.listing(), (std::vector<std::string>{"10.0.0.11:80 2", "10.0.0.12:80 2",
                                                   "10.0.0.13:80 2", "10.0.0.99:80 0"}));
  for (const char* a : {"10.0.0.11:80", "10.0.0.12:80", "10.0.0.13:80"}) {
    t.apply_all(fx.set_alive(ep(a), false, "refused"));
  }
  EXPECT_EQ(t.listing(), std::vector<std::string>{"10.0.0.99:80 1"});
  EXPECT_TRUE(std::none_of(t.log.begin(), t.log.end(), [](const Action& a) {
    return a.kind == ActionKind::kNotifyFifo;
  })) << "no FIFO configured";
}

// misc_dynamic weight edits reach the table only while the real is alive and no sorry server
// is serving; the weight is remembered for when it returns.
TEST(Effects, DynamicWeightOnlyWhileAliveAndNotSorry) {
  Effects fx(quorum_service(), {}, false);
  Table t;
  t.apply_all(fx.start());
  t.apply_all(fx.set_weight(ep("10.0.0.11:80"), 7));
  EXPECT_EQ(t.table.services[0].find_dest(ep("10.0.0.11:80"))->weight, 7);
  t.apply_all(fx.set_alive(ep("10.0.0.11:80"), false, "x"));
  EXPECT_TRUE(fx.set_weight(ep("10.0.0.11:80"), 9).empty()) << "dead: no table edit";
  t.apply_all(fx.set_alive(ep("10.0.0.11:80"), true, "ok"));
  EXPECT_EQ(t.table.services[0].find_dest(ep("10.0.0.11:80"))->weight, 9);
}

// Renderings used by log and FIFO lines.
TEST(Effects, Renderings) {
  EXPECT_EQ(render_real(vs_key(), ep("10.0.0.11:80")), "[10.0.0.11]:tcp:80");
  EXPECT_EQ(render_service(model::ServiceKey::mark(7)), "FWM 7");
  EXPECT_EQ(render_real(model::ServiceKey::address(model::Protocol::kUdp, ep("[2001:db8::1]:53")),
                        ep("[2001:db8::2]:53")),
            "[2001:db8::2]:udp:53");
}

// omega: shutdown runs the RS-down notifiers and quorum_down; without omega it is silent.
TEST(Effects, OmegaShutdownNotifies) {
  auto svc = quorum_service();
  svc.reals[0].notify_down = "/bin/down";
  Effects quiet(svc, {}, true);
  (void)quiet.start();
  EXPECT_TRUE(quiet.shutdown().empty());
  svc.omega = true;
  Effects fx(svc, {}, true);
  (void)fx.start();
  Table t;
  t.apply_all(fx.shutdown());
  EXPECT_EQ(t.commands("/bin/down"), 1U);
  EXPECT_EQ(t.commands("/bin/qdown"), 1U);
}

}  // namespace
}  // namespace lvs::health
