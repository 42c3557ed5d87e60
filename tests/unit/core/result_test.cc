// Result<T>: values in, values out; errors carry a code and a message.
#include "core/result.h"

#include <gtest/gtest.h>

#include "core/clock.h"
#include "core/log.h"
#include "core/rng.h"

namespace lvs::core {
namespace {

Result<int> half(int x) {
  if (x % 2 != 0) return fail(EINVAL, "odd");
  return x / 2;
}

TEST(Result, HoldsValueOrError) {
  auto ok = half(4);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(*ok, 2);
  auto bad = half(3);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error(), (Error{EINVAL, "odd"}));
}

TEST(Result, VoidResult) {
  Result<void> ok;
  EXPECT_TRUE(ok.ok());
  Result<void> bad = fail(ERANGE, "too big");
  EXPECT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, ERANGE);
}

TEST(FakeClock, MovesOnlyWhenAdvanced) {
  FakeClock c;
  const auto t0 = c.now();
  EXPECT_EQ(c.now(), t0);
  c.advance(std::chrono::seconds(61));
  EXPECT_EQ(c.now() - t0, std::chrono::seconds(61));
}

TEST(SequenceRng, ReplaysScriptThenRepeatsLast) {
  SequenceRng r({0, 2});
  EXPECT_EQ(r.next_u32(), 0U);
  EXPECT_EQ(r.next_u32(), 2U);
  EXPECT_EQ(r.next_u32(), 2U);
}

TEST(LogLevel, ParsesKnownNamesAndNamesTheBadOne) {
  EXPECT_EQ(*parse_log_level("warn"), LogLevel::kWarn);
  auto bad = parse_log_level("loud");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("'loud'"), std::string::npos);
}

}  // namespace
}  // namespace lvs::core
