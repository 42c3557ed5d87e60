#pragma once
// The director-side state masquerading (-m) needs on the user-space engine, installed and
// removed by lvsd itself (never by shelling out to nft or ip):
//
//   nftables:  table inet lvsd { chain prerouting { type filter hook prerouting priority
//              mangle; meta l4proto { tcp, udp } socket transparent 1 meta mark set MARK } }
//   routing:   ip rule fwmark MARK lookup TABLE    + ip route local default dev lo table TABLE
//              (both for IPv4 and for IPv6)
//
// Why: a Masq realserver sees the client's own address, so the proxy's upstream socket is
// bound (IP_TRANSPARENT) to the client's address and port. The realserver replies to the client
// address through the director (its default route); those packets are not addressed to the
// director, so the nftables rule marks every packet that belongs to a transparent socket and
// the rule + local route deliver marked packets to that socket instead of forwarding them.
//
// Kernel features: nf_tables with the inet family and the socket expression (CONFIG_NFT_SOCKET,
// module nft_socket), policy routing (CONFIG_IP_MULTIPLE_TABLES, CONFIG_IPV6_MULTIPLE_TABLES),
// transparent sockets (IP_TRANSPARENT, IPV6_TRANSPARENT); lvsd needs CAP_NET_ADMIN.
//
// The nftables table is reached through libnftables (the nft command language, errors as
// nft prints them); rules and routes through rtnetlink with libmnl (a thin message builder
// libnftables already depends on: no other library for two message types).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/endpoint.h"
#include "core/result.h"

namespace lvs::dp::masq {

// 0x4c56 is "LV": a mark and a table number that common setups (iproute2's 253-255, wg-quick's
// 51820, Tailscale's 52, kube-proxy's 0x4000/0x8000 mark bits, ...) do not use.
inline constexpr std::uint32_t kDefaultFwmark = 0x4c56;
inline constexpr std::uint32_t kDefaultTable = 0x4c56;  // 19542
// The rule's priority: before the main table (32766), after the local table (0).
inline constexpr std::uint32_t kRulePriority = 0x4c56;
inline constexpr std::string_view kNftTable = "lvsd";  // family inet

struct Settings {
  std::uint32_t fwmark = kDefaultFwmark;  // --masq-fwmark
  std::uint32_t table = kDefaultTable;    // --masq-table

  bool operator==(const Settings&) const = default;
};

// A mark of 0 matches nothing; tables 0 and 253-255 belong to the kernel (unspec, default,
// main, local). Errors name the flag and the value.
core::Result<void> validate(const Settings& s);

// Pure: the nft script that replaces any table inet lvsd by ours in one transaction. The
// table's comment names the lvsd that owns it ("lvsd pid 1234").
std::string nft_install_script(const Settings& s, long owner_pid);
// Pure: the owner's pid from `nft list table inet lvsd` output, if its comment names one.
std::optional<long> nft_owner(std::string_view listing);
// The text `ip rule` / `ip route` would print, for messages and --cleanup's report.
std::string rule_text(const Settings& s, core::Family family);
std::string route_text(const Settings& s, core::Family family);

// Pure: the sentence for an nft failure, from nft's own error text (what to fix included).
std::string explain_nft_error(std::string_view nft_error);
// Pure: the sentence for a failed rtnetlink request (errno `err`) about `what`.
std::string explain_netlink_error(std::string_view what, int err, core::Family family);
// Pure: the sentence for IP_TRANSPARENT/IPV6_TRANSPARENT refused with errno `err`.
std::string explain_transparent_error(int err, core::Family family);

// What a removal found and deleted, one line each ("nftables table inet lvsd", "ip rule
// fwmark 0x4c56 lookup 19542 (IPv4)", ...).
struct Removed {
  std::vector<std::string> items{};

  bool operator==(const Removed&) const = default;
};

// Removes every piece of the state above for `s` (both families): the nft table, every rule
// with this mark and table, every route in the table. Nothing there is not an error.
core::Result<Removed> remove_all(const Settings& s);

// At lvsd's start: removes what a crashed lvsd left (as remove_all), unless the table's owner
// is a running lvsd (another instance in this network namespace): then nothing is touched and
// the error (EBUSY) names it.
core::Result<Removed> remove_leftovers(const Settings& s);

// Does the process hold CAP_NET_ADMIN in its effective set?
bool has_net_admin();

// The state of one lvsd run. Control thread only.
class Routing {
 public:
  explicit Routing(Settings s) : settings_(s) {}
  ~Routing();  // remove() when anything was installed (errors are logged)
  Routing(const Routing&) = delete;
  Routing& operator=(const Routing&) = delete;

  // Makes sure the nft table and `family`'s rule and route are there; the first call for a
  // family replaces whatever a crashed run left. Checks CAP_NET_ADMIN and IP_TRANSPARENT first.
  // Errors say what is missing and what to do; whatever got installed is removed by remove().
  core::Result<void> ensure(core::Family family);
  // Removes everything this run (or a crashed one) installed. Safe to call twice.
  core::Result<Removed> remove();

  bool installed() const { return nft_ || v4_ || v6_; }
  const Settings& settings() const { return settings_; }

 private:
  Settings settings_;
  bool nft_ = false;
  bool v4_ = false;
  bool v6_ = false;
};

}  // namespace lvs::dp::masq
