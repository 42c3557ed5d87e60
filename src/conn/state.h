#pragma once
// Connection states and timeouts (spec §3): the three TCP next-state tables (INPUT, OUTPUT,
// INPUT-ONLY), the active/inactive split, the single UDP state, and the timeout table that
// `--set tcp tcpfin udp` edits. Pure functions of values; no clock, no entries.

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace lvs::conn {

// The first eleven are the TCP states in the spec's column order (the tables index by them).
// Templates sit in kNone. kUdp is the single UDP state (SCTP flows use it too, see engine.h).
enum class ConnState : std::uint8_t {
  kNone,
  kEstablished,
  kSynSent,
  kSynRecv,
  kFinWait,
  kTimeWait,
  kClose,
  kCloseWait,
  kLastAck,
  kListen,
  kSynAck,
  kUdp,
};
inline constexpr std::size_t kTcpStateCount = 11;
inline constexpr std::size_t kStateCount = 12;

// "NONE", "ESTABLISHED", "SYN_SENT", ..., "UDP": the names `-L -c` prints.
std::string_view state_name(ConnState s);

// Active states count in ActiveConn: ESTABLISHED, SYN_SENT, SYN_RECV, SYNACK.
bool is_active(ConnState s);

// TCP header flag bits, as on the wire.
namespace tcp_flag {
inline constexpr std::uint8_t kFin = 0x01;
inline constexpr std::uint8_t kSyn = 0x02;
inline constexpr std::uint8_t kRst = 0x04;
inline constexpr std::uint8_t kPsh = 0x08;
inline constexpr std::uint8_t kAck = 0x10;
}  // namespace tcp_flag

// The event a TCP segment means to the state machine: the first of RST, SYN, FIN, ACK it
// carries; kNone when it has none of them (such a segment moves the entry to CLOSE).
enum class TcpEvent : std::uint8_t { kSyn, kFin, kAck, kRst, kNone };
TcpEvent classify(std::uint8_t tcp_flags);

// Which next-state table applies. kInput: client -> server; kOutput: server -> client (seen
// only when replies pass the director); kInputOnly: client -> server on an entry that has
// never seen output (no_output, i.e. DR/TUN).
enum class TcpTable : std::uint8_t { kInput, kOutput, kInputOnly };

// The state after `event` in `state` (a TCP state) by `table`. kNone events give kClose.
ConnState next_tcp_state(TcpTable table, TcpEvent event, ConnState state);

// Per-state timeouts. Defaults are spec §3.1/§3.2; `--set` changes only ESTABLISHED (tcp),
// FIN_WAIT (tcpfin) and UDP.
class Timeouts {
 public:
  using Seconds = std::chrono::seconds;

  Timeouts();
  Seconds of(ConnState s) const { return table_[static_cast<std::size_t>(s)]; }

  // `ipvsadm --set tcp tcpfin udp`: a value of 0 keeps the current timeout.
  void set(Seconds tcp, Seconds tcpfin, Seconds udp);

  // The three values `--timeout` prints: "Timeout (tcp tcpfin udp): 900 120 300".
  Seconds tcp() const { return of(ConnState::kEstablished); }
  Seconds tcpfin() const { return of(ConnState::kFinWait); }
  Seconds udp() const { return of(ConnState::kUdp); }

 private:
  std::array<Seconds, kStateCount> table_{};
};

// A new entry's timer before its first packet has been processed (spec §1.3: 3 s).
inline constexpr std::chrono::seconds kNewEntryTimeout{3};

}  // namespace lvs::conn
