// The relay memory budget as plain arithmetic: reservations fit or are refused, leases give
// their bytes back exactly once, and the per-connection worst case follows the options.
#include "dp/proxy/admission.h"

#include <gtest/gtest.h>

#include <utility>

namespace lvs::dp::proxy {
namespace {

TEST(RelayBudget, ReservesUpToTheLimitAndNoFurther) {
  RelayBudget b(300);
  EXPECT_TRUE(b.try_reserve(100));
  EXPECT_TRUE(b.try_reserve(200));
  EXPECT_FALSE(b.try_reserve(1));
  b.release(100);
  EXPECT_TRUE(b.try_reserve(100));
  EXPECT_FALSE(b.try_reserve(301));
  EXPECT_EQ(b.held(), 300U);
}

TEST(RelayBudget, ZeroMeansUnlimited) {
  RelayBudget b(0);
  EXPECT_TRUE(b.try_reserve(std::uint64_t{1} << 40U));
  EXPECT_TRUE(b.try_reserve(std::uint64_t{1} << 40U));
}

// A lease returns its bytes when destroyed, once, also after being moved.
TEST(BudgetLease, GivesBytesBackOnce) {
  RelayBudget b(100);
  {
    auto a = BudgetLease::take(&b, 60);
    ASSERT_TRUE(a.ok());
    EXPECT_FALSE(BudgetLease::take(&b, 60).ok());
    BudgetLease moved = std::move(a);
    EXPECT_EQ(b.held(), 60U);
    BudgetLease other = BudgetLease::take(&b, 40);
    other = std::move(moved);  // releases other's 40
    EXPECT_EQ(b.held(), 60U);
  }
  EXPECT_EQ(b.held(), 0U);
  EXPECT_TRUE(BudgetLease::take(nullptr, 1).ok());  // no budget configured
}

TEST(RelayBudget, PerConnectionWorstCase) {
  EXPECT_EQ(relay_bytes_per_connection({.pipe_size = 1 << 20, .splice = true}), 2U << 20U);
  EXPECT_EQ(relay_bytes_per_connection({.pipe_size = 1 << 20, .splice = false}), 2U * 65536);
  EXPECT_EQ(relay_bytes_per_connection({.pipe_size = 4096, .splice = false}), 8192U);
}

}  // namespace
}  // namespace lvs::dp::proxy
