#include "sched/registry.h"

#include <array>
#include <string>

#include <fmt/format.h>

namespace lvs::sched {

namespace {

constexpr std::array kSchedulers{
    SchedulerInfo{"rr", "Round Robin", make_rr},
    SchedulerInfo{"wrr", "Weighted Round Robin", make_wrr},
    SchedulerInfo{"lc", "Least-Connection", make_lc},
    SchedulerInfo{"wlc", "Weighted Least-Connection", make_wlc},
    SchedulerInfo{"lblc", "Locality-Based Least-Connection", make_lblc},
    SchedulerInfo{"lblcr", "Locality-Based Least-Connection with Replication", make_lblcr},
    SchedulerInfo{"dh", "Destination Hashing", make_dh},
    SchedulerInfo{"sh", "Source Hashing", make_sh},
    SchedulerInfo{"sed", "Shortest Expected Delay", make_sed},
    SchedulerInfo{"nq", "Never Queue", make_nq},
    SchedulerInfo{"fo", "Weighted Fail Over", make_fo},
    SchedulerInfo{"ovf", "Weighted Overflow", make_ovf},
    SchedulerInfo{"mh", "Maglev Hashing", make_mh},
    SchedulerInfo{"twos", "Weighted Random Twos Choice", make_twos},
};

}  // namespace

std::span<const SchedulerInfo> schedulers() { return kSchedulers; }

bool scheduler_exists(std::string_view name) {
  for (const auto& s : kSchedulers) {
    if (s.name == name) return true;
  }
  return false;
}

core::Result<std::unique_ptr<Scheduler>> make_scheduler(std::string_view name,
                                                        const SchedulerDeps& deps) {
  for (const auto& s : kSchedulers) {
    if (s.name == name) return s.make(deps);
  }
  std::string known;
  for (const auto& s : kSchedulers) {
    if (!known.empty()) known += ' ';
    known += s.name;
  }
  return core::fail(ENOENT, fmt::format("scheduler '{}' does not exist; known: {}", name, known));
}

}  // namespace lvs::sched
