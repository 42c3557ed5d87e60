// Cost of one pick for the hash schedulers (sh, dh, mh) over 10 dests: the data path calls
// pick() once per new flow, so it must be a hash and a table read, tens of nanoseconds.
#include <benchmark/benchmark.h>

#include <deque>
#include <string>
#include <vector>

#include "sched/registry.h"

namespace {

using lvs::sched::Dest;
using lvs::sched::Flow;
using lvs::sched::PickInput;

void bm_pick(benchmark::State& state, const char* scheduler) {
  std::deque<lvs::model::DestLoad> loads(10);
  std::vector<Dest> dests;
  dests.reserve(loads.size());
  for (std::uint32_t i = 0; i < loads.size(); ++i) {
    dests.push_back(Dest{.addr = {lvs::core::IpAddress::v4((10U << 24) | (i + 11)), 80},
                         .weight = 1,
                         .last_weight = 1,
                         .load = &loads[i]});
  }
  auto s = lvs::sched::make_scheduler(scheduler);
  if (!s.ok() || !(*s)->rebuild(dests, {}).ok()) {
    state.SkipWithError("no scheduler");
    return;
  }
  std::uint32_t client = 0xC0A80000U;
  for (auto _ : state) {
    const Flow flow{.client = {lvs::core::IpAddress::v4(++client), 1024},
                    .dest = {lvs::core::IpAddress::v4(client), 80}};
    benchmark::DoNotOptimize(
        (*s)->pick(PickInput{.dests = dests, .flow = flow, .flags = 0, .now = {}}));
  }
}

BENCHMARK_CAPTURE(bm_pick, sh, "sh");
BENCHMARK_CAPTURE(bm_pick, dh, "dh");
BENCHMARK_CAPTURE(bm_pick, mh, "mh");

}  // namespace

BENCHMARK_MAIN();
