// The health thread in-process (run under TSan too): a HealthRunner probing a real TCP
// realserver drives a real Director while this thread keeps calling the Director as the control
// thread would; the realserver going away and coming back shows in the table, and a stop with
// omega runs the shutdown notifiers.

#include "daemon/health_runner.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "config/keepalived.h"
#include "ctl/director.h"
#include "integration/ctl/harness.h"
#include "integration/dp/proxy/loopback.h"
#include "sched/registry.h"

namespace lvs::testing {
namespace {

class NullDataPlane final : public dp::DataPlane {
 public:
  core::Result<void> apply(const model::ServiceTable&) override { return {}; }
  dp::Stats stats() const override { return {}; }
};

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(HealthRunner, DrivesTheDirectorWhileTheControlThreadReadsIt) {
  const TempDir dir;
  auto server = std::make_unique<NameServer>("a", "127.0.0.2");
  const auto real = server->addr();
  const std::string omega = dir.path() + "/omega";
  const auto text = fmt::format(
      "virtual_server 127.0.0.1 80 {{\n  lvs_sched rr\n  lvs_method FNAT\n  protocol TCP\n"
      "  delay_loop 0.1\n  warmup 0\n  omega\n"
      "  real_server {} {} {{\n    notify_down \"echo down >> {}\"\n"
      "    TCP_CHECK {{\n      connect_timeout 0.5\n    }}\n  }}\n}}\n",
      real.addr.to_string(), real.port, omega);
  auto cfg = config::parse_keepalived(text, "test.conf");
  ASSERT_TRUE(cfg.ok()) << cfg.error().message;
  NullDataPlane dp;
  ctl::Director director(dp, ctl::DirectorOptions{.resolver = ctl::numeric_resolver(),
                                                  .names = ctl::numeric_names(),
                                                  .scheduler_exists = sched::scheduler_exists});
  auto runner = daemon::HealthRunner::create(
      *cfg, [&](const std::vector<health::Action>& a) { director.apply_health(a); });
  ASSERT_TRUE(runner.ok()) << runner.error().message;
  ASSERT_TRUE(director.load(*cfg, (*runner)->start_actions()).ok());
  (*runner)->start();
  const auto listed = [&] {
    const auto out = director.run({"lvsadm", "-L", "-n"});
    return out.out.find(real.to_string()) != std::string::npos;
  };
  EXPECT_TRUE(listed());
  const std::uint16_t port = real.port;
  server->kill();
  server.reset();
  ASSERT_TRUE(eventually([&] { return !listed(); }));
  ASSERT_TRUE(eventually([&] { return slurp(omega) == "down\n"; }));
  // Back on the same port: a listener of our own stands in for the realserver.
  const core::Fd back = [&] {
    core::Fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    const int one = 1;
    ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    sa.sin_addr.s_addr = htonl(0x7f000002);
    // NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast): the sockets API
    if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&sa), sizeof(sa)) != 0)
      return core::Fd{};
    ::listen(fd.get(), 64);
    return fd;
  }();
  ASSERT_TRUE(back.valid());
  ASSERT_TRUE(eventually([&] { return listed(); }));
  // omega: the shutdown runs the realserver's notify_down once more.
  const auto alive = (*runner)->stop(true);
  EXPECT_TRUE(alive.at(ctl::DestKey{cfg->table.services.at(0).key, real}));
  EXPECT_EQ(slurp(omega), "down\ndown\n");
}

}  // namespace
}  // namespace lvs::testing
