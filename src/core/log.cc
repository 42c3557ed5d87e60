#include "core/log.h"

#include <array>
#include <utility>

#include <fmt/format.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/sinks/syslog_sink.h>
#include <syslog.h>

namespace lvs::core {

namespace {

constexpr std::array<std::pair<std::string_view, LogLevel>, 6> kLevels{{
    {"trace", LogLevel::kTrace},
    {"debug", LogLevel::kDebug},
    {"info", LogLevel::kInfo},
    {"warn", LogLevel::kWarn},
    {"error", LogLevel::kError},
    {"off", LogLevel::kOff},
}};

spdlog::level::level_enum to_spdlog(LogLevel l) {
  switch (l) {
    case LogLevel::kTrace:
      return spdlog::level::trace;
    case LogLevel::kDebug:
      return spdlog::level::debug;
    case LogLevel::kInfo:
      return spdlog::level::info;
    case LogLevel::kWarn:
      return spdlog::level::warn;
    case LogLevel::kError:
      return spdlog::level::err;
    case LogLevel::kOff:
      return spdlog::level::off;
  }
  return spdlog::level::info;
}

}  // namespace

Result<LogLevel> parse_log_level(std::string_view text) {
  for (const auto& [name, level] : kLevels) {
    if (name == text) return level;
  }
  return fail(EINVAL, fmt::format("log level '{}' is not one of trace, debug, info, warn, "
                                  "error, off",
                                  text));
}

spdlog::logger& log() {
  static const auto kLogger = [] {
    auto l = spdlog::stderr_color_mt("lvsd");
    l->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
    return l;
  }();
  return *kLogger;
}

void init_logging(LogLevel level, bool syslog) {
  auto& l = log();
  if (syslog) {
    l.sinks().clear();
    l.sinks().push_back(
        std::make_shared<spdlog::sinks::syslog_sink_mt>("lvsd", LOG_PID, LOG_DAEMON, true));
    l.set_pattern("%l %v");  // syslog stamps the time
  }
  l.set_level(to_spdlog(level));
}

}  // namespace lvs::core
