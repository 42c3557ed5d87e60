#pragma once
// HealthRunner: lvsd's health thread. It owns an EventLoop, a Monitor (checkers from the
// registry) and one health::Effects per configured service, and runs them on its own thread.
// Realserver transitions become Effects actions: table actions go to the `apply` callback (the
// ctl::Director), commands run through health's run_script with a timeout (a hung notify script is
// killed, the loop never waits for it), FIFO lines go to global_defs' notify_fifo. Each
// transition is logged once, with its reason.
//
// Lifecycle: create() builds everything from a Config and returns the start-up actions (what
// the table must hold now); the caller applies them (ctl::Director::load), then start() runs the
// thread. stop() ends it and returns every realserver's state, so a reload can carry it over
// (ctl::carry_health); with `shutdown` it first runs the omega notifiers and waits (bounded by
// the script timeout) for them.

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "config/config.h"
#include "core/fd.h"
#include "core/result.h"
#include "core/rng.h"
#include "ctl/config_apply.h"
#include "health/effects.h"
#include "health/event_loop.h"
#include "health/monitor.h"
#include "health/monitor_driver.h"

namespace lvs::daemon {

// The realservers' health as the health thread last saw it, readable from any thread (/metrics).
// Owned by the Supervisor, so transition counts survive the runner a reload replaces.
class HealthBoard {
 public:
  // A new configuration's realservers and their state now; counts of those kept are kept.
  void reset(const ctl::AliveMap& now);
  void changed(const ctl::DestKey& real, bool up);
  // A finished probe of `real` (its duration by the health loop's clock).
  void probed(const ctl::DestKey& real, bool ok, core::Duration duration);
  ctl::HealthMap read() const;

 private:
  mutable std::mutex mu_;
  ctl::HealthMap map_{};
};

struct HealthRunnerOptions {
  // notify_up/down and quorum_up/down scripts are killed after this long.
  std::chrono::milliseconds script_timeout{30'000};
  health::MonitorOptions monitor{};
  HealthBoard* board = nullptr;  // unset: nobody reads the states
};

class HealthRunner {
 public:
  using Apply = std::function<void(const std::vector<health::Action>&)>;

  // `cfg.health` as given (ctl::carry_health already applied by the caller for a reload).
  static core::Result<std::unique_ptr<HealthRunner>> create(const config::Config& cfg, Apply apply,
                                                            HealthRunnerOptions options = {});
  ~HealthRunner();
  HealthRunner(const HealthRunner&) = delete;
  HealthRunner& operator=(const HealthRunner&) = delete;

  // The Effects' start-up table actions; valid until start().
  const std::vector<health::Action>& start_actions() const { return start_actions_; }
  void start();
  // Joins the thread (idempotent). Returns whether each configured realserver was alive.
  ctl::AliveMap stop(bool shutdown);

 private:
  HealthRunner(Apply apply, HealthRunnerOptions options);
  void run();
  void dispatch(const std::vector<health::Action>& actions);
  void run_command(const health::Action& a);
  void write_fifo(const std::string& line);
  ctl::AliveMap snapshot() const;

  Apply apply_;
  HealthRunnerOptions options_;
  std::string fifo_path_{};
  core::SystemRng rng_{};
  std::unique_ptr<health::EventLoop> loop_{};
  std::unique_ptr<health::Monitor> monitor_{};
  std::unique_ptr<health::MonitorDriver> driver_{};
  std::vector<std::pair<model::ServiceKey, std::unique_ptr<health::Effects>>> effects_{};
  std::vector<config::ServiceHealth> health_{};
  std::vector<health::Action> start_actions_{};
  std::size_t scripts_running_ = 0;
  std::atomic<int> stop_{0};  // 0 run, 1 stop, 2 stop after the omega notifiers
  core::Fd wake_{};           // eventfd: stop() wakes the loop at once
  ctl::AliveMap final_{};
  std::thread thread_{};
};

}  // namespace lvs::daemon
