#pragma once
// One finished TCP connection or expired UDP flow, as a data-plane worker hands it to the
// connection log (conn_log.h). A fixed-size plain value: pushing it never allocates.
// Times are the worker's steady clock; the logger turns the end into wall-clock time.

#include <cstdint>
#include <string_view>

#include "core/clock.h"
#include "core/endpoint.h"

namespace lvs::dp::connlog {

// How a connection or flow ended. Names are the `end=` word of the line (format.h).
enum class EndReason : std::uint8_t {
  kClientFin,       // TCP: the client closed first, then both sides finished
  kRealFin,         // TCP: the realserver closed first, then both sides finished
  kClientReset,     // TCP: the client reset the connection (or its socket failed)
  kRealReset,       // TCP: the realserver reset the connection (or its socket failed)
  kIdleTimeout,     // TCP established/FIN idle timer, or the UDP flow timer
  kConnectRefused,  // TCP: the realserver refused the connect (RST / ECONNREFUSED)
  kConnectTimeout,  // TCP: no answer within the connect timeout
  kConnectError,    // TCP: any other connect failure (unreachable, no socket, PROXY header)
  kRealDeleted,     // UDP: its realserver left the service; the next datagram rescheduled
  kServiceRemoved,  // UDP: its service left the table
  kShutdown,        // lvsd stopped with the flow open
  kError,           // the worker could not watch the connection (epoll_ctl failed)
};
inline constexpr std::size_t kEndReasons = 12;

std::string_view end_reason_name(EndReason r);

enum class Proto : std::uint8_t { kTcp, kUdp };
enum class Method : std::uint8_t { kFullNat, kMasq };

struct ConnRecord {
  Proto proto = Proto::kTcp;
  Method method = Method::kFullNat;
  EndReason end = EndReason::kClientFin;
  core::Endpoint client{};
  core::Endpoint vip{};
  core::Endpoint real{};
  std::uint64_t in_bytes = 0;   // client -> realserver (IPVS's "in")
  std::uint64_t out_bytes = 0;  // realserver -> client
  core::TimePoint start{};
  core::TimePoint end_time{};

  bool operator==(const ConnRecord&) const = default;
};

}  // namespace lvs::dp::connlog
