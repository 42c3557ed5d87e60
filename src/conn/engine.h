#pragma once
// The connection engine: IPVS connection semantics as pure logic (spec §1.1-§1.5, §3).
//
// It owns the runtime side of a service table (per service: its scheduler, its realservers
// with live counters, statistics) and the connection table (entries and persistence
// templates with their timers). A packet engine drives it with packets or events and acts on
// the returned Verdict; it never reads a clock (every call takes `now`) and never touches a
// socket, so the user-space proxy and the XDP control path can both use it.
//
// Threading: an Engine is not thread-safe; one owner (a worker, or the thread holding its
// lock) calls everything. The per-dest counters the schedulers read are atomics
// (model::DestLoad) so other threads may read them. No call allocates for a packet that hits
// an existing entry.
//
// Not modelled: SCTP's own state machine (SCTP entries use the single UDP-like state),
// persistence engines (pe sip), secure_tcp, conn_reuse_mode.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "conn/state.h"
#include "conn/stats.h"
#include "core/clock.h"
#include "core/endpoint.h"
#include "core/result.h"
#include "model/service.h"
#include "sched/scheduler.h"

namespace lvs::conn {

// Sysctl-like switches (spec §1.3, §1.5), all off by default.
struct Sysctls {
  bool expire_nodest_conn = false;         // a packet on an entry whose dest was deleted
                                           // expires the entry and is dropped
  bool expire_quiescent_template = false;  // a template whose dest has weight 0 is invalid
  bool sloppy_tcp = false;                 // TCP may be scheduled on non-SYN packets
  bool cache_bypass = false;               // fwmark service without dest: send on unmodified

  bool operator==(const Sysctls&) const = default;
};

// The size listings print: "IP Virtual Server version 1.2.1 (size=4096)".
inline constexpr std::size_t kConnTableSize = 4096;

// IP protocol numbers as entries carry them; templates of fwmark services use kIpProtoIp.
inline constexpr std::uint8_t kIpProtoIp = 0;
// "TCP", "UDP", "SCTP", or "IP" (fwmark templates): the `-L -c` protocol column.
std::string_view protocol_label(std::uint8_t protocol);

enum class Direction : std::uint8_t {
  kIn,   // client -> server (towards the VIP)
  kOut,  // server -> client (a reply passing the director: NAT)
};

// One IP packet as the engine needs it. For kIn: src = client, dst = VIP:port.
// For kOut: src = realserver address:port, dst = client.
struct Packet {
  model::Protocol protocol = model::Protocol::kTcp;
  core::Endpoint src{};
  core::Endpoint dst{};
  std::uint32_t fwmark = 0;    // firewall mark (0 = none); input only
  std::uint8_t tcp_flags = 0;  // tcp_flag bits; ignored for UDP/SCTP
  std::uint32_t bytes = 0;     // full L3 length, for the byte counters

  bool operator==(const Packet&) const = default;
};

// What to do with the packet.
enum class Action : std::uint8_t {
  kForward,          // send to Verdict::dest with Verdict::forward
  kPass,             // not the engine's: let it continue unmodified (local stack / routing)
  kDrop,             // drop silently
  kDropUnreachable,  // drop and answer the client with ICMP(v6) port unreachable
};

enum class Reason : std::uint8_t {
  kExisting,     // kForward: the packet belongs to an existing entry
  kScheduled,    // kForward: a new entry, dest chosen by the scheduler
  kTemplateHit,  // kForward: a new entry, dest taken from a persistence template
  kNoService,    // kPass: no virtual service matches
  kNotSyn,       // kPass: TCP without SYN and without an entry (and sloppy_tcp off)
  kRst,          // kPass: RST without an entry never schedules
  kNoEntry,      // kPass: output packet or handle without a live entry
  kFtpPassUp,    // kPass: FTP service had no dest for a data connection
  kCacheBypass,  // kPass: fwmark service had no dest and cache_bypass is on
  kNoDest,       // kDropUnreachable: the service has no usable dest
  kDestGone,     // kDrop: the entry's dest was deleted and expire_nodest_conn is on
};
std::string_view reason_name(Reason r);

// A handle on a kept entry. Stale handles (entry expired) are detected, never reused wrongly.
struct ConnId {
  static constexpr std::uint32_t kNoSlot = 0xFFFFFFFF;
  std::uint32_t slot = kNoSlot;
  std::uint32_t generation = 0;

  bool valid() const { return slot != kNoSlot; }
  bool operator==(const ConnId&) const = default;
};

struct Verdict {
  Action action = Action::kPass;
  Reason reason = Reason::kNoService;
  ConnId conn{};          // the entry, for kForward (invalid for one-packet scheduling)
  core::Endpoint dest{};  // realserver address and port to forward to
  model::ForwardMethod forward = model::ForwardMethod::kRoute;
  ConnState state = ConnState::kNone;  // the entry's state after this packet

