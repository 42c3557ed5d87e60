#include "dp/connlog/conn_log.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <charconv>
#include <cstring>

#include <fmt/format.h>

#include "core/log.h"
#include "dp/connlog/format.h"

namespace lvs::dp::connlog {

namespace {

constexpr auto kTurn = std::chrono::milliseconds(100);
constexpr std::uint32_t kMaxRate = 1'000'000;

core::Result<core::Fd> open_file(const std::string& path) {
  core::Fd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640));
  if (!fd) {
    const int err = errno;
    return core::fail(err, fmt::format("conn_log: cannot open {} for appending: {}; check that "
                                       "the directory exists and lvsd may write there",
                                       path, std::strerror(err)));
  }
  return fd;
}

constexpr int syslog_facility(Facility f) {
  constexpr std::array<int, 9> kCodes{LOG_DAEMON, LOG_LOCAL0, LOG_LOCAL1, LOG_LOCAL2, LOG_LOCAL3,
                                      LOG_LOCAL4, LOG_LOCAL5, LOG_LOCAL6, LOG_LOCAL7};
  return kCodes.at(static_cast<std::size_t>(f));
}

}  // namespace

core::Result<std::uint32_t> parse_rate(std::string_view text) {
  std::uint64_t v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc{} || end != text.data() + text.size() || v == 0 || v > kMaxRate) {
    return core::fail(EINVAL, fmt::format("conn_log_rate {} is not a number of lines per second "
                                          "in 1..{}",
                                          text, kMaxRate));
  }
  return static_cast<std::uint32_t>(v);
}

core::Result<Facility> parse_facility(std::string_view text) {
  if (text == "daemon") return Facility::kDaemon;
  if (text.size() == 6 && text.starts_with("local") && text[5] >= '0' && text[5] <= '7') {
    return static_cast<Facility>(1 + (text[5] - '0'));
  }
  return core::fail(EINVAL, fmt::format("conn_log_facility {} is not a syslog facility lvsd "
                                        "logs to: daemon or local0..local7",
                                        text));
}

ConnLog::~ConnLog() { stop(); }

RecordQueue* ConnLog::add_producer() {
  const std::lock_guard lock(mu_);
  queues_.push_back(std::make_unique<RecordQueue>(kQueueCapacity));
  return queues_.back().get();
}

Settings ConnLog::settings() const {
  const std::lock_guard lock(mu_);
  return settings_;
}

core::Result<void> ConnLog::configure(const Settings& s) {
  core::Fd fd;
  if (!s.target.empty() && s.target != "syslog") {
    auto opened = open_file(s.target);
    if (!opened) return core::Unexpected{opened.error()};
    fd = std::move(opened).value();
  }
  {
    const std::lock_guard lock(mu_);
    if (s.rate != settings_.rate || !enabled_.load(std::memory_order_relaxed)) {
      bucket_ = TokenBucket(s.rate);
    }
    settings_ = s;
    file_ = std::move(fd);
    enabled_.store(!s.target.empty(), std::memory_order_relaxed);
    if (!s.target.empty() && !thread_.joinable() && !stopping_) {
      thread_ = std::thread([this] { run(); });
    }
  }
  return {};
}

// The last turn still writes: records pushed before the workers stopped are not lost.
void ConnLog::stop() {
  {
    const std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  enabled_.store(false, std::memory_order_relaxed);
}

void ConnLog::run() {
  std::unique_lock lock(mu_);
  for (;;) {
    const bool last = stopping_;
    // The logger thread is the log's only reader of the clocks; the pure parts get the time.
    turn(std::chrono::steady_clock::now(), std::chrono::system_clock::now());
    if (last) return;
    cv_.wait_for(lock, kTurn, [this] { return stopping_; });
  }
}

void ConnLog::turn(core::TimePoint now, std::chrono::system_clock::time_point wall) {
  if (reopen_.exchange(false, std::memory_order_relaxed)) {
    if (file_) {
      if (auto fd = open_file(settings_.target); fd) {
        file_ = std::move(fd).value();
      } else {
        core::log().error("{}", fd.error().message);
      }
    }
  }
  if (file_) check_rotation();
  if (!summary_started_) {
    summary_started_ = true;
    next_summary_ = now + std::chrono::seconds(1);
  }
  const bool on = enabled_.load(std::memory_order_relaxed);
  std::string text;
  ConnRecord r;
  for (auto& q : queues_) {
    // At most one queue's worth per turn each: a flooding worker cannot starve the others.
    for (std::size_t i = 0; i < q->capacity() && q->pop(r); ++i) {
      if (!on) continue;
      if (!bucket_.take(now)) {
        ++suppressed_;
        continue;
      }
      const auto end_wall =
          wall - std::chrono::duration_cast<std::chrono::system_clock::duration>(now - r.end_time);
      text += format_line(r, end_wall);
      text += '\n';
    }
    if (on) dropped_ += q->take_dropped();
  }
  if (now >= next_summary_ || stopping_) {
    next_summary_ = now + std::chrono::seconds(1);
    if (suppressed_ > 0) text += suppressed_line(wall, std::exchange(suppressed_, 0)) + '\n';
    if (dropped_ > 0) text += dropped_line(wall, std::exchange(dropped_, 0)) + '\n';
  }
  if (!text.empty() && on) write_out(text, now);
}

void ConnLog::write_out(const std::string& text, core::TimePoint now) {
  if (settings_.target == "syslog") {
    std::size_t from = 0;
    while (from < text.size()) {
      const std::size_t nl = text.find('\n', from);
      const std::string line = text.substr(from, nl - from);
      ::syslog(syslog_facility(settings_.facility) | LOG_INFO, "%s", line.c_str());
      from = nl + 1;
    }
    return;
  }
  if (!file_) return;
  std::size_t off = 0;
  while (off < text.size()) {
    const ssize_t n = ::write(file_.get(), text.data() + off, text.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      if (now >= next_write_error_log_) {
        next_write_error_log_ = now + std::chrono::seconds(10);
        core::log().error("conn_log: writing {} failed: {}; {} bytes of log lines lost",
                          settings_.target, n < 0 ? std::strerror(errno) : "nothing written",
                          text.size() - off);
      }
      return;
    }
    off += static_cast<std::size_t>(n);
  }
}

// logrotate renamed or removed the file: the path now names another inode (or none).
void ConnLog::check_rotation() {
  struct stat open_st {};
  struct stat path_st {};
  if (::fstat(file_.get(), &open_st) != 0) return;
  if (::stat(settings_.target.c_str(), &path_st) == 0 && path_st.st_dev == open_st.st_dev &&
      path_st.st_ino == open_st.st_ino) {
    return;
  }
  if (auto fd = open_file(settings_.target); fd) {
    file_ = std::move(fd).value();
  } else {
    core::log().error("{}", fd.error().message);
  }
}

}  // namespace lvs::dp::connlog
