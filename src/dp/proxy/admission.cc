#include "dp/proxy/admission.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <new>
#include <utility>

#include <fmt/format.h>

#include "dp/proxy/worker.h"

namespace lvs::dp::proxy {

std::uint64_t relay_bytes_per_connection(const ProxyOptions& opts) {
  const auto pipe = static_cast<std::uint64_t>(std::max(opts.pipe_size, 0));
  const std::uint64_t buffer = std::min<std::uint64_t>(pipe, kMaxCopyBuffer);
  // With splice a direction holds a pipe, or (no descriptor for one) a buffer: never both.
  const std::uint64_t direction = opts.splice ? std::max(pipe, buffer) : buffer;
  return 2 * direction;
}

bool RelayBudget::try_reserve(std::uint64_t bytes) {
  std::uint64_t cur = held_.load(std::memory_order_relaxed);
  do {
    if (limit_ != 0 && (bytes > limit_ || cur > limit_ - bytes)) return false;
  } while (!held_.compare_exchange_weak(cur, cur + bytes, std::memory_order_relaxed));
  return true;
}

void RelayBudget::release(std::uint64_t bytes) {
  held_.fetch_sub(bytes, std::memory_order_relaxed);
}

BudgetLease BudgetLease::take(RelayBudget* budget, std::uint64_t bytes) {
  BudgetLease l;
  // No budget configured: nothing to count, and no shared cache line touched per connection.
  if (budget == nullptr || budget->limit() == 0) {
    l.granted_ = true;
    return l;
  }
  if (!budget->try_reserve(bytes)) return l;
  l.budget_ = budget;
  l.bytes_ = bytes;
  l.granted_ = true;
  return l;
}

BudgetLease::BudgetLease(BudgetLease&& o) noexcept
    : budget_(std::exchange(o.budget_, nullptr)),
      bytes_(std::exchange(o.bytes_, 0)),
      granted_(std::exchange(o.granted_, false)) {}

BudgetLease& BudgetLease::operator=(BudgetLease&& o) noexcept {
  if (this != &o) {
    reset();
    budget_ = std::exchange(o.budget_, nullptr);
    bytes_ = std::exchange(o.bytes_, 0);
    granted_ = std::exchange(o.granted_, false);
  }
  return *this;
}

void BudgetLease::reset() {
  if (budget_ != nullptr) budget_->release(bytes_);
  budget_ = nullptr;
  bytes_ = 0;
  granted_ = false;
}

core::Result<std::pair<core::Fd, core::Fd>> make_pipe(int size, bool size_must_fit) {
  int fds[2] = {-1, -1};
  if (::pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0) {
    const int err = errno;
    return core::fail(err, fmt::format("cannot create a relay pipe: {}", std::strerror(err)));
  }
  std::pair<core::Fd, core::Fd> p{core::Fd(fds[0]), core::Fd(fds[1])};
  if (::fcntl(fds[1], F_SETPIPE_SZ, size) < 0 && size_must_fit) {
    const int err = errno;
    return core::fail(
        err, fmt::format("cannot grow a relay pipe to {} bytes: {}{}", size, std::strerror(err),
                         err == EPERM ? " (the user's pipe pages are past "
                                        "/proc/sys/fs/pipe-user-pages-soft)"
                                      : ""));
  }
  return p;
}

std::unique_ptr<char[]> make_buffer(std::size_t size) {
  return std::unique_ptr<char[]>(new (std::nothrow) char[size]);
}

// The Worker's side of admission (declared in worker.h). Runs on the worker's thread.

std::string Worker::relay_shortage(int& err) {
  if (!opts_.splice) return {};
  // Two pooled pipes: the new connection's first bytes in each direction find one, and a
  // pipe the kernel will not give (descriptors, memory, pipe-user-pages-soft) refuses the
  // new connection here instead of starving a running one later.
  while (pipes_.size() < 2) {
    auto p = make_pipe(opts_.pipe_size, true);
    if (!p) {
      err = p.error().code;
      return p.error().message;
    }
    try {
      pipes_.push_back(PipePair{.r = std::move(p->first), .w = std::move(p->second)});
    } catch (const std::bad_alloc&) {
      err = ENOMEM;
      return "out of memory for the relay pipe pool";  // the pipe closes here
    }
  }
  return {};
}

}  // namespace lvs::dp::proxy
