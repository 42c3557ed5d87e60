// TCP_CHECK: success iff a TCP connect completes within the timeout; then close.
#include <sys/epoll.h>

#include "health/attempt.h"
#include "health/net.h"
#include "health/registry.h"

namespace lvs::health {

namespace {

class TcpAttempt final : public Attempt {
 public:
  TcpAttempt(EventLoop& loop, ProbeDone done, const config::CheckerSpec& spec)
      : Attempt(loop, std::move(done)), spec_(spec) {}

  void start(const core::Endpoint& target, core::Duration timeout) {
    auto fd = open_connected(target, SOCK_STREAM, 0, spec_);
    if (!fd.ok()) return finish(Outcome::kFailure, fd.error().message);
    fd_ = std::move(*fd);
    arm_timeout(timeout);
    watch(fd_.get(), EPOLLOUT, [this](std::uint32_t) {
      const int err = socket_error(fd_.get());
      if (err != 0) return finish(Outcome::kFailure, "connect: " + errno_text(err));
      finish(Outcome::kSuccess, "connected");
    });
  }

 private:
  void release() override { fd_.reset(); }
  config::CheckerSpec spec_;
  core::Fd fd_{};
};

class TcpChecker final : public Checker {
 public:
  TcpChecker(const config::CheckerSpec& spec, EventLoop& loop) : spec_(spec), loop_(loop) {}
  void probe(const core::Endpoint& target, core::Duration timeout, ProbeDone done) override {
    auto a = std::make_shared<TcpAttempt>(loop_, std::move(done), spec_);
    a->start(target, timeout);
  }

 private:
  config::CheckerSpec spec_;
  EventLoop& loop_;
};

}  // namespace

core::Result<std::unique_ptr<Checker>> make_tcp_checker(const config::CheckerSpec& spec,
                                                        const CheckerContext& ctx) {
  return std::unique_ptr<Checker>(std::make_unique<TcpChecker>(spec, *ctx.loop));
}

}  // namespace lvs::health
