// lvs-realserver: a small realserver that answers with its name (bin/realserver.h), and a UDP
// query client for scripts. Bundled for the demo and the integration tests.

#include <csignal>
#include <cstdio>
#include <string_view>
#include <vector>

#include "bin/realserver.h"
#include "bin/realserver_flags.h"

int main(int argc, char** argv) {
  using namespace lvs;  // NOLINT(google-build-using-namespace): main only
  const std::vector<std::string_view> args(argv + 1, argv + argc);
  auto cfg = bin::parse_realserver_flags(args);
  if (!cfg) {
    std::fprintf(stderr, "lvs-realserver: %s\n", cfg.error().message.c_str());
    return 2;
  }
  core::Result<void> r;
  switch (cfg->mode) {
    case bin::RealserverMode::kHelp:
      std::fputs(bin::realserver_usage().c_str(), stdout);
      return 0;
    case bin::RealserverMode::kQueryUdp:
      r = bin::query_udp(*cfg, stdout);
      break;
    case bin::RealserverMode::kServe: {
      // Blocked here, read through a signalfd in the loop: a stop request is an event.
      sigset_t stop;
      sigemptyset(&stop);
      sigaddset(&stop, SIGINT);
      sigaddset(&stop, SIGTERM);
      sigprocmask(SIG_BLOCK, &stop, nullptr);
      r = bin::serve_realserver(*cfg, stdout);
      break;
    }
  }
  if (!r) {
    std::fprintf(stderr, "lvs-realserver: %s\n", r.error().message.c_str());
    return 1;
  }
  return 0;
}
