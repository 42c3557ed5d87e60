#pragma once
// MonitorDriver: runs a Monitor on an EventLoop by keeping one loop timer armed at the
// monitor's next due time. The Monitor must use the loop's clock. Both must outlive the driver.

#include <optional>

#include "health/event_loop.h"
#include "health/monitor.h"

namespace lvs::health {

class MonitorDriver {
 public:
  MonitorDriver(EventLoop& loop, Monitor& monitor);
  ~MonitorDriver();
  MonitorDriver(const MonitorDriver&) = delete;
  MonitorDriver& operator=(const MonitorDriver&) = delete;

  // Re-arms the timer; call after adding services (probe completions re-arm by themselves).
  void arm();

 private:
  EventLoop& loop_;
  Monitor& monitor_;
  std::optional<EventLoop::TimerId> timer_{};
};

}  // namespace lvs::health
