#include "ctl/drain_progress.h"

#include <fmt/format.h>

namespace lvs::ctl {

namespace {

constexpr std::string_view kClearToEol = "\x1b[K";

}  // namespace

std::string progress_line(const DrainProgress& p) {
  const std::uint64_t left = p.active + p.inactive;
  const std::uint64_t gone = p.initial > left ? p.initial - left : 0;
  // Integer percent and bar cells: gone/initial, rounded down; none at the start means done.
  const std::uint64_t percent = p.initial == 0 ? 100 : gone * 100 / p.initial;
  const std::uint64_t cells =
      p.initial == 0 ? kProgressBarWidth : gone * kProgressBarWidth / p.initial;
  const std::string bar = std::string(cells, '#') + std::string(kProgressBarWidth - cells, '-');
  return fmt::format(
      "\r{}: {} left ({} active, {} inactive) [{}] {}% drained, {} s elapsed, {} s "
      "left{}",
      p.dest, left, p.active, p.inactive, bar, percent, p.elapsed.count(), p.remaining.count(),
      kClearToEol);
}

std::string progress_end(const std::string& text) {
  return fmt::format("\r{}{}\n", text, kClearToEol);
}

}  // namespace lvs::ctl
