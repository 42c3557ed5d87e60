// The per-worker record queue: bounded, FIFO, counts what it drops; one producer and one
// consumer thread at once.

#include "dp/connlog/queue.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

namespace lvs::dp::connlog {
namespace {

ConnRecord numbered(std::uint64_t n) { return ConnRecord{.in_bytes = n}; }

// A full queue refuses and counts each refused record; popping makes room again.
TEST(RecordQueue, OverflowIsCountedNotBlocking) {
  RecordQueue q(4);
  EXPECT_EQ(q.capacity(), 4U);
  for (std::uint64_t i = 0; i < 4; ++i) EXPECT_TRUE(q.push(numbered(i)));
  EXPECT_FALSE(q.push(numbered(4)));
  EXPECT_FALSE(q.push(numbered(5)));
  EXPECT_EQ(q.take_dropped(), 2U);
  EXPECT_EQ(q.take_dropped(), 0U);
  ConnRecord r;
  ASSERT_TRUE(q.pop(r));
  EXPECT_EQ(r.in_bytes, 0U);
  EXPECT_TRUE(q.push(numbered(6)));
  for (const std::uint64_t want : {1U, 2U, 3U, 6U}) {
    ASSERT_TRUE(q.pop(r));
    EXPECT_EQ(r.in_bytes, want);
  }
  EXPECT_FALSE(q.pop(r));
}

// Capacities round up to a power of two.
TEST(RecordQueue, CapacityRoundsUp) {
  EXPECT_EQ(RecordQueue(5).capacity(), 8U);
  EXPECT_EQ(RecordQueue(0).capacity(), 2U);
}

// Across threads every record is either delivered, in order, or counted as dropped.
TEST(RecordQueue, ProducerAndConsumerThreadsLoseNothingUncounted) {
  RecordQueue q(64);
  constexpr std::uint64_t kRecords = 200000;
  std::atomic<bool> produced{false};
  std::thread producer([&] {
    for (std::uint64_t i = 0; i < kRecords; ++i) q.push(numbered(i));
    produced.store(true, std::memory_order_release);
  });
  std::uint64_t got = 0;
  std::uint64_t last = 0;
  bool ordered = true;
  ConnRecord r;
  for (;;) {
    const bool finished = produced.load(std::memory_order_acquire);
    while (q.pop(r)) {
      if (got > 0 && r.in_bytes <= last) ordered = false;
      last = r.in_bytes;
      ++got;
    }
    if (finished) break;
    std::this_thread::yield();
  }
  producer.join();
  EXPECT_TRUE(ordered);
  EXPECT_EQ(got + q.take_dropped(), kRecords);
}

}  // namespace
}  // namespace lvs::dp::connlog
