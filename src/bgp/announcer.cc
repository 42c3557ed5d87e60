#include "bgp/announcer.h"

#include <sys/stat.h>

#include <utility>

#include "core/log.h"

namespace lvs::bgp {

namespace {

bool exists(const std::string& path) {
  struct stat st {};
  return !path.empty() && ::stat(path.c_str(), &st) == 0;
}

std::string join(const std::vector<core::IpAddress>& vips) {
  std::string out;
  for (const auto& v : vips) out += (out.empty() ? "" : " ") + v.to_string();
  return out.empty() ? "none" : out;
}

}  // namespace

Announcer::Announcer(AnnouncerOptions opts) : opts_(std::move(opts)) {}

Announcer::~Announcer() { stop(); }

void Announcer::start() {
  tick();
  thread_ = std::thread([this] { run(); });
}

void Announcer::tick() {
  AnnounceInput in{.table = opts_.table ? opts_.table() : model::ServiceTable{},
                   .data_plane_ok = opts_.data_plane_ok ? opts_.data_plane_ok() : true,
                   .drained = exists(opts_.drain_file)};
  Decision d = decide(in);
  if (d.withdrawn != last_withdrawn_) {
    for (const auto& w : d.withdrawn) {
      core::log().info("bgp: VIP {} withdrawn: {}", w.vip.to_string(), w.reason);
    }
    last_withdrawn_ = d.withdrawn;
  }
  if (pushed_ && *pushed_ == d.announce) return;
  if (auto r = push_to_bird(opts_.bird, d.announce); !r) {
    // Retried every round; logged once per distinct error, not 10 times a second.
    if (r.error().message != last_error_) core::log().error("{}", r.error().message);
    last_error_ = r.error().message;
    pushed_.reset();
    return;
  }
  if (!last_error_.empty()) core::log().info("bgp: bird took the announcements again");
  last_error_.clear();
  core::log().info("bgp: announcing {}", join(d.announce));
  pushed_ = std::move(d.announce);
}

void Announcer::run() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    cv_.wait_for(lock, opts_.period, [this] { return stopping_; });
    if (stopping_) break;
    lock.unlock();
    tick();
    lock.lock();
  }
}

void Announcer::stop() {
  {
    const std::lock_guard lock(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  if (auto r = push_to_bird(opts_.bird, {}); !r) {
    core::log().error("{}", r.error().message);
    return;
  }
  core::log().info("bgp: every VIP withdrawn (lvsd stopping)");
}

}  // namespace lvs::bgp
