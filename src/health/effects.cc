#include "health/effects.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <utility>

#include "model/table_ops.h"

namespace lvs::health {

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

std::string render_real(const model::ServiceKey& service, const core::Endpoint& real) {
  return fmt::format("[{}]:{}:{}", real.addr.to_string(),
                     lower(model::protocol_name(service.protocol)), real.port);
}

std::string render_service(const model::ServiceKey& service) {
  if (service.is_fwmark()) return fmt::format("FWM {}", service.fwmark);
  return render_real(service, service.vip);
}

bool starts_alive(const config::RealServerHealth& rs, bool service_alpha) {
  if (rs.checkers.empty()) return true;
  if (rs.alpha || service_alpha) return false;
  return std::none_of(rs.checkers.begin(), rs.checkers.end(),
                      [](const config::CheckerSpec& c) { return c.timing.alpha; });
}

core::Result<void> apply(model::ServiceTable& table, const Action& action) {
  switch (action.kind) {
    case ActionKind::kAddDest:
      return model::add_dest(table, action.service, action.dest);
    case ActionKind::kEditDest:
      return model::edit_dest(table, action.service, action.dest);
    case ActionKind::kDeleteDest:
      return model::delete_dest(table, action.service, action.dest.addr);
    case ActionKind::kRunCommand:
    case ActionKind::kNotifyFifo:
      break;
  }
  return {};
}

Effects::Effects(config::ServiceHealth health, std::vector<model::RealServer> dests,
                 bool notify_fifo_configured)
    : health_(std::move(health)), fifo_(notify_fifo_configured) {
  for (const config::RealServerHealth& h : health_.reals) {
    Real r;
    auto it = std::find_if(dests.begin(), dests.end(),
                           [&](const model::RealServer& d) { return d.addr == h.addr; });
    r.dest = it != dests.end() ? *it : model::RealServer{.addr = h.addr};
    r.health = h;
    r.alive = starts_alive(h, health_.alpha);
    r.weight = h.weight;
    reals_.push_back(std::move(r));
  }
}

Effects::Real* Effects::find(const core::Endpoint& addr) {
  for (Real& r : reals_) {
    if (r.health.addr == addr) return &r;
  }
  return nullptr;
}

std::int64_t Effects::live_weight() const {
  std::int64_t sum = 0;
  for (const Real& r : reals_) {
    if (r.alive) sum += r.weight;
  }
  return std::max<std::int64_t>(sum, 0);
}

bool Effects::sorry_active() const { return !quorum_up_ && health_.sorry_server.has_value(); }

std::map<core::Endpoint, std::int32_t> Effects::desired() const {
  std::map<core::Endpoint, std::int32_t> want;
  const bool sorry = sorry_active();
  for (const Real& r : reals_) {
    if (!sorry && r.alive) {
      want[r.health.addr] = r.weight;
    } else if (r.health.inhibit_on_failure) {
      want[r.health.addr] = 0;
    }
  }
  if (health_.sorry_server) {
    if (sorry) {
      want[health_.sorry_server->addr] = health_.sorry_server->weight;
    } else if (health_.sorry_server_inhibit) {
      want[health_.sorry_server->addr] = 0;
    }
  }
  return want;
}

// Removals and disables first, then additions and enables: the order keepalived uses when it
// swaps the reals for the sorry server and back.
void Effects::sync(std::vector<Action>& out, const std::string& reason) {
  const auto want = desired();
  const std::string vs = render_service(health_.key);
  const auto dest_for = [&](const core::Endpoint& addr, std::int32_t weight) {
    model::RealServer d{.addr = addr};
    for (const Real& r : reals_) {
      if (r.health.addr == addr) d = r.dest;
    }
    if (health_.sorry_server && health_.sorry_server->addr == addr) d = *health_.sorry_server;
    d.weight = weight;
    return d;
  };
  const auto noun = [&](const core::Endpoint& addr) {
    const bool sorry = health_.sorry_server && health_.sorry_server->addr == addr;
    return fmt::format("{} {}", sorry ? "sorry server" : "service", render_real(health_.key, addr));
  };
  const auto emit = [&](ActionKind kind, const core::Endpoint& addr, std::int32_t weight,
                        std::string text) {
    out.push_back(Action{.kind = kind,
                         .service = health_.key,
                         .dest = dest_for(addr, weight),
                         .text = std::move(text),
                         .reason = reason});
  };
  for (auto it = in_table_.begin(); it != in_table_.end();) {
    const auto w = want.find(it->first);
    if (w == want.end()) {
      emit(ActionKind::kDeleteDest, it->first, it->second,
           fmt::format("Removing {} from VS {}", noun(it->first), vs));
      it = in_table_.erase(it);
      continue;
    }
    if (w->second == 0 && it->second != 0) {
      emit(ActionKind::kEditDest, it->first, 0,
           fmt::format("Disabling {} of VS {}", noun(it->first), vs));
      it->second = 0;
    }
    ++it;
  }
  for (const auto& [addr, weight] : want) {
    auto it = in_table_.find(addr);
    if (it == in_table_.end()) {
      emit(ActionKind::kAddDest, addr, weight, fmt::format("Adding {} to VS {}", noun(addr), vs));
      in_table_[addr] = weight;
    } else if (it->second != weight) {
      std::string text = it->second == 0
                             ? fmt::format("Enabling {} of VS {}", noun(addr), vs)
                             : fmt::format("Changing weight from {} to {} for {} of VS {}",
                                           it->second, weight, noun(addr), vs);
      emit(ActionKind::kEditDest, addr, weight, std::move(text));
      it->second = weight;
    }
  }
}

void Effects::update_quorum(std::vector<Action>& out) {
  const std::int64_t live = live_weight();
  const std::int64_t quorum = health_.quorum;
  const std::int64_t hysteresis = health_.hysteresis;
  const std::string vs = render_service(health_.key);
  if (!quorum_up_ && live >= quorum + hysteresis) {
    quorum_up_ = true;
    const std::string reason =
        fmt::format("quorum gained: live weight {} >= {}", live, quorum + hysteresis);
    if (!health_.quorum_up.empty()) {
      out.push_back(Action{.kind = ActionKind::kRunCommand,
                           .service = health_.key,
                           .text = health_.quorum_up,
                           .reason = reason});
    }
    if (fifo_) {
      out.push_back(Action{.kind = ActionKind::kNotifyFifo,
                           .service = health_.key,
                           .text = fmt::format("VS {} UP", vs),
                           .reason = reason});
    }
    sync(out, reason);
  } else if (quorum_up_ && (live == 0 || live < quorum - hysteresis)) {
    quorum_up_ = false;
    const std::string reason = fmt::format("quorum lost: live weight {} < {}", live,
                                           std::max<std::int64_t>(quorum - hysteresis, 1));
    if (!health_.quorum_down.empty()) {
      out.push_back(Action{.kind = ActionKind::kRunCommand,
                           .service = health_.key,
                           .text = health_.quorum_down,
                           .reason = reason});
    }
    if (fifo_) {
      out.push_back(Action{.kind = ActionKind::kNotifyFifo,
                           .service = health_.key,
                           .text = fmt::format("VS {} DOWN", vs),
                           .reason = reason});
    }
    sync(out, reason);
  }
}

void Effects::notify_real(std::vector<Action>& out, const Real& r, bool up,
                          const std::string& reason) {
  const std::string& cmd = up ? r.health.notify_up : r.health.notify_down;
  if (!cmd.empty()) {
    out.push_back(Action{.kind = ActionKind::kRunCommand,
                         .service = health_.key,
                         .dest = r.dest,
                         .text = cmd,
                         .reason = reason});
  }
  if (fifo_) {
    out.push_back(Action{.kind = ActionKind::kNotifyFifo,
                         .service = health_.key,
                         .dest = r.dest,
                         .text = fmt::format("RS {} {} {}", render_real(health_.key, r.health.addr),
                                             render_service(health_.key), up ? "UP" : "DOWN"),
                         .reason = reason});
  }
}

std::vector<Action> Effects::start() {
  std::vector<Action> out;
  const std::int64_t live = live_weight();
  quorum_up_ = live >= static_cast<std::int64_t>(health_.quorum) +
                           static_cast<std::int64_t>(health_.hysteresis);
  sync(out, "start-up");
  return out;
}

std::vector<Action> Effects::set_alive(const core::Endpoint& real, bool alive,
                                       const std::string& reason) {
  std::vector<Action> out;
  Real* r = find(real);
  if (r == nullptr || r->alive == alive) return out;
  r->alive = alive;
  notify_real(out, *r, alive, reason);
  sync(out, reason);
  update_quorum(out);
  return out;
}

std::vector<Action> Effects::set_weight(const core::Endpoint& real, std::int32_t weight) {
  std::vector<Action> out;
  Real* r = find(real);
  if (r == nullptr || r->weight == weight) return out;
  r->weight = weight;
  const std::string reason = fmt::format("misc_dynamic weight {}", weight);
  sync(out, reason);
  update_quorum(out);
  return out;
}

std::vector<Action> Effects::shutdown() {
  std::vector<Action> out;
  if (!health_.omega) return out;
  for (const Real& r : reals_) {
    if (r.alive) notify_real(out, r, false, "shutdown");
  }
  if (quorum_up_ && !health_.quorum_down.empty()) {
    out.push_back(Action{.kind = ActionKind::kRunCommand,
                         .service = health_.key,
                         .text = health_.quorum_down,
                         .reason = "shutdown"});
  }
  return out;
}

}  // namespace lvs::health