  bool operator==(const Verdict&) const = default;
};

// One entry as `-L -c` shows it. Templates: client port 0, masked client address, state NONE;
// fwmark templates have protocol kIpProtoIp and the mark as an IPv4 address (0.0.0.7:0).
struct ConnView {
  ConnId id{};
  std::uint8_t protocol = 0;
  core::Endpoint client{};
  core::Endpoint vip{};
  core::Endpoint dest{};
  ConnState state = ConnState::kNone;
  core::Duration remaining{};  // time until the timer fires, never negative
  bool is_template = false;
  bool inactive = false;
  bool no_output = false;
  std::uint32_t n_control = 0;  // templates: connections it controls

  bool operator==(const ConnView&) const = default;
};

struct DestView {
  model::RealServer config{};
  std::uint32_t active = 0;
  std::uint32_t inactive = 0;
  std::uint32_t persistent = 0;
  bool overloaded = false;
  Counters stats{};
  Rates rates{};

  bool operator==(const DestView&) const = default;
};

struct ServiceView {
  model::VirtualService config{};  // config.dests in iteration order
  Counters stats{};
  Rates rates{};
  std::vector<DestView> dests{};  // parallel to config.dests

  bool operator==(const ServiceView&) const = default;
};

class Engine {
 public:
  // `deps` is passed to every scheduler the engine creates (the RNG must outlive it).
  explicit Engine(Sysctls sysctls = {}, sched::SchedulerDeps deps = {});
  ~Engine();
  Engine(Engine&&) noexcept;
  Engine& operator=(Engine&&) noexcept;
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // --- Control plane. Each call applies completely or returns an Error and changes nothing.
  // Error codes follow spec §4.4 (EEXIST, ESRCH, ENOENT, ERANGE, EINVAL).

  // Adds the service and its dests (svc.dests in iteration order, newest first).
  // Scheduler "none" gives a service on which every new connection fails to schedule.
  core::Result<void> add_service(const model::VirtualService& svc);
  // Replaces the attributes (scheduler, persistence, flags); svc.dests is ignored.
  core::Result<void> edit_service(const model::VirtualService& svc);
  // Existing entries keep flowing to their (now deleted) dests.
  core::Result<void> delete_service(const model::ServiceKey& key);
  // Inserts at the front of the iteration order. A dest deleted earlier whose entries still
  // live comes back with its counters and statistics.
  core::Result<void> add_dest(const model::ServiceKey& key, const model::RealServer& dest);
  // Edits in place; clears overload per overload_after_edit; last_weight follows non-zero
  // weights.
  core::Result<void> edit_dest(const model::ServiceKey& key, const model::RealServer& dest);
  // The dest becomes unavailable: its templates turn invalid, its entries keep flowing.
  core::Result<void> delete_dest(const model::ServiceKey& key, const core::Endpoint& addr);
  // Makes the runtime match `table` with the incremental operations above (so schedulers see
  // each change), keeping statistics and entries of what stays.
  core::Result<void> apply(const model::ServiceTable& table);

  const Sysctls& sysctls() const;
  void set_sysctls(const Sysctls& s);
  const Timeouts& timeouts() const;
  // `--set tcp tcpfin udp`, seconds; 0 keeps a value. Entries pick it up at their next packet.
  void set_timeouts(std::chrono::seconds tcp, std::chrono::seconds tcpfin,
                    std::chrono::seconds udp);

  // --- Data path.

  // A client -> server packet: finds the entry or schedules a new flow (spec §1.1, §1.3, §1.5).
  Verdict in_packet(const Packet& p, core::TimePoint now);
  // A server -> client packet, found by (protocol, realserver, client).
  Verdict out_packet(const Packet& p, core::TimePoint now);
  // A packet on a known entry, for engines that keep the handle (the proxy).
  Verdict on_conn(ConnId id, Direction dir, std::uint8_t tcp_flags, std::uint32_t bytes,
                  core::TimePoint now);

  // --- Timers, driven by the owner.

  // Expires every entry whose timer is due at `now`; returns how many were removed.
  std::size_t expire(core::TimePoint now);
  // One estimator period (2 s) has passed: call every 2 s.
  void tick_estimators();
  static constexpr std::chrono::seconds kEstimatorPeriod{2};

  // --- Statistics and listings.

  // -Z for one service (and its dests); ESRCH when it does not exist.
  core::Result<void> zero_service(const model::ServiceKey& key);
  // -Z for everything, global totals included.
  void zero_all();
  Counters totals() const;
  Rates total_rates() const;
  std::optional<ServiceView> service(const model::ServiceKey& key) const;
  std::vector<ServiceView> services() const;  // creation order
  std::vector<ConnView> connections(core::TimePoint now) const;
  std::size_t entry_count() const;  // live entries, templates included

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace lvs::conn
