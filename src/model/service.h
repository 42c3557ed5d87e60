#pragma once
// The service table as plain values (spec §1): virtual services keyed by protocol+VIP+port or
// by firewall mark, each with an ordered list of realservers (newest first: the iteration
// order every scheduler uses, spec "Conventions").

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/endpoint.h"

namespace lvs::model {

enum class Protocol : std::uint8_t { kTcp = 6, kUdp = 17, kSctp = 132 };
std::string_view protocol_name(Protocol p);  // "TCP", "UDP", "SCTP"

// Masq = NAT (-m), Route = direct routing (-g, the CLI default), Tunnel = IPIP/GUE/GRE (-i),
// Local = display-only legacy value, FullNat = lvsd's user-space proxy (--fullnat).
enum class ForwardMethod : std::uint8_t { kMasq, kRoute, kTunnel, kLocal, kFullNat };
std::string_view forward_name(ForwardMethod f);  // "Masq", "Route", "Tunnel", "Local", "FullNat"

enum class TunnelType : std::uint8_t { kIpip, kGue, kGre };
// PROXY protocol header a full-NAT realserver receives first (haproxy.org proxy-protocol.txt):
// v1 is text (TCP only), v2 binary (TCP, and UDP on a flow's first datagram).
enum class ProxyProtocol : std::uint8_t { kNone, kV1, kV2 };
enum class TunnelCsum : std::uint8_t { kNoCsum, kCsum, kRemCsum };

// Scheduler flag bits (ipvsadm -b). sh-* and mh-* are aliases of flag-1 and flag-2.
namespace sched_flag {
inline constexpr std::uint32_t kFlag1 = 0x1;
inline constexpr std::uint32_t kFlag2 = 0x2;
inline constexpr std::uint32_t kFlag3 = 0x4;
inline constexpr std::uint32_t kShFallback = kFlag1;
inline constexpr std::uint32_t kShPort = kFlag2;
inline constexpr std::uint32_t kMhFallback = kFlag1;
inline constexpr std::uint32_t kMhPort = kFlag2;
}  // namespace sched_flag

inline constexpr std::uint32_t kDefaultPersistenceTimeout = 360;  // ipvsadm -p: 6*60 s
inline constexpr std::uint32_t kMaxPersistenceTimeout = 2678400;  // 31 days
inline constexpr std::uint32_t kV4HostMask = 0xFFFFFFFF;
inline constexpr std::uint32_t kV6HostPrefix = 128;

// A service is identified either by (af, protocol, VIP, port) or by (af, fwmark).
struct ServiceKey {
  core::Family af = core::Family::kInet4;
  Protocol protocol = Protocol::kTcp;  // fwmark services carry TCP, ignored
  core::Endpoint vip{};                // unused for fwmark services
  std::uint32_t fwmark = 0;            // non-zero: a fwmark service

  static ServiceKey address(Protocol p, const core::Endpoint& vip);
  static ServiceKey mark(std::uint32_t fwmark, core::Family af = core::Family::kInet4);

  bool is_fwmark() const { return fwmark != 0; }
  std::string to_string() const;  // "TCP 192.0.2.1:80", "FWM 7", "FWM 7 IPv6"

  auto operator<=>(const ServiceKey&) const = default;
  bool operator==(const ServiceKey&) const = default;
};

struct RealServer {
  core::Endpoint addr{};
  ForwardMethod forward = ForwardMethod::kRoute;
  std::int32_t weight = 1;        // 0 = quiesced: no new connections
  std::int32_t last_weight = 1;   // last non-zero weight, kept by the table operations (mh)
  std::uint32_t u_threshold = 0;  // 0 = unset
  std::uint32_t l_threshold = 0;  // 0 = unset
  TunnelType tun_type = TunnelType::kIpip;
  std::uint16_t tun_port = 0;
  TunnelCsum tun_csum = TunnelCsum::kNoCsum;
  ProxyProtocol proxy_protocol = ProxyProtocol::kNone;  // full-NAT only

  bool operator==(const RealServer&) const = default;
};

struct VirtualService {
  ServiceKey key{};
  std::string scheduler = "wlc";
  bool persistent = false;
  std::uint32_t timeout = kDefaultPersistenceTimeout;  // persistence timeout, seconds
  // Persistence granularity: an IPv4 mask in host order, or an IPv6 prefix length 1..128.
  std::uint32_t netmask = kV4HostMask;
  std::string pe_name{};
  bool one_packet = false;
  std::uint32_t sched_flags = 0;  // sched_flag bits
  // lvsd extension (full-NAT proxy): at most this many open flows; more are reset. 0 = no cap.
  std::uint32_t conn_limit = 0;
  std::vector<RealServer> dests{};  // iteration order: newest first
  // lvsd extension (mh only): the stateless cluster mode. Set: the Maglev table is built from
  // the realservers sorted by (address, port), with this seed mixed into each realserver's
  // offset/skip hashes, so every director with the same realserver set and seed picks the same
  // realserver for a client. lvsd sets it from --cluster-seed on what it gives the data plane.
  std::optional<std::uint32_t> cluster_seed{};

  const RealServer* find_dest(const core::Endpoint& addr) const;
  RealServer* find_dest(const core::Endpoint& addr);
  bool operator==(const VirtualService&) const = default;
};

// The whole desired table. Services are kept in creation order (what `--nosort` shows).
struct ServiceTable {
  std::vector<VirtualService> services{};

  const VirtualService* find(const ServiceKey& key) const;
  VirtualService* find(const ServiceKey& key);
  bool operator==(const ServiceTable&) const = default;
};

// The netmask a service gets when none is given: /32 for IPv4, /128 for IPv6.
std::uint32_t default_netmask(core::Family af);

}  // namespace lvs::model
