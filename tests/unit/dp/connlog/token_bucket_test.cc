// The rate limiter of the connection log: a token bucket on given times.

#include "dp/connlog/token_bucket.h"

#include <gtest/gtest.h>

#include "dp/connlog/conn_log.h"

namespace lvs::dp::connlog {
namespace {

using std::chrono::milliseconds;

int take_all(TokenBucket& b, core::TimePoint now, int tries) {
  int n = 0;
  for (int i = 0; i < tries; ++i) n += b.take(now) ? 1 : 0;
  return n;
}

// A full bucket gives one second's worth at once, then nothing until time passes.
TEST(TokenBucket, BurstIsOneSecondOfRate) {
  TokenBucket b(1000);
  const core::TimePoint t0{std::chrono::seconds(50)};
  EXPECT_EQ(take_all(b, t0, 5000), 1000);
  EXPECT_FALSE(b.take(t0));
}

// Tokens come back at the rate: 10 ms of a 1000/s bucket is 10 lines.
TEST(TokenBucket, RefillsAtTheRate) {
  TokenBucket b(1000);
  const core::TimePoint t0{std::chrono::seconds(50)};
  take_all(b, t0, 1000);
  EXPECT_EQ(take_all(b, t0 + milliseconds(10), 100), 10);
  EXPECT_EQ(take_all(b, t0 + milliseconds(10) + std::chrono::microseconds(999), 100), 0);
  EXPECT_EQ(take_all(b, t0 + milliseconds(11), 100), 1);
}

// A long idle time refills to the burst, never beyond.
TEST(TokenBucket, NeverHoldsMoreThanTheBurst) {
  TokenBucket b(3);
  const core::TimePoint t0{std::chrono::seconds(50)};
  EXPECT_EQ(take_all(b, t0, 10), 3);
  EXPECT_EQ(take_all(b, t0 + std::chrono::hours(1), 10), 3);
}

// Over a flood of 10 s at 1 line per millisecond tried 10 times, the bucket passes the burst
// plus rate x time: 1000 + 10 x 100.
TEST(TokenBucket, LongRunRateIsExact) {
  TokenBucket b(100);
  const core::TimePoint t0{std::chrono::seconds(50)};
  int passed = 0;
  for (int ms = 0; ms <= 10000; ++ms) passed += take_all(b, t0 + milliseconds(ms), 10);
  EXPECT_EQ(passed, 100 + 10 * 100);
}

// Time going back is taken as no time passing.
TEST(TokenBucket, ClockGoingBackGivesNothing) {
  TokenBucket b(10);
  const core::TimePoint t0{std::chrono::seconds(50)};
  take_all(b, t0, 10);
  EXPECT_FALSE(b.take(t0 - std::chrono::seconds(5)));
  EXPECT_FALSE(b.take(t0));
}

// Rates from flags and the configuration: 1..1000000, named in the error.
TEST(ConnLogRate, ParsesAndRefusesPrecisely) {
  EXPECT_EQ(parse_rate("1000").value(), 1000U);
  EXPECT_EQ(parse_rate("1").value(), 1U);
  EXPECT_EQ(parse_rate("0").error().message,
            "conn_log_rate 0 is not a number of lines per second in 1..1000000");
  EXPECT_FALSE(parse_rate("1000001").ok());
  EXPECT_FALSE(parse_rate("12x").ok());
  EXPECT_FALSE(parse_rate("").ok());
  EXPECT_FALSE(parse_rate("-5").ok());
}

// Syslog facilities: daemon or local0..local7, anything else named in the error.
TEST(ConnLogFacility, DaemonAndLocalOnly) {
  EXPECT_EQ(parse_facility("daemon").value(), Facility::kDaemon);
  EXPECT_EQ(parse_facility("local0").value(), Facility::kLocal0);
  EXPECT_EQ(parse_facility("local7").value(), Facility::kLocal7);
  EXPECT_EQ(parse_facility("local8").error().message,
            "conn_log_facility local8 is not a syslog facility lvsd logs to: daemon or "
            "local0..local7");
  EXPECT_FALSE(parse_facility("kern").ok());
  EXPECT_FALSE(parse_facility("").ok());
}

}  // namespace
}  // namespace lvs::dp::connlog
