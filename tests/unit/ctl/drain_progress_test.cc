// lvsadm --drain's live view on a terminal: one line redrawn in place, with the connections
// left, a bar and percentage of what drained since the first poll, elapsed and remaining time.
#include "ctl/drain_progress.h"

#include <gtest/gtest.h>

namespace lvs::ctl {
namespace {

using std::chrono::seconds;

// The line starts with a carriage return, ends with clear-to-end-of-line, and has no newline.
TEST(DrainProgress, OneLineRedrawnInPlace) {
  const auto line = progress_line(DrainProgress{.dest = "198.51.100.11:80",
                                                .active = 2,
                                                .inactive = 1,
                                                .initial = 5,
                                                .elapsed = seconds(4),
                                                .remaining = seconds(26)});
  EXPECT_EQ(line,
            "\r198.51.100.11:80: 3 left (2 active, 1 inactive) [########------------] 40% "
            "drained, 4 s elapsed, 26 s left\x1b[K");
}

// The bar fills with what drained since the start; more connections than at the start is 0 %.
TEST(DrainProgress, BarCountsWhatDrainedSinceTheStart) {
  DrainProgress p{.dest = "[2001:db8::1]:80", .active = 10, .initial = 10};
  EXPECT_NE(progress_line(p).find("[--------------------] 0% drained"), std::string::npos);
  p.active = 1;
  EXPECT_NE(progress_line(p).find("[##################--] 90% drained"), std::string::npos);
  p.active = 12;
  EXPECT_NE(progress_line(p).find("12 left (12 active, 0 inactive) [--------------------] 0%"),
            std::string::npos);
}

// The view ends with the final text kept on the terminal and a newline.
TEST(DrainProgress, EndKeepsTheFinalLine) {
  EXPECT_EQ(progress_end("198.51.100.11:80: drained"), "\r198.51.100.11:80: drained\x1b[K\n");
}

}  // namespace
}  // namespace lvs::ctl
