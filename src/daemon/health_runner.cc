#include "daemon/health_runner.h"

#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "core/fd.h"
#include "core/log.h"
#include "health/registry.h"
#include "health/script.h"

namespace lvs::daemon {

namespace {

constexpr std::chrono::milliseconds kPoll{1000};  // a bound only: stop() wakes the loop

bool is_table_action(const health::Action& a) {
  return a.kind == health::ActionKind::kAddDest || a.kind == health::ActionKind::kEditDest ||
         a.kind == health::ActionKind::kDeleteDest;
}

}  // namespace

HealthRunner::HealthRunner(Apply apply, HealthRunnerOptions options)
    : apply_(std::move(apply)), options_(options) {}

HealthRunner::~HealthRunner() { stop(false); }

core::Result<std::unique_ptr<HealthRunner>> HealthRunner::create(const config::Config& cfg,
                                                                 Apply apply,
                                                                 HealthRunnerOptions options) {
  std::unique_ptr<HealthRunner> h(new HealthRunner(std::move(apply), options));
  auto loop = health::EventLoop::create();
  if (!loop) return core::Unexpected{loop.error()};
  h->loop_ = std::move(loop).value();
  h->wake_.reset(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  if (!h->wake_.valid()) return core::fail(errno, "health thread: eventfd failed");
  const int wake = h->wake_.get();
  if (auto r = h->loop_->watch(wake, EPOLLIN,
                               [wake](std::uint32_t) {
                                 std::uint64_t n = 0;
                                 if (::read(wake, &n, sizeof(n)) < 0) {
                                   // EAGAIN: already drained.
                                 }
                               });
      !r) {
    return core::Unexpected{r.error()};
  }
  h->fifo_path_ = cfg.global.notify_fifo;
  h->health_ = cfg.health;
  HealthRunner* self = h.get();
  h->monitor_ = std::make_unique<health::Monitor>(
      h->loop_->clock(), h->rng_,
      health::checker_factory(health::CheckerContext{.loop = h->loop_.get(), .rng = &h->rng_}),
      options.monitor);
  const auto effects_of = [self](const model::ServiceKey& key) -> health::Effects* {
    for (auto& [k, e] : self->effects_) {
      if (k == key) return e.get();
    }
    return nullptr;
  };
  h->monitor_->set_on_change(
      [self, effects_of](const health::RealId& id, bool up, const std::string& reason) {
        core::log().info("health: {} of VS {} is {}: {}", health::render_real(id.service, id.real),
                         health::render_service(id.service), up ? "UP" : "DOWN", reason);
        if (self->options_.board != nullptr) {
          self->options_.board->changed(ctl::DestKey{id.service, id.real}, up);
        }
        if (auto* e = effects_of(id.service); e != nullptr) {
          self->dispatch(e->set_alive(id.real, up, reason));
        }
      });
  h->monitor_->set_on_probe([self](const health::RealId& id, const health::ProbeResult& r) {
    if (self->options_.board != nullptr) {
      self->options_.board->probed(ctl::DestKey{id.service, id.real}, r.ok(), r.latency);
    }
  });
  h->monitor_->set_on_weight([self, effects_of](const health::RealId& id, std::int32_t weight) {
    core::log().info("health: {} of VS {} asks for weight {}",
                     health::render_real(id.service, id.real), health::render_service(id.service),
                     weight);
    if (auto* e = effects_of(id.service); e != nullptr)
      self->dispatch(e->set_weight(id.real, weight));
  });
  for (const auto& sh : cfg.health) {
    const model::VirtualService* svc = cfg.table.find(sh.key);
    std::vector<model::RealServer> dests =
        svc != nullptr ? svc->dests : std::vector<model::RealServer>{};
    auto e = std::make_unique<health::Effects>(sh, std::move(dests), !h->fifo_path_.empty());
    auto acts = e->start();
    h->start_actions_.insert(h->start_actions_.end(), acts.begin(), acts.end());
    h->effects_.emplace_back(sh.key, std::move(e));
    if (auto r = h->monitor_->add_service(sh); !r) {
      return core::fail(r.error().code,
                        fmt::format("{}: health checks of {}: {}", sh.where.to_string(),
                                    sh.key.to_string(), r.error().message));
    }
  }
  h->driver_ = std::make_unique<health::MonitorDriver>(*h->loop_, *h->monitor_);
  h->driver_->arm();
  if (options.board != nullptr) options.board->reset(h->snapshot());
  return h;
}

void HealthBoard::reset(const ctl::AliveMap& now) {
  const std::lock_guard lock(mu_);
  ctl::HealthMap next;
  for (const auto& [key, up] : now) {
    const auto old = map_.find(key);
    ctl::HealthState state = old != map_.end() ? old->second : ctl::HealthState{};
    state.up = up;
    next[key] = state;
  }
  map_ = std::move(next);
}

void HealthBoard::changed(const ctl::DestKey& real, bool up) {
  const std::lock_guard lock(mu_);
  auto& s = map_[real];
  if (s.up != up) ++s.transitions;
  s.up = up;
}

void HealthBoard::probed(const ctl::DestKey& real, bool ok, core::Duration duration) {
  const double seconds = std::chrono::duration<double>(duration).count();
  const std::lock_guard lock(mu_);
  auto& s = map_[real];
  const auto& le = ctl::kCheckDurationBuckets;
  const auto* bucket = std::lower_bound(le.begin(), le.end(), seconds);
  if (bucket != le.end()) ++s.check_buckets.at(static_cast<std::size_t>(bucket - le.begin()));
  ++s.checks;
  s.check_seconds += seconds;
  s.last_check_ok = ok;
}

ctl::HealthMap HealthBoard::read() const {
  const std::lock_guard lock(mu_);
  return map_;
}

void HealthRunner::start() {
  start_actions_.clear();
  thread_ = std::thread([this] { run(); });
}

ctl::AliveMap HealthRunner::stop(bool shutdown) {
  if (!thread_.joinable()) return final_;
  stop_.store(shutdown ? 2 : 1);
  const std::uint64_t one = 1;
  if (::write(wake_.get(), &one, sizeof(one)) < 0) {
    // The counter is full: the loop is awake anyway.
  }
  thread_.join();
  return final_;
}

ctl::AliveMap HealthRunner::snapshot() const {
  ctl::AliveMap out;
  for (const auto& sh : health_) {
    for (const auto& rs : sh.reals) {
      out[ctl::DestKey{sh.key, rs.addr}] =
          rs.checkers.empty() ||
          monitor_->alive(health::RealId{.service = sh.key, .real = rs.addr});
    }
  }
  return out;
}

void HealthRunner::run() {
  while (stop_.load() == 0) loop_->run_once(kPoll);
  final_ = snapshot();
  // No more probes: late completions of those in flight are dropped by the Monitor.
  driver_.reset();
  monitor_.reset();
  if (stop_.load() == 2) {
    for (auto& [key, e] : effects_) dispatch(e->shutdown());
    const auto limit = options_.script_timeout + std::chrono::seconds(1);
    loop_->run_until([this] { return scripts_running_ == 0; }, limit);
  }
  loop_->unwatch(wake_.get());
  loop_.reset();
}

void HealthRunner::dispatch(const std::vector<health::Action>& actions) {
  std::vector<health::Action> table;
  for (const auto& a : actions) {
    if (is_table_action(a)) {
      core::log().debug("health: {} ({})", a.text, a.reason);
      table.push_back(a);
    }
  }
  if (!table.empty()) apply_(table);
  for (const auto& a : actions) {
    if (a.kind == health::ActionKind::kRunCommand) run_command(a);
    if (a.kind == health::ActionKind::kNotifyFifo) write_fifo(a.text);
  }
}

void HealthRunner::run_command(const health::Action& a) {
  ++scripts_running_;
  health::run_script(*loop_, a.text, options_.script_timeout, health::ExitCodes::kZeroIsSuccess,
                     [this, cmd = a.text](const health::ProbeResult& r) {
                       --scripts_running_;
                       if (!r.ok()) core::log().warn("health: '{}' failed: {}", cmd, r.reason);
                     });
}

// Non-blocking: with no reader (ENXIO) or a full FIFO (EAGAIN) the line is dropped and logged.
void HealthRunner::write_fifo(const std::string& line) {
  if (fifo_path_.empty()) return;
  core::Fd fd(::open(fifo_path_.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC));
  const std::string text = line + "\n";
  if (!fd.valid() ||
      ::write(fd.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size())) {
    core::log().warn("health: notify_fifo {}: cannot write '{}': {}", fifo_path_, line,
                     std::strerror(errno));
  }
}

}  // namespace lvs::daemon
