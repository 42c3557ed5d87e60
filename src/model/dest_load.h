#pragma once
// Live per-realserver state that the data plane writes and the schedulers read. Shared between
// worker threads, so every field is an atomic read and written with relaxed order: schedulers
// need a recent value, not a consistent snapshot (the kernel reads these the same way).

#include <atomic>
#include <cstdint>

#include "model/overload.h"

namespace lvs::model {

struct DestLoad {
  std::atomic<std::uint32_t> active{0};
  std::atomic<std::uint32_t> inactive{0};
  std::atomic<std::uint32_t> persistent{0};
  std::atomic<bool> overloaded{false};

  std::uint32_t active_now() const { return active.load(std::memory_order_relaxed); }
  std::uint32_t inactive_now() const { return inactive.load(std::memory_order_relaxed); }
  bool overloaded_now() const { return overloaded.load(std::memory_order_relaxed); }
  std::uint64_t total_now() const { return std::uint64_t{active_now()} + inactive_now(); }

  // Test and control-plane helpers: set counters directly.
  void set(std::uint32_t a, std::uint32_t i) {
    active.store(a, std::memory_order_relaxed);
    inactive.store(i, std::memory_order_relaxed);
  }
  void set_overloaded(bool o) { overloaded.store(o, std::memory_order_relaxed); }
};

}  // namespace lvs::model
