#pragma once
// `-L` output (spec §4.6) from a plain value, byte for byte: default, --stats, --exact,
// --rate, --thresholds, --persistent-conn, --tun-info, -c (with --persistent-conn columns),
// --timeout, --daemon, sorting and --nosort, the K/M/G/T number fields, label cutting.
// Whoever owns the live numbers (the Director) fills a ListingInput; this file only formats.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ctl/ipvsadm_args.h"
#include "model/service.h"
#include "model/stats.h"

namespace lvs::ctl {

// Counters (spec §1.4), as shown: already relative to the last -Z. Rates per second.
using Stats = model::Counters;
using Rates = model::Rates;

struct DestView {
  model::RealServer dest{};
  std::uint32_t active = 0;
  std::uint32_t inactive = 0;
  std::uint32_t persist = 0;
  Stats stats{};
  Rates rates{};

  bool operator==(const DestView&) const = default;
};

// One service with its dests in iteration order. `service.dests` is ignored: `dests` is used.
struct ServiceView {
  model::VirtualService service{};
  std::vector<DestView> dests{};
  Stats stats{};
  Rates rates{};

  bool operator==(const ServiceView&) const = default;
};

// One connection entry or persistence template as `-L -c` shows it.
struct ConnView {
  model::Protocol protocol = model::Protocol::kTcp;
  bool fwmark_template = false;  // shown with protocol "IP" (virtual = the mark as 0.0.0.N:0)
  std::uint32_t expire_seconds = 0;
  std::string state{};  // "ESTABLISHED", "NONE", "UDP", ...
  core::Endpoint client{};
  core::Endpoint virt{};
  core::Endpoint dest{};
  std::string pe_name{};
  std::string pe_data{};

  bool operator==(const ConnView&) const = default;
};

// A running sync daemon for `--daemon`.
struct DaemonView {
  SyncState state = SyncState::kMaster;
  std::string mcast_interface{};
  std::uint32_t syncid = 0;
  std::uint32_t sync_maxlen = 0;                 // 0: not shown
  std::optional<core::IpAddress> mcast_group{};  // nullopt: not shown
  std::uint16_t mcast_port = 0;                  // 0: not shown
  std::uint32_t mcast_ttl = 0;                   // 0: not shown
  // What the daemon did (not listed by -L --daemon; /metrics shows them).
  std::uint64_t sent_messages = 0;
  std::uint64_t received_messages = 0;
  std::uint64_t errors = 0;
  bool synced = false;  // backup: the master's whole table arrived

  bool operator==(const DaemonView&) const = default;
};

// Everything `-L` can show. Services in creation order (what --nosort prints).
struct ListingInput {
  std::vector<ServiceView> services{};
  std::vector<ConnView> connections{};
  Timeouts timeouts{.tcp = 900, .tcpfin = 120, .udp = 300};
  std::vector<DaemonView> daemons{};
  std::uint32_t conn_table_size = 4096;

  bool operator==(const ListingInput&) const = default;
};

// A table with every live number zero.
ListingInput listing_input(const model::ServiceTable& table);

// Reverse lookups for listings without -n. An empty string means "no name": print numerically.
struct Names {
  std::function<std::string(const core::IpAddress&)> host{};
  std::function<std::string(std::uint16_t port, model::Protocol)> service{};
};
Names system_names();   // getnameinfo(3) for both
Names numeric_names();  // no lookups

// The full listing, `-L -t V:P` (titles + that service; "No such service" exit 1 if absent),
// -c, --timeout or --daemon, chosen from `opts` (-n selects numeric names regardless of
// `names`). Precedence of formats: stats > rate > thresholds > persistent-conn > tun-info.
CliResult<std::string> format_listing(const ListingInput& input, const ListOptions& opts,
                                      const std::optional<model::ServiceKey>& only = std::nullopt,
                                      const Names& names = system_names());

// The --stats number field (9 characters): < 10^8 as is, then K, M, G, T (integer division).
// `exact`: the full number right-justified in max(9, digits + 1), with a leading space.
std::string number_field(std::uint64_t value, bool exact = false);

// Services in listing order: address services by (af, protocol, address, port), then fwmark
// services by (mark, af).
std::vector<const ServiceView*> sorted_services(const ListingInput& input);

// The persistence netmask as ipvsadm prints it in `-L` and `-S` (a dotted IPv4 mask, or an
// IPv6 prefix length), or nullopt for the host mask (/32, /128), which it never prints.
std::optional<std::string> shown_netmask(const model::VirtualService& svc);
// A service's dests in listing order: by (address, port).
std::vector<const DestView*> sorted_dests(const ServiceView& svc);

// Labels: "TCP  192.0.2.1:80" / "FWM  7" / "FWM  7 IPv6"; IPv4 cut to 33 characters.
std::string service_label(const model::ServiceKey& key, const Names& names, bool numeric);
// "10.0.0.1:80" / "[2001:db8::1]:80"; IPv4 cut to 28 characters.
std::string dest_label(const core::Endpoint& ep, model::Protocol proto, const Names& names,
                       bool numeric);

}  // namespace lvs::ctl
