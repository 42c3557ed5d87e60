#pragma once
// Persistence templates of one full-NAT service (spec §1.3, §3.3): the realserver a client
// network (client address AND netmask, or IPv6 prefix) was sent to. A valid template sends the
// network's next flow to the same realserver without calling the scheduler.
//
// Lifetime: a template is made when the scheduler picks for a network that has none; every flow
// it schedules re-arms it to the full persistence timeout. When its timer runs out while it
// still controls live flows it is re-armed for another full timeout (as the kernel's timer
// does); once it controls none it expires. It is invalid, and dropped, when its realserver left
// the service; weight 0 (quiesce) and overload keep it valid.
//
// Not thread-safe: Service (service.h) serializes every call under its mutex. Flows un-count
// themselves (Template::n_control) from any worker without the lock.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <unordered_map>

#include "core/clock.h"
#include "core/endpoint.h"

namespace lvs::dp::proxy {

struct DestRuntime;

struct Template {
  std::shared_ptr<DestRuntime> dest{};
  core::TimePoint expires{};                // under the Service mutex
  std::atomic<std::uint32_t> n_control{0};  // live flows it scheduled (any thread)
};

// The client network of `client` under `netmask`: an IPv4 mask in host order, or an IPv6
// prefix length (the model's convention).
core::IpAddress client_network(const core::IpAddress& client, std::uint32_t netmask);

class TemplateTable {
 public:
  // Persistence on or off, its timeout and netmask. Turning it off or changing the netmask
  // drops every template (their networks no longer mean anything); a new timeout applies from
  // each template's next re-arm.
  void configure(bool on, std::chrono::seconds timeout, std::uint32_t netmask);
  bool enabled() const { return on_; }
  std::uint32_t netmask() const { return netmask_; }

  // The valid template of `network`, re-armed as its timer demands; null when there is none.
  // An invalid or expired template found here is dropped.
  std::shared_ptr<Template> find(const core::IpAddress& network, core::TimePoint now);
  // Records that `network` goes to `dest`; counts it in the realserver's persistconns.
  std::shared_ptr<Template> add(const core::IpAddress& network, std::shared_ptr<DestRuntime> dest,
                                core::TimePoint now);
  // Re-arms a template for a flow it just scheduled.
  void touch(Template& t, core::TimePoint now) const { t.expires = now + timeout_; }
  // Drops every expired or invalid template.
  void sweep(core::TimePoint now);
  std::size_t size() const { return table_.size(); }
  std::chrono::seconds timeout() const { return timeout_; }
  // Calls f(network, template) for every template (for listings).
  template <typename F>
  void each(F&& f) const {
    for (const auto& [network, t] : table_) f(network, *t);
  }

 private:
  // False when the template must go: re-arms it while it controls flows.
  bool keep(Template& t, core::TimePoint now) const;
  void drop(std::unordered_map<core::IpAddress, std::shared_ptr<Template>>::iterator it);

  bool on_ = false;
  std::chrono::seconds timeout_{0};
  std::uint32_t netmask_ = 0;
  std::unordered_map<core::IpAddress, std::shared_ptr<Template>> table_{};
};

}  // namespace lvs::dp::proxy
