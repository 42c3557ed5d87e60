#include "dp/proxy/balancer.h"

#include <utility>

#include "model/overload.h"
#include "sched/registry.h"

namespace lvs::dp::proxy {

namespace {

std::atomic<std::uint32_t>* counter_of(DestRuntime& d, Count c) {
  switch (c) {
    case Count::kActive:
      return &d.load.active;
    case Count::kInactive:
      return &d.load.inactive;
    case Count::kNone:
      break;
  }
  return nullptr;
}

void bind(DestRuntime& d, Count c) {
  auto* counter = counter_of(d, c);
  if (counter == nullptr) return;
  counter->fetch_add(1, std::memory_order_relaxed);
  d.load.set_overloaded(model::overload_after_bind(d.load.overloaded_now(), d.load.total_now(),
                                                   d.u_threshold.load(std::memory_order_relaxed)));
}

void unbind(DestRuntime& d, Count c) {
  auto* counter = counter_of(d, c);
  if (counter == nullptr) return;
  counter->fetch_sub(1, std::memory_order_relaxed);
  d.load.set_overloaded(model::overload_after_unbind(
      d.load.overloaded_now(), d.load.total_now(), d.u_threshold.load(std::memory_order_relaxed),
      d.l_threshold.load(std::memory_order_relaxed)));
}

}  // namespace

FlowHandle::FlowHandle(std::shared_ptr<DestRuntime> dest, Count count)
    : dest_(std::move(dest)), count_(count) {
  if (dest_) bind(*dest_, count_);
}

FlowHandle::FlowHandle(FlowHandle&& other) noexcept
    : dest_(std::move(other.dest_)),
      template_(std::move(other.template_)),
      service_(std::move(other.service_)),
      count_(std::exchange(other.count_, Count::kNone)) {}

FlowHandle& FlowHandle::operator=(FlowHandle&& other) noexcept {
  if (this != &other) {
    release();
    dest_ = std::move(other.dest_);
    template_ = std::move(other.template_);
    service_ = std::move(other.service_);
    count_ = std::exchange(other.count_, Count::kNone);
  }
  return *this;
}

void FlowHandle::set_count(Count count) {
  if (!dest_ || count == count_) return;
  unbind(*dest_, count_);
  count_ = count;
  bind(*dest_, count_);
}

void FlowHandle::control(std::shared_ptr<Template> t) {
  LVS_ASSERT(!template_ && t);
  t->n_control.fetch_add(1, std::memory_order_relaxed);
  template_ = std::move(t);
}

void FlowHandle::hold(std::shared_ptr<ServiceLoad> service) {
  LVS_ASSERT(!service_ && service);
  service->open.fetch_add(1, std::memory_order_relaxed);
  service_ = std::move(service);
}

void FlowHandle::linger() {
  if (service_) {
    service_->open.fetch_sub(1, std::memory_order_relaxed);
    service_.reset();
  }
  set_count(Count::kInactive);
}

void FlowHandle::release() {
  if (service_) {
    service_->open.fetch_sub(1, std::memory_order_relaxed);
    service_.reset();
  }
  if (template_) {
    template_->n_control.fetch_sub(1, std::memory_order_relaxed);
    template_.reset();
  }
  if (!dest_) return;
  unbind(*dest_, count_);
  count_ = Count::kNone;
  dest_.reset();
}

core::Result<std::unique_ptr<Balancer>> Balancer::create(
    const model::VirtualService& svc, std::vector<std::shared_ptr<DestRuntime>> dests) {
  LVS_ASSERT(dests.size() == svc.dests.size());
  auto made = sched::make_scheduler(
      svc.scheduler, sched::SchedulerDeps{.rng = nullptr, .mh_cluster_seed = svc.cluster_seed});
  if (!made) return core::Unexpected{made.error()};
  std::unique_ptr<Balancer> b(new Balancer());
  b->scheduler_name_ = svc.scheduler;
  b->cluster_seed_ = svc.cluster_seed;
  b->sched_flags_ = svc.sched_flags;
  b->scheduler_ = std::move(made).value();
  b->runtimes_ = std::move(dests);
  b->dests_.reserve(svc.dests.size());
  for (std::size_t i = 0; i < svc.dests.size(); ++i) {
    const model::RealServer& r = svc.dests[i];
    b->dests_.push_back(sched::Dest{.addr = r.addr,
                                    .weight = r.weight,
                                    .last_weight = r.last_weight,
                                    .load = &b->runtimes_[i]->load});
  }
  if (auto r = b->scheduler_->rebuild(b->dests_, sched::DestChange{}); !r) {
    return core::Unexpected{r.error()};
  }
  return b;
}

std::optional<FlowHandle> Balancer::pick(const core::Endpoint& client, const core::Endpoint& vip,
                                         core::TimePoint now, Count count, std::size_t worker) {
  const auto i = scheduler_->pick(sched::PickInput{
      .dests = dests_, .flow = {.client = client, .dest = vip}, .flags = sched_flags_, .now = now});
  if (!i || *i >= runtimes_.size()) return std::nullopt;
  WorkerCounters::add(runtimes_[*i]->counters.at(worker).conns, 1);
  return FlowHandle(runtimes_[*i], count);
}

bool Balancer::serves(const model::VirtualService& svc) const {
  if (svc.scheduler != scheduler_name_ || svc.sched_flags != sched_flags_ ||
      svc.cluster_seed != cluster_seed_ || svc.dests.size() != dests_.size()) {
    return false;
  }
  for (std::size_t i = 0; i < dests_.size(); ++i) {
    if (svc.dests[i].addr != dests_[i].addr || svc.dests[i].weight != dests_[i].weight ||
        svc.dests[i].last_weight != dests_[i].last_weight) {
      return false;
    }
  }
  return true;
}

}  // namespace lvs::dp::proxy
