#pragma once
// Test helper: properties every weighted scheduler of spec §2 shares ("eligible" = not
// overloaded and weight > 0; "all return no destination if nothing qualifies"), checked over
// seeded random configurations so a failure reproduces.

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "unit/sched/pool.h"

namespace lvs::sched::testing {

inline std::string dest_name(int i) { return "D" + std::to_string(i); }
inline std::string dest_addr(int i) { return "10.0.1." + std::to_string(i + 1) + ":80"; }

// Over 100 random lists (1..8 dests, about a quarter quiesced and a quarter overloaded, random
// loads changing between picks), no pick is ever a weight-0 or overloaded dest, and a pick is
// "none" only when no dest is eligible.
inline void expect_only_eligible_picks(std::string_view scheduler) {
  std::mt19937 gen(20240611);
  core::SystemRng rng(7);
  auto draw = [&gen](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(gen); };
  for (int config = 0; config < 100; ++config) {
    Pool p(scheduler, &rng);
    const int n = draw(1, 8);
    for (int i = 0; i < n; ++i)
      p.add(dest_name(i), dest_addr(i), draw(0, 3) == 0 ? 0 : draw(1, 20));
    for (int i = 0; i < n; ++i) p.set_overloaded(dest_name(i), draw(0, 3) == 0);
    for (int k = 0; k < 30; ++k) {
      for (int i = 0; i < n; ++i) {
        p.set_load(dest_name(i), static_cast<std::uint32_t>(draw(0, 10)),
                   static_cast<std::uint32_t>(draw(0, 300)));
      }
      // ovf also refuses dests that are full (active > weight); the others refuse nothing else.
      bool any_pickable = false;
      for (const Dest& d : p.dests()) {
        const bool full = scheduler == "ovf" && std::int64_t{active(d)} > d.weight;
        any_pickable = any_pickable || (usable(d) && !full);
      }
      const std::string got = p.pick();
      SCOPED_TRACE(std::string(scheduler) + " config " + std::to_string(config) + " pick " +
                   std::to_string(k));
      EXPECT_EQ(got == "none", !any_pickable);
      if (got == "none") continue;
      const Dest& d = p.dests()[p.index_of(got)];
      EXPECT_GT(d.weight, 0);
      EXPECT_FALSE(overloaded(d));
    }
  }
}

// "none" for an empty list, and for a list where every dest is quiesced or overloaded.
inline void expect_none_without_eligible(std::string_view scheduler) {
  core::SystemRng rng(11);
  Pool empty(scheduler, &rng);
  EXPECT_EQ(empty.picks(3), "none none none");

  Pool p(scheduler, &rng);
  p.add("A", "10.0.0.1:80", 0).add("B", "10.0.0.2:80", 5).add("C", "10.0.0.3:80", 0);
  p.set_overloaded("B");
  EXPECT_EQ(p.picks(3), "none none none");
  p.set_overloaded("B", false);  // one eligible dest again: it is picked
  EXPECT_EQ(p.picks(2), "B B");
}

// Hashing schedulers (sh, dh, mh): over `rounds` random lists (1..12 dests, distinct random
// addresses, weights 0..3, about a quarter overloaded) and random flows (client and destination)
// with random flags, a pick is never a quiesced or overloaded dest; where the drawn flags hold
// `fallback_flag` (0: the scheduler has none), "none" comes only when no dest is usable.
inline void expect_hash_picks_only_usable(std::string_view scheduler, std::uint32_t seed,
                                          int rounds, std::uint32_t fallback_flag) {
  std::mt19937 rng(seed);
  const auto draw32 = [&rng] { return static_cast<std::uint32_t>(rng()); };
  for (int round = 0; round < rounds; ++round) {
    const int n = 1 + static_cast<int>(rng() % 12);
    std::set<std::uint32_t> seen;
    std::vector<Pool::Member> members;
    while (static_cast<int>(members.size()) < n) {
      const std::uint32_t a = draw32();
      if (!seen.insert(a).second) continue;
      members.push_back({dest_name(static_cast<int>(members.size())),
                         core::IpAddress::v4(a).to_string() + ":80",
                         static_cast<std::int32_t>(rng() % 4)});
    }
    Pool p(scheduler);
    p.init(members);
    bool any_usable = false;
    for (int i = 0; i < n; ++i) {
      if (rng() % 4 == 0) p.set_overloaded(dest_name(i));
      any_usable = any_usable || usable(p.dests()[p.index_of(dest_name(i))]);
    }
    for (int k = 0; k < 50; ++k) {
      const Flow f{.client = {core::IpAddress::v4(draw32()), static_cast<std::uint16_t>(rng())},
                   .dest = {core::IpAddress::v4(draw32()), 80}};
      const std::uint32_t flags = draw32() % 4;
      const std::string got = p.pick(f, flags);
      SCOPED_TRACE(std::string(scheduler) + " round " + std::to_string(round));
      if (got != "none") {
        EXPECT_TRUE(usable(p.dests()[p.index_of(got)])) << got;
      } else if (fallback_flag != 0 && (flags & fallback_flag) != 0) {
        EXPECT_FALSE(any_usable) << "fallback missed a usable dest";
      }
    }
  }
}

}  // namespace lvs::sched::testing
