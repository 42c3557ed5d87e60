#pragma once
// Effects: what health transitions do to one virtual service (spec §5.4-5.5), as a pure state
// machine. Inputs are realserver transitions and weight changes; outputs are Actions (table
// edits with their log line, notify commands, FIFO lines) that the Director applies in order.
// The table part is a diff between the dests in the table and the dests the state asks for:
// normal mode = alive reals (inhibit_on_failure: dead ones at weight 0); sorry mode (quorum
// lost and a sorry server configured) = the sorry server alone.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "config/config.h"
#include "core/endpoint.h"
#include "model/service.h"

namespace lvs::health {

enum class ActionKind : std::uint8_t {
  kAddDest,     // add-server `dest`; text = "Adding service RS to VS"
  kEditDest,    // edit-server `dest`; text = "Enabling ...", "Disabling ...", "Changing weight ..."
  kDeleteDest,  // delete-server `dest.addr`; text = "Removing service RS from VS"
  kRunCommand,  // run text with /bin/sh (notify_up/down, quorum_up/down)
  kNotifyFifo,  // write text + '\n' to the notify FIFO
};

struct Action {
  ActionKind kind = ActionKind::kRunCommand;
  model::ServiceKey service{};
  model::RealServer dest{};
  std::string text{};
  std::string reason{};  // why: the probe's reason for RS transitions, "quorum lost", ...
  bool operator==(const Action&) const = default;
};

// Renderings used in log lines and FIFO lines: "[10.0.0.11]:tcp:80", "FWM 7".
std::string render_real(const model::ServiceKey& service, const core::Endpoint& real);
std::string render_service(const model::ServiceKey& service);

// True when the realserver starts alive: no checkers, or none of them starts in alpha mode.
bool starts_alive(const config::RealServerHealth& rs, bool service_alpha);

// Applies table actions to a table (commands and FIFO lines are ignored). For tests and for a
// Director that keeps its desired table as a value.
core::Result<void> apply(model::ServiceTable& table, const Action& action);

class Effects {
 public:
  // `dests` gives each real's forwarding settings (its weight is taken from `health`).
  Effects(config::ServiceHealth health, std::vector<model::RealServer> dests,
          bool notify_fifo_configured);

  // The start-up table: alive reals (and inhibited dead ones at 0) or the sorry server.
  std::vector<Action> start();
  // A realserver became alive or dead (Monitor's on_change).
  std::vector<Action> set_alive(const core::Endpoint& real, bool alive, const std::string& reason);
  // misc_dynamic: the real's weight becomes `weight`; the table sees it only while the real is
  // alive and the sorry server is not serving.
  std::vector<Action> set_weight(const core::Endpoint& real, std::int32_t weight);
  // Daemon shutdown: with omega, RS-down notifiers for alive reals and quorum_down.
  std::vector<Action> shutdown();

  bool quorum_up() const { return quorum_up_; }
  bool sorry_active() const;
  std::int64_t live_weight() const;

 private:
  struct Real {
    model::RealServer dest{};
    config::RealServerHealth health{};
    bool alive = true;
    std::int32_t weight = 1;
  };
  std::map<core::Endpoint, std::int32_t> desired() const;
  void sync(std::vector<Action>& out, const std::string& reason);
  void update_quorum(std::vector<Action>& out);
  void notify_real(std::vector<Action>& out, const Real& r, bool up, const std::string& reason);
  Real* find(const core::Endpoint& addr);

  config::ServiceHealth health_;
  bool fifo_;
  std::vector<Real> reals_;  // file order
  bool quorum_up_ = true;
  std::map<core::Endpoint, std::int32_t> in_table_{};  // dests this service has in the table
};

}  // namespace lvs::health
