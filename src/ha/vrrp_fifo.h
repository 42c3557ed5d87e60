#pragma once
// keepalived's vrrp_notify_fifo lines and what they mean for lvsd (pure: values in, values out).
//
// keepalived writes one line per event, keepalived.conf(5): the last 4 arguments of a notify
// script, e.g.
//   INSTANCE "VI_1" MASTER 100
//   GROUP "VG_1" BACKUP 0
// with the state MASTER, BACKUP, FAULT, STOP or DELETED, and for an instance also
// MASTER_RX_LOWER_PRI (a master heard a lower-priority master) and MASTER_PRIORITY /
// BACKUP_PRIORITY (with notify_priority_changes). lvsd follows one instance (or group) by name.

#include <cstdint>
#include <string>
#include <string_view>

#include "core/result.h"

namespace lvs::ha {

// lvsd's role as the followed VRRP instance decides it. kUnknown: nothing heard yet.
enum class Role : std::uint8_t { kUnknown, kBackup, kMaster, kFault, kStopped };

std::string_view role_name(Role r);  // "UNKNOWN", "BACKUP", "MASTER", "FAULT", "STOP"
// Whether lvsd's engines serve in role `r` (the one definition lvsd, --ha-status, /metrics and
// the health JSON use). A master serves; a backup, fault or stop stands by. kUnknown serves:
// keepalived writes a line only when a state changes, so an lvsd started (or restarted) after
// keepalived on the master hears nothing until the next change and would otherwise never
// serve; on a backup the VIP is not on the host (keepalived holds it), so serving there
// reaches nothing that is not sent to this director's own MAC.
constexpr bool serves(Role r) { return r == Role::kMaster || r == Role::kUnknown; }

enum class Scope : std::uint8_t { kInstance, kGroup };

enum class FifoState : std::uint8_t {
  kMaster,
  kBackup,
  kFault,
  kStop,
  kDeleted,
  kMasterRxLowerPri,
  kMasterPriority,
  kBackupPriority,
};

struct FifoEvent {
  Scope scope = Scope::kInstance;
  std::string name{};
  FifoState state = FifoState::kBackup;
  std::uint32_t priority = 0;

  bool operator==(const FifoEvent&) const = default;
};

// One line without its newline. Errors quote the line and say what was expected.
core::Result<FifoEvent> parse_fifo_line(std::string_view line);

// The role after `event` for a follower of `followed` (an instance or group name): events of
// other names and the priority/lower-priority notes leave `current` as it is; MASTER, BACKUP,
// FAULT set it; STOP and DELETED are kStopped.
Role next_role(Role current, const FifoEvent& event, std::string_view followed);

}  // namespace lvs::ha
