#pragma once
// Settings of the user-space full-NAT proxy. Timeouts default to IPVS's (spec §3).

#include <chrono>
#include <cstddef>
#include <cstdint>

namespace lvs::dp::connlog {
class ConnLog;
}

namespace lvs::dp::proxy {

using std::chrono_literals::operator""s;

// What happens to a UDP flow whose realserver left the service.
enum class UdpReschedule : std::uint8_t {
  kWhenRemoved,            // default: the next datagram is scheduled again (no black hole)
  kWhenRemovedOrQuiesced,  // also when its weight went to 0 (health "inhibit" marks down so)
  kNever,                  // IPVS's old behaviour: the flow keeps its realserver until it idles out
};

struct ProxyOptions {
  unsigned workers = 0;  // 0: one per core
  std::chrono::milliseconds connect_timeout = 5s;
  std::chrono::milliseconds tcp_established_timeout = 900s;
  std::chrono::milliseconds tcp_fin_timeout = 120s;
  std::chrono::milliseconds udp_timeout = 300s;
  // How long an ended TCP connection stays listed and counted as inactive (IPVS's TIME_WAIT
  // after both FINs, CLOSE after a reset or failed connect; not changed by --set).
  std::chrono::milliseconds linger_time_wait = 120s;
  std::chrono::milliseconds linger_close = 10s;
  // Most lingering records a worker keeps (104 bytes each: 27 MiB at the default); past it
  // the one nearest its expiry goes early. 0 = ended connections vanish at once.
  std::size_t linger_max = 262144;
  // Bytes per splice pipe: the most a direction holds in lvsd (kernel pipe pages, filled only
  // while bytes wait). 1 MiB measured 0.78x of direct on tcp-bulk against 0.57x for 64 KiB.
  int pipe_size = 1024 * 1024;
  int socket_buffer = 0;  // SO_SNDBUF/SO_RCVBUF for proxied sockets; 0 = kernel autotuning
  bool splice = true;     // false: copy through a bounded buffer instead
  UdpReschedule udp_reschedule = UdpReschedule::kWhenRemoved;
  int backlog = 4096;
  // Relay memory budget in bytes: the pipe/buffer capacity all TCP connections together may
  // hold. Each connection reserves its worst case (admission.h) when accepted; beyond the
  // budget new connections are reset and counted as refused. 0 = no budget.
  std::uint64_t relay_memory_budget = 0;
  // The connection log (dp/connlog): each worker gets a queue of it at creation and pushes a
  // record per ended flow while it is enabled. Outlives the proxy; nullptr = no log.
  connlog::ConnLog* conn_log = nullptr;
};

}  // namespace lvs::dp::proxy
