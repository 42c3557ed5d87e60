// dh — spec §2 "dh" examples and §6 case 11.
#include <random>

#include "model/service.h"
#include "sched/hash.h"
#include "unit/sched/eligibility.h"
#include "unit/sched/pool.h"

namespace lvs::sched::testing {
namespace {

// Order [S1, S2, S3] = 10.0.0.11..13:80; buckets S1, S2, S3, S1, ... whatever the weights.
Pool three(std::int32_t w1 = 1) {
  Pool p("dh");
  p.init({{"S1", "10.0.0.11:80", w1}, {"S2", "10.0.0.12:80", 1}, {"S3", "10.0.0.13:80", 1}});
  return p;
}

// The packet going from `client` to `dest`.
std::string pick_to(Pool& p, std::string_view dest, std::string_view client = "203.0.113.7:1024",
                    std::uint32_t flags = 0) {
  return p.pick(Flow{.client = ep(client), .dest = ep(dest)}, flags);
}

// The destination-address bucket numbers of the worked example.
TEST(DestinationHashing, BucketNumbersOfWorkedExample) {
  EXPECT_EQ(lvs_hash_bucket(ip("192.168.1.100").hash_word(), 0, 0), 36U);
  EXPECT_EQ(lvs_hash_bucket(ip("192.168.1.101").hash_word(), 0, 0), 213U);
  EXPECT_EQ(lvs_hash_bucket(ip("8.8.8.8").hash_word(), 0, 0), 136U);
}

// Case 11: destinations 192.168.1.100 -> S1, 192.168.1.101 -> S1, 8.8.8.8 -> S2.
TEST(DestinationHashing, Case11BucketsForThreeDestinations) {
  auto p = three();
  EXPECT_EQ(pick_to(p, "192.168.1.100:80"), "S1");
  EXPECT_EQ(pick_to(p, "192.168.1.101:80"), "S1");
  EXPECT_EQ(pick_to(p, "8.8.8.8:53"), "S2");
}

// The key is the destination alone: client address and both ports do not matter.
TEST(DestinationHashing, SourceAndPortsIgnored) {
  auto p = three();
  EXPECT_EQ(pick_to(p, "8.8.8.8:53", "10.0.0.1:1024"), "S2");
  EXPECT_EQ(pick_to(p, "8.8.8.8:80", "198.51.100.9:40000", model::sched_flag::kShPort), "S2");
}

// Weights do not shape the table: one bucket each, round-robin.
TEST(DestinationHashing, WeightsIgnoredInTable) {
  Pool p("dh");
  p.init({{"S1", "10.0.0.11:80", 5}, {"S2", "10.0.0.12:80", 1}, {"S3", "10.0.0.13:80", 100}});
  EXPECT_EQ(pick_to(p, "192.168.1.100:80"), "S1");
  EXPECT_EQ(pick_to(p, "8.8.8.8:53"), "S2");
  EXPECT_EQ(pick_to(p, "192.168.1.2:80"), "S3");  // bucket 98, 98 mod 3 = 2
}

// A quiesced or overloaded bucket owner gives none; there is no fallback, even with flag-1.
TEST(DestinationHashing, UnusableOwnerGivesNoneWithoutFallback) {
  auto p = three();
  p.set_weight("S1", 0);
  EXPECT_EQ(pick_to(p, "192.168.1.100:80"), "none");
  EXPECT_EQ(pick_to(p, "192.168.1.100:80", "10.0.0.1:1024", model::sched_flag::kFlag1), "none");
  EXPECT_EQ(pick_to(p, "8.8.8.8:53"), "S2");
  p.set_overloaded("S2");
  EXPECT_EQ(pick_to(p, "8.8.8.8:53"), "none");
}

// An empty list, and a list with nothing usable, give none.
TEST(DestinationHashing, EmptyOrAllUnusableIsNone) {
  Pool empty("dh");
  EXPECT_EQ(pick_to(empty, "192.168.1.100:80"), "none");
  auto p = three();
  p.set_weight("S1", 0);
  p.set_overloaded("S2");
  p.set_weight("S3", 0);
  for (std::uint32_t b = 0; b < 256; ++b) {
    const Flow f{.client = {}, .dest = {core::IpAddress::v4((192U << 24) | b), 80}};
    EXPECT_EQ(p.pick(f), "none");
  }
}

// Property: dh never picks an unusable dest.
TEST(DestinationHashing, NeverPicksUnusableDest) {
  expect_hash_picks_only_usable("dh", 11, 200, 0);
}

}  // namespace
}  // namespace lvs::sched::testing
