#pragma once
// Connections per realserver over the last minutes, for the status page's chart: a bounded ring
// of samples per (service, realserver), filled from the listing every few seconds by a Sampler
// (its own thread, never a data-plane worker) and served as GET /api/v1/history.
//
// History itself is pure and single-threaded: time is passed in (milliseconds since the Unix
// epoch, so the page can label its axis with clock times). HistoryLog adds a mutex; Sampler adds
// the thread.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "ctl/listing.h"

namespace lvs::web {

struct HistoryOptions {
  std::chrono::milliseconds interval{2000};  // how often the Sampler records
  std::size_t samples = 300;                 // per realserver: 300 x 2 s = the last 10 minutes
  std::size_t max_series = 1024;             // realservers kept; more are not recorded
};

struct HistorySample {
  std::int64_t t_ms = 0;  // when, in ms since the Unix epoch
  std::uint32_t active = 0;
  std::uint32_t inactive = 0;
  bool operator==(const HistorySample&) const = default;
};

// One realserver's samples, oldest first. `service` as the page names it: "TCP 127.0.0.1:80",
// "UDP [2001:db8::1]:53", "FWM 7" (IPv6 fwmark services: "FWM 7 IPv6").
struct HistorySeries {
  std::string service{};
  std::string real{};  // "127.0.0.2:80", "[2001:db8::2]:53"
  std::vector<HistorySample> samples{};
  bool operator==(const HistorySeries&) const = default;
};

// The service's name in the history and on the page.
std::string service_label(const model::ServiceKey& key);
// The realserver's name: ipvsadm's address form.
std::string real_label(const core::Endpoint& real);

class History {
 public:
  explicit History(HistoryOptions options = {}) : options_(options) {}

  // Appends one sample per realserver in `listing` at `t_ms`. Samples older than
  // samples x interval before `t_ms` are dropped, and with them realservers no longer listed.
  // A time that goes backwards (the wall clock was set) starts every series afresh.
  void record(std::int64_t t_ms, const ctl::ListingInput& listing);

  // Every series in (service, real) order.
  std::vector<HistorySeries> series() const;
  const HistoryOptions& options() const { return options_; }

 private:
  using Key = std::pair<std::string, std::string>;
  HistoryOptions options_;
  std::map<Key, std::deque<HistorySample>> series_{};
  std::int64_t last_t_ms_ = 0;
};

// GET /api/v1/history:
//   {"interval_ms": 2000, "samples": 300,
//    "series": [{"service": "TCP 127.0.0.1:80", "real": "127.0.0.2:80",
//                "t": [ms, ...], "active": [n, ...], "inactive": [n, ...]}]}
std::string history_json(const std::vector<HistorySeries>& series, const HistoryOptions& options);

// History behind a mutex: the Sampler records, HTTP threads read.
class HistoryLog {
 public:
  explicit HistoryLog(HistoryOptions options = {}) : history_(options) {}
  void record(std::int64_t t_ms, const ctl::ListingInput& listing);
  std::string json() const;

 private:
  mutable std::mutex mu_;
  History history_;
};

// Records `listing()` into `log` at once and then every interval, on its own thread, until
// stop() or destruction. `now_ms` gives the wall-clock time in ms (tests pass their own).
class Sampler {
 public:
  Sampler(HistoryLog& log, std::function<ctl::ListingInput()> listing,
          std::chrono::milliseconds interval, std::function<std::int64_t()> now_ms);
  ~Sampler();
  Sampler(const Sampler&) = delete;
  Sampler& operator=(const Sampler&) = delete;

  void stop();  // idempotent; returns after the thread has finished

 private:
  void run();

  HistoryLog& log_;
  std::function<ctl::ListingInput()> listing_;
  std::chrono::milliseconds interval_;
  std::function<std::int64_t()> now_ms_;
  std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

// Milliseconds since the Unix epoch from the system clock (the Sampler's default time source).
std::int64_t unix_now_ms();

}  // namespace lvs::web
