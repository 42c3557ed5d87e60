#include "integration/ctl/harness.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "core/fd.h"

extern char** environ;  // NOLINT: POSIX

namespace lvs::testing {

namespace {

constexpr auto kStep = std::chrono::milliseconds(10);
constexpr int kExitSteps = 6000;   // 60 s
constexpr int kReadySteps = 2000;  // 20 s

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<std::string> environment_with(const std::string& socket) {
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    if (std::string_view(*e).starts_with("LVSD_SOCKET=")) continue;
    env.emplace_back(*e);
  }
  env.push_back("LVSD_SOCKET=" + socket);
  return env;
}

std::vector<char*> pointers(std::vector<std::string>& words) {
  std::vector<char*> out;
  for (auto& w : words) out.push_back(w.data());
  out.push_back(nullptr);
  return out;
}

pid_t spawn(const std::string& program, std::vector<std::string> args, const std::string& socket,
            const std::string& in, const std::string& out, const std::string& err) {
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, in.c_str(), O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_addopen(&fa, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  auto env = environment_with(socket);
  auto argv = pointers(args);
  auto envp = pointers(env);
  pid_t pid = -1;
  if (posix_spawn(&pid, program.c_str(), &fa, nullptr, argv.data(), envp.data()) != 0) pid = -1;
  posix_spawn_file_actions_destroy(&fa);
  return pid;
}

// Waits for `pid` to exit (bounded); kills it when the bound passes. Returns the exit status.
int reap(pid_t pid, int steps) {
  for (int i = 0; i < steps; ++i) {
    int status = 0;
    const pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    if (r < 0) return -1;
    std::this_thread::sleep_for(kStep);
  }
  ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
  return -1;
}

}  // namespace

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");  // NOLINT(concurrency-mt-unsafe): test setup
  std::string tmpl =
      std::string(base != nullptr && *base != '\0' ? base : "/tmp") + "/lvsadm.XXXXXX";
  if (::mkdtemp(tmpl.data()) != nullptr) path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  if (!path_.empty()) std::filesystem::remove_all(path_, ec);
}

RunResult run_program(const std::string& program, const std::vector<std::string>& args,
                      const std::string& socket, const std::string& input) {
  const TempDir dir;
  const std::string in = dir.path() + "/in";
  const std::string out = dir.path() + "/out";
  const std::string err = dir.path() + "/err";
  std::ofstream(in, std::ios::binary) << input;
  const pid_t pid = spawn(program, args, socket, in, out, err);
  if (pid < 0) return RunResult{.err = "spawn failed"};
  const int code = reap(pid, kExitSteps);
  return RunResult{.exit_code = code, .out = slurp(out), .err = slurp(err)};
}

const std::string& lvsadm_path() {
  static const std::string path = LVSADM_BIN;
  return path;
}

Lvsd::Lvsd(std::vector<std::string> extra) : socket_(dir_.path() + "/run/lvsd.sock") {
  std::vector<std::string> args{LVSD_BIN, "--workers", "1", "--log-level", "warn", "--grace", "2"};
  args.insert(args.end(), extra.begin(), extra.end());
  pid_ = spawn(LVSD_BIN, args, socket_, "/dev/null", dir_.path() + "/lvsd.out",
               dir_.path() + "/lvsd.err");
  if (pid_ < 0) return;
  for (int i = 0; i < kReadySteps && !ready_; ++i) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return;  // it exited: not ready
    }
    struct stat st {};
    if (::stat(socket_.c_str(), &st) == 0 && lvsadm({"-L", "-n"}).exit_code == 0) {
      ready_ = true;
    } else {
      std::this_thread::sleep_for(kStep);
    }
  }
}

Lvsd::~Lvsd() {
  if (pid_ < 0) return;
  ::kill(pid_, SIGTERM);
  reap(pid_, kExitSteps);
}

RunResult Lvsd::lvsadm(const std::vector<std::string>& args, const std::string& input) const {
  std::vector<std::string> argv{lvsadm_path()};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_program(lvsadm_path(), argv, socket_, input);
}

std::string Lvsd::log() const { return slurp(dir_.path() + "/lvsd.err"); }

bool Lvsd::signal(int sig) const { return pid_ > 0 && ::kill(pid_, sig) == 0; }

int Lvsd::wait_exit() {
  if (pid_ < 0) return -1;
  const int code = reap(pid_, kExitSteps);
  pid_ = -1;
  return code;
}

Realserver::Realserver(std::string name, std::string addr, std::vector<std::string> extra) {
  std::vector<std::string> args{LVS_REALSERVER_BIN, "--name", std::move(name), "--tcp",
                                std::move(addr)};
  args.insert(args.end(), extra.begin(), extra.end());
  const std::string out = dir_.path() + "/out";
  pid_ = spawn(LVS_REALSERVER_BIN, args, "", "/dev/null", out, dir_.path() + "/err");
  if (pid_ < 0) return;
  for (int i = 0; i < kReadySteps && !ready_; ++i) {
    if (slurp(out).find("ready") != std::string::npos) {
      ready_ = true;
    } else {
      std::this_thread::sleep_for(kStep);
    }
  }
}

Realserver::~Realserver() { stop(); }

void Realserver::stop() {
  if (pid_ < 0) return;
  ::kill(pid_, SIGTERM);
  reap(pid_, kExitSteps);
  pid_ = -1;
}

bool eventually(const std::function<bool()>& cond, std::chrono::milliseconds bound) {
  const auto deadline = std::chrono::steady_clock::now() + bound;
  while (!cond()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(kStep);
  }
  return true;
}

std::uint16_t free_port(const std::string& ip, bool udp) {
  core::Fd fd(::socket(AF_INET, (udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC, 0));
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  ::inet_pton(AF_INET, ip.c_str(), &sa.sin_addr);
  // NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast): the sockets API
  if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&sa), sizeof(sa)) != 0) return 0;
  socklen_t len = sizeof(sa);
  // NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast): the sockets API
  ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&sa), &len);
  return ntohs(sa.sin_port);
}

}  // namespace lvs::testing
