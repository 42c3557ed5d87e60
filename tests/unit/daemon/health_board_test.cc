// The HealthBoard /metrics reads: probe durations land in the bucket whose bound is the first at
// or above them (above the last: only in the count), the last result is kept, and a reload's
// reset keeps the numbers of realservers still configured.
#include <gtest/gtest.h>

#include "daemon/health_runner.h"

namespace lvs::daemon {
namespace {

using std::chrono::milliseconds;

TEST(HealthBoard, ProbeDurationsFillTheHistogram) {
  const auto svc =
      model::ServiceKey::address(model::Protocol::kTcp, *core::Endpoint::parse("192.0.2.1:80"));
  const ctl::DestKey real{svc, *core::Endpoint::parse("198.51.100.11:80")};
  HealthBoard board;
  board.reset({{real, true}});
  board.probed(real, true, milliseconds(3));       // <= 0.005
  board.probed(real, true, milliseconds(5));       // <= 0.005 (bounds are inclusive)
  board.probed(real, false, milliseconds(20000));  // above 10 s: the count only
  auto s = board.read().at(real);
  EXPECT_EQ(s.check_buckets, (std::array<std::uint64_t, 9>{0, 2, 0, 0, 0, 0, 0, 0, 0}));
  EXPECT_EQ(s.checks, 3U);
  EXPECT_DOUBLE_EQ(s.check_seconds, 20.008);
  EXPECT_EQ(s.last_check_ok, false);
  board.reset({{real, false}});
  s = board.read().at(real);
  EXPECT_EQ(s.checks, 3U);
  EXPECT_FALSE(s.up);
}

}  // namespace
}  // namespace lvs::daemon
