#include "dp/proxy/proxy.h"

#include <csignal>
#include <thread>

#include <fmt/format.h>

#include "core/log.h"
#include "dp/proxy/net.h"
#include "model/overload.h"

namespace lvs::dp::proxy {

core::Result<void> check_service(const model::VirtualService& svc) {
  const std::string name = svc.key.to_string();
  if (svc.key.is_fwmark()) {
    return core::fail(EOPNOTSUPP, fmt::format("service {}: the proxy data plane cannot serve "
                                              "firewall-mark services",
                                              name));
  }
  if (svc.key.protocol != model::Protocol::kTcp && svc.key.protocol != model::Protocol::kUdp) {
    return core::fail(
        EOPNOTSUPP, fmt::format("service {}: the proxy data plane serves TCP and UDP only", name));
  }
  for (const auto& d : svc.dests) {
    if (d.forward != model::ForwardMethod::kFullNat && d.forward != model::ForwardMethod::kMasq) {
      return core::fail(EOPNOTSUPP,
                        fmt::format("realserver {} of service {} uses {} forwarding; "
                                    "the proxy data plane does full-NAT and Masq only",
                                    d.addr.to_string(), name, model::forward_name(d.forward)));
    }
    if (d.forward == model::ForwardMethod::kMasq &&
        d.addr.addr.family() != svc.key.vip.addr.family()) {
      // The upstream socket is bound to the client's address, which is in the VIP's family.
      return core::fail(EAFNOSUPPORT,
                        fmt::format("realserver {} of service {}: a Masq (-m) realserver must "
                                    "be in the VIP's address family (the realserver sees the "
                                    "client's own address); use --fullnat to cross families",
                                    d.addr.to_string(), name));
    }
    if (d.proxy_protocol == model::ProxyProtocol::kV1 &&
        svc.key.protocol == model::Protocol::kUdp) {
      return core::fail(EINVAL, fmt::format("realserver {} of service {}: PROXY protocol v1 has "
                                            "no UDP form; use v2",
                                            d.addr.to_string(), name));
    }
    if (d.addr.port == 0) {
      return core::fail(EINVAL, fmt::format("realserver {} of service {} needs a port",
                                            d.addr.to_string(), name));
    }
  }
  return {};
}

core::Result<std::unique_ptr<Proxy>> Proxy::create(const ProxyOptions& opts,
                                                   const core::Clock& clock) {
  // A peer that vanished mid-splice must give EPIPE, not kill the process.
  std::signal(SIGPIPE, SIG_IGN);
  std::unique_ptr<Proxy> p(new Proxy(opts));
  unsigned n = opts.workers;
  if (n == 0) n = std::max(1U, std::thread::hardware_concurrency());
  p->opts_.workers = n;
  for (unsigned i = 0; i < n; ++i) {
    auto w = Worker::create(i, p->opts_, clock, p->box_, p->refused_);
    if (!w) return core::Unexpected{w.error()};
    (*w)->set_budget(&p->budget_);
    if (opts.conn_log != nullptr) (*w)->set_conn_log(opts.conn_log, opts.conn_log->add_producer());
    p->workers_.push_back(std::move(w).value());
  }
  for (auto& w : p->workers_) w->start();
  return p;
}

Proxy::~Proxy() { stop(); }

void Proxy::stop() {
  for (auto& w : workers_) w->stop();
}

core::Result<std::shared_ptr<Service>> Proxy::make_service(const model::VirtualService& svc) const {
  const SockType type =
      svc.key.protocol == model::Protocol::kUdp ? SockType::kDatagram : SockType::kStream;
  std::vector<core::Fd> listeners;
  core::Endpoint at = svc.key.vip;
  for (std::size_t i = 0; i < workers_.size(); ++i) {
    auto fd = make_listener(type, at, opts_.backlog);
    if (!fd) {
      return core::fail(fd.error().code,
                        fmt::format("service {}: {}", svc.key.to_string(), fd.error().message));
    }
    if (i == 0 && at.port == 0) {
      // Port 0: the kernel picks a free port for the first listener, the others join it.
      auto ep = local_endpoint(fd->get());
      if (!ep) return core::Unexpected{ep.error()};
      at = *ep;
    }
    listeners.push_back(std::move(fd).value());
  }
  model::ServiceKey key = svc.key;
  key.vip = at;
  return std::make_shared<Service>(key, std::move(listeners));
}

core::Result<void> Proxy::apply(const model::ServiceTable& table) {
  bool masq4 = false;
  bool masq6 = false;
  for (const auto& svc : table.services) {
    if (auto r = check_service(svc); !r) return r;
    for (const auto& d : svc.dests) {
      if (d.forward != model::ForwardMethod::kMasq) continue;
      (d.addr.addr.is_v4() ? masq4 : masq6) = true;
    }
  }
  // The director's routing state for Masq goes in before anything else changes (and stays
  // until lvsd stops: removing it would strand running Masq connections).
  for (const auto& [needed, family] :
       {std::pair{masq4, core::Family::kInet4}, std::pair{masq6, core::Family::kInet6}}) {
    if (!needed) continue;
    if (!masq_ensure_) {
      return core::fail(EOPNOTSUPP, "masquerading (-m) is not available in this data plane");
    }
    if (auto r = masq_ensure_(family); !r) return r;
  }
  // Prepare everything that can fail; nothing visible changes until the commit below.
  struct Prepared {
    const model::VirtualService* conf = nullptr;
    std::shared_ptr<Service> service{};
    std::unique_ptr<Balancer> balancer{};  // null: keep the current one
  };
  std::vector<Prepared> prepared;
  for (const auto& svc : table.services) {
    Prepared p{.conf = &svc};
    const Balancer* current = nullptr;
    if (auto it = services_.find(svc.key); it != services_.end()) {
      p.service = it->second;
      current = p.service->balancer();
    } else {
      auto made = make_service(svc);
      if (!made) return core::Unexpected{made.error()};
      p.service = std::move(made).value();
    }
    if (current == nullptr || !current->serves(svc)) {
      std::vector<std::shared_ptr<DestRuntime>> runtimes;
      for (const auto& d : svc.dests) {
        std::shared_ptr<DestRuntime> rt;
        if (current != nullptr) {
          for (const auto& old : current->dests()) {
            if (old->addr == d.addr) rt = old;
          }
        }
        if (!rt) {
          rt = std::make_shared<DestRuntime>(workers_.size());
          rt->addr = d.addr;
        }
        runtimes.push_back(std::move(rt));
      }
      auto b = Balancer::create(svc, std::move(runtimes));
      if (!b) {
        return core::fail(b.error().code,
                          fmt::format("service {}: {}", svc.key.to_string(), b.error().message));
      }
      p.balancer = std::move(b).value();
    }
    prepared.push_back(std::move(p));
  }

  // Commit.
  std::map<model::ServiceKey, std::shared_ptr<Service>> next;
  auto snap = std::make_shared<Snapshot>();
  snap->generation = ++generation_;
  for (auto& p : prepared) {
    for (std::size_t i = 0; i < p.conf->dests.size(); ++i) {
      const model::RealServer& r = p.conf->dests[i];
      DestRuntime& rt = p.balancer ? *p.balancer->dests()[i] : *p.service->balancer()->dests()[i];
      rt.weight.store(r.weight, std::memory_order_relaxed);
      const std::uint32_t old_u = rt.u_threshold.exchange(r.u_threshold);
      rt.l_threshold.store(r.l_threshold, std::memory_order_relaxed);
      rt.proxy_protocol.store(r.proxy_protocol, std::memory_order_relaxed);
      rt.masq.store(r.forward == model::ForwardMethod::kMasq, std::memory_order_relaxed);
      rt.load.set_overloaded(
          model::overload_after_edit(rt.load.overloaded_now(), old_u, r.u_threshold));
      rt.available.store(true, std::memory_order_relaxed);
    }
    if (p.balancer) {
      auto old = p.service->swap_balancer(std::move(p.balancer));
      if (old) {
        for (const auto& d : old->dests()) {
          if (p.conf->find_dest(d->addr) == nullptr) {
            d->available.store(false, std::memory_order_relaxed);
          }
        }
      }
    }
    p.service->set_one_packet(p.conf->one_packet);
    p.service->set_conn_limit(p.conf->conn_limit);
    p.service->set_persistence(p.conf->persistent, std::chrono::seconds(p.conf->timeout),
                               p.conf->netmask);
    snap->services.push_back(p.service);
    next.emplace(p.conf->key, p.service);
  }
  for (const auto& [key, svc] : services_) {
    if (next.count(key) != 0) continue;
    for (const auto& d : svc->balancer()->dests()) {
      d->available.store(false, std::memory_order_relaxed);
    }
  }
  services_ = std::move(next);
  box_.publish(std::move(snap));
  for (auto& w : workers_) w->wake();
  return {};
}

void Proxy::zero_rates(const std::optional<model::ServiceKey>& only) {
  for (const auto& [key, svc] : services_) {
    if (!only || key == *only) svc->zero_rates();
  }
}

void Proxy::stop_accepting() {
  for (const auto& [key, svc] : services_) draining_.push_back(svc);
  if (auto r = apply(model::ServiceTable{}); !r) {
    core::log().error("stopping: {}", r.error().message);
  }
}

std::uint64_t Proxy::open_connections() const {
  std::uint64_t n = 0;
  for (const auto& svc : draining_) n += svc->open_flows();
  for (const auto& [key, svc] : services_) n += svc->open_flows();
  return n;
}

core::Result<core::Endpoint> Proxy::bound(const model::ServiceKey& key) const {
  auto it = services_.find(key);
  if (it == services_.end()) {
    return core::fail(ESRCH, fmt::format("service {} is not in the table", key.to_string()));
  }
  return it->second->key().vip;
}

ErrorCounts Proxy::errors() const {
  ErrorCounts sum;
  for (const auto& w : workers_) {
    const ErrorCounts one = w->errors();
    for (std::size_t k = 0; k < kErrorKinds; ++k) sum.n[k] += one.n[k];
  }
  return sum;
}

std::vector<EngineHealth> Proxy::health(core::TimePoint now) const {
  EngineHealth h{.engine = "proxy"};
  for (const auto& w : workers_) {
    if (auto p = worker_problem(w->beat(), now)) h.problems.push_back(std::move(*p));
  }
  return {h};
}

Stats Proxy::stats() const {
  Stats s;
  s.refused = refused_.load(std::memory_order_relaxed);
  RateSums total_est{};
  for (const auto& [key, svc] : services_) {
    ServiceStats ss{.key = key};
    RateSums service_est{};
    for (const auto& d : svc->balancer()->dests()) {
      DestStats ds{.addr = d->addr,
                   .active = d->load.active_now(),
                   .inactive = d->load.inactive_now(),
                   .persistconns = d->load.persistent.load(std::memory_order_relaxed),
                   .counters = d->counters.read()};
      const RateSums est = d->rates.read();
      ds.rates = rates_of(est);
      add_to(service_est, est);
      ss.counters += ds.counters;
      ss.dests.push_back(ds);
    }
    ss.rates = rates_of(service_est);
    add_to(total_est, service_est);
    s.total += ss.counters;
    s.services.push_back(std::move(ss));
  }
  s.rates = rates_of(total_est);
  return s;
}

}  // namespace lvs::dp::proxy
