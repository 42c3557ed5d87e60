#pragma once
// The thread that keeps bird's announcements equal to decide()'s: every `period` it reads the
// table and the data plane's health through the given functions and looks for the drain file,
// and pushes a changed (or previously failed) announcement set to bird. stop() withdraws every
// VIP before it returns, so a clean lvsd stop takes the director out of the routers' ECMP
// groups before connections are drained.

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "bgp/announce.h"
#include "bgp/bird.h"

namespace lvs::bgp {

struct AnnouncerOptions {
  BirdSettings bird{};
  std::string drain_file{};  // exists: the director is drained (empty: never drained)
  std::chrono::milliseconds period{100};
  std::function<model::ServiceTable()> table{};  // called on the announcer's thread
  std::function<bool()> data_plane_ok{};         // unset: always up
};

class Announcer {
 public:
  explicit Announcer(AnnouncerOptions opts);
  ~Announcer();  // stop()
  Announcer(const Announcer&) = delete;
  Announcer& operator=(const Announcer&) = delete;

  void start();
  // Withdraws every VIP (logged if bird refuses) and joins the thread. Idempotent.
  void stop();

  // One round on the caller's thread: decide, push if changed. For start() and tests.
  void tick();

 private:
  void run();

  AnnouncerOptions opts_;
  std::optional<std::vector<core::IpAddress>> pushed_{};  // what bird has; unset: unknown
  std::vector<Withdrawn> last_withdrawn_{};
  std::string last_error_{};  // of the last failed push; empty after a success
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace lvs::bgp
