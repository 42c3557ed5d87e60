// The bird side: the fragment's text, and pushing it to a real bird through birdc.
#include "bgp/bird.h"

#include "bgp/announcer.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

namespace lvs::bgp {
namespace {

core::IpAddress ip(std::string_view s) { return *core::IpAddress::parse(s); }

TEST(BirdFragment, OneStaticProtocolPerFamily) {
  EXPECT_EQ(bird_fragment({ip("203.0.113.10"), ip("2001:db8::10"), ip("203.0.113.20")}),
            "# Written by lvsd: the VIPs this director announces. Do not edit; lvsd rewrites it.\n"
            "protocol static lvsd_vips4 {\n  ipv4;\n"
            "  route 203.0.113.10/32 blackhole;\n  route 203.0.113.20/32 blackhole;\n}\n"
            "protocol static lvsd_vips6 {\n  ipv6;\n  route 2001:db8::10/128 blackhole;\n}\n");
}

TEST(BirdFragment, NothingAnnouncedKeepsBothProtocols) {
  EXPECT_EQ(bird_fragment({}),
            "# Written by lvsd: the VIPs this director announces. Do not edit; lvsd rewrites it.\n"
            "protocol static lvsd_vips4 {\n  ipv4;\n}\n"
            "protocol static lvsd_vips6 {\n  ipv6;\n}\n");
}

// Through lvsd's liveness link instead of blackhole routes.
TEST(BirdFragment, RoutesThroughTheLivenessLink) {
  EXPECT_EQ(
      bird_fragment({ip("203.0.113.10"), ip("2001:db8::10")}, "lvsd-bgp"),
      "# Written by lvsd: the VIPs this director announces. Do not edit; lvsd rewrites it.\n"
      "protocol static lvsd_vips4 {\n  ipv4;\n  route 203.0.113.10/32 via \"lvsd-bgp\";\n}\n"
      "protocol static lvsd_vips6 {\n  ipv6;\n  route 2001:db8::10/128 via \"lvsd-bgp\";\n}\n");
}

// A bad name is refused before any system call.
TEST(LivenessLink, RefusesBadNames) {
  EXPECT_EQ(LivenessLink::create("").error().message,
            "bgp: liveness link '': an interface name is 1..15 characters");
  EXPECT_EQ(LivenessLink::create("a-very-long-interface-name").error().code, EINVAL);
}

// A temporary directory with a bird.conf including the fragment, and bird running on it.
class RealBird : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::access("/usr/sbin/bird", X_OK) != 0) GTEST_SKIP() << "bird2 is not installed";
    char tmpl[] = "/tmp/lvsd-bgp-test.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    settings_ = {.fragment_path = dir_ + "/vips.conf",
                 .control_socket = dir_ + "/bird.ctl",
                 .birdc = "birdc"};
    std::ofstream(settings_.fragment_path) << bird_fragment({});
    std::ofstream(dir_ + "/bird.conf") << "router id 192.0.2.1;\n"
                                       << "include \"" << settings_.fragment_path << "\";\n";
    pid_ = ::fork();
    ASSERT_GE(pid_, 0);
    if (pid_ == 0) {
      const std::string conf = dir_ + "/bird.conf";
      ::execl("/usr/sbin/bird", "bird", "-f", "-c", conf.c_str(), "-s",
              settings_.control_socket.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    // Bounded wait for the control socket.
    for (int i = 0; i < 500 && !std::filesystem::exists(settings_.control_socket); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ASSERT_TRUE(std::filesystem::exists(settings_.control_socket));
  }
  void TearDown() override {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      ::waitpid(pid_, nullptr, 0);
    }
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }
  std::string routes() {
    const std::string cmd = "birdc -s " + settings_.control_socket + " show route 2>&1";
    std::string out;
    if (FILE* f = ::popen(cmd.c_str(), "r")) {
      char buf[512];
      while (std::fgets(buf, sizeof buf, f) != nullptr) out += buf;
      ::pclose(f);
    }
    return out;
  }
  std::string dir_;
  BirdSettings settings_;
  pid_t pid_ = -1;
};

