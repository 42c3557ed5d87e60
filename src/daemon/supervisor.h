#pragma once
// Supervisor: lvsd's configuration life cycle around the ctl::Director. It loads the -f file
// (through one function, read_config_file), starts the health thread for it, and on reload (SIGHUP,
// `lvsadm --reload`) re-reads the file: on any error the old configuration keeps running and the
// error (FILE:LINE:COL ...) is returned; on success the health thread is restarted with the
// realservers' states carried over (ctl::carry_health) and the ctl::Director applies the new table,
// which changes only what differs (the data plane keeps unchanged services and realservers and
// their connections). Reloads are serialized; any thread may call them.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "config/config.h"
#include "core/result.h"
#include "ctl/config_apply.h"
#include "ctl/director.h"
#include "daemon/health_runner.h"

namespace lvs::daemon {

// The one place lvsd reads a configuration file: daemon::load_config_file with the machine's
// lookups (keepalived-style, the article's lvs.conf or an ipvsadm -S rules file, detected).
core::Result<config::Config> read_config_file(const std::string& path);

// Reload outcomes, for /metrics. `loaded_at`: when the running configuration was loaded
// (start-up or the last successful reload), wall-clock time.
struct ReloadStats {
  std::uint64_t success = 0;
  std::uint64_t failure = 0;
  bool last_successful = true;
  std::chrono::system_clock::time_point loaded_at{};

  bool operator==(const ReloadStats&) const = default;
};

class Supervisor {
 public:
  Supervisor(ctl::Director& director, std::string path, HealthRunnerOptions options = {});
  ~Supervisor();
  Supervisor(const Supervisor&) = delete;
  Supervisor& operator=(const Supervisor&) = delete;

  // Starts `cfg` (already loaded from the path): health thread + table.
  core::Result<void> start(const config::Config& cfg);
  // Re-reads the file; returns what changed ("1 added (...), 0 removed, ...").
  core::Result<std::string> reload();
  // Stops the health thread; with `omega`, runs the omega shutdown notifiers first.
  void stop(bool omega);
  // Any thread; never waits for a reload in progress.
  ReloadStats reload_stats() const;
  // Every configured realserver's health (any thread; never waits for a reload).
  ctl::HealthMap health() const { return board_.read(); }
  // Called after each successful reload with the new configuration (the reloading thread,
  // under the reload lock). Set before start().
  void on_reloaded(std::function<void(const config::Config&)> f) { on_reloaded_ = std::move(f); }
  // The running configuration's global_defs api_token (any thread; empty: none).
  std::string api_token() const;

 private:
  core::Result<std::string> reload_locked();
  core::Result<void> run(const config::Config& cfg, const config::Config* old,
                         const ctl::AliveMap& alive);

  ctl::Director& director_;
  std::string path_;
  HealthRunnerOptions options_;
  std::mutex mu_;
  config::Config current_{};
  std::unique_ptr<HealthRunner> runner_{};
  HealthBoard board_{};
  mutable std::mutex stats_mu_;
  ReloadStats stats_{};
  std::function<void(const config::Config&)> on_reloaded_{};
  std::string api_token_{};  // under stats_mu_
};

}  // namespace lvs::daemon
