#pragma once
// A bounded single-producer single-consumer queue of connection records: one per data-plane
// worker (the producer), drained by the logger thread (the consumer). push() never blocks and
// never allocates: when the queue is full the record is dropped and counted.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "dp/connlog/record.h"

namespace lvs::dp::connlog {

class RecordQueue {
 public:
  // `capacity` is rounded up to a power of two (at least 2).
  explicit RecordQueue(std::size_t capacity);

  // Producer thread only. False (and the record counted in dropped()) when full.
  bool push(const ConnRecord& r);
  // Consumer thread only. False when empty.
  bool pop(ConnRecord& out);
  // Any thread: records dropped since the last take_dropped().
  std::uint64_t take_dropped() { return dropped_.exchange(0, std::memory_order_relaxed); }
  std::size_t capacity() const { return mask_ + 1; }

 private:
  std::size_t mask_;
  std::unique_ptr<ConnRecord[]> slots_;
  alignas(64) std::atomic<std::size_t> head_{0};  // next to pop (consumer writes)
  alignas(64) std::atomic<std::size_t> tail_{0};  // next to push (producer writes)
  alignas(64) std::atomic<std::uint64_t> dropped_{0};
};

}  // namespace lvs::dp::connlog
