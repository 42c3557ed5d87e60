#include "web/history.h"

#include <nlohmann/json.hpp>

namespace lvs::web {

std::string service_label(const model::ServiceKey& key) { return key.to_string(); }

std::string real_label(const core::Endpoint& real) { return real.to_string(); }

void History::record(std::int64_t t_ms, const ctl::ListingInput& listing) {
  if (t_ms < last_t_ms_) series_.clear();  // the wall clock went back: old times would mislead
  last_t_ms_ = t_ms;
  // The window: samples x interval, so a steady sampler keeps `samples` per realserver.
  const auto window = static_cast<std::int64_t>(options_.samples) * options_.interval.count();
  for (const auto& svc : listing.services) {
    const std::string service = service_label(svc.service.key);
    for (const auto& d : svc.dests) {
      Key key{service, real_label(d.dest.addr)};
      auto it = series_.find(key);
      if (it == series_.end()) {
        if (series_.size() >= options_.max_series) continue;
        it = series_.emplace(std::move(key), std::deque<HistorySample>{}).first;
      }
      it->second.push_back(HistorySample{.t_ms = t_ms, .active = d.active, .inactive = d.inactive});
    }
  }
  for (auto it = series_.begin(); it != series_.end();) {
    auto& samples = it->second;
    while (!samples.empty() &&
           (samples.size() > options_.samples || samples.front().t_ms <= t_ms - window)) {
      samples.pop_front();
    }
    it = samples.empty() ? series_.erase(it) : std::next(it);
  }
}

std::vector<HistorySeries> History::series() const {
  std::vector<HistorySeries> out;
  out.reserve(series_.size());
  for (const auto& [key, samples] : series_) {
    out.push_back(HistorySeries{
        .service = key.first, .real = key.second, .samples = {samples.begin(), samples.end()}});
  }
  return out;
}

std::string history_json(const std::vector<HistorySeries>& series, const HistoryOptions& options) {
  using Json = nlohmann::ordered_json;
  Json list = Json::array();
  for (const auto& s : series) {
    Json t = Json::array();
    Json active = Json::array();
    Json inactive = Json::array();
    for (const auto& x : s.samples) {
      t.push_back(x.t_ms);
      active.push_back(x.active);
      inactive.push_back(x.inactive);
    }
    list.push_back(Json{{"service", s.service},
                        {"real", s.real},
                        {"t", std::move(t)},
                        {"active", std::move(active)},
                        {"inactive", std::move(inactive)}});
  }
  const Json out{{"interval_ms", options.interval.count()},
                 {"samples", options.samples},
                 {"series", std::move(list)}};
  return out.dump() + "\n";
}

void HistoryLog::record(std::int64_t t_ms, const ctl::ListingInput& listing) {
  const std::lock_guard lock(mu_);
  history_.record(t_ms, listing);
}

std::string HistoryLog::json() const {
  std::vector<HistorySeries> copy;
  {
    const std::lock_guard lock(mu_);
    copy = history_.series();
  }
  return history_json(copy, history_.options());
}

Sampler::Sampler(HistoryLog& log, std::function<ctl::ListingInput()> listing,
                 std::chrono::milliseconds interval, std::function<std::int64_t()> now_ms)
    : log_(log),
      listing_(std::move(listing)),
      interval_(interval),
      now_ms_(std::move(now_ms)),
      thread_([this] { run(); }) {}

Sampler::~Sampler() { stop(); }

void Sampler::stop() {
  {
    const std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Sampler::run() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    lock.unlock();
    // Outside our lock: listing() takes the Director's mutex.
    log_.record(now_ms_(), listing_());
    lock.lock();
    wake_.wait_for(lock, interval_, [this] { return stopping_; });
  }
}

std::int64_t unix_now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace lvs::web
