// Properties every scheduler in the registry must hold (spec §2 "Common definitions"):
// never a weight-0 or overloaded dest, "none" (not a crash) on an empty or all-unusable list,
// and some dest when every dest is usable and idle.
#include <random>
#include <string>

#include "model/service.h"
#include "unit/sched/pool.h"

namespace lvs::sched::testing {
namespace {

class EveryScheduler : public ::testing::TestWithParam<std::string> {
 protected:
  core::SystemRng rng_{42};
  Pool pool(std::size_t n, std::mt19937& gen) {
    Pool p(GetParam(), &rng_);
    std::uniform_int_distribution<int> weight(0, 5);
    for (std::size_t i = 0; i < n; ++i) {
      p.add("D" + std::to_string(i), "10.0.1." + std::to_string(i + 1) + ":80", weight(gen));
    }
    return p;
  }
};

std::vector<std::string> registry_names() {
  std::vector<std::string> names;
  for (const auto& s : schedulers()) names.emplace_back(s.name);
  return names;
}

Flow flow_from(std::mt19937& gen) {
  std::uniform_int_distribution<std::uint32_t> any;
  const auto client = core::IpAddress::v4(0xC6336400U | (any(gen) & 0xFFU));  // 198.51.100.x
  const auto dest = core::IpAddress::v4(0xCB007100U | (any(gen) & 0xFFU));    // 203.0.113.x
  return Flow{.client = {.addr = client, .port = static_cast<std::uint16_t>(any(gen))},
              .dest = {.addr = dest, .port = 80}};
}

constexpr std::uint32_t kAllFlags =
    model::sched_flag::kFlag1 | model::sched_flag::kFlag2 | model::sched_flag::kFlag3;

// Random weights (some 0), random loads and overload flags: a pick is never weight 0 or
// overloaded, with and without every scheduler flag (fallbacks included).
TEST_P(EveryScheduler, NeverPicksQuiescedOrOverloaded) {
  std::mt19937 gen(7);
  for (int round = 0; round < 40; ++round) {
    auto p = pool(1 + static_cast<std::size_t>(round % 9), gen);
    std::bernoulli_distribution over(0.3);
    std::uniform_int_distribution<std::uint32_t> conns(0, 20);
    for (std::size_t i = 0; i < p.dests().size(); ++i) {
      const auto name = "D" + std::to_string(i);
      p.set_load(name, conns(gen), conns(gen));
      p.set_overloaded(name, over(gen));
    }
    for (int k = 0; k < 50; ++k) {
      const auto flags = (k % 2 == 0) ? 0U : kAllFlags;
      const auto picked = p.pick(flow_from(gen), flags);
      if (picked == "none") continue;
      const auto& d = p.dests()[p.index_of(picked)];
      EXPECT_GT(d.weight, 0) << GetParam() << " picked quiesced " << picked;
      EXPECT_FALSE(d.load->overloaded_now()) << GetParam() << " picked overloaded " << picked;
    }
  }
}

TEST_P(EveryScheduler, EmptyListIsNone) {
  Pool p(GetParam(), &rng_);
  std::mt19937 gen(1);
  EXPECT_EQ(p.pick(flow_from(gen)), "none");
  EXPECT_EQ(p.pick(flow_from(gen), kAllFlags), "none");
}

TEST_P(EveryScheduler, AllUnusableIsNone) {
  Pool p(GetParam(), &rng_);
  p.add("A", "10.0.0.1:80", 0).add("B", "10.0.0.2:80", 3).add("C", "10.0.0.3:80", 0);
  p.set_overloaded("B");
  std::mt19937 gen(2);
  for (int k = 0; k < 20; ++k) {
    EXPECT_EQ(p.pick(flow_from(gen), k % 2 == 0 ? 0U : kAllFlags), "none");
  }
}

// With every dest usable and idle there is always a destination (the hash tables cover all
// buckets, the weighted ones have weight > 0).
TEST_P(EveryScheduler, AllUsableAndIdleAlwaysPicks) {
  Pool p(GetParam(), &rng_);
  p.add("A", "10.0.0.1:80", 1).add("B", "10.0.0.2:80", 2).add("C", "10.0.0.3:80", 3);
  std::mt19937 gen(3);
  for (int k = 0; k < 100; ++k) EXPECT_NE(p.pick(flow_from(gen)), "none") << GetParam();
}

INSTANTIATE_TEST_SUITE_P(Registry, EveryScheduler, ::testing::ValuesIn(registry_names()),
                         [](const ::testing::TestParamInfo<std::string>& param) {
                           return param.param;
                         });

TEST(Registry, HasTheFourteenIpvsSchedulers) {
  std::string names;
  for (const auto& s : schedulers()) names += std::string(s.name) + " ";
  EXPECT_EQ(names, "rr wrr lc wlc lblc lblcr dh sh sed nq fo ovf mh twos ");
  auto bad = make_scheduler("foo");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, ENOENT);
  EXPECT_NE(bad.error().message.find("'foo'"), std::string::npos);
}

}  // namespace
}  // namespace lvs::sched::testing
