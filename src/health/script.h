#pragma once
// Runs a shell command on the event loop: `/bin/sh -c command` in its own process group with
// stdio on /dev/null, its exit watched through a pidfd. Still running at `timeout`: the whole
// group gets SIGKILL and the result is a failure. Used by MISC_CHECK and for notify/quorum
// commands (spec §5.4-5.5), so a hung notifier never blocks the director.

#include <cstdint>
#include <string>

#include "health/checker.h"
#include "health/event_loop.h"

namespace lvs::health {

enum class ExitCodes : std::uint8_t {
  kZeroIsSuccess,  // exit 0 = success, anything else = failure ("exit status N")
  kMiscDynamic,    // also 2..255 = success with ProbeResult::weight = exit - 2
};

void run_script(EventLoop& loop, std::string command, core::Duration timeout, ExitCodes codes,
                ProbeDone done);

}  // namespace lvs::health
