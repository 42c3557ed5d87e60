#pragma once
// VrrpFollower: reads keepalived's vrrp_notify_fifo on its own thread and keeps lvsd's role
// (ha/vrrp_fifo.h) for one instance or group.
//
// The fifo is created (mode 0600) when it does not exist and removed at stop if lvsd created
// it; a path that exists and is not a fifo is an error. It is opened read-write, so keepalived
// restarting (closing and reopening its end) is no end-of-file for lvsd. Lines that do not
// parse are logged and counted, never fatal. `on_role(from, to)` runs on the reader thread at
// each change of role.

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "core/fd.h"
#include "core/result.h"
#include "ha/vrrp_fifo.h"

namespace lvs::ha {

struct FollowerStatus {
  Role role = Role::kUnknown;
  std::string instance{};
  std::string fifo{};
  std::uint64_t transitions = 0;  // changes of role since start
  std::uint64_t bad_lines = 0;    // lines that did not parse
  std::string last_line{};        // the last line about the followed name

  bool operator==(const FollowerStatus&) const = default;
};

class VrrpFollower {
 public:
  using OnRole = std::function<void(Role from, Role to)>;

  static core::Result<std::unique_ptr<VrrpFollower>> start(std::string fifo, std::string instance,
                                                           OnRole on_role);
  ~VrrpFollower();
  VrrpFollower(const VrrpFollower&) = delete;
  VrrpFollower& operator=(const VrrpFollower&) = delete;

  Role role() const { return role_.load(std::memory_order_acquire); }
  FollowerStatus status() const;  // any thread
  void stop();                    // joins the reader; idempotent

 private:
  VrrpFollower(std::string fifo, std::string instance, OnRole on_role, core::Fd fd, core::Fd wake,
               bool created);
  void run();
  void line(std::string_view text);

  std::string fifo_;
  std::string instance_;
  OnRole on_role_;
  core::Fd fd_;
  core::Fd wake_;  // an eventfd: stop() writes it
  bool created_ = false;
  std::atomic<Role> role_{Role::kUnknown};
  mutable std::mutex mu_;  // guards status_
  FollowerStatus status_{};
  std::thread thread_;
};

}  // namespace lvs::ha
