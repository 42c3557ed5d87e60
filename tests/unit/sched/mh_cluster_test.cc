// mh's stateless cluster mode (lvsd --cluster-seed): the table is built from the realservers
// sorted by (address, port) with a cluster-wide seed, so every director with the same
// realserver set makes the same choice. Without the mode the spec's examples hold (mh_test.cc).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <deque>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "sched/mh.h"
#include "sched/registry.h"

namespace lvs::sched::testing {
namespace {

constexpr std::uint32_t kSeed = 0x5eed1234;

// One director's view of a service: its realservers in its own insertion order.
class Director {
 public:
  Director(const std::vector<core::Endpoint>& reals, std::optional<std::uint32_t> seed) {
    auto s = make_scheduler("mh", SchedulerDeps{.rng = nullptr, .mh_cluster_seed = seed});
    EXPECT_TRUE(s.ok());
    sched_ = std::move(*s);
    for (const auto& r : reals) {
      loads_.emplace_back();
      dests_.push_back(Dest{.addr = r, .weight = 1, .last_weight = 1, .load = &loads_.back()});
    }
    EXPECT_TRUE(sched_->rebuild(dests_, {ChangeKind::kInit, 0}).ok());
  }

  // The chosen realserver's address (port 0 and address 0.0.0.0 for "none").
  core::Endpoint pick(const core::IpAddress& client) {
    const auto i =
        sched_->pick(PickInput{.dests = dests_,
                               .flow = {.client = {.addr = client, .port = 40000}, .dest = {}},
                               .flags = 0,
                               .now = {}});
    return i ? dests_[*i].addr : core::Endpoint{};
  }

 private:
  std::unique_ptr<Scheduler> sched_;
  std::deque<model::DestLoad> loads_;
  std::vector<Dest> dests_;
};

std::vector<core::Endpoint> ten_reals() {
  std::vector<core::Endpoint> out;
  for (std::uint32_t i = 0; i < 10; ++i) {
    // 198.51.100.11..20, two of them on a second port to exercise the port in the sort key.
    out.push_back(core::Endpoint{.addr = core::IpAddress::v4(0xC6336400U + 11U + i),
                                 .port = static_cast<std::uint16_t>(i % 4 == 0 ? 8080 : 80)});
  }
  return out;
}

std::vector<core::IpAddress> clients(std::size_t n) {
  std::mt19937 rng(2026);
  std::vector<core::IpAddress> out;
  out.reserve(n);
  for (std::size_t i = 0; i < n; ++i)
    out.push_back(core::IpAddress::v4(static_cast<std::uint32_t>(rng())));
  return out;
}

// Slot -> owner, comparable across differently ordered lists.
std::vector<core::Endpoint> owners(const std::vector<core::Endpoint>& reals,
                                   std::optional<std::uint32_t> seed) {
  std::deque<model::DestLoad> loads;
  std::vector<Dest> dests;
  for (const auto& r : reals) {
    loads.emplace_back();
    dests.push_back(Dest{.addr = r, .weight = 1, .last_weight = 1, .load = &loads.back()});
  }
  std::vector<core::Endpoint> out;
  for (const std::uint16_t i : maglev_table(dests, seed)) {
    out.push_back(i == kMaglevNoDest ? core::Endpoint{} : dests[i].addr);
  }
  return out;
}

// Two directors that learned the same ten realservers in different orders build identical
// tables and pick the same realserver for every one of 100k clients.
TEST(MaglevCluster, SameRealserversInAnyOrderGiveTheSameChoice) {
  auto a_order = ten_reals();
  auto b_order = a_order;
  std::mt19937 rng(7);
  std::shuffle(b_order.begin(), b_order.end(), rng);
  ASSERT_NE(a_order, b_order);
  EXPECT_EQ(owners(a_order, kSeed), owners(b_order, kSeed));
  std::reverse(b_order.begin(), b_order.end());
  EXPECT_EQ(owners(a_order, kSeed), owners(b_order, kSeed));

  Director a(a_order, kSeed);
  Director b(b_order, kSeed);
  std::size_t same = 0;
  const auto cs = clients(100000);
  for (const auto& c : cs) same += a.pick(c) == b.pick(c) ? 1U : 0U;
  EXPECT_EQ(same, cs.size());
}

// Why the mode exists: without it the table follows insertion order, so two directors with
// the same set disagree on part of the clients.
TEST(MaglevCluster, WithoutTheModeInsertionOrderChangesTheTable) {
  auto a_order = ten_reals();
  auto b_order = a_order;
  std::reverse(b_order.begin(), b_order.end());
  EXPECT_NE(owners(a_order, std::nullopt), owners(b_order, std::nullopt));
}

// The seed is part of the placement: the same seed gives the same table, another seed
// another one; seed 0 keeps the spec's hash keys but still sorts.
TEST(MaglevCluster, TheSeedChoosesThePlacement) {
  const auto reals = ten_reals();
  EXPECT_EQ(owners(reals, 1U), owners(reals, 1U));
  EXPECT_NE(owners(reals, 1U), owners(reals, 2U));
  EXPECT_EQ(maglev_cluster_key(LVS_MH_KEY1, 0), std::uint64_t{LVS_MH_KEY1});
  auto sorted = reals;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(owners(reals, 0U), owners(sorted, std::nullopt));
}

// Removing 1 of 10 realservers moves its own clients (about 1/10) and few others; the figure
// (share of 100k clients that change realserver) is printed for the report.
TEST(MaglevCluster, RemovingOneOfTenMovesAboutATenth) {
  const auto reals = ten_reals();
  const auto cs = clients(100000);
  for (std::size_t gone = 0; gone < reals.size(); gone += 3) {
    auto fewer = reals;
    fewer.erase(fewer.begin() + static_cast<std::ptrdiff_t>(gone));
    Director before(reals, kSeed);
    Director after(fewer, kSeed);
    std::size_t moved = 0;
    std::size_t own = 0;
    std::size_t collateral = 0;
    for (const auto& c : cs) {
      const auto was = before.pick(c);
      const auto now = after.pick(c);
      if (was == reals[gone]) {
        ++own;
        EXPECT_NE(now, was);
      } else if (now != was) {
        ++collateral;
      }
      moved += now != was ? 1U : 0U;
    }
    const double share = 100.0 * static_cast<double>(moved) / static_cast<double>(cs.size());
    std::printf("removing %s: %.2f%% of 100000 clients moved (own %zu, collateral %zu)\n",
                reals[gone].to_string().c_str(), share, own, collateral);
    EXPECT_GE(share, 8.0);
    EXPECT_LE(share, 12.0);
    EXPECT_LE(collateral * 100, cs.size() * 3);
  }
}

// Quiescing (weight 0) in cluster mode keeps the table, as without it (spec: mh builds from
// last_weight).
TEST(MaglevCluster, QuiescingKeepsTheTable) {
  const auto reals = ten_reals();
  std::deque<model::DestLoad> loads;
  std::vector<Dest> dests;
  for (const auto& r : reals) {
    loads.emplace_back();
    dests.push_back(Dest{.addr = r, .weight = 1, .last_weight = 1, .load = &loads.back()});
  }
  const auto before = maglev_table(dests, kSeed);
  dests[3].weight = 0;
  EXPECT_EQ(maglev_table(dests, kSeed), before);
}

}  // namespace
}  // namespace lvs::sched::testing
