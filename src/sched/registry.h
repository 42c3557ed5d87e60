#pragma once
// The one table of schedulers: name -> factory. Adding a scheduler is one file that exports a
// factory, one line in registry.cc and one line in CMakeLists.txt.

#include <memory>
#include <span>
#include <string_view>

#include "core/result.h"
#include "sched/scheduler.h"

namespace lvs::sched {

using SchedulerFactory = std::unique_ptr<Scheduler> (*)(const SchedulerDeps& deps);

struct SchedulerInfo {
  std::string_view name;
  std::string_view description;
  SchedulerFactory make;
};

// Every scheduler, in the order ipvsadm's man page lists them.
std::span<const SchedulerInfo> schedulers();
bool scheduler_exists(std::string_view name);
// ENOENT "scheduler 'foo' does not exist; known: rr wrr ..." for an unknown name.
core::Result<std::unique_ptr<Scheduler>> make_scheduler(std::string_view name,
                                                        const SchedulerDeps& deps = {});

// Factories, one per file.
std::unique_ptr<Scheduler> make_rr(const SchedulerDeps& deps);
std::unique_ptr<Scheduler> make_wrr(const SchedulerDeps& deps);
std::unique_ptr<Scheduler> make_lc(const SchedulerDeps& deps);
std::unique_ptr<Scheduler> make_wlc(const SchedulerDeps& deps);
std::unique_ptr<Scheduler> make_sed(const SchedulerDeps& deps);
std::unique_ptr<Scheduler> make_nq(const SchedulerDeps& deps);
std::unique_ptr<Scheduler> make_fo(const SchedulerDeps& deps);
std::unique_ptr<Scheduler> make_ovf(const SchedulerDeps& deps);
std::unique_ptr<Scheduler> make_twos(const SchedulerDeps& deps);
std::unique_ptr<Scheduler> make_sh(const SchedulerDeps& deps);
std::unique_ptr<Scheduler> make_dh(const SchedulerDeps& deps);
std::unique_ptr<Scheduler> make_mh(const SchedulerDeps& deps);
std::unique_ptr<Scheduler> make_lblc(const SchedulerDeps& deps);
std::unique_ptr<Scheduler> make_lblcr(const SchedulerDeps& deps);

}  // namespace lvs::sched
