#pragma once
// What a new TCP connection must get before the proxy takes it on, so that running short of
// memory or descriptors refuses new connections and never breaks the ones already relaying:
//
// * RelayBudget: the relay memory budget (ProxyOptions::relay_memory_budget), shared by all
//   workers. Each connection reserves its worst case up front (relay_bytes_per_connection: two
//   directions, each at most one pipe of pipe_size or one copy buffer), so the bytes the relay
//   can ever hold are bounded by configuration. Beyond it, new connections are refused.
// * make_pipe(): a pipe of the configured size, with the reason when the kernel refuses it
//   (ENFILE/EMFILE/ENOMEM from pipe2, EPERM from F_SETPIPE_SZ once the user's pipe pages pass
//   /proc/sys/fs/pipe-user-pages-soft).
// * make_buffer(): the copy buffer without throwing (nullptr when memory is short).
//
// Everything here is thread-safe where it says so and allocation-free on the data path.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include "core/fd.h"
#include "core/result.h"
#include "dp/proxy/options.h"

namespace lvs::dp::proxy {

// Bytes of pipe or buffer capacity a direction may hold without splice (the copy buffer).
inline constexpr std::size_t kMaxCopyBuffer = std::size_t{64} * 1024;

// Worst-case relay bytes of one TCP connection under `opts`.
std::uint64_t relay_bytes_per_connection(const ProxyOptions& opts);

// A byte budget shared by the workers (relaxed atomics; any thread).
class RelayBudget {
 public:
  explicit RelayBudget(std::uint64_t limit) : limit_(limit) {}  // 0 = unlimited
  RelayBudget(const RelayBudget&) = delete;
  RelayBudget& operator=(const RelayBudget&) = delete;

  // Takes `bytes` unless that would pass the limit.
  bool try_reserve(std::uint64_t bytes);
  void release(std::uint64_t bytes);
  std::uint64_t limit() const { return limit_; }
  std::uint64_t held() const { return held_.load(std::memory_order_relaxed); }

 private:
  std::uint64_t limit_ = 0;
  std::atomic<std::uint64_t> held_{0};
};

// A reservation that gives its bytes back when destroyed (move-only).
class BudgetLease {
 public:
  BudgetLease() = default;
  // An empty lease (ok() false) when the budget is used up; with no budget, an unlimited one.
  static BudgetLease take(RelayBudget* budget, std::uint64_t bytes);
  ~BudgetLease() { reset(); }
  BudgetLease(BudgetLease&& o) noexcept;
  BudgetLease& operator=(BudgetLease&& o) noexcept;
  BudgetLease(const BudgetLease&) = delete;
  BudgetLease& operator=(const BudgetLease&) = delete;

  bool ok() const { return granted_; }
  void reset();

 private:
  RelayBudget* budget_ = nullptr;
  std::uint64_t bytes_ = 0;
  bool granted_ = false;
};

// A non-blocking pipe. With `size_must_fit`, a pipe the kernel will not grow to `size` is an
// error (the admission check); without, a smaller pipe is fine (it just moves less per call).
// Returns {read end, write end}.
core::Result<std::pair<core::Fd, core::Fd>> make_pipe(int size, bool size_must_fit);

// The copy buffer of `size` bytes, or nullptr when memory is short (never throws).
std::unique_ptr<char[]> make_buffer(std::size_t size);

}  // namespace lvs::dp::proxy
