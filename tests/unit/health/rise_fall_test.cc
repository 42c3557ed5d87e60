#include "health/rise_fall.h"

#include <gtest/gtest.h>

namespace lvs::health {
namespace {

constexpr Outcome kOk = Outcome::kSuccess;
constexpr Outcome kFail = Outcome::kFailure;

RiseFall::Step step(std::optional<bool> changed, bool retry) {
  return RiseFall::Step{.changed = changed, .retry = retry};
}

// keepalived: the first failure after start-up takes the checker down, no retries.
TEST(RiseFall, FirstFailureAtStartUpGoesDownWithoutRetry) {
  RiseFall rf(keepalived_counts(2), true);
  EXPECT_EQ(rf.record(kFail), step(false, false));
  EXPECT_FALSE(rf.up());
}

// keepalived: once a probe succeeded, an up checker needs retry+1 consecutive failures.
TEST(RiseFall, UpCheckerFallsAfterRetryPlusOneFailures) {
  RiseFall rf(keepalived_counts(2), true);
  EXPECT_EQ(rf.record(kOk), RiseFall::Step{});
  EXPECT_EQ(rf.record(kFail), step(std::nullopt, true));
  EXPECT_EQ(rf.record(kFail), step(std::nullopt, true));
  EXPECT_EQ(rf.record(kFail), step(false, false));
  // Down stays down without retries; the first success brings it back.
  EXPECT_EQ(rf.record(kFail), RiseFall::Step{});
  EXPECT_EQ(rf.record(kOk), step(true, false));
}

// A success inside a failure streak resets it.
TEST(RiseFall, SuccessResetsTheFailureStreak) {
  RiseFall rf(keepalived_counts(1), true);
  (void)rf.record(kOk);
  EXPECT_TRUE(rf.record(kFail).retry);
  (void)rf.record(kOk);
  EXPECT_TRUE(rf.record(kFail).retry);
  EXPECT_EQ(rf.record(kFail).changed, std::optional<bool>(false));
}

// alpha: starts down, first success brings it up.
TEST(RiseFall, AlphaStartsDown) {
  RiseFall rf(keepalived_counts(1), false);
  EXPECT_FALSE(rf.up());
  EXPECT_EQ(rf.record(kFail), RiseFall::Step{});
  EXPECT_EQ(rf.record(kOk).changed, std::optional<bool>(true));
}

// HAProxy-style: rise 2 fall 3, no start-up shortcut.
TEST(RiseFall, HaproxyCountsHoldAFlappingServerDown) {
  RiseFall rf(haproxy_counts(2, 3), true);
  EXPECT_TRUE(rf.record(kFail).retry);
  EXPECT_TRUE(rf.record(kFail).retry);
  EXPECT_EQ(rf.record(kFail).changed, std::optional<bool>(false));
  // Flapping: success, failure, success never reaches rise 2.
  EXPECT_EQ(rf.record(kOk), RiseFall::Step{});
  EXPECT_EQ(rf.record(kFail), RiseFall::Step{});
  EXPECT_EQ(rf.record(kOk), RiseFall::Step{});
  EXPECT_FALSE(rf.up());
  EXPECT_EQ(rf.record(kOk).changed, std::optional<bool>(true));
}

}  // namespace
}  // namespace lvs::health
