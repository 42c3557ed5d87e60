#pragma once
// Logging on spdlog. One process-wide logger named "lvsd"; the level is set once at start-up.

#include <spdlog/spdlog.h>

#include <string_view>

#include "core/result.h"

namespace lvs::core {

enum class LogLevel { kTrace, kDebug, kInfo, kWarn, kError, kOff };

// Parses "trace|debug|info|warn|error|off".
Result<LogLevel> parse_log_level(std::string_view text);
// `syslog`: replace the stderr sink by syslog (ident "lvsd", facility daemon, with the pid).
// Call once, before any other thread logs.
void init_logging(LogLevel level, bool syslog = false);
spdlog::logger& log();

}  // namespace lvs::core
