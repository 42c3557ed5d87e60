#include "health/datagram.h"

#include <sys/socket.h>

#include <array>
#include <cerrno>
#include <utility>

#include "health/attempt.h"
#include "health/net.h"

namespace lvs::health {

namespace {

class DatagramAttempt final : public Attempt {
 public:
  DatagramAttempt(EventLoop& loop, ProbeDone done, DatagramExchange ex)
      : Attempt(loop, std::move(done)), ex_(std::move(ex)) {}

  void start(core::Duration timeout) {
    arm_timeout(timeout);
    const ssize_t n = ::send(ex_.socket.get(), ex_.request.data(), ex_.request.size(), 0);
    if (n < 0) return finish(Outcome::kFailure, "send: " + errno_text(errno));
    watch(ex_.socket.get(), EPOLLIN, [this](std::uint32_t) { readable(); });
  }

 private:
  void readable() {
    std::array<std::uint8_t, 4096> buf{};
    while (!finished()) {
      const ssize_t n = ::recv(ex_.socket.get(), buf.data(), buf.size(), 0);
      if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) return;
        if (errno == EINTR) continue;
        return finish(Outcome::kFailure, "ICMP error: " + errno_text(errno));
      }
      Verdict v = ex_.judge(std::span<const std::uint8_t>(buf.data(), static_cast<std::size_t>(n)));
      if (v.kind == Verdict::Kind::kAccept) return finish(Outcome::kSuccess, std::move(v.reason));
      if (v.kind == Verdict::Kind::kReject) return finish(Outcome::kFailure, std::move(v.reason));
    }
  }
  void on_timeout() override {
    if (ex_.silence_is_success) return finish(Outcome::kSuccess, "no ICMP error");
    Attempt::on_timeout();
  }
  void release() override { ex_.socket.reset(); }

  DatagramExchange ex_;
};

}  // namespace

void run_datagram_exchange(EventLoop& loop, DatagramExchange exchange, core::Duration timeout,
                           ProbeDone done) {
  auto a = std::make_shared<DatagramAttempt>(loop, std::move(done), std::move(exchange));
  a->start(timeout);
}

}  // namespace lvs::health
