#pragma once
// The connection log (issue 7): one line per finished TCP connection or expired UDP flow, to a
// file or syslog, off by default, rate-limited.
//
// Threads: each data-plane worker owns one RecordQueue (add_producer(), before it starts) and
// pushes a fixed-size record when a flow ends; it never blocks, allocates or takes a lock for
// it. One logger thread (started by the first configure() that turns the log on) drains the
// queues every 100 ms, reads the clocks, formats, rate-limits (TokenBucket) and writes. Past
// the rate, lines are dropped and one `conn_log: N lines suppressed` line per second says so;
// records a full queue dropped are reported the same way. The file is opened O_APPEND, mode
// 0640, and reopened on reopen() (SIGHUP) or when the path names another inode (logrotate
// moved it); a failing write is logged (at most once per 10 s) and the line is lost.

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/fd.h"
#include "core/result.h"
#include "dp/connlog/queue.h"
#include "dp/connlog/token_bucket.h"

namespace lvs::dp::connlog {

inline constexpr std::uint32_t kDefaultRate = 1000;
inline constexpr std::size_t kQueueCapacity = 4096;  // records per worker queue

// Syslog facilities the log may use (`conn_log_facility`): daemon (default) or local0..local7.
enum class Facility : std::uint8_t {
  kDaemon,
  kLocal0,
  kLocal1,
  kLocal2,
  kLocal3,
  kLocal4,
  kLocal5,
  kLocal6,
  kLocal7
};

struct Settings {
  std::string target{};                   // "" = off, "syslog", or a file path
  std::uint32_t rate = kDefaultRate;      // lines per second (the burst is one second's worth)
  Facility facility = Facility::kDaemon;  // with target "syslog"

  bool operator==(const Settings&) const = default;
};

// Checks a rate value from a flag or the configuration: 1..1000000. The error names the value.
core::Result<std::uint32_t> parse_rate(std::string_view text);
// "daemon", "local0".."local7"; the error names the value and the choices.
core::Result<Facility> parse_facility(std::string_view text);

class ConnLog {
 public:
  ConnLog() = default;
  ~ConnLog();
  ConnLog(const ConnLog&) = delete;
  ConnLog& operator=(const ConnLog&) = delete;

  // Control thread, before the producing worker starts: its queue (owned by the log).
  RecordQueue* add_producer();
  // Any thread: whether workers should push records now.
  bool enabled() const { return enabled_.load(std::memory_order_relaxed); }
  // Control thread: turns the log on, off or to another target/rate. The file is opened here,
  // so an error (naming the path and what to fix) leaves the running settings as they were.
  core::Result<void> configure(const Settings& s);
  Settings settings() const;
  // Any thread (lvsd's SIGHUP): the file is reopened on the logger's next turn.
  void reopen() { reopen_.store(true, std::memory_order_relaxed); }
  // Stops the logger thread after a last drain. Also done by the destructor.
  void stop();

 private:
  void run();
  // Logger thread, under mu_: one drain-and-write turn.
  void turn(core::TimePoint now, std::chrono::system_clock::time_point wall);
  void write_out(const std::string& text, core::TimePoint now);
  void check_rotation();

  std::atomic<bool> enabled_{false};
  std::atomic<bool> reopen_{false};
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_{};
  Settings settings_{};
  core::Fd file_{};
  TokenBucket bucket_{kDefaultRate};
  std::vector<std::unique_ptr<RecordQueue>> queues_{};
  std::uint64_t suppressed_ = 0;
  std::uint64_t dropped_ = 0;
  core::TimePoint next_summary_{};
  core::TimePoint next_write_error_log_{};
  bool summary_started_ = false;
};

}  // namespace lvs::dp::connlog
