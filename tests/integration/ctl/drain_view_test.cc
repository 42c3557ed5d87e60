// `lvsadm --drain --wait` against a real lvsd with a connection held through the VIP: piped, it
// prints one line per change of the count (what scripts read); on a terminal (util-linux
// `script` gives it a pty) it redraws one status line in place with '\r' and clear-to-EOL,
// showing the connections left and a bar, and ends with the final line and a newline. The held
// connection is closed once lvsadm showed it; ended connections linger 300 ms (TIME_WAIT),
// so the count goes 1 active -> 1 inactive -> drained.

#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "integration/ctl/harness.h"
#include "integration/dp/proxy/loopback.h"

namespace lvs::testing {
namespace {

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

class DrainView : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(d.ready()) << d.log();
    ASSERT_TRUE(held);
    ASSERT_EQ(read_line(held.get()), "a");
  }

  // Runs `shell` (lvsadm's output going to `out`) on a thread; once `out` shows `seen`, closes
  // the held connection; returns lvsadm's exit status and what it wrote.
  std::pair<int, std::string> drain_while_holding(const std::string& shell, const std::string& out,
                                                  const std::string& seen) {
    RunResult r;
    std::thread t([&] { r = run_program("/bin/sh", {"sh", "-c", shell}, d.socket()); });
    const bool shown = eventually([&] { return slurp(out).find(seen) != std::string::npos; });
    held.reset();
    t.join();
    EXPECT_TRUE(shown) << slurp(out) << r.err;
    return {r.exit_code, slurp(out)};
  }

  std::string vip = fmt::format("127.0.0.1:{}", free_port("127.0.0.1"));
  NameServer a{"a", "127.0.0.11"};
  Lvsd d{{"--time-wait-linger", "300ms", "--close-linger", "300ms", "-t", vip, "-s", "rr", "-r",
          a.addr().to_string() + ",fullnat"}};
  core::Fd held = connect_tcp(*core::Endpoint::parse(vip));
  std::string real = a.addr().to_string();
  std::string cmd = fmt::format("{} --drain -t {} -r {} --wait 20", LVSADM_BIN, vip, real);
};

// Not a terminal: a line per change, then "R:P: drained".
TEST_F(DrainView, PipedPrintsALinePerChange) {
  const std::string out = d.dir() + "/drain.out";
  const auto [code, text] = drain_while_holding(fmt::format("{} > {}", cmd, out), out,
                                                "1 connections (1 active, 0 inactive)");
  EXPECT_EQ(code, 0);
  EXPECT_TRUE(text.starts_with(
      fmt::format("draining {} from TCP {}: weight 0\n{}: 1 connections (1 active, 0 inactive)\n",
                  real, vip, real)))
      << text;
  EXPECT_TRUE(text.ends_with(fmt::format("{}: drained\n", real))) << text;
  EXPECT_EQ(text.find('\r'), std::string::npos) << text;
}

// A terminal: the status line is redrawn in place and the view ends with the final line.
TEST_F(DrainView, TerminalRedrawsOneLine) {
  if (::access("/usr/bin/script", X_OK) != 0) GTEST_SKIP() << "script (util-linux) missing";
  const std::string out = d.dir() + "/drain.tty";
  const auto [code, text] = drain_while_holding(
      fmt::format("script -qfec '{}' {} > /dev/null", cmd, out), out, "1 left (1 active");
  EXPECT_EQ(code, 0) << text;
  EXPECT_NE(text.find(fmt::format("\r{}: 1 left (1 active, 0 inactive) [--------------------] 0% "
                                  "drained, ",
                                  real)),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("s left\x1b[K"), std::string::npos) << text;
  const std::string last = fmt::format("\r{}: drained\x1b[K\r\n", real);
  const auto end = text.find(last);
  ASSERT_NE(end, std::string::npos) << text;
  // No line per change: between the "draining" line and the final one, no newline (script's
  // own header and footer lines lie outside).
  const auto begin = text.find("weight 0\r\n");
  ASSERT_LT(begin, end) << text;
  const auto body = text.substr(begin, end + last.size() - begin);
  EXPECT_EQ(std::count(body.begin(), body.end(), '\n'), 2) << text;
}

// --progress: the live view even when piped.
TEST_F(DrainView, ProgressForcesTheLiveViewWhenPiped) {
  const std::string out = d.dir() + "/drain.out";
  const auto [code, text] =
      drain_while_holding(fmt::format("{} --progress > {}", cmd, out), out, "1 left (1 active");
  EXPECT_EQ(code, 0);
  EXPECT_TRUE(text.ends_with(fmt::format("\r{}: drained\x1b[K\n", real))) << text;
}

}  // namespace
}  // namespace lvs::testing
