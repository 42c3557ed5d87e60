#include "daemon/supervisor.h"

#include <fmt/format.h>

#include "core/log.h"
#include "daemon/config_file.h"

namespace lvs::daemon {

core::Result<config::Config> read_config_file(const std::string& path) {
  return load_config_file(path, system_load_options());
}

Supervisor::Supervisor(ctl::Director& director, std::string path, HealthRunnerOptions options)
    : director_(director), path_(std::move(path)), options_(options) {
  options_.board = &board_;
}

Supervisor::~Supervisor() { stop(false); }

core::Result<void> Supervisor::run(const config::Config& cfg, const config::Config* old,
                                   const ctl::AliveMap& alive) {
  config::Config eff = cfg;
  for (auto& h : eff.health) {
    const config::ServiceHealth* before = nullptr;
    if (old != nullptr) {
      for (const auto& o : old->health) {
        if (o.key == h.key) before = &o;
      }
    }
    h = ctl::carry_health(h, before, alive);
  }
  auto runner = HealthRunner::create(
      eff, [this](const std::vector<health::Action>& a) { director_.apply_health(a); }, options_);
  if (!runner) return core::Unexpected{runner.error()};
  if (auto r = director_.load(eff, (*runner)->start_actions()); !r) return r;
  runner_ = std::move(runner).value();
  runner_->start();
  return {};
}

core::Result<void> Supervisor::start(const config::Config& cfg) {
  const std::lock_guard lock(mu_);
  for (const auto& w : cfg.warnings) core::log().warn("{}", w.to_string());
  if (auto r = run(cfg, nullptr, {}); !r) return r;
  current_ = cfg;
  const std::lock_guard stats_lock(stats_mu_);
  stats_.loaded_at = std::chrono::system_clock::now();
  api_token_ = current_.global.api_token;
  return {};
}

core::Result<std::string> Supervisor::reload() {
  const std::lock_guard lock(mu_);
  auto r = reload_locked();
  const std::lock_guard stats_lock(stats_mu_);
  stats_.last_successful = r.ok();
  if (r) {
    ++stats_.success;
    stats_.loaded_at = std::chrono::system_clock::now();
    api_token_ = current_.global.api_token;
  } else {
    ++stats_.failure;
  }
  return r;
}

ReloadStats Supervisor::reload_stats() const {
  const std::lock_guard lock(stats_mu_);
  return stats_;
}

std::string Supervisor::api_token() const {
  const std::lock_guard lock(stats_mu_);
  return api_token_;
}

core::Result<std::string> Supervisor::reload_locked() {
  auto next = read_config_file(path_);
  if (!next) {
    core::log().error("reload of {} failed, the running configuration stays: {}", path_,
                      next.error().message);
    return core::Unexpected{next.error()};
  }
  if (auto r = ctl::check_served_methods(*next, director_.served_methods()); !r) {
    core::log().error("reload of {} failed, the running configuration stays: {}", path_,
                      r.error().message);
    return core::Unexpected{r.error()};
  }
  for (const auto& w : next->warnings) core::log().warn("{}", w.to_string());
  const ctl::AliveMap alive = runner_ ? runner_->stop(false) : ctl::AliveMap{};
  runner_.reset();
  const ctl::ReloadPlan plan = ctl::plan_reload(current_, *next);
  if (auto r = run(*next, &current_, alive); !r) {
    core::log().error("reload of {} failed, the running configuration stays: {}", path_,
                      r.error().message);
    if (auto back = run(current_, &current_, alive); !back) {
      core::log().error("cannot restart the health checks of the running configuration: {}",
                        back.error().message);
    }
    return core::Unexpected{r.error()};
  }
  // The HTTP listener is bound once, at start-up (lvsd.cc): a changed address needs a restart.
  if (next->global.http_listen != current_.global.http_listen) {
    const auto shown = [](const std::optional<core::Endpoint>& e) {
      return e ? e->to_string() : std::string("off");
    };
    core::log().warn(
        "reload of {}: http_listen changed from {} to {}; it takes effect when lvsd restarts",
        path_, shown(current_.global.http_listen), shown(next->global.http_listen));
  }
  if (on_reloaded_) on_reloaded_(*next);
  current_ = std::move(next).value();
  std::string text = ctl::describe(plan);
  core::log().info("reloaded {}: {}", path_, text);
  return text;
}

void Supervisor::stop(bool omega) {
  const std::lock_guard lock(mu_);
  if (runner_) runner_->stop(omega);
  runner_.reset();
}

}  // namespace lvs::daemon
