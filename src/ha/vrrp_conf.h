#pragma once
// The keepalived VRRP configuration lvsd asks for (`lvsd --gen-vrrp FILE`): a pure function
// from plain settings to keepalived.conf text. keepalived then holds the VIP and elects the
// master; lvsd follows it through the fifo (ha/follower.h) and keepalived's track_script runs
// `lvsadm --check`, so a broken lvsd puts its node in FAULT and gives the VIP away.
//
// Choices, from the facts in issue 9:
// - nopreempt by default (both nodes start BACKUP, the higher priority is elected once): with
//   preempt a recovered node takes the VIP back and every connection opened through the other
//   node is reset (10/10 measured); with nopreempt none. VRRP_PREEMPT=yes turns it on.
// - VRRPv3 (`vrrp_version 3`): advert intervals below 1 s (0.1 s: failover in about 0.4 s).
// - the fifo (vrrp_notify_fifo), not notify scripts: it reports about 30 ms earlier, and also
//   STOP.
// - a rejoining node waits for its flow table (issue 9): `lvsd_sync` (lvsadm --check-sync,
//   init_fail) lowers its priority to 1 until its backup sync daemon got the master's bulk
//   resync, so it cannot preempt (VRRP_PREEMPT=yes) nor win an election against a synced
//   peer; alone it still becomes master (priority 1 > 0).

#include <cstdint>
#include <optional>
#include <string>

#include "core/endpoint.h"
#include "core/result.h"

namespace lvs::ha {

struct VrrpSettings {
  std::string instance = "VI_LVSD";  // vrrp_instance name; lvsd --vrrp-instance
  std::string interface {};          // VRRP adverts go out here (VIP_IF without its :alias)
  core::IpAddress vip{};
  std::string vip_label{};  // the VIP's address label (VIP_IF when it is an alias), or empty
  std::optional<core::IpAddress> peer{};  // unicast_peer; unset: multicast adverts
  std::uint32_t router_id = 51;           // virtual_router_id 1..255
  std::uint32_t priority = 100;           // 1..254
  std::uint32_t advert_centis = 100;      // advert_int in 1/100 s (VRRPv3), 1..4095
  bool preempt = false;
  std::string fifo{};           // vrrp_notify_fifo: lvsd --vrrp-fifo
  std::string check_command{};  // the track_script's command (lvsadm --check)
  // The second track_script (lvsadm --check-sync): fails while this node's backup sync daemon
  // has not received the master's table. Its weight takes the priority down to 1, below any
  // peer's, so a rejoining node cannot preempt before its flows are in, yet takes the VIP
  // when it is alone. Empty: no such script.
  std::string sync_check_command{};

  bool operator==(const VrrpSettings&) const = default;
};

// keepalived.conf text (global_defs, vrrp_script, vrrp_instance). Errors name the setting and
// its valid range.
core::Result<std::string> keepalived_vrrp_conf(const VrrpSettings& s);

// "1", "0.1", "0.25", "2.5" -> centiseconds (VRRPv3 counts advert_int in 1/100 s); nullopt
// for anything else or out of 0.01..40.95.
std::optional<std::uint32_t> parse_advert_int(std::string_view text);

}  // namespace lvs::ha