// Announce, then withdraw: bird's routing table follows the fragment.
TEST_F(RealBird, AnnounceThenWithdraw) {
  ASSERT_TRUE(push_to_bird(settings_, {ip("203.0.113.10"), ip("2001:db8::10")}).ok());
  const std::string on = routes();
  EXPECT_NE(on.find("203.0.113.10/32"), std::string::npos) << on;
  EXPECT_NE(on.find("2001:db8::10/128"), std::string::npos) << on;
  ASSERT_TRUE(push_to_bird(settings_, {}).ok());
  const std::string off = routes();
  EXPECT_EQ(off.find("203.0.113.10/32"), std::string::npos) << off;
}

// A wrong socket path is an error quoting birdc, not a silent success.
TEST_F(RealBird, UnreachableSocketIsAnError) {
  settings_.control_socket = dir_ + "/nope.ctl";
  const auto r = push_to_bird(settings_, {ip("203.0.113.10")});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("nope.ctl"), std::string::npos) << r.error().message;
}

// The announcer thread against a real bird: announces the served VIP, withdraws it while the
// drain file exists and when no realserver is up, and withdraws everything on stop().
TEST_F(RealBird, AnnouncerFollowsDrainHealthAndStop) {
  std::mutex mu;
  model::ServiceTable table;
  model::VirtualService vs{};
  vs.key = model::ServiceKey::address(model::Protocol::kTcp,
                                      core::Endpoint{.addr = ip("203.0.113.10"), .port = 80});
  vs.dests.push_back(model::RealServer{});
  vs.dests.back().addr = core::Endpoint{.addr = ip("198.51.100.131"), .port = 80};
  table.services.push_back(vs);
  const std::string drain = dir_ + "/drain";
  Announcer a(AnnouncerOptions{.bird = settings_,
                               .drain_file = drain,
                               .period = std::chrono::milliseconds(10),
                               .table =
                                   [&] {
                                     const std::lock_guard lock(mu);
                                     return table;
                                   },
                               .data_plane_ok = {}});
  a.start();
  const auto has_vip = [this] { return routes().find("203.0.113.10/32") != std::string::npos; };
  const auto eventually = [](const auto& cond) {
    for (int i = 0; i < 300; ++i) {  // bounded: 3 s
      if (cond()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  };
  EXPECT_TRUE(eventually(has_vip));
  std::ofstream(drain) << "";
  EXPECT_TRUE(eventually([&] { return !has_vip(); }));
  std::filesystem::remove(drain);
  EXPECT_TRUE(eventually(has_vip));
  {
    const std::lock_guard lock(mu);
    table.services[0].dests[0].weight = 0;
  }
  EXPECT_TRUE(eventually([&] { return !has_vip(); }));
  {
    const std::lock_guard lock(mu);
    table.services[0].dests[0].weight = 1;
  }
  EXPECT_TRUE(eventually(has_vip));
  a.stop();
  EXPECT_FALSE(has_vip());
}

// A bird that cannot be reached is retried every round but logged once; once bird answers
// the announcements are pushed.
TEST_F(RealBird, AnnouncerRetriesUntilBirdAnswers) {
  BirdSettings wrong = settings_;
  wrong.control_socket = dir_ + "/later.ctl";
  model::ServiceTable table;
  model::VirtualService vs{};
  vs.key = model::ServiceKey::address(model::Protocol::kTcp,
                                      core::Endpoint{.addr = ip("203.0.113.10"), .port = 80});
  vs.dests.push_back(model::RealServer{});
  table.services.push_back(vs);
  Announcer a(AnnouncerOptions{.bird = wrong,
                               .drain_file = {},
                               .period = std::chrono::milliseconds(10),
                               .table = [table] { return table; },
                               .data_plane_ok = {}});
  a.tick();
  a.tick();
  EXPECT_EQ(routes().find("203.0.113.10/32"), std::string::npos);
  std::filesystem::create_symlink(settings_.control_socket, wrong.control_socket);
  a.tick();
  EXPECT_NE(routes().find("203.0.113.10/32"), std::string::npos);
}

// A fragment that cannot be written names the file.
TEST(BirdPush, UnwritableFragmentNamesTheFile) {
  const auto r = push_to_bird({.fragment_path = "/nonexistent-dir/vips.conf",
                               .control_socket = "/nonexistent-dir/bird.ctl",
                               .birdc = "birdc"},
                              {});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("/nonexistent-dir/vips.conf.tmp"), std::string::npos);
}

}  // namespace
}  // namespace lvs::bgp
