// lvsd: the director daemon. Configured by flags (bin/lvsd_flags.h; none: an empty table),
// running the user-space full-NAT data plane in the foreground until SIGINT or SIGTERM, and
// administered by lvsadm over the control socket (ctl/control_socket.h), whose thread is the
// control thread: the only one calling the Director and, through it, the data plane.

#include <chrono>
#include <csignal>
#include <cstdio>
#include <string_view>
#include <vector>

#include "bin/lvsd_flags.h"
#include "core/clock.h"
#include "core/log.h"
#include "ctl/control_socket.h"
#include "ctl/director.h"
#include "dp/proxy/net.h"
#include "dp/proxy/proxy.h"
#include "sched/registry.h"

int main(int argc, char** argv) {
  using namespace lvs;  // NOLINT(google-build-using-namespace): main only
  const std::vector<std::string_view> args(argv + 1, argv + argc);
  auto cfg = bin::parse_lvsd_flags(args);
  if (!cfg) {
    std::fprintf(stderr, "lvsd: %s\n", cfg.error().message.c_str());
    return 2;
  }
  if (cfg->help) {
    std::fputs(bin::lvsd_usage().c_str(), stdout);
    return 0;
  }
  core::init_logging(cfg->log_level);

  // Block the stop signals before any worker starts so only sigwait() below receives them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  const std::uint64_t nofile = dp::proxy::raise_nofile_limit();
  const core::SteadyClock clock;
  auto proxy = dp::proxy::Proxy::create(cfg->proxy, clock);
  if (!proxy) {
    std::fprintf(stderr, "lvsd: %s\n", proxy.error().message.c_str());
    return 1;
  }
  const auto seconds = [](std::chrono::milliseconds d) {
    return static_cast<std::uint32_t>(std::chrono::duration_cast<std::chrono::seconds>(d).count());
  };
  ctl::Director director(
      **proxy, ctl::DirectorOptions{.scheduler_exists = sched::scheduler_exists,
                                    .timeouts = {.tcp = seconds(cfg->proxy.tcp_established_timeout),
                                                 .tcpfin = seconds(cfg->proxy.tcp_fin_timeout),
                                                 .udp = seconds(cfg->proxy.udp_timeout)}});
  if (auto r = director.start(cfg->table); !r) {
    std::fprintf(stderr, "lvsd: %s\n", r.error().message.c_str());
    return 1;
  }
  auto server = ctl::ControlServer::start(
      ctl::control_socket_path(cfg->socket_path), [&director](const ctl::Request& req) {
        const auto o = director.run(req.argv, req.input);
        return ctl::Reply{.exit_code = o.exit_code, .out = o.out, .err = o.err};
      });
  if (!server) {
    std::fprintf(stderr, "lvsd: %s\n", server.error().message.c_str());
    return 1;
  }
  core::log().info("lvsd: {} workers, {} services, file descriptor limit {}, control socket {}",
                   (*proxy)->workers(), cfg->table.services.size(), nofile, (*server)->path());
  for (const auto& svc : cfg->table.services) {
    core::log().info("{} {} with {} realservers", svc.key.to_string(), svc.scheduler,
                     svc.dests.size());
  }
  int sig = 0;
  sigwait(&stop_signals, &sig);
  core::log().info("lvsd: signal {}, stopping", sig);
  (*server)->stop();
  (*proxy)->stop();
  return 0;
}
