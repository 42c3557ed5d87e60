#include "dp/health.h"

#include <fmt/format.h>

#include <algorithm>

namespace lvs::dp {

bool forwards(const std::vector<EngineHealth>& engines) {
  return std::all_of(engines.begin(), engines.end(), [](const EngineHealth& e) { return e.up(); });
}

std::string problems_text(const std::vector<EngineHealth>& engines) {
  std::string out;
  for (const EngineHealth& e : engines) {
    for (const std::string& p : e.problems) {
      out += fmt::format("{}{}: {}", out.empty() ? "" : "; ", e.engine, p);
    }
  }
  return out;
}

std::optional<std::string> hook_problem(const XdpHook& hook) {
  if (!hook.exists) {
    return fmt::format("interface {} is gone: restart lvsd once it is back", hook.ifname);
  }
  if (hook.found == hook.ours) return std::nullopt;
  if (hook.found == 0) {
    return fmt::format("{} has no XDP program: lvsd's was detached (ip link set dev {} xdp off?)",
                       hook.ifname, hook.ifname);
  }
  return fmt::format(
      "{} runs another XDP program ({}, id {}) instead of lvsd's: detach it (ip link set dev {} "
      "xdp off) and lvsd attaches its own again",
      hook.ifname, hook.found_name.empty() ? std::string("unnamed") : hook.found_name, hook.found,
      hook.ifname);
}

std::optional<std::string> worker_problem(const WorkerBeat& beat, core::TimePoint now,
                                          std::chrono::nanoseconds stall_limit) {
  if (!beat.running) return fmt::format("worker {} is not running", beat.worker);
  if (now <= beat.last_turn || now - beat.last_turn <= stall_limit) return std::nullopt;
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(now - beat.last_turn).count();
  return fmt::format("worker {}'s loop has not turned for {}.{} s (stuck)", beat.worker, ms / 1000,
                     (ms % 1000) / 100);
}

}  // namespace lvs::dp
