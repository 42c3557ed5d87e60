#include "dp/connlog/format.h"

#include <ctime>

#include <fmt/format.h>

namespace lvs::dp::connlog {

namespace {

constexpr std::array<std::string_view, kEndReasons> kNames{
    "client-fin",   "real-fin",        "client-reset",    "real-reset",
    "idle-timeout", "connect-refused", "connect-timeout", "connect-error",
    "real-deleted", "service-removed", "shutdown",        "error"};

}  // namespace

std::string_view end_reason_name(EndReason r) {
  const auto i = static_cast<std::size_t>(r);
  return i < kNames.size() ? kNames[i] : std::string_view("error");
}

std::string format_time(std::chrono::system_clock::time_point t) {
  const auto ms = std::chrono::floor<std::chrono::milliseconds>(t.time_since_epoch()).count();
  const auto secs = static_cast<std::time_t>(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
  const auto frac = ms - static_cast<std::int64_t>(secs) * 1000;
  std::tm tm{};
  ::gmtime_r(&secs, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
}

std::string format_line(const ConnRecord& r, std::chrono::system_clock::time_point end_wall) {
  const auto d = r.end_time > r.start ? r.end_time - r.start : core::Duration::zero();
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
  return fmt::format(
      "{} {} client={} vip={} real={} method={} in={} out={} duration={}.{:03} end={}",
      format_time(end_wall), r.proto == Proto::kUdp ? "udp" : "tcp", r.client.to_string(),
      r.vip.to_string(), r.real.to_string(), r.method == Method::kMasq ? "masq" : "fullnat",
      r.in_bytes, r.out_bytes, ms / 1000, ms % 1000, end_reason_name(r.end));
}

std::string suppressed_line(std::chrono::system_clock::time_point now, std::uint64_t suppressed) {
  return fmt::format("{} conn_log: {} lines suppressed", format_time(now), suppressed);
}

std::string dropped_line(std::chrono::system_clock::time_point now, std::uint64_t dropped) {
  return fmt::format("{} conn_log: {} records dropped (worker queue full)", format_time(now),
                     dropped);
}

}  // namespace lvs::dp::connlog
