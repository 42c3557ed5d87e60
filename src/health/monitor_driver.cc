#include "health/monitor_driver.h"

namespace lvs::health {

MonitorDriver::MonitorDriver(EventLoop& loop, Monitor& monitor) : loop_(loop), monitor_(monitor) {
  monitor_.set_on_reschedule([this] { arm(); });
}

MonitorDriver::~MonitorDriver() {
  monitor_.set_on_reschedule({});
  if (timer_) loop_.cancel(*timer_);
}

void MonitorDriver::arm() {
  if (timer_) loop_.cancel(*timer_);
  timer_.reset();
  const auto due = monitor_.next_due();
  if (!due) return;
  timer_ = loop_.at(*due, [this] {
    timer_.reset();
    monitor_.run_due();
    arm();
  });
}

}  // namespace lvs::health
