#include "dp/connlog/queue.h"

#include <bit>

namespace lvs::dp::connlog {

RecordQueue::RecordQueue(std::size_t capacity)
    : mask_(std::bit_ceil(capacity < 2 ? std::size_t{2} : capacity) - 1),
      slots_(std::make_unique<ConnRecord[]>(mask_ + 1)) {}

bool RecordQueue::push(const ConnRecord& r) {
  const std::size_t tail = tail_.load(std::memory_order_relaxed);
  if (tail - head_.load(std::memory_order_acquire) > mask_) {
    dropped_.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  slots_[tail & mask_] = r;
  tail_.store(tail + 1, std::memory_order_release);
  return true;
}

bool RecordQueue::pop(ConnRecord& out) {
  const std::size_t head = head_.load(std::memory_order_relaxed);
  if (head == tail_.load(std::memory_order_acquire)) return false;
  out = slots_[head & mask_];
  head_.store(head + 1, std::memory_order_release);
  return true;
}

}  // namespace lvs::dp::connlog
