// The logger thread against a real file: records pushed by a producer become lines, the rate
// limit caps them with one summary line, a renamed file (logrotate) is followed by a new one,
// a file that cannot be opened is a precise error that leaves the running log alone.

#include "dp/connlog/conn_log.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

namespace lvs::dp::connlog {
namespace {

std::string read_all(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::size_t count_of(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto p = text.find(what); p != std::string::npos; p = text.find(what, p + 1)) ++n;
  return n;
}

// Polls `cond` every 10 ms for at most 5 s.
template <typename F>
bool wait_for(F cond) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (std::chrono::steady_clock::now() < deadline) {
    if (cond()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return cond();
}

class ConnLogFile : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/lvsd-connlog-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    path_ = dir_ + "/conn.log";
  }
  void TearDown() override {
    std::remove(path_.c_str());
    std::remove((path_ + ".1").c_str());
    ::rmdir(dir_.c_str());
  }
  static ConnRecord record(std::uint64_t in) {
    const core::TimePoint now = std::chrono::steady_clock::now();
    return ConnRecord{.client = core::Endpoint::parse("127.0.0.2:40000").value(),
                      .vip = core::Endpoint::parse("127.0.0.1:80").value(),
                      .real = core::Endpoint::parse("127.0.0.3:80").value(),
                      .in_bytes = in,
                      .start = now,
                      .end_time = now};
  }
  std::string dir_;
  std::string path_;
};

// Records become lines in order; the file is created with mode 0640.
TEST_F(ConnLogFile, RecordsBecomeLines) {
  ConnLog log;
  RecordQueue* q = log.add_producer();
  ASSERT_TRUE(log.configure(Settings{.target = path_, .rate = 1000}).ok());
  EXPECT_TRUE(log.enabled());
  for (std::uint64_t i = 1; i <= 3; ++i) ASSERT_TRUE(q->push(record(i)));
  ASSERT_TRUE(wait_for([&] { return count_of(read_all(path_), "\n") == 3; }));
  const std::string text = read_all(path_);
  EXPECT_LT(text.find(" in=1 "), text.find(" in=2 "));
  EXPECT_LT(text.find(" in=2 "), text.find(" in=3 "));
  struct stat st {};
  ASSERT_EQ(::stat(path_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0640U);
}

// stop() drains what the producers pushed before it: no record is lost at shutdown.
TEST_F(ConnLogFile, StopWritesWhatWasQueued) {
  {
    ConnLog log;
    RecordQueue* q = log.add_producer();
    ASSERT_TRUE(log.configure(Settings{.target = path_, .rate = 1000}).ok());
    for (std::uint64_t i = 1; i <= 100; ++i) ASSERT_TRUE(q->push(record(i)));
    log.stop();
    EXPECT_FALSE(log.enabled());
  }
  EXPECT_EQ(count_of(read_all(path_), " end="), 100U);
}

// Past the rate, lines are dropped and a summary line counts them.
TEST_F(ConnLogFile, FloodIsCappedWithSummary) {
  ConnLog log;
  RecordQueue* q = log.add_producer();
  ASSERT_TRUE(log.configure(Settings{.target = path_, .rate = 5}).ok());
  for (std::uint64_t i = 1; i <= 50; ++i) ASSERT_TRUE(q->push(record(i)));
  ASSERT_TRUE(
      wait_for([&] { return read_all(path_).find("lines suppressed") != std::string::npos; }));
  const std::string text = read_all(path_);
  // The burst (5) plus at most what 1-2 s of refill allows; most of the 50 were suppressed.
  EXPECT_LE(count_of(text, " end="), 20U);
  EXPECT_GE(count_of(text, " end="), 5U);
  EXPECT_EQ(count_of(text, " end=") + std::stoull(text.substr(text.find("conn_log: ") + 10)), 50U)
      << text;
}

// logrotate moves the file away: the next lines go to a new file at the same path.
TEST_F(ConnLogFile, RenamedFileIsReopened) {
  ConnLog log;
  RecordQueue* q = log.add_producer();
  ASSERT_TRUE(log.configure(Settings{.target = path_, .rate = 1000}).ok());
  ASSERT_TRUE(q->push(record(1)));
  ASSERT_TRUE(wait_for([&] { return count_of(read_all(path_), "\n") == 1; }));
  ASSERT_EQ(std::rename(path_.c_str(), (path_ + ".1").c_str()), 0);
  ASSERT_TRUE(wait_for([&] { return ::access(path_.c_str(), F_OK) == 0; }));
  ASSERT_TRUE(q->push(record(2)));
  ASSERT_TRUE(wait_for([&] { return count_of(read_all(path_), "\n") == 1; }));
  EXPECT_NE(read_all(path_).find(" in=2 "), std::string::npos);
  EXPECT_EQ(count_of(read_all(path_ + ".1"), "\n"), 1U);
}

// A file that cannot be opened: an error naming it and what to fix; the log keeps running.
TEST_F(ConnLogFile, UnopenableFileKeepsTheRunningLog) {
  ConnLog log;
  RecordQueue* q = log.add_producer();
  ASSERT_TRUE(log.configure(Settings{.target = path_, .rate = 1000}).ok());
  const auto bad = log.configure(Settings{.target = dir_ + "/no/such/dir/x.log", .rate = 10});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message,
            "conn_log: cannot open " + dir_ +
                "/no/such/dir/x.log for appending: No such file or directory; check that the "
                "directory exists and lvsd may write there");
  EXPECT_EQ(log.settings().target, path_);
  ASSERT_TRUE(q->push(record(7)));
  ASSERT_TRUE(wait_for([&] { return read_all(path_).find(" in=7 ") != std::string::npos; }));
}

// Off: workers are told not to push, and nothing is written.
TEST_F(ConnLogFile, OffByDefault) {
  ConnLog log;
  log.add_producer();
  EXPECT_FALSE(log.enabled());
  ASSERT_TRUE(log.configure(Settings{}).ok());
  EXPECT_FALSE(log.enabled());
}

}  // namespace
}  // namespace lvs::dp::connlog
