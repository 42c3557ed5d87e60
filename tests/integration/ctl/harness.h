#pragma once
// Real processes for the lvsadm/lvsd integration tests: an lvsd started on a private socket
// path (LVSD_SOCKET) in a temporary directory, lvsadm runs with captured stdout/stderr/exit
// status, and free loopback ports. Every wait polls for a condition with a bound.

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace lvs::testing {

struct RunResult {
  int exit_code = -1;  // -1: did not exit within the bound (then killed)
  std::string out{};
  std::string err{};
};

// A fresh directory under $TMPDIR (or /tmp), removed with its content by the destructor.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Runs `program` with `args` (argv[0] = program), environment + LVSD_SOCKET=socket, stdin =
// `input`; waits at most 60 s.
RunResult run_program(const std::string& program, const std::vector<std::string>& args,
                      const std::string& socket, const std::string& input = {});

// A running lvsd (extra flags appended to `--workers 1 --log-level warn`), stopped with
// SIGTERM by the destructor.
class Lvsd {
 public:
  explicit Lvsd(std::vector<std::string> extra = {});
  ~Lvsd();
  Lvsd(const Lvsd&) = delete;
  Lvsd& operator=(const Lvsd&) = delete;

  bool ready() const { return ready_; }
  const std::string& socket() const { return socket_; }
  const std::string& dir() const { return dir_.path(); }
  // What lvsd wrote to stderr so far (its log).
  std::string log() const;
  // Sends `sig`; false when lvsd is not running.
  bool signal(int sig) const;
  // Waits (bounded) for lvsd to exit after signal(); its exit status, -1 if it did not exit.
  int wait_exit();
  // lvsadm with these arguments (argv[0] = the lvsadm binary path) against this daemon.
  RunResult lvsadm(const std::vector<std::string>& args, const std::string& input = {}) const;

 private:
  TempDir dir_{};
  std::string socket_;
  pid_t pid_ = -1;
  bool ready_ = false;
};

// An lvs-realserver process (`--name NAME --tcp ADDR:PORT`, plus `extra`), stopped with SIGTERM
// by stop() or the destructor. ready() once it printed its "ready" line.
class Realserver {
 public:
  Realserver(std::string name, std::string addr, std::vector<std::string> extra = {});
  ~Realserver();
  Realserver(const Realserver&) = delete;
  Realserver& operator=(const Realserver&) = delete;
  bool ready() const { return ready_; }
  void stop();

 private:
  TempDir dir_{};
  pid_t pid_ = -1;
  bool ready_ = false;
};

// Polls `cond` every 10 ms until it holds or `bound` passes; returns whether it held.
bool eventually(const std::function<bool()>& cond,
                std::chrono::milliseconds bound = std::chrono::seconds(20));

// The lvsadm binary path (argv[0] of every run, so "Try `PATH -h' ..." names it).
const std::string& lvsadm_path();
// A port that was free on `ip` for the protocol a moment ago (bound to 0, then released).
std::uint16_t free_port(const std::string& ip, bool udp = false);

}  // namespace lvs::testing
