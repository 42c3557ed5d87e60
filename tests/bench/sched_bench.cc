// Scheduler micro-benchmarks: pick() for every scheduler in the registry at 8, 64 and 1024
// realservers, the mh table rebuild, and a baseline loop that only reads each dest's counters
// (what an lc-family scan cannot go below), reported per realserver so scans compare directly.
//
// Real figures: build/release/bin/bench_sched. CTest runs it once with a tiny min time as a
// smoke test, so setup stays cheap and nothing here depends on a scheduler being finished.

#include <benchmark/benchmark.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/endpoint.h"
#include "core/rng.h"
#include "sched/registry.h"

namespace lvs::sched {
namespace {

constexpr std::array<std::int64_t, 3> kSizes{8, 64, 1024};
constexpr std::size_t kFlows = 4096;  // a power of two: the flow index wraps with a mask

// A deterministic generator for the synthetic loads and addresses (SplitMix64 step), so runs
// are comparable with each other.
class Mix {
 public:
  explicit Mix(std::uint64_t seed) : s_(seed) {}
  std::uint32_t next(std::uint32_t bound) {
    s_ += 0x9E3779B97F4A7C15ULL;
    std::uint64_t z = s_;
    z = (z ^ (z >> 30U)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27U)) * 0x94D049BB133111EBULL;
    z ^= z >> 31U;
    return static_cast<std::uint32_t>(z % bound);
  }

 private:
  std::uint64_t s_;
};

// A service of n realservers with a plausible spread of weights (1..5, a few quiesced) and
// loads (active 0..199, inactive 0..1999, about 1 in 32 over its threshold).
class Service {
 public:
  explicit Service(std::size_t n) : loads_(std::make_unique<model::DestLoad[]>(n)) {
    Mix mix(n);
    dests_.reserve(n);
    for (std::size_t i = 0; i < n; ++i) {
      const auto host = static_cast<std::uint32_t>(0x0A000000U + 0x100U * (i / 250) + i % 250 + 1);
      const auto weight = mix.next(16) == 0 ? 0 : static_cast<std::int32_t>(1 + mix.next(5));
      loads_[i].set(mix.next(200), mix.next(2000));
      loads_[i].set_overloaded(mix.next(32) == 0);
      dests_.push_back(Dest{.addr = core::Endpoint{.addr = core::IpAddress::v4(host), .port = 80},
                            .weight = weight,
                            .last_weight = weight == 0 ? 1 : weight,
                            .load = &loads_[i]});
    }
  }

  DestList dests() const { return dests_; }

 private:
  std::unique_ptr<model::DestLoad[]> loads_;  // atomics: never moved, Dest::load points here
  std::vector<Dest> dests_;
};

// New flows from varied clients (203.0.113.0/24 and 198.51.100.0/24, ephemeral ports) to
// varied targets (1024 addresses in 192.0.2.0/22-ish space), so hash and locality schedulers
// see many keys.
const std::vector<Flow>& flows() {
  static const std::vector<Flow> all = [] {
    Mix mix(7);
    std::vector<Flow> out(kFlows);
    for (auto& f : out) {
      const std::uint32_t net = mix.next(2) == 0 ? 0xCB007100U : 0xC6336400U;
      f.client = core::Endpoint{.addr = core::IpAddress::v4(net + mix.next(256)),
                                .port = static_cast<std::uint16_t>(32768 + mix.next(28232))};
      f.dest =
          core::Endpoint{.addr = core::IpAddress::v4(0xC0000000U + mix.next(1024)), .port = 80};
    }
    return out;
  }();
  return all;
}

// One pick per iteration; virtual time advances 100 us per flow so lblc/lblcr run GC ticks.
void pick(benchmark::State& state, const SchedulerInfo& info) {
  const Service svc(static_cast<std::size_t>(state.range(0)));
  core::SystemRng rng(42);
  const auto sched = info.make(SchedulerDeps{.rng = &rng});
  if (!sched->rebuild(svc.dests(), {ChangeKind::kInit, 0}).ok()) {
    state.SkipWithError("rebuild failed");
    return;
  }
  const auto& all = flows();
  std::size_t k = 0;
  core::TimePoint now{};
  for ([[maybe_unused]] auto _ : state) {
    auto chosen =
        sched->pick(PickInput{.dests = svc.dests(), .flow = all[k], .flags = 0, .now = now});
    benchmark::DoNotOptimize(chosen);
    k = (k + 1) & (kFlows - 1);
    now += std::chrono::microseconds(100);
  }
  state.SetItemsProcessed(state.iterations());
}

// The mh lookup table (4093 slots) built from scratch for the whole list.
void mh_rebuild(benchmark::State& state) {
  const Service svc(static_cast<std::size_t>(state.range(0)));
  auto sched = make_scheduler("mh");
  if (!sched.ok()) {
    state.SkipWithError("no mh scheduler");
    return;
  }
  for ([[maybe_unused]] auto _ : state) {
    auto r = (*sched)->rebuild(svc.dests(), {ChangeKind::kInit, 0});
    benchmark::DoNotOptimize(r);
  }
}

// Baseline: a plain loop reading every dest's active/inactive counters into an overhead sum.
// "per_dest" is the time per realserver; compare pick/lc etc. divided by the list size.
void scan_baseline(benchmark::State& state) {
  const auto n = state.range(0);
  const Service svc(static_cast<std::size_t>(n));
  for ([[maybe_unused]] auto _ : state) {
    std::int64_t sum = 0;
    for (const Dest& d : svc.dests()) sum += overhead(d);
    benchmark::DoNotOptimize(sum);
  }
  state.counters["per_dest"] =
      benchmark::Counter(static_cast<double>(n), benchmark::Counter::kIsIterationInvariantRate |
                                                     benchmark::Counter::kInvert);
}

void register_all() {
  for (const SchedulerInfo& info : schedulers()) {
    auto* b = benchmark::RegisterBenchmark(("pick/" + std::string(info.name)).c_str(),
                                           [&info](benchmark::State& s) { pick(s, info); });
    for (const auto n : kSizes) b->Arg(n);
  }
  auto* mh = benchmark::RegisterBenchmark("rebuild/mh", mh_rebuild);
  auto* scan = benchmark::RegisterBenchmark("baseline/scan_counters", scan_baseline);
  for (const auto n : kSizes) {
    mh->Arg(n);
    scan->Arg(n);
  }
}

}  // namespace
}  // namespace lvs::sched

int main(int argc, char** argv) {
  lvs::sched::register_all();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
