#include "ha/follower.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include <fmt/format.h>

#include "core/log.h"

namespace lvs::ha {
namespace {

constexpr std::size_t kMaxLine = 4096;  // keepalived's lines are short; longer ones are dropped

}  // namespace

core::Result<std::unique_ptr<VrrpFollower>> VrrpFollower::start(std::string fifo,
                                                                std::string instance,
                                                                OnRole on_role) {
  if (fifo.empty()) return core::fail(EINVAL, "--vrrp-fifo: the path is empty");
  if (instance.empty()) {
    return core::fail(EINVAL, fmt::format("--vrrp-fifo {}: give the VRRP instance to follow "
                                          "(--vrrp-instance NAME, keepalived's vrrp_instance)",
                                          fifo));
  }
  bool created = false;
  struct stat st {};
  if (::stat(fifo.c_str(), &st) == 0) {
    if (!S_ISFIFO(st.st_mode)) {
      return core::fail(EINVAL, fmt::format("--vrrp-fifo {}: exists and is not a fifo; remove it "
                                            "or give another path",
                                            fifo));
    }
  } else if (errno == ENOENT) {
    if (::mkfifo(fifo.c_str(), 0600) != 0) {
      return core::fail(errno, fmt::format("--vrrp-fifo {}: cannot create the fifo: {}", fifo,
                                           std::strerror(errno)));
    }
    created = true;
  } else {
    return core::fail(errno, fmt::format("--vrrp-fifo {}: {}", fifo, std::strerror(errno)));
  }
  // Read-write: keepalived closing its end is no end-of-file, and open() does not block.
  core::Fd fd(::open(fifo.c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC));
  if (!fd) {
    const int err = errno;
    if (created) ::unlink(fifo.c_str());
    return core::fail(err,
                      fmt::format("--vrrp-fifo {}: cannot open it: {}", fifo, std::strerror(err)));
  }
  core::Fd wake(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  if (!wake) {
    const int err = errno;
    if (created) ::unlink(fifo.c_str());
    return core::fail(err, fmt::format("--vrrp-fifo {}: eventfd: {}", fifo, std::strerror(err)));
  }
  std::unique_ptr<VrrpFollower> f(new VrrpFollower(std::move(fifo), std::move(instance),
                                                   std::move(on_role), std::move(fd),
                                                   std::move(wake), created));
  f->thread_ = std::thread([p = f.get()] { p->run(); });
  return f;
}

VrrpFollower::VrrpFollower(std::string fifo, std::string instance, OnRole on_role, core::Fd fd,
                           core::Fd wake, bool created)
    : fifo_(std::move(fifo)),
      instance_(std::move(instance)),
      on_role_(std::move(on_role)),
      fd_(std::move(fd)),
      wake_(std::move(wake)),
      created_(created) {
  status_.instance = instance_;
  status_.fifo = fifo_;
}

VrrpFollower::~VrrpFollower() { stop(); }

void VrrpFollower::stop() {
  if (!thread_.joinable()) return;
  const std::uint64_t one = 1;
  (void)!::write(wake_.get(), &one, sizeof(one));
  thread_.join();
  if (created_) ::unlink(fifo_.c_str());
}

FollowerStatus VrrpFollower::status() const {
  std::lock_guard lock(mu_);
  return status_;
}

void VrrpFollower::run() {
  std::string pending;
  char buf[1024];
  bool dropping = false;  // inside a line longer than kMaxLine
  for (;;) {
    pollfd fds[2] = {{.fd = fd_.get(), .events = POLLIN, .revents = 0},
                     {.fd = wake_.get(), .events = POLLIN, .revents = 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      core::log().error("vrrp: poll on {}: {}; no longer following keepalived", fifo_,
                        std::strerror(errno));
      return;
    }
    if ((fds[1].revents & POLLIN) != 0) return;
    if ((fds[0].revents & POLLIN) == 0) continue;
    const ssize_t n = ::read(fd_.get(), buf, sizeof(buf));
    if (n <= 0) continue;  // EAGAIN (another reader took it) or nothing
    for (ssize_t i = 0; i < n; ++i) {
      const char c = buf[i];
      if (c == '\n') {
        if (!dropping) line(pending);
        pending.clear();
        dropping = false;
      } else if (!dropping) {
        pending.push_back(c);
        if (pending.size() > kMaxLine) {
          core::log().warn("vrrp: a line of over {} bytes on {} ignored", kMaxLine, fifo_);
          std::lock_guard lock(mu_);
          ++status_.bad_lines;
          pending.clear();
          dropping = true;
        }
      }
    }
  }
}

void VrrpFollower::line(std::string_view text) {
  auto ev = parse_fifo_line(text);
  if (!ev) {
    core::log().warn("vrrp: {}", ev.error().message);
    std::lock_guard lock(mu_);
    ++status_.bad_lines;
    return;
  }
  if (ev->name != instance_) return;
  const Role from = role_.load(std::memory_order_relaxed);
  const Role to = next_role(from, *ev, instance_);
  {
    std::lock_guard lock(mu_);
    status_.last_line = std::string(text);
    status_.role = to;
    if (to != from) ++status_.transitions;
  }
  if (to == from) {
    core::log().info("vrrp: {}", text);
    return;
  }
  role_.store(to, std::memory_order_release);
  core::log().info("vrrp: {}: role {} -> {}", text, role_name(from), role_name(to));
  if (on_role_) on_role_(from, to);
}

}  // namespace lvs::ha
