// sh — spec §2 "sh" examples and §6 cases 9-10.
#include <map>
#include <random>
#include <set>

#include "model/service.h"
#include "sched/hash.h"
#include "unit/sched/eligibility.h"
#include "unit/sched/pool.h"

namespace lvs::sched::testing {
namespace {

using model::sched_flag::kShFallback;
using model::sched_flag::kShPort;

// Order [S1, S2, S3] = 10.0.0.11..13:80, all weight 1 -> buckets S1, S2, S3, S1, ...
Pool three(std::int32_t w1 = 1) {
  Pool p("sh");
  p.init({{"S1", "10.0.0.11:80", w1}, {"S2", "10.0.0.12:80", 1}, {"S3", "10.0.0.13:80", 1}});
  return p;
}

// Buckets per dest, read through pick(): the golden-ratio multiplier is odd, so the 256
// clients 10.0.0.0..255 land in 256 different buckets.
std::map<std::string, int> bucket_counts(Pool& p) {
  std::map<std::string, int> counts;
  std::set<std::uint32_t> buckets;
  for (std::uint32_t b = 0; b < 256; ++b) {
    buckets.insert(lvs_hash_bucket((10U << 24) | b, 0, 0));
    ++counts[p.pick(Flow{.client = {core::IpAddress::v4((10U << 24) | b), 0}, .dest = {}})];
  }
  EXPECT_EQ(buckets.size(), 256U);
  return counts;
}

// The hash keeps only the low byte of (addr + port): the spec's bucket numbers, and the
// 10.0.0.1 / 192.168.7.1 collision.
TEST(SourceHashing, BucketNumbersOfWorkedExample) {
  EXPECT_EQ(lvs_hash_bucket(ip("10.0.0.1").hash_word(), 0, 0), 177U);
  EXPECT_EQ(lvs_hash_bucket(ip("10.0.0.2").hash_word(), 0, 0), 98U);
  EXPECT_EQ(lvs_hash_bucket(ip("10.0.0.3").hash_word(), 0, 0), 19U);
  EXPECT_EQ(lvs_hash_bucket(ip("192.168.7.1").hash_word(), 0, 0), 177U);
  EXPECT_EQ(lvs_hash_bucket(ip("172.16.0.200").hash_word(), 0, 0), 72U);
  EXPECT_EQ(lvs_hash_bucket(ip("10.0.0.1").hash_word(), 1025, 0), 98U);
}

// Case 9: five sources over [S1, S2, S3] weight 1 go S1, S3, S2, S1, S1.
TEST(SourceHashing, Case9BucketsForFiveClients) {
  auto p = three();
  EXPECT_EQ(p.pick_from("10.0.0.1:1024"), "S1");
  EXPECT_EQ(p.pick_from("10.0.0.2:1024"), "S3");
  EXPECT_EQ(p.pick_from("10.0.0.3:1024"), "S2");
  EXPECT_EQ(p.pick_from("192.168.7.1:1024"), "S1");
  EXPECT_EQ(p.pick_from("172.16.0.200:1024"), "S1");
}

// Case 9: weights [S1 2, S2 1] -> buckets S1 S1 S2 repeating: 171 / 85, and 10.0.0.2 -> S2.
TEST(SourceHashing, Case9WeightedTableHas171And85Buckets) {
  Pool p("sh");
  p.init({{"S1", "10.0.0.11:80", 2}, {"S2", "10.0.0.12:80", 1}});
  EXPECT_EQ(p.pick_from("10.0.0.2:1024"), "S2");
  const auto counts = bucket_counts(p);
  EXPECT_EQ(counts.at("S1"), 171);
  EXPECT_EQ(counts.at("S2"), 85);
  EXPECT_EQ(counts.size(), 2U);
}

// Equal weights over three dests: 256 = 3*85 + 1, the first dest takes the extra bucket.
TEST(SourceHashing, EqualWeightsShareBucketsInListOrder) {
  auto p = three();
  const auto counts = bucket_counts(p);
  EXPECT_EQ(counts.at("S1"), 86);
  EXPECT_EQ(counts.at("S2"), 85);
  EXPECT_EQ(counts.at("S3"), 85);
}

// Case 10: S1 quiesced (table unchanged, max(0,1) = 1 bucket) -> 10.0.0.1 gets none.
TEST(SourceHashing, Case10QuiescedDestGivesNoDestination) {
  auto p = three();
  p.set_weight("S1", 0);
  EXPECT_EQ(p.pick_from("10.0.0.1:1024"), "none");
  EXPECT_EQ(p.pick_from("10.0.0.3:1024"), "S2");  // other buckets unaffected
}

// Case 10: with sh-fallback the first probe is bucket 2*177 mod 256 = 98 (S3), not 178.
TEST(SourceHashing, Case10FallbackFirstProbesBucketTwiceTheHash) {
  auto p = three();
  p.set_weight("S1", 0);
  EXPECT_EQ(p.pick_from("10.0.0.1:1024", kShFallback), "S3");
}

// An overloaded dest is skipped like a quiesced one: none, or the fallback probe.
TEST(SourceHashing, OverloadedDestSkippedOrFallsBack) {
  auto p = three();
  p.set_overloaded("S1");
  EXPECT_EQ(p.pick_from("10.0.0.1:1024"), "none");
  EXPECT_EQ(p.pick_from("10.0.0.1:1024", kShFallback), "S3");
}

// Case 10: with sh-port the source port joins the hash: 1024/1025/1026 -> S1/S3/S2.
TEST(SourceHashing, Case10ShPortHashesSourcePort) {
  auto p = three();
  EXPECT_EQ(p.pick_from("10.0.0.1:1024", kShPort), "S1");
  EXPECT_EQ(p.pick_from("10.0.0.1:1025", kShPort), "S3");
  EXPECT_EQ(p.pick_from("10.0.0.1:1026", kShPort), "S2");
}

// Without sh-port the source port is ignored.
TEST(SourceHashing, SourcePortIgnoredWithoutShPort) {
  auto p = three();
  EXPECT_EQ(p.pick_from("10.0.0.1:1025"), "S1");
  EXPECT_EQ(p.pick_from("10.0.0.1:1026"), "S1");
}

// A dest added with weight 0 still holds one bucket (max(weight, 1)); its clients get none.
TEST(SourceHashing, WeightZeroStillHoldsOneBucket) {
  Pool p("sh");
  p.init({{"S1", "10.0.0.11:80", 0}, {"S2", "10.0.0.12:80", 1}});
  EXPECT_EQ(p.pick_from("10.0.0.0:1024"), "none");  // bucket 0 -> S1
  EXPECT_EQ(p.pick_from("10.0.0.1:1024"), "S2");    // bucket 177 -> S2
}

// A weight above 256 fills the whole table before the next dest gets a bucket.
TEST(SourceHashing, HugeWeightTakesEveryBucket) {
  Pool p("sh");
  p.init({{"S1", "10.0.0.11:80", 300}, {"S2", "10.0.0.12:80", 1}});
  const auto counts = bucket_counts(p);
  EXPECT_EQ(counts.at("S1"), 256);
}

// IPv6 sources hash the XOR of their four words: 2001:db8::1 -> 0x20010db9 -> bucket 233 -> S3.
TEST(SourceHashing, Ipv6SourceHashesFoldedWords) {
  auto p = three();
  EXPECT_EQ(ip("2001:db8::1").hash_word(), 0x20010db9U);
  EXPECT_EQ(lvs_hash_bucket(0x20010db9U, 0, 0), 233U);
  EXPECT_EQ(p.pick_from("[2001:db8::1]:1024"), "S3");
}

// Rebuilding follows list changes: deleting S2 gives buckets S1, S3, S1, ...
TEST(SourceHashing, RebuildFollowsDelete) {
  auto p = three();
  p.remove("S2");
  EXPECT_EQ(p.pick_from("10.0.0.1:1024"), "S3");  // bucket 177: odd -> S3
  EXPECT_EQ(p.pick_from("10.0.0.2:1024"), "S1");  // bucket 98: even -> S1
}

// An empty list, and a list with nothing usable, give none (with and without fallback).
TEST(SourceHashing, EmptyOrAllUnusableIsNone) {
  Pool empty("sh");
  EXPECT_EQ(empty.pick_from("10.0.0.1:1024"), "none");
  EXPECT_EQ(empty.pick_from("10.0.0.1:1024", kShFallback), "none");
  auto p = three();
  p.set_weight("S1", 0);
  p.set_weight("S2", 0);
  p.set_overloaded("S3");
  for (std::uint32_t b = 0; b < 256; ++b) {
    const Flow f{.client = {core::IpAddress::v4((10U << 24) | b), 1024}, .dest = {}};
    EXPECT_EQ(p.pick(f, kShFallback | kShPort), "none");
  }
}

// Property: sh never picks a quiesced or overloaded dest, and with sh-fallback (<= 256 dests)
// it finds a usable dest whenever one exists.
TEST(SourceHashing, NeverPicksUnusableDest) {
  expect_hash_picks_only_usable("sh", 9, 200, kShFallback);
}

}  // namespace
}  // namespace lvs::sched::testing
