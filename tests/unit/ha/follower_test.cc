// The fifo reader: a real fifo written by this test as keepalived would, the role followed.
#include "ha/follower.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace lvs::ha {
namespace {

std::string temp_path(const char* name) {
  const char* dir = std::getenv("TMPDIR");
  return std::string(dir != nullptr ? dir : "/tmp") + "/lvsd-ha-" + std::to_string(::getpid()) +
         "-" + name;
}

// Writes as keepalived does: open the fifo for writing, write lines, close.
void keepalived_writes(const std::string& path, const std::string& text) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
  ::close(fd);
}

// Records the roles reported by on_role; waits (bounded) for a count.
struct Changes {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::pair<Role, Role>> seen;

  bool wait_for(std::size_t n) {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, std::chrono::seconds(10), [&] { return seen.size() >= n; });
  }
};

// The fifo is created, lines split across writes and writers are joined, other instances and bad
// lines are ignored, every change of role is reported once, and the fifo goes at stop.
TEST(VrrpFollower, FollowsTheInstanceThroughARealFifo) {
  const auto path = temp_path("fifo");
  Changes changes;
  auto f = VrrpFollower::start(path, "VI_1", [&](Role from, Role to) {
    std::lock_guard lock(changes.mu);
    changes.seen.emplace_back(from, to);
    changes.cv.notify_all();
  });
  ASSERT_TRUE(f) << f.error().message;
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_TRUE(S_ISFIFO(st.st_mode));
  EXPECT_EQ((*f)->role(), Role::kUnknown);

  keepalived_writes(path, "INSTANCE \"VI_1\" BACK");
  keepalived_writes(path, "UP 100\nINSTANCE \"VI_2\" MASTER 100\ngarbage\n");
  ASSERT_TRUE(changes.wait_for(1));
  keepalived_writes(path,
                    "INSTANCE \"VI_1\" MASTER 100\nINSTANCE \"VI_1\" MASTER_RX_LOWER_PRI 100\n"
                    "INSTANCE \"VI_1\" STOP 0\n");
  ASSERT_TRUE(changes.wait_for(3));
  {
    std::lock_guard lock(changes.mu);
    EXPECT_EQ(changes.seen, (std::vector<std::pair<Role, Role>>{{Role::kUnknown, Role::kBackup},
                                                                {Role::kBackup, Role::kMaster},
                                                                {Role::kMaster, Role::kStopped}}));
  }
  const auto s = (*f)->status();
  EXPECT_EQ(s.role, Role::kStopped);
  EXPECT_EQ(s.transitions, 3U);
  EXPECT_EQ(s.bad_lines, 1U);
  EXPECT_EQ(s.last_line, "INSTANCE \"VI_1\" STOP 0");
  (*f)->stop();
  EXPECT_NE(::access(path.c_str(), F_OK), 0);
}

// A path that is not a fifo, or no instance, is refused with what to do.
TEST(VrrpFollower, RefusesAPathThatIsNotAFifo) {
  const auto path = temp_path("plain");
  const int fd = ::open(path.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
  ASSERT_GE(fd, 0);
  ::close(fd);
  auto f = VrrpFollower::start(path, "VI_1", nullptr);
  ASSERT_FALSE(f);
  EXPECT_EQ(f.error().message,
            "--vrrp-fifo " + path + ": exists and is not a fifo; remove it or give another path");
  ::unlink(path.c_str());
  auto g = VrrpFollower::start(temp_path("x"), "", nullptr);
  ASSERT_FALSE(g);
  EXPECT_NE(g.error().message.find("--vrrp-instance NAME"), std::string::npos);
}

}  // namespace
}  // namespace lvs::ha
