#pragma once
// lvsd's command line (until the config formats land): services and realservers as flags,
// ipvsadm-like. Service options (-s, -o, -p, -M, -r) apply to the preceding -t/-u. No service at
// all is fine: the table starts empty and lvsadm fills it.

#include <span>
#include <string>
#include <string_view>

#include "core/log.h"
#include "core/result.h"
#include "dp/proxy/options.h"
#include "model/service.h"

namespace lvs::bin {

struct LvsdConfig {
  dp::proxy::ProxyOptions proxy{};
  model::ServiceTable table{};
  std::string socket_path{};  // --socket; empty: $LVSD_SOCKET, else the default path
  core::LogLevel log_level = core::LogLevel::kInfo;
  bool help = false;
};

// Parses argv[1..]. Errors name the flag and its value: "realserver '127.0.0.1:99999': ...".
core::Result<LvsdConfig> parse_lvsd_flags(std::span<const std::string_view> args);
std::string lvsd_usage();

}  // namespace lvs::bin
