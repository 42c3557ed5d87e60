#pragma once
// The live view of `lvsadm --drain --wait` on a terminal: one status line redrawn in place
// ('\r' + the text + clear-to-end-of-line), showing the connections left, a bar of the fraction
// drained since the first poll, and the seconds elapsed and left. Pure: lvsadm polls and
// decides when to draw (on a TTY only; elsewhere it prints one line per change).

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

namespace lvs::ctl {

struct DrainProgress {
  std::string dest{};        // "198.51.100.11:80"
  std::uint64_t active = 0;  // connections left now
  std::uint64_t inactive = 0;
  std::uint64_t initial = 0;  // active + inactive at the first poll
  std::chrono::seconds elapsed{};
  std::chrono::seconds remaining{};  // until --wait gives up

  bool operator==(const DrainProgress&) const = default;
};

inline constexpr std::size_t kProgressBarWidth = 20;

// "\r198.51.100.11:80: 3 left (2 active, 1 inactive) [########------------] 40% drained,
// 4 s elapsed, 26 s left\x1b[K" (one line, no newline). More connections than at the start
// count as 0 % drained.
std::string progress_line(const DrainProgress& p);

// The line that ends the view: "\r<text>\x1b[K\n", so the terminal keeps `text` (the same text
// the line-per-change output ends with).
std::string progress_end(const std::string& text);

}  // namespace lvs::ctl
