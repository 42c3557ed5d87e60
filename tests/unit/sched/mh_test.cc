// mh — spec §2 "mh" examples, §6 cases 12-13, and Maglev's promises (balance, minimal
// disruption) as properties.
#include "sched/mh.h"

#include <algorithm>
#include <random>
#include <set>

#include "model/service.h"
#include "unit/sched/eligibility.h"
#include "unit/sched/pool.h"

namespace lvs::sched::testing {
namespace {

using model::sched_flag::kMhFallback;
using model::sched_flag::kMhPort;

// Order [S1, S2, S3] = 10.0.0.11..13:80 with the given weights (case-9 dests).
Pool three(std::int32_t w1 = 1, std::int32_t w2 = 1, std::int32_t w3 = 1) {
  Pool p("mh");
  p.init({{"S1", "10.0.0.11:80", w1}, {"S2", "10.0.0.12:80", w2}, {"S3", "10.0.0.13:80", w3}});
  return p;
}

Pool two(std::int32_t w1, std::int32_t w2) {
  Pool p("mh");
  p.init({{"S1", "10.0.0.11:80", w1}, {"S2", "10.0.0.12:80", w2}});
  return p;
}

// Slots held by each dest index.
std::vector<int> slot_counts(const std::vector<std::uint16_t>& table, std::size_t n) {
  std::vector<int> counts(n, 0);
  for (const std::uint16_t i : table) {
    if (i != kMaglevNoDest) ++counts.at(i);
  }
  return counts;
}

int count_of(const Pool& p, std::string_view name) {
  return slot_counts(maglev_table(p.dests()), p.dests().size()).at(p.index_of(name));
}

// Slot -> owner address ("" for empty), comparable across lists.
std::vector<std::string> owners(const Pool& p) {
  std::vector<std::string> out;
  out.reserve(kMaglevSize);
  for (const std::uint16_t i : maglev_table(p.dests())) {
    out.push_back(i == kMaglevNoDest ? "" : p.dests()[i].addr.to_string());
  }
  return out;
}

std::uint32_t client_slot(std::string_view client) {
  return lvs_mh_slot(ip(client).hash_word(), 0);
}

// n dests D0..D(n-1) at distinct random addresses, port 80, weight 1.
Pool random_pool(std::mt19937& rng, int n) {
  std::set<std::uint32_t> seen;
  std::vector<Pool::Member> members;
  members.reserve(static_cast<std::size_t>(n));
  while (static_cast<int>(members.size()) < n) {
    const auto a = static_cast<std::uint32_t>(rng());
    if (!seen.insert(a).second) continue;
    members.push_back(
        {"D" + std::to_string(members.size()), core::IpAddress::v4(a).to_string() + ":80", 1});
  }
  Pool p("mh");
  p.init(members);
  return p;
}

// Case 12: SipHash-1-3 keyed (k, k) over a 4-byte little-endian zero gives the spec's value.
TEST(MaglevHashing, Case12CheckValue) {
  EXPECT_EQ(lvs_hsiphash_u32(LVS_MH_KEY1, 0), 0x1d5a77c2U);
  EXPECT_EQ(lvs_mh_hash(LVS_MH_KEY1, 0, 0, 0), 0x1d5a77c2U);
}

// Offsets and skips of S1/S2/S3 from their address and port; gcd 1, no shift, one turn each.
TEST(MaglevHashing, OffsetsAndSkipsOfWorkedExample) {
  const auto p = three();
  const MaglevPlan plan = maglev_plan(p.dests());
  EXPECT_EQ(plan.gcd, 1U);
  EXPECT_EQ(plan.shift, 0U);
  ASSERT_EQ(plan.dests.size(), 3U);
  EXPECT_EQ(plan.dests[0], (MaglevDestPlan{.offset = 4032, .skip = 1541, .turns = 1}));
  EXPECT_EQ(plan.dests[1], (MaglevDestPlan{.offset = 870, .skip = 874, .turns = 1}));
  EXPECT_EQ(plan.dests[2], (MaglevDestPlan{.offset = 2586, .skip = 2286, .turns = 1}));
}

// Case 12: the case-9 dests hold 1365 / 1364 / 1364 of the 4093 slots.
TEST(MaglevHashing, Case12SlotCounts) {
  const auto p = three();
  EXPECT_EQ(count_of(p, "S1"), 1365);
  EXPECT_EQ(count_of(p, "S2"), 1364);
  EXPECT_EQ(count_of(p, "S3"), 1364);
}

// Slots 0..9 of the worked example: S2 S3 S3 S1 S2 S2 S1 S1 S3 S2.
TEST(MaglevHashing, FirstTenSlots) {
  const auto p = three();
  const auto table = maglev_table(p.dests());
  ASSERT_EQ(table.size(), kMaglevSize);
  const std::vector<std::string> want{"S2", "S3", "S3", "S1", "S2", "S2", "S1", "S1", "S3", "S2"};
  for (std::size_t s = 0; s < want.size(); ++s) {
    EXPECT_EQ(table[s], p.index_of(want[s])) << "slot " << s;
  }
}

// Case 12: client slots 3711/1884/3741/2256/1654 and their dests S2, S3, S1, S1, S3.
TEST(MaglevHashing, Case12FiveClients) {
  auto p = three();
  EXPECT_EQ(client_slot("10.0.0.1"), 3711U);
  EXPECT_EQ(client_slot("10.0.0.2"), 1884U);
  EXPECT_EQ(client_slot("10.0.0.3"), 3741U);
  EXPECT_EQ(client_slot("192.168.7.1"), 2256U);
  EXPECT_EQ(client_slot("172.16.0.200"), 1654U);
  EXPECT_EQ(p.pick_from("10.0.0.1:1024"), "S2");
  EXPECT_EQ(p.pick_from("10.0.0.2:1024"), "S3");
  EXPECT_EQ(p.pick_from("10.0.0.3:1024"), "S1");
  EXPECT_EQ(p.pick_from("192.168.7.1:1024"), "S1");
  EXPECT_EQ(p.pick_from("172.16.0.200:1024"), "S3");
}

// Case 13: deleting S2 leaves S1 2047 / S3 2046 slots; only 13 of the survivors' slots move;
// 10.0.0.1 (was S2) goes to S3, the other four clients stay.
TEST(MaglevHashing, Case13DeleteMovesFewSurvivorSlots) {
  auto p = three();
  const auto before = owners(p);
  p.remove("S2");
  const auto after = owners(p);
  EXPECT_EQ(count_of(p, "S1"), 2047);
  EXPECT_EQ(count_of(p, "S3"), 2046);
  int moved = 0;
  for (std::size_t s = 0; s < kMaglevSize; ++s) {
    if (before[s] != "10.0.0.12:80" && before[s] != after[s]) ++moved;
  }
  EXPECT_EQ(moved, 13);
  EXPECT_EQ(p.pick_from("10.0.0.1:1024"), "S3");
  EXPECT_EQ(p.pick_from("10.0.0.2:1024"), "S3");
  EXPECT_EQ(p.pick_from("10.0.0.3:1024"), "S1");
  EXPECT_EQ(p.pick_from("192.168.7.1:1024"), "S1");
  EXPECT_EQ(p.pick_from("172.16.0.200:1024"), "S3");
}

// Case 13: quiescing S2 keeps the table (built from last_weight); its client 10.0.0.1 gets
// none, or S3 with mh-fallback; the others are untouched.
TEST(MaglevHashing, Case13QuiesceKeepsTable) {
  auto p = three();
  const auto before = maglev_table(p.dests());
  p.set_weight("S2", 0);
  EXPECT_EQ(maglev_table(p.dests()), before);
  EXPECT_EQ(p.pick_from("10.0.0.1:1024"), "none");
  EXPECT_EQ(p.pick_from("10.0.0.1:1024", kMhFallback), "S3");
  EXPECT_EQ(p.pick_from("10.0.0.2:1024"), "S3");
  EXPECT_EQ(p.pick_from("10.0.0.3:1024"), "S1");
  p.set_weight("S2", 1);  // back: same table, the client returns to S2
  EXPECT_EQ(maglev_table(p.dests()), before);
  EXPECT_EQ(p.pick_from("10.0.0.1:1024"), "S2");
}

// An overloaded dest is skipped like a quiesced one: none, or the fallback probe.
TEST(MaglevHashing, OverloadedDestSkippedOrFallsBack) {
  auto p = three();
  p.set_overloaded("S2");
  EXPECT_EQ(p.pick_from("10.0.0.1:1024"), "none");
  EXPECT_EQ(p.pick_from("10.0.0.1:1024", kMhFallback), "S3");
}

// Weights 1/2/3 claim 1/2/3 slots per round: 683 / 1364 / 2046.
TEST(MaglevHashing, Weights123GiveProportionalSlots) {
  const auto p = three(1, 2, 3);
  EXPECT_EQ(count_of(p, "S1"), 683);
  EXPECT_EQ(count_of(p, "S2"), 1364);
  EXPECT_EQ(count_of(p, "S3"), 2046);
}

// Weights 100/200 reduce by their gcd to 1/2 turns: 1365 / 2728.
TEST(MaglevHashing, Weights100And200ReduceByGcd) {
  const auto p = two(100, 200);
  const MaglevPlan plan = maglev_plan(p.dests());
  EXPECT_EQ(plan.gcd, 100U);
  EXPECT_EQ(plan.dests[0].turns, 1U);
  EXPECT_EQ(plan.dests[1].turns, 2U);
  EXPECT_EQ(count_of(p, "S1"), 1365);
  EXPECT_EQ(count_of(p, "S2"), 2728);
}

// Weights 1/1000: 1000 has 10 bits, shift 4, turns 1 (0 rounded up) / 62: 65 / 4028 slots.
TEST(MaglevHashing, Weights1And1000ShiftToSixBits) {
  const auto p = two(1, 1000);
  const MaglevPlan plan = maglev_plan(p.dests());
  EXPECT_EQ(plan.gcd, 1U);
  EXPECT_EQ(plan.shift, 4U);
  EXPECT_EQ(plan.dests[0].turns, 1U);
  EXPECT_EQ(plan.dests[1].turns, 62U);
  EXPECT_EQ(count_of(p, "S1"), 65);
  EXPECT_EQ(count_of(p, "S2"), 4028);
}

// With mh-port the client's source port joins the hash; without it the port is ignored.
TEST(MaglevHashing, MhPortHashesSourcePort) {
  auto p = three();
  const auto table = maglev_table(p.dests());
  const std::uint32_t addr = ip("10.0.0.1").hash_word();
  std::set<std::uint16_t> seen;
  for (std::uint16_t port = 1024; port < 1040; ++port) {
    const Flow f{.client = {ip("10.0.0.1"), port}, .dest = {}};
    const std::uint16_t want = table[lvs_mh_slot(addr, port)];
    EXPECT_EQ(
        p.scheduler().pick(PickInput{.dests = p.dests(), .flow = f, .flags = kMhPort, .now = {}}),
        std::optional<std::size_t>{want});
    EXPECT_EQ(p.pick(f), "S2");  // port ignored: slot 3711
    seen.insert(want);
  }
  EXPECT_GT(seen.size(), 1U);
}

// A dest added with weight 0 has last_weight 0: it takes no slots at all.
TEST(MaglevHashing, AddedWithWeightZeroTakesNoSlots) {
  const auto p = three(1, 0, 1);
  EXPECT_EQ(count_of(p, "S2"), 0);
  EXPECT_EQ(count_of(p, "S1") + count_of(p, "S3"), static_cast<int>(kMaglevSize));
}

// No dest with a last_weight > 0 (or no dest at all) leaves the table empty: every pick is none.
TEST(MaglevHashing, EmptyOrAllUnusableIsNone) {
  Pool empty("mh");
  EXPECT_EQ(empty.pick_from("10.0.0.1:1024"), "none");
  EXPECT_EQ(empty.pick_from("10.0.0.1:1024", kMhFallback), "none");
  const auto zero = three(0, 0, 0);
  EXPECT_EQ(maglev_table(zero.dests()), std::vector<std::uint16_t>(kMaglevSize, kMaglevNoDest));
  auto p = three();
  p.set_weight("S1", 0);
  p.set_overloaded("S2");
  p.set_weight("S3", 0);
  std::mt19937 rng(13);
  for (int k = 0; k < 100; ++k) {
    const Flow f{.client = {core::IpAddress::v4(static_cast<std::uint32_t>(rng())), 1024},
                 .dest = {}};
    EXPECT_EQ(p.pick(f, kMhFallback | kMhPort), "none");
    EXPECT_EQ(p.pick(f), "none");
  }
}

// More dests than slots: rebuild fails with EINVAL naming the count, and picks give none.
TEST(MaglevHashing, MoreDestsThanSlotsIsEinval) {
  std::vector<model::DestLoad> loads(kMaglevSize + 1);
  std::vector<Dest> dests;
  dests.reserve(loads.size());
  for (std::uint32_t i = 0; i < kMaglevSize + 1; ++i) {
    dests.push_back(Dest{.addr = {core::IpAddress::v4((10U << 24) | i), 80},
                         .weight = 1,
                         .last_weight = 1,
                         .load = &loads[i]});
  }
  auto s = make_scheduler("mh");
  ASSERT_TRUE(s.ok());
  const auto r = (*s)->rebuild(dests, {ChangeKind::kInit, 0});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, EINVAL);
  EXPECT_NE(r.error().message.find("4094"), std::string::npos) << r.error().message;
  EXPECT_EQ((*s)->pick(PickInput{.dests = dests, .flow = {}, .flags = 0, .now = {}}), std::nullopt);
  dests.pop_back();  // exactly M dests fit: one slot each
  ASSERT_TRUE((*s)->rebuild(dests, {ChangeKind::kRemoved, kMaglevSize}).ok());
  const auto counts = slot_counts(maglev_table(dests), dests.size());
  EXPECT_TRUE(std::all_of(counts.begin(), counts.end(), [](int c) { return c == 1; }));
}

// Property (balance): N = 2..50 equal-weight dests at random addresses. Every round gives each
// dest exactly one slot, so slot counts differ by at most 1 (floor/ceil of M/N).
TEST(MaglevHashing, EqualWeightsBalanceWithinOneSlot) {
  std::mt19937 rng(12);
  for (int n = 2; n <= 50; ++n) {
    const auto p = random_pool(rng, n);
    const auto counts = slot_counts(maglev_table(p.dests()), p.dests().size());
    const auto [lo, hi] = std::minmax_element(counts.begin(), counts.end());
    EXPECT_LE(*hi - *lo, 1) << "n=" << n;
    EXPECT_EQ(*lo, static_cast<int>(kMaglevSize) / n) << "n=" << n;
  }
}

// Property (weighted balance): a dest with t turns per round holds t slots per full round plus
// at most t in the last one, so |count*T - M*t| <= t*T where T = total turns.
TEST(MaglevHashing, WeightedSlotsFollowTurnsWithinOneRound) {
  std::mt19937 rng(21);
  for (int round = 0; round < 40; ++round) {
    auto p = random_pool(rng, 2 + static_cast<int>(rng() % 19));
    for (std::size_t i = 0; i < p.dests().size(); ++i) {
      p.set_weight("D" + std::to_string(i), 1 + static_cast<std::int32_t>(rng() % 200));
    }
    const MaglevPlan plan = maglev_plan(p.dests());
    const auto counts = slot_counts(maglev_table(p.dests()), p.dests().size());
    std::int64_t total_turns = 0;
    for (const auto& d : plan.dests) total_turns += d.turns;
    for (std::size_t i = 0; i < counts.size(); ++i) {
      const std::int64_t t = plan.dests[i].turns;
      EXPECT_LE(std::abs(counts[i] * total_turns - std::int64_t{kMaglevSize} * t), t * total_turns)
          << "dest " << i;
    }
  }
}

// 20000 random client keys (source port 0) and where they go now.
struct Clients {
  std::vector<Flow> flows;
  std::vector<std::string> picks;
};

Clients random_clients(std::mt19937& rng, Pool& p) {
  Clients c;
  c.flows.reserve(20000);
  c.picks.reserve(20000);
  for (int k = 0; k < 20000; ++k) {
    c.flows.push_back(
        Flow{.client = {core::IpAddress::v4(static_cast<std::uint32_t>(rng())), 0}, .dest = {}});
    c.picks.push_back(p.pick(c.flows.back()));
  }
  return c;
}

// Property (minimal disruption, removal): removing 1 of 10 dests moves about 1/10 of client
// keys — all of the removed dest's, and under 3% of the survivors' (measured 0.8-1.8%; total
// moved 10.7-11.8%).
TEST(MaglevHashing, RemovingOneOfTenMovesAboutATenth) {
  std::mt19937 rng(10);
  for (int trial = 0; trial < 10; ++trial) {
    auto p = random_pool(rng, 10);
    const Clients c = random_clients(rng, p);
    const std::string gone = "D" + std::to_string(rng() % 10);
    p.remove(gone);
    int moved = 0;
    int survivors = 0;
    int survivors_moved = 0;
    for (std::size_t k = 0; k < c.flows.size(); ++k) {
      const bool changed = p.pick(c.flows[k]) != c.picks[k];
      moved += changed ? 1 : 0;
      if (c.picks[k] != gone) {
        ++survivors;
        survivors_moved += changed ? 1 : 0;
      }
    }
    const int total = static_cast<int>(c.flows.size());
    EXPECT_GE(moved * 100, total * 8) << "trial " << trial;
    EXPECT_LE(moved * 100, total * 14) << "trial " << trial;
    EXPECT_LE(survivors_moved * 100, survivors * 3) << "trial " << trial;
  }
}

// Property (minimal disruption, addition): adding an 11th dest to 10 moves about 1/11 of
// client keys (measured 10.0-10.6%), and under 3% move between old dests (0.8-1.4%).
TEST(MaglevHashing, AddingOneToTenMovesAboutAnEleventh) {
  std::mt19937 rng(11);
  for (int trial = 0; trial < 10; ++trial) {
    auto p = random_pool(rng, 10);
    const Clients c = random_clients(rng, p);
    p.add("NEW", core::IpAddress::v4(static_cast<std::uint32_t>(rng())).to_string() + ":80");
    int moved = 0;
    int between_old = 0;
    for (std::size_t k = 0; k < c.flows.size(); ++k) {
      const std::string now = p.pick(c.flows[k]);
      if (now == c.picks[k]) continue;
      ++moved;
      if (now != "NEW") ++between_old;
    }
    const int total = static_cast<int>(c.flows.size());
    EXPECT_GE(moved * 100, total * 7) << "trial " << trial;
    EXPECT_LE(moved * 100, total * 13) << "trial " << trial;
    EXPECT_LE(between_old * 100, total * 3) << "trial " << trial;
  }
}

// Property: mh never picks a quiesced or overloaded dest, and with mh-fallback it finds a
// usable dest whenever one exists.
TEST(MaglevHashing, NeverPicksUnusableDest) {
  expect_hash_picks_only_usable("mh", 14, 60, kMhFallback);
}

}  // namespace
}  // namespace lvs::sched::testing
