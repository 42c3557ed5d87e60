#include "dp/proxy/persistence.h"

#include <algorithm>

#include "dp/proxy/balancer.h"

namespace lvs::dp::proxy {

core::IpAddress client_network(const core::IpAddress& client, std::uint32_t netmask) {
  if (client.is_v4()) return core::IpAddress::v4(client.v4_host() & netmask);
  auto bytes = client.bytes();
  const std::uint32_t prefix = std::min<std::uint32_t>(netmask, 128);
  for (std::uint32_t bit = prefix; bit < 128; ++bit) {
    bytes[bit / 8] = static_cast<std::uint8_t>(bytes[bit / 8] & ~(0x80U >> (bit % 8)));
  }
  return core::IpAddress::v6(bytes);
}

void TemplateTable::configure(bool on, std::chrono::seconds timeout, std::uint32_t netmask) {
  if (!on || netmask != netmask_) {
    while (!table_.empty()) drop(table_.begin());
  }
  on_ = on;
  timeout_ = timeout;
  netmask_ = netmask;
}

bool TemplateTable::keep(Template& t, core::TimePoint now) const {
  if (!t.dest->available.load(std::memory_order_relaxed)) return false;
  if (now < t.expires) return true;
  if (t.n_control.load(std::memory_order_relaxed) == 0) return false;
  // The kernel's timer re-arms by a full timeout each time it finds live flows.
  const auto period = std::max<core::Duration>(timeout_, std::chrono::seconds(1));
  while (t.expires <= now) t.expires += period;
  return true;
}

void TemplateTable::drop(
    std::unordered_map<core::IpAddress, std::shared_ptr<Template>>::iterator it) {
  it->second->dest->load.persistent.fetch_sub(1, std::memory_order_relaxed);
  table_.erase(it);
}

std::shared_ptr<Template> TemplateTable::find(const core::IpAddress& network, core::TimePoint now) {
  auto it = table_.find(network);
  if (it == table_.end()) return nullptr;
  if (!keep(*it->second, now)) {
    drop(it);
    return nullptr;
  }
  return it->second;
}

std::shared_ptr<Template> TemplateTable::add(const core::IpAddress& network,
                                             std::shared_ptr<DestRuntime> dest,
                                             core::TimePoint now) {
  auto t = std::make_shared<Template>();
  t->dest = std::move(dest);
  t->expires = now + timeout_;
  t->dest->load.persistent.fetch_add(1, std::memory_order_relaxed);
  if (auto it = table_.find(network); it != table_.end()) drop(it);
  table_.emplace(network, t);
  return t;
}

void TemplateTable::sweep(core::TimePoint now) {
  for (auto it = table_.begin(); it != table_.end();) {
    auto next = std::next(it);
    if (!keep(*it->second, now)) drop(it);
    it = next;
  }
}

}  // namespace lvs::dp::proxy
