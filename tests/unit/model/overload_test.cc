// The overload flag rules of spec §1.2.
#include "model/overload.h"

#include <gtest/gtest.h>

namespace lvs::model {
namespace {

// u=4, l=0: set when the 4th connection binds; cleared only when total drops to <= 2.
TEST(Overload, UpperOnlySetsAtUAndClearsBelowThreeQuarters) {
  EXPECT_FALSE(overload_after_bind(false, 3, 4));
  EXPECT_TRUE(overload_after_bind(false, 4, 4));
  EXPECT_TRUE(overload_after_unbind(true, 3, 4, 0));
  EXPECT_FALSE(overload_after_unbind(true, 2, 4, 0));
}

// u=10, l=0: cleared at total <= 7.
TEST(Overload, UpperTenClearsAtSeven) {
  EXPECT_TRUE(overload_after_unbind(true, 8, 10, 0));
  EXPECT_FALSE(overload_after_unbind(true, 7, 10, 0));
}

// u=4, l=2: cleared at total <= 1.
TEST(Overload, LowerThresholdDecidesClearing) {
  EXPECT_TRUE(overload_after_unbind(true, 2, 4, 2));
  EXPECT_FALSE(overload_after_unbind(true, 1, 4, 2));
}

TEST(Overload, NoThresholdsNeverSetsAndAlwaysClears) {
  EXPECT_FALSE(overload_after_bind(false, 1000000, 0));
  EXPECT_FALSE(overload_after_unbind(true, 1000000, 0, 0));
}

// Editing: a new u of 0 or one larger than the old clears; a smaller one keeps the flag.
TEST(Overload, EditRaisingOrUnsettingUClears) {
  EXPECT_FALSE(overload_after_edit(true, 2, 3));
  EXPECT_FALSE(overload_after_edit(true, 2, 0));
  EXPECT_TRUE(overload_after_edit(true, 5, 3));
  EXPECT_FALSE(overload_after_edit(false, 5, 3));
}

}  // namespace
}  // namespace lvs::model
