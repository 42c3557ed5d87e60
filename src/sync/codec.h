#pragma once
// The connection-sync wire format (docs/SYNC.md), modelled on the facts of IPVS sync protocol
// version 1: an 8-byte header (reserved 0, syncid, total size, entry count, version 1, flags)
// followed by `count` entries, each naming its own size. All integers in network order.
// Pure functions: encode() splits a batch into datagrams no longer than a cap; decode() accepts
// exactly one well-formed datagram or says what is wrong with it, never reading past its end.
// Besides flows and templates a datagram may carry counter entries (an lvsd extension, type
// bit 2): one service's or realserver's traffic counters as the sender counts them.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "core/endpoint.h"
#include "core/result.h"
#include "model/service.h"
#include "model/stats.h"

namespace lvs::sync {

enum class EntryKind : std::uint8_t { kConnection, kTemplate };

// One synced fact: a flow (client -> VIP, sent to dest) or a persistence template (client
// network -> dest for the service VIP). Addresses of one entry share one family.
struct Entry {
  EntryKind kind = EntryKind::kConnection;
  std::uint8_t protocol = 6;  // IPPROTO_TCP / IPPROTO_UDP
  std::uint8_t state = 0;     // the index of conn::ConnState
  bool persistent = false;    // a flow of a persistent service (it keeps its template alive)
  core::Endpoint client{};    // templates: the client network, port 0
  core::Endpoint vip{};
  core::Endpoint dest{};
  std::uint32_t netmask = 0;  // persistent flows: the service's netmask (IPv6: prefix length)
  std::uint32_t timeout = 0;  // seconds left before the entry expires on the sender

  bool operator==(const Entry&) const = default;
};

// The traffic counters of one service (no `dest`) or of one of its realservers, as the sender
// counts them for the peers (docs/SYNC.md "Counters"). Addresses share the service's family.
struct CounterEntry {
  model::ServiceKey service{};
  std::optional<core::Endpoint> dest{};  // unset: the service's own counters
  model::Counters counters{};

  bool operator==(const CounterEntry&) const = default;
};

inline constexpr std::uint8_t kVersion = 1;
inline constexpr std::size_t kHeaderSize = 8;
inline constexpr std::size_t kEntryFixed = 24;  // fixed part of an entry, before its addresses
inline constexpr std::size_t kEntry4Size = kEntryFixed + std::size_t{3} * 4;
inline constexpr std::size_t kEntry6Size = kEntryFixed + std::size_t{3} * 16;
inline constexpr std::size_t kCounterFixed = 64;  // fixed part of a counter entry
inline constexpr std::size_t kCounter4Size = kCounterFixed + std::size_t{2} * 4;
inline constexpr std::size_t kCounter6Size = kCounterFixed + std::size_t{2} * 16;
inline constexpr std::size_t kMaxEntries = 255;     // the count is one byte
inline constexpr std::size_t kMaxDatagram = 65507;  // --sync-maxlen's upper bound (UDP/IPv4)
// Header flags: the sender (a backup) asks the master for its whole table; the master says
// the whole table went out since the last request (the backup is in sync).
inline constexpr std::uint8_t kFlagResyncRequest = 0x1;
inline constexpr std::uint8_t kFlagResyncDone = 0x2;

struct Message {
  std::uint8_t syncid = 0;
  std::uint8_t flags = 0;
  std::vector<Entry> entries{};
  std::vector<CounterEntry> counters{};  // in the order they came, after the flows

  bool operator==(const Message&) const = default;
};

// Datagrams carrying `entries` in order, each at most `maxlen` bytes (clamped to
// kHeaderSize + kEntry6Size .. kMaxDatagram) and kMaxEntries entries. No entries: none.
std::vector<std::vector<std::uint8_t>> encode(std::uint8_t syncid, std::span<const Entry> entries,
                                              std::size_t maxlen);
// The same for counter entries (datagrams of counter entries only).
std::vector<std::vector<std::uint8_t>> encode_counters(std::uint8_t syncid,
                                                       std::span<const CounterEntry> counters,
                                                       std::size_t maxlen);
// A header-only datagram with `flags` (e.g. a resync request, or the master's answer to one
// when it has nothing to send; flags 0: the master's heartbeat).
std::vector<std::uint8_t> encode_control(std::uint8_t syncid, std::uint8_t flags);

// One datagram. Errors say which field of which entry is wrong, e.g.
// "sync message: entry 2 claims 80 bytes but an IPv4 entry is 36".
core::Result<Message> decode(std::span<const std::uint8_t> datagram);

}  // namespace lvs::sync
