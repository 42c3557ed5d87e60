#pragma once
// Test helper: a service's realserver list with live loads, built like the engine builds it.
// add() inserts at the front (newest first) and tells the scheduler, as the director will.

#include <gtest/gtest.h>

#include <deque>
#include <string>
#include <string_view>
#include <vector>

#include "sched/registry.h"

namespace lvs::sched::testing {

inline core::Endpoint ep(std::string_view text) {
  auto e = core::Endpoint::parse(text);
  EXPECT_TRUE(e.ok()) << text;
  return e.ok() ? *e : core::Endpoint{};
}

inline core::IpAddress ip(std::string_view text) {
  auto a = core::IpAddress::parse(text);
  EXPECT_TRUE(a.ok()) << text;
  return a.ok() ? *a : core::IpAddress{};
}

class Pool {
 public:
  explicit Pool(std::string_view scheduler, core::Rng* rng = nullptr) {
    auto s = make_scheduler(scheduler, SchedulerDeps{.rng = rng});
    EXPECT_TRUE(s.ok());
    sched_ = std::move(*s);
    EXPECT_TRUE(sched_->rebuild(dests_, {ChangeKind::kInit, 0}).ok());
  }
  // Wraps a scheduler made with non-default options.
  explicit Pool(std::unique_ptr<Scheduler> sched) : sched_(std::move(sched)) {
    EXPECT_TRUE(sched_->rebuild(dests_, {ChangeKind::kInit, 0}).ok());
  }

  // Adds `name` (at `addr`) at the front of the iteration order, like `ipvsadm -a`.
  Pool& add(std::string name, std::string_view addr, std::int32_t weight = 1) {
    loads_.emplace_back();
    dests_.insert(
        dests_.begin(),
        Dest{.addr = ep(addr), .weight = weight, .last_weight = weight, .load = &loads_.back()});
    names_.insert(names_.begin(), std::move(name));
    EXPECT_TRUE(sched_->rebuild(dests_, {ChangeKind::kAdded, 0}).ok());
    return *this;
  }

  struct Member {
    std::string name;
    std::string addr;
    std::int32_t weight = 1;
  };
  // Builds a whole list at once in the given iteration order (first = iterated first).
  Pool& init(const std::vector<Member>& order) {
    dests_.clear();
    names_.clear();
    for (const auto& m : order) {
      loads_.emplace_back();
      dests_.push_back(Dest{
          .addr = ep(m.addr), .weight = m.weight, .last_weight = m.weight, .load = &loads_.back()});
      names_.push_back(m.name);
    }
    EXPECT_TRUE(sched_->rebuild(dests_, {ChangeKind::kInit, 0}).ok());
    return *this;
  }

  // Edits the weight in place (last_weight follows only non-zero weights, as in the engine).
  void set_weight(std::string_view name, std::int32_t w) {
    const auto i = index_of(name);
    dests_[i].weight = w;
    if (w != 0) dests_[i].last_weight = w;
    EXPECT_TRUE(sched_->rebuild(dests_, {ChangeKind::kEdited, i}).ok());
  }

  void remove(std::string_view name) {
    const auto i = index_of(name);
    dests_.erase(dests_.begin() + static_cast<std::ptrdiff_t>(i));
    names_.erase(names_.begin() + static_cast<std::ptrdiff_t>(i));
    EXPECT_TRUE(sched_->rebuild(dests_, {ChangeKind::kRemoved, i}).ok());
  }

  model::DestLoad& load(std::string_view name) {
    return const_cast<model::DestLoad&>(*dests_[index_of(name)].load);  // NOLINT
  }
  void set_load(std::string_view name, std::uint32_t active, std::uint32_t inactive = 0) {
    load(name).set(active, inactive);
  }
  void set_overloaded(std::string_view name, bool o = true) { load(name).set_overloaded(o); }

  // The name of the pick for a flow, or "none".
  std::string pick(Flow flow = {}, std::uint32_t flags = 0, core::TimePoint now = {}) {
    const auto i =
        sched_->pick(PickInput{.dests = dests_, .flow = flow, .flags = flags, .now = now});
    return i ? names_[*i] : std::string("none");
  }
  std::string pick_from(std::string_view client, std::uint32_t flags = 0) {
    return pick(Flow{.client = ep(client), .dest = {}}, flags);
  }
  // n picks joined by spaces, e.g. "C B A C".
  std::string picks(int n) {
    std::string out;
    for (int k = 0; k < n; ++k) {
      if (k) out += ' ';
      out += pick();
    }
    return out;
  }

  std::size_t index_of(std::string_view name) const {
    for (std::size_t i = 0; i < names_.size(); ++i) {
      if (names_[i] == name) return i;
    }
    ADD_FAILURE() << "no dest " << name;
    return 0;
  }
  const std::vector<Dest>& dests() const { return dests_; }
  Scheduler& scheduler() { return *sched_; }

 private:
  std::deque<model::DestLoad> loads_;  // stable addresses for Dest::load
  std::vector<Dest> dests_;
  std::vector<std::string> names_;  // parallel to dests_
  std::unique_ptr<Scheduler> sched_;
};

}  // namespace lvs::sched::testing
