#include "health/script.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <cerrno>
#include <string>

#include "health/attempt.h"
#include "health/net.h"

extern char** environ;  // NOLINT(readability-identifier-naming): POSIX name

namespace lvs::health {

namespace {

ProbeResult judge_exit(int status, bool dynamic) {
  if (WIFSIGNALED(status)) {
    return {.outcome = Outcome::kFailure,
            .reason = "killed by signal " + std::to_string(WTERMSIG(status))};
  }
  const int code = WEXITSTATUS(status);
  const std::string reason = "exit status " + std::to_string(code);
  if (code == 0) return {.outcome = Outcome::kSuccess, .reason = reason};
  if (dynamic && code >= 2) {
    return {.outcome = Outcome::kSuccess, .reason = reason, .weight = code - 2};
  }
  return {.outcome = Outcome::kFailure, .reason = reason};
}

class ScriptAttempt final : public Attempt {
 public:
  ScriptAttempt(EventLoop& loop, ProbeDone done, std::string command, bool dynamic)
      : Attempt(loop, std::move(done)), command_(std::move(command)), dynamic_(dynamic) {}
  ~ScriptAttempt() override { reap(true); }
  ScriptAttempt(const ScriptAttempt&) = delete;
  ScriptAttempt& operator=(const ScriptAttempt&) = delete;

  void start(core::Duration timeout) {
    posix_spawn_file_actions_t actions;
    posix_spawnattr_t attr;
    posix_spawn_file_actions_init(&actions);
    posix_spawnattr_init(&attr);
    for (const int fd : {0, 1, 2}) {
      posix_spawn_file_actions_addopen(&actions, fd, "/dev/null", fd == 0 ? O_RDONLY : O_WRONLY, 0);
    }
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
    posix_spawnattr_setpgroup(&attr, 0);  // its own group: a timeout kills the whole script
    std::string sh = "/bin/sh";
    std::string dash_c = "-c";
    std::string cmd = command_;
    char* argv[] = {sh.data(), dash_c.data(), cmd.data(), nullptr};
    const int err = posix_spawn(&pid_, "/bin/sh", &actions, &attr, argv, environ);
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    if (err != 0) {
      pid_ = -1;
      return finish(Outcome::kFailure, "spawn " + command_ + ": " + errno_text(err));
    }
    // glibc 2.36 declares pidfd_open without C linkage for C++: call it directly.
    pidfd_.reset(static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0)));
    if (!pidfd_) {
      const int e = errno;
      reap(true);
      return finish(Outcome::kFailure, "pidfd_open: " + errno_text(e));
    }
    arm_timeout(timeout);
    watch(pidfd_.get(), EPOLLIN, [this](std::uint32_t) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) != pid_) return;
      pid_ = -1;
      ProbeResult r = judge_exit(status, dynamic_);
      finish(r.outcome, std::move(r.reason), r.weight);
    });
  }

 private:
  void on_timeout() override {
    reap(true);
    Attempt::on_timeout();
  }
  void release() override { pidfd_.reset(); }
  // Kills the script's process group (when asked) and collects the child.
  void reap(bool kill) {
    if (pid_ <= 0) return;
    if (kill) ::kill(-pid_, SIGKILL);
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
  }

  std::string command_;
  bool dynamic_;
  pid_t pid_ = -1;
  core::Fd pidfd_{};
};

}  // namespace

void run_script(EventLoop& loop, std::string command, core::Duration timeout, ExitCodes codes,
                ProbeDone done) {
  auto a = std::make_shared<ScriptAttempt>(loop, std::move(done), std::move(command),
                                           codes == ExitCodes::kMiscDynamic);
  a->start(timeout);
}

}  // namespace lvs::health
