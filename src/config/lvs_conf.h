#pragma once
// The article's /etc/lvs.conf: shell-variable assignments read by its lvs-director script.
//
//   VIP=epsg9008            # address or host name clients connect to
//   VIP_IF=eth0:110         # interface alias that carries the VIP
//   LVS_IF="eth0"           # interfaces that get ICMP redirects turned off
//   TPORTS="telnet"         # TCP services: port numbers or /etc/services names
//   UPORTS="xdmcp"          # UDP services, same rules
//   RIPS="epsg9010 epsg9011 ..."   # realservers: addresses or host names
//
// Mapped the way the script sets up its one-interface NAT cluster: one service per port on the
// VIP (TCP ports first, then UDP, each in file order) with the ipvsadm default scheduler wlc,
// no persistence, and every realserver added in RIPS order with masquerading (-m) and weight 1,
// on the service's port. The script's `update` command (ping each realserver, remove the
// silent ones) becomes one PING_CHECK per realserver.
//
// lvsd extension: LVS_FORWARD=masq|fullnat picks the realservers' forwarding method. The
// default is masq, as the article's script (ipvsadm -m), and lvsd runs it as written: its
// user-space engine masquerades with transparent sockets (needs root; dp/masq installs the
// director's nftables table and policy routing). LVS_FORWARD=fullnat (or the loader's
// forwarding override, ctl::LoadOptions::forward) runs the same cluster on full NAT, without
// root, the realservers then seeing the director's address.
//
// lvsd extension: CHECK_INTERVAL=SECONDS (1..86400, default 60, keepalived's delay_loop) is the
// time between two checks of a realserver; a probe waits at most min(5 s, CHECK_INTERVAL).
// lvsd extension: LVS_CHECK=ping|service (default ping) picks what is checked (see LvsConf).
// lvsd extension (issue 9): VRRP_PEER, VRRP_PRIORITY, VRRP_ROUTER_ID, VRRP_ADVERT_INT,
// VRRP_PREEMPT, VRRP_IF, VRRP_INSTANCE describe keepalived's VRRP instance (LvsConf::Vrrp).
// lvsd extension: LVS_ENGINE=user|xdp (default user); xdp runs the XDP engine on the LVS_IF
// interfaces for the masquerading services (global_defs xdp_interfaces, lvsd --xdp).
//
// Syntax: NAME=value, NAME="a b c" (a backslash-newline inside quotes continues the value),
// NAME='a b', an optional leading `export`, `#` comments. No $VAR expansion. Unknown variables
// are warnings; the first error stops parsing and names FILE:LINE:COL, the word and what would
// be valid.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "core/endpoint.h"
#include "core/result.h"
#include "model/service.h"

namespace lvs::config {

// Port of a service name for "tcp" or "udp" (as /etc/services would say), or nullopt.
using ServiceLookup =
    std::function<std::optional<std::uint16_t>(std::string_view name, std::string_view proto)>;
// Address of a host name, or nullopt when it does not resolve.
using HostResolver = std::function<std::optional<core::IpAddress>(std::string_view host)>;

struct LvsConfOptions {
  ServiceLookup lookup_service{};  // unset: every name is unknown
  HostResolver resolve_host{};     // unset: only literal addresses
};

// The machine's /etc/services (getservbyname) and resolver (getaddrinfo). Not used by tests.
LvsConfOptions system_lookups();

struct LvsConf {
  std::string vip_text{};  // as written (a host name or an address)
  core::IpAddress vip{};
  std::string vip_if{};               // eth0:110
  std::vector<std::string> lvs_if{};  // eth0
  std::vector<std::uint16_t> tcp_ports{};
  std::vector<std::uint16_t> udp_ports{};
  std::vector<core::IpAddress> rips{};
  model::ForwardMethod forward = model::ForwardMethod::kMasq;  // LVS_FORWARD (extension)
  Millis check_interval{60'000};  // CHECK_INTERVAL (extension): seconds between checks
  // LVS_CHECK (extension): what the health checker probes. kPing: the article's `update`, one
  // ICMP echo per realserver. kService: the service itself, per service: TCP_CHECK (connect)
  // on TCP ports, XDMCP_CHECK (Query, Willing) on udp/177, UDP_CHECK (no ICMP error) on other
  // UDP ports; a realserver whose telnetd died leaves the telnet service only.
  enum class Check : std::uint8_t { kPing, kService };
  Check check = Check::kPing;
  // VRRP_* (extension, issue 9): a standby director. keepalived holds the VIP; these are
  // what `lvsd --gen-vrrp` writes into its configuration and `lvs-director` starts it with.
  // `enabled` once any VRRP_* variable is set.
  struct Vrrp {
    bool enabled = false;
    std::optional<core::IpAddress> peer{};  // VRRP_PEER: the other director (unicast adverts)
    std::uint32_t priority = 100;           // VRRP_PRIORITY 1..254 (higher: elected master)
    std::uint32_t router_id = 51;           // VRRP_ROUTER_ID 1..255 (same on both directors)
    std::uint32_t advert_centis = 100;      // VRRP_ADVERT_INT seconds, e.g. 1 or 0.1
    bool preempt = false;                   // VRRP_PREEMPT=yes|no (default no: nopreempt)
    std::string interface {};               // VRRP_IF (default: VIP_IF without its :alias)
    std::string instance = "VI_LVSD";       // VRRP_INSTANCE: keepalived's vrrp_instance name

    bool operator==(const Vrrp&) const = default;
  };
  Vrrp vrrp{};
  bool xdp = false;  // LVS_ENGINE=xdp (extension): config.global.xdp_interfaces = lvs_if
  Config config{};   // the services, health checks and warnings
};

core::Result<LvsConf> parse_lvs_conf(std::string_view text, const std::string& file,
                                     const LvsConfOptions& options);
core::Result<LvsConf> load_lvs_conf(const std::string& path, const LvsConfOptions& options);

// The file's variables as lvsd understood them, one `NAME=word word ...` line each, names and
// addresses resolved, ports as numbers (VIP, VIP_IF, LVS_IF, TPORTS, UPORTS, RIPS,
// LVS_FORWARD): what `lvsd --print-lvs-conf FILE` prints for scripts (lvs-director), so no
// script parses lvs.conf a second time.
std::string lvs_conf_variables(const LvsConf& c);

}  // namespace lvs::config
