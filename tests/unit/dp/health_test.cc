// "Can the data plane forward?" decided from values (dp/health.h): an XDP hook as the kernel
// reports it, a proxy worker's heartbeat on passed-in time, and the answers of several engines.
#include "dp/health.h"

#include <gtest/gtest.h>

#include <chrono>

namespace lvs::dp {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// Our program on the hook is the only healthy state; each other names the interface and a fix.
TEST(XdpHookHealth, OnlyOurProgramOnTheHookForwards) {
  const XdpHook ours{.ifname = "d1", .exists = true, .ours = 42, .found = 42};
  EXPECT_EQ(hook_problem(ours), std::nullopt);
  XdpHook none = ours;
  none.found = 0;
  EXPECT_EQ(hook_problem(none),
            "d1 has no XDP program: lvsd's was detached (ip link set dev d1 xdp off?)");
  XdpHook other = ours;
  other.found = 7;
  other.found_name = "lvs_decap";
  EXPECT_EQ(hook_problem(other),
            "d1 runs another XDP program (lvs_decap, id 7) instead of lvsd's: detach it (ip link "
            "set dev d1 xdp off) and lvsd attaches its own again");
  XdpHook gone = ours;
  gone.exists = false;
  EXPECT_EQ(hook_problem(gone), "interface d1 is gone: restart lvsd once it is back");
}

// A worker whose loop turned within the limit is fine (an idle one turns every second); one
// stuck past it, or not running, is named.
TEST(WorkerHealth, ALoopThatStoppedTurningIsStuck) {
  const core::TimePoint t0{seconds(100)};
  const WorkerBeat beat{.worker = 1, .running = true, .last_turn = t0};
  EXPECT_EQ(worker_problem(beat, t0 + seconds(5)), std::nullopt);
  EXPECT_EQ(worker_problem(beat, t0 - milliseconds(3)), std::nullopt);  // stamped after `now`
  EXPECT_EQ(worker_problem(beat, t0 + milliseconds(7250)),
            "worker 1's loop has not turned for 7.2 s (stuck)");
  EXPECT_EQ(worker_problem(beat, t0 + seconds(2), seconds(1)),
            "worker 1's loop has not turned for 2.0 s (stuck)");
  WorkerBeat stopped = beat;
  stopped.running = false;
  EXPECT_EQ(worker_problem(stopped, t0), "worker 1 is not running");
}

// The data plane forwards when every engine does; the text names each engine's problems.
TEST(DataPlaneHealth, ForwardsOnlyWhenEveryEngineDoes) {
  EXPECT_TRUE(forwards({}));
  EXPECT_EQ(problems_text({}), "");
  const std::vector<EngineHealth> up{{.engine = "xdp"}, {.engine = "proxy"}};
  EXPECT_TRUE(forwards(up));
  EXPECT_EQ(problems_text(up), "");
  const std::vector<EngineHealth> down{
      {.engine = "xdp", .problems = {"d0 has no XDP program", "d1 is gone"}},
      {.engine = "proxy"},
      {.engine = "proxy2", .problems = {"worker 0 is not running"}}};
  EXPECT_FALSE(forwards(down));
  EXPECT_FALSE(down[0].up());
  EXPECT_TRUE(down[1].up());
  EXPECT_EQ(problems_text(down),
            "xdp: d0 has no XDP program; xdp: d1 is gone; proxy2: worker 0 is not running");
}

}  // namespace
}  // namespace lvs::dp
