// Connection thresholds seen by a scheduler — spec §1.2 "Overload" and §6 case 16.
#include <cstdint>
#include <map>
#include <string>

#include "model/overload.h"
#include "unit/sched/pool.h"

namespace lvs::sched::testing {
namespace {

// A service whose connections bind to and unbind from realservers the way the connection
// table does it: counters first, then the overload rule of spec §1.2 for that dest.
class Service {
 public:
  struct Thresholds {
    std::uint32_t upper = 0;  // -x
    std::uint32_t lower = 0;  // -y
  };

  explicit Service(std::string_view scheduler) : pool_(scheduler) {}

  Pool& pool() { return pool_; }
  void set_thresholds(const std::string& name, Thresholds t) { thresholds_[name] = t; }

  // A new TCP connection: the scheduler picks a dest and the connection is bound to it.
  std::string open() {
    std::string name = pool_.pick();
    if (name != "none") bind(name);
    return name;
  }
  // n new connections, their dests joined by spaces.
  std::string open(int n) {
    std::string out;
    for (int k = 0; k < n; ++k) {
      if (k) out += ' ';
      out += open();
    }
    return out;
  }

  // One of `name`'s connections expires and is unbound.
  void expire_one(const std::string& name) {
    model::DestLoad& load = pool_.load(name);
    load.active.fetch_sub(1);
    const Thresholds t = thresholds_[name];
    load.set_overloaded(
        model::overload_after_unbind(load.overloaded_now(), load.total_now(), t.upper, t.lower));
  }

  // `ipvsadm -e ... -x upper`: the edit rule decides the flag at once.
  void edit_upper(const std::string& name, std::uint32_t upper) {
    model::DestLoad& load = pool_.load(name);
    Thresholds& t = thresholds_[name];
    load.set_overloaded(model::overload_after_edit(load.overloaded_now(), t.upper, upper));
    t.upper = upper;
  }

  bool overloaded(const std::string& name) { return pool_.load(name).overloaded_now(); }

 private:
  void bind(const std::string& name) {
    model::DestLoad& load = pool_.load(name);
    load.active.fetch_add(1);  // a SYN-opened TCP connection counts as active
    load.set_overloaded(model::overload_after_bind(load.overloaded_now(), load.total_now(),
                                                   thresholds_[name].upper));
  }

  Pool pool_;
  std::map<std::string, Thresholds, std::less<>> thresholds_;
};

// rr over order [S1 (-x 2), S2]; S1 is flagged when its 2nd connection binds.
Service case16() {
  Service s("rr");
  s.pool().init({{"S1", "10.0.0.11:80"}, {"S2", "10.0.0.12:80"}});
  s.set_thresholds("S1", {.upper = 2, .lower = 0});
  return s;
}

// Case 16: 5 connections go S1 S2 S1 S2 S2; one S1 connection expiring leaves total 1, and
// 1*4 < 2*3 clears the flag, so the 6th goes to S1.
TEST(Thresholds, Case16UpperThresholdHoldsDestUntilBelowThreeQuarters) {
  auto s = case16();
  EXPECT_EQ(s.open(2), "S1 S2");
  EXPECT_FALSE(s.overloaded("S1"));
  EXPECT_EQ(s.open(), "S1");
  EXPECT_TRUE(s.overloaded("S1"));
  EXPECT_EQ(s.open(2), "S2 S2");
  s.expire_one("S1");
  EXPECT_FALSE(s.overloaded("S1"));
  EXPECT_EQ(s.open(), "S1");
  EXPECT_TRUE(s.overloaded("S1"));  // back at 2
}

// Case 16, alternative: raising S1's upper threshold to 3 clears the flag at once, so the 6th
// connection goes to S1 without any connection expiring; its 3rd connection flags it again.
TEST(Thresholds, Case16RaisingUpperThresholdClearsFlagAtOnce) {
  auto s = case16();
  ASSERT_EQ(s.open(5), "S1 S2 S1 S2 S2");
  s.edit_upper("S1", 3);
  EXPECT_FALSE(s.overloaded("S1"));
  EXPECT_EQ(s.open(), "S1");
  EXPECT_TRUE(s.overloaded("S1"));
}

// An edit that does not raise the upper threshold keeps the flag (spec §1.2 edit rule).
TEST(Thresholds, EditKeepingUpperThresholdKeepsFlag) {
  auto s = case16();
  ASSERT_EQ(s.open(5), "S1 S2 S1 S2 S2");
  s.edit_upper("S1", 2);
  EXPECT_EQ(s.open(2), "S2 S2");
}

// u=4, l=2 (spec §1.2 example): set at the 4th connection, cleared only at total <= 1.
TEST(Thresholds, LowerThresholdDecidesWhenTheFlagClears) {
  Service s("rr");
  s.pool().init({{"S1", "10.0.0.11:80"}});
  s.set_thresholds("S1", {.upper = 4, .lower = 2});
  EXPECT_EQ(s.open(4), "S1 S1 S1 S1");
  EXPECT_EQ(s.open(), "none");
  s.expire_one("S1");  // 3
  s.expire_one("S1");  // 2: not below l
  EXPECT_EQ(s.open(), "none");
  s.expire_one("S1");  // 1 < 2: cleared
  EXPECT_EQ(s.open(), "S1");
}

}  // namespace
}  // namespace lvs::sched::testing
