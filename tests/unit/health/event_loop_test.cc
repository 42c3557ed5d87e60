// The checkers' event loop: timers in time order, cancellation, descriptor callbacks, bounded
// runs. Timers use a FakeClock, so nothing here waits on wall-clock time except a 0 ms poll.
#include "health/event_loop.h"

#include <fcntl.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <array>
#include <vector>

namespace lvs::health {
namespace {

using std::chrono::milliseconds;

TEST(EventLoop, TimersRunInTimeOrderAndCancelledOnesNever) {
  core::FakeClock clock;
  auto loop = EventLoop::create(&clock);
  ASSERT_TRUE(loop.ok());
  std::vector<int> ran;
  (*loop)->after(milliseconds(30), [&] { ran.push_back(3); });
  (*loop)->after(milliseconds(10), [&] { ran.push_back(1); });
  const auto cancelled = (*loop)->after(milliseconds(20), [&] { ran.push_back(2); });
  (*loop)->cancel(cancelled);
  clock.advance(milliseconds(15));
  (*loop)->run_once(milliseconds(0));
  EXPECT_EQ(ran, std::vector<int>{1});
  clock.advance(milliseconds(15));
  (*loop)->run_once(milliseconds(0));
  EXPECT_EQ(ran, (std::vector<int>{1, 3}));
}

TEST(EventLoop, ReadableDescriptorRunsItsCallbackUntilUnwatched) {
  auto loop = EventLoop::create();
  ASSERT_TRUE(loop.ok());
  std::array<int, 2> p{};
  ASSERT_EQ(::pipe2(p.data(), O_CLOEXEC | O_NONBLOCK), 0);
  core::Fd r(p[0]);
  core::Fd w(p[1]);
  int calls = 0;
  ASSERT_TRUE((*loop)
                  ->watch(r.get(), EPOLLIN,
                          [&](std::uint32_t) {
                            ++calls;
                            (*loop)->unwatch(r.get());  // a callback may unwatch itself
                          })
                  .ok());
  ASSERT_EQ(::write(w.get(), "x", 1), 1);
  EXPECT_TRUE((*loop)->run_until([&] { return calls == 1; }, std::chrono::seconds(5)));
  (*loop)->run_once(milliseconds(0));
  EXPECT_EQ(calls, 1);
}

TEST(EventLoop, RunUntilIsBounded) {
  core::FakeClock clock;
  auto loop = EventLoop::create(&clock);
  ASSERT_TRUE(loop.ok());
  (*loop)->after(milliseconds(5), [&] {});
  clock.advance(milliseconds(10));
  EXPECT_FALSE((*loop)->run_until([] { return false; }, milliseconds(0)));
}

}  // namespace
}  // namespace lvs::health
