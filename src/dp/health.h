#pragma once
// Can the data plane forward? (issue 9: a broken data plane lowers keepalived's priority through
// `lvsadm --check` and withdraws the BGP announcements.) One answer per engine, each problem a
// sentence naming the engine's part (an interface, a worker) and what is wrong. The decisions
// are pure, on values and passed-in time; the engines gather the values (Engine::health reads
// each interface's XDP hook, Proxy::health the workers' heartbeats).

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"

namespace lvs::dp {

struct EngineHealth {
  std::string engine{};                 // "xdp" (the packet engine), "proxy" (user space)
  std::vector<std::string> problems{};  // empty: it forwards

  bool up() const { return problems.empty(); }
  bool operator==(const EngineHealth&) const = default;
};

// Every engine forwards (no engine at all, as lvsd --test-hooks: true).
bool forwards(const std::vector<EngineHealth>& engines);
// "xdp: <problem>; proxy: <problem>" over the engines that do not forward; "" when all do.
std::string problems_text(const std::vector<EngineHealth>& engines);

// The packet engine's hook on one interface, as the kernel reports it.
struct XdpHook {
  std::string ifname{};
  bool exists = true;        // the interface is still there (by its index)
  std::uint32_t ours = 0;    // the id of the program lvsd attached
  std::uint32_t found = 0;   // the id of the program attached now; 0: none
  std::string found_name{};  // its name, when found != ours
  bool operator==(const XdpHook&) const = default;
};
// Empty when our program is attached; else what happened, e.g.
// "d1 has no XDP program: lvsd's was detached (ip link set dev d1 xdp off?)".
std::optional<std::string> hook_problem(const XdpHook& hook);

// One proxy worker's loop: it stamps `last_turn` (its clock) after every wait, at least once a
// second when idle, so a loop that has not turned for `stall_limit` is stuck.
struct WorkerBeat {
  std::size_t worker = 0;
  bool running = false;  // its thread runs the loop
  core::TimePoint last_turn{};
  bool operator==(const WorkerBeat&) const = default;
};
inline constexpr std::chrono::seconds kWorkerStallLimit{5};
std::optional<std::string> worker_problem(const WorkerBeat& beat, core::TimePoint now,
                                          std::chrono::nanoseconds stall_limit = kWorkerStallLimit);

}  // namespace lvs::dp
