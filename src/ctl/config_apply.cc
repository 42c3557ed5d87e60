#include "ctl/config_apply.h"

#include <algorithm>

#include <fmt/format.h>

#include "model/table_ops.h"

namespace lvs::ctl {

namespace {

const config::ServiceHealth* find_health(const config::Config& cfg, const model::ServiceKey& key) {
  for (const auto& h : cfg.health) {
    if (h.key == key) return &h;
  }
  return nullptr;
}

std::string join_keys(const std::vector<model::ServiceKey>& keys) {
  std::string out;
  for (const auto& k : keys) {
    if (!out.empty()) out += ", ";
    out += k.to_string();
  }
  return out;
}

// keepalived's word for a forwarding method.
std::string_view lvs_method_name(model::ForwardMethod m) {
  switch (m) {
    case model::ForwardMethod::kMasq:
      return "NAT";
    case model::ForwardMethod::kRoute:
    case model::ForwardMethod::kLocal:
      return "DR";
    case model::ForwardMethod::kTunnel:
      return "TUN";
    case model::ForwardMethod::kFullNat:
      return "FNAT";
  }
  return "?";
}

// What a checker probes, without where it was written or its timing (delay_loop, retry,
// warm-up, alpha...): moving a block in the file or retuning its schedule does not reset its
// realserver's state; a new target, kind or probe setting does.
std::vector<config::CheckerSpec> probes(std::vector<config::CheckerSpec> checkers) {
  for (auto& c : checkers) {
    c.where = {};
    c.timing = {};
  }
  return checkers;
}

// The health settings without source locations, to compare two files.
config::ServiceHealth located_nowhere(config::ServiceHealth h) {
  h.where = {};
  for (auto& rs : h.reals) {
    rs.where = {};
    for (auto& c : rs.checkers) c.where = {};
  }
  return h;
}

bool served(std::span<const model::ForwardMethod> methods, model::ForwardMethod m) {
  return std::find(methods.begin(), methods.end(), m) != methods.end();
}

}  // namespace

model::ServiceTable health_base_table(const config::Config& cfg) {
  model::ServiceTable table = cfg.table;
  for (auto& svc : table.services) {
    if (find_health(cfg, svc.key) != nullptr) svc.dests.clear();
  }
  return table;
}

core::Result<bool> apply_health_action(model::ServiceTable& table, const health::Action& action,
                                       const WeightOverrides& overrides) {
  using health::ActionKind;
  if (action.kind != ActionKind::kAddDest && action.kind != ActionKind::kEditDest &&
      action.kind != ActionKind::kDeleteDest) {
    return false;
  }
  model::VirtualService* svc = table.find(action.service);
  if (svc == nullptr) return false;
  const model::RealServer* present = svc->find_dest(action.dest.addr);
  if (action.kind == ActionKind::kDeleteDest) {
    if (present == nullptr) return false;
    if (auto r = model::delete_dest(table, action.service, action.dest.addr); !r) {
      return core::Unexpected{r.error()};
    }
    return true;
  }
  model::RealServer want = action.dest;
  // A disable (weight 0) always wins; otherwise the operator's weight replaces health's.
  if (want.weight != 0) {
    if (auto o = overrides.find(DestKey{action.service, want.addr}); o != overrides.end()) {
      want.weight = o->second;
    }
  }
  if (present != nullptr) {
    model::ServiceTable next = table;
    if (auto r = model::edit_dest(next, action.service, want); !r) {
      return core::Unexpected{r.error()};
    }
    if (next == table) return false;
    table = std::move(next);
    return true;
  }
  if (auto r = model::add_dest(table, action.service, want); !r) {
    return core::Unexpected{r.error()};
  }
  // Quiesced by the operator (override 0): its last non-zero weight is the one health gave, as
  // if it had been running and then drained (what an enable restores, what mh keeps slots by).
  if (want.weight == 0 && action.dest.weight != 0) {
    table.find(action.service)->find_dest(want.addr)->last_weight = action.dest.weight;
  }
  return true;
}

core::Result<void> check_served_methods(const config::Config& cfg,
                                        std::span<const model::ForwardMethod> methods) {
  const auto refuse = [](const config::SourceLocation& where, const model::RealServer& d,
                         std::string_view what) {
    return core::fail(
        EINVAL,
        fmt::format("{}: {} {} uses lvs_method {}, which this lvsd does not serve yet "
                    "(it runs the user-space proxy); expected lvs_method NAT or FNAT",
                    where.to_string(), what, d.addr.to_string(), lvs_method_name(d.forward)));
  };
  for (const auto& svc : cfg.table.services) {
    const config::ServiceHealth* h = find_health(cfg, svc.key);
    for (const auto& d : svc.dests) {
      if (served(methods, d.forward)) continue;
      config::SourceLocation where = h != nullptr ? h->where : config::SourceLocation{};
      if (h != nullptr) {
        for (const auto& rs : h->reals) {
          if (rs.addr == d.addr) where = rs.where;
        }
      }
      return refuse(where, d, "real_server");
    }
    if (h != nullptr && h->sorry_server && !served(methods, h->sorry_server->forward)) {
      return refuse(h->where, *h->sorry_server, "sorry_server");
    }
  }
  return {};
}

ReloadPlan plan_reload(const config::Config& old, const config::Config& next) {
  ReloadPlan plan;
  for (const auto& svc : next.table.services) {
    const model::VirtualService* before = old.table.find(svc.key);
    if (before == nullptr) {
      plan.added.push_back(svc.key);
      continue;
    }
    const config::ServiceHealth* h_old = find_health(old, svc.key);
    const config::ServiceHealth* h_new = find_health(next, svc.key);
    const bool same_health =
        (h_old == nullptr) == (h_new == nullptr) &&
        (h_old == nullptr || located_nowhere(*h_old) == located_nowhere(*h_new));
    // Realserver order is file order reversed (newest first): compare as sets.
    auto a = before->dests;
    auto b = svc.dests;
    const auto by_addr = [](const model::RealServer& x, const model::RealServer& y) {
      return x.addr < y.addr;
    };
    std::sort(a.begin(), a.end(), by_addr);
    std::sort(b.begin(), b.end(), by_addr);
    model::VirtualService s1 = *before;
    model::VirtualService s2 = svc;
    s1.dests.clear();
    s2.dests.clear();
    if (s1 == s2 && a == b && same_health) {
      ++plan.unchanged;
    } else {
      plan.edited.push_back(svc.key);
    }
  }
  for (const auto& svc : old.table.services) {
    if (next.table.find(svc.key) == nullptr) plan.removed.push_back(svc.key);
  }
  return plan;
}

std::string describe(const ReloadPlan& plan) {
  const auto part = [](std::size_t n, std::string_view what,
                       const std::vector<model::ServiceKey>& keys) {
    return keys.empty() ? fmt::format("{} {}", n, what)
                        : fmt::format("{} {} ({})", n, what, join_keys(keys));
  };
  return fmt::format("{}, {}, {}, {} unchanged", part(plan.added.size(), "added", plan.added),
                     part(plan.removed.size(), "removed", plan.removed),
                     part(plan.edited.size(), "edited", plan.edited), plan.unchanged);
}

config::ServiceHealth carry_health(config::ServiceHealth next, const config::ServiceHealth* old,
                                   const AliveMap& alive) {
  for (auto& rs : next.reals) {
    const config::RealServerHealth* before = nullptr;
    if (old != nullptr) {
      for (const auto& o : old->reals) {
        if (o.addr == rs.addr) before = &o;
      }
    }
    const auto state = alive.find(DestKey{next.key, rs.addr});
    if (before != nullptr && probes(before->checkers) == probes(rs.checkers) &&
        !rs.checkers.empty() && state != alive.end()) {
      const bool dead = !state->second;
      rs.alpha = dead;
      for (auto& c : rs.checkers) c.timing.alpha = dead;
    } else {
      rs.alpha = rs.alpha || next.alpha;
    }
  }
  next.alpha = false;
  return next;
}

model::ServiceTable merge_reload(const model::ServiceTable& running,
                                 const std::set<model::ServiceKey>& old_config_keys,
                                 model::ServiceTable configured) {
  for (const auto& svc : running.services) {
    if (old_config_keys.contains(svc.key)) continue;
    if (configured.find(svc.key) != nullptr) continue;
    configured.services.push_back(svc);
  }
  return configured;
}

}  // namespace lvs::ctl
