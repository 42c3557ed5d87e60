#include "conn/state.h"

#include "core/assert.h"

namespace lvs::conn {

namespace {

constexpr std::size_t index(ConnState s) { return static_cast<std::size_t>(s); }

// Short names so the tables below read like spec §3.1 (columns = current state). NONE and
// SYNACK are never a next state, so they need no alias.
constexpr ConnState kES = ConnState::kEstablished;
constexpr ConnState kSS = ConnState::kSynSent;
constexpr ConnState kSR = ConnState::kSynRecv;
constexpr ConnState kFW = ConnState::kFinWait;
constexpr ConnState kTW = ConnState::kTimeWait;
constexpr ConnState kCL = ConnState::kClose;
constexpr ConnState kCW = ConnState::kCloseWait;
constexpr ConnState kLA = ConnState::kLastAck;
constexpr ConnState kLI = ConnState::kListen;

using Row = std::array<ConnState, kTcpStateCount>;
// Rows in TcpEvent order: syn, fin, ack, rst.
using Table = std::array<Row, 4>;

// clang-format off
//                    NONE ES   SS   SR   FW   TW   CL   CW   LA   LI   SA
constexpr Table kInputTable{{
    /* syn */ Row{kSR, kES, kES, kSR, kSR, kSR, kSR, kSR, kSR, kSR, kSR},
    /* fin */ Row{kCL, kCW, kSS, kTW, kTW, kTW, kCL, kCW, kLA, kLI, kTW},
    /* ack */ Row{kES, kES, kSS, kES, kFW, kTW, kCL, kCW, kCL, kLI, kES},
    /* rst */ Row{kCL, kCL, kCL, kSR, kCL, kCL, kCL, kCL, kLA, kLI, kSR},
}};
constexpr Table kOutputTable{{
    /* syn */ Row{kSS, kES, kSS, kSR, kSS, kSS, kSS, kSS, kSS, kLI, kSR},
    /* fin */ Row{kTW, kFW, kSS, kTW, kFW, kTW, kCL, kTW, kLA, kLI, kTW},
    /* ack */ Row{kES, kES, kSS, kES, kFW, kTW, kCL, kCW, kLA, kES, kES},
    /* rst */ Row{kCL, kCL, kSS, kCL, kCL, kTW, kCL, kCL, kCL, kCL, kCL},
}};
constexpr Table kInputOnlyTable{{
    /* syn */ Row{kSR, kES, kES, kSR, kSR, kSR, kSR, kSR, kSR, kSR, kSR},
    /* fin */ Row{kCL, kFW, kSS, kTW, kFW, kTW, kCL, kCW, kLA, kLI, kTW},
    /* ack */ Row{kES, kES, kSS, kES, kFW, kTW, kCL, kCW, kCL, kLI, kES},
    /* rst */ Row{kCL, kCL, kCL, kSR, kCL, kCL, kCL, kCL, kLA, kLI, kCL},
}};
// clang-format on

constexpr std::array<const Table*, 3> kTables{&kInputTable, &kOutputTable, &kInputOnlyTable};

struct StateInfo {
  std::string_view name;
  bool active;
  std::chrono::seconds timeout;
};

// One line per state, in ConnState order: name, counted active?, default timeout.
constexpr std::array<StateInfo, kStateCount> kStates{{
    {"NONE", false, std::chrono::seconds{2}},
    {"ESTABLISHED", true, std::chrono::seconds{900}},
    {"SYN_SENT", true, std::chrono::seconds{120}},
    {"SYN_RECV", true, std::chrono::seconds{60}},
    {"FIN_WAIT", false, std::chrono::seconds{120}},
    {"TIME_WAIT", false, std::chrono::seconds{120}},
    {"CLOSE", false, std::chrono::seconds{10}},
    {"CLOSE_WAIT", false, std::chrono::seconds{60}},
    {"LAST_ACK", false, std::chrono::seconds{30}},
    {"LISTEN", false, std::chrono::seconds{120}},
    {"SYNACK", true, std::chrono::seconds{120}},
    {"UDP", false, std::chrono::seconds{300}},
}};

}  // namespace

std::string_view state_name(ConnState s) { return kStates.at(index(s)).name; }

bool is_active(ConnState s) { return kStates.at(index(s)).active; }

TcpEvent classify(std::uint8_t tcp_flags) {
  // First match in this order, as the reference does.
  if ((tcp_flags & tcp_flag::kRst) != 0) return TcpEvent::kRst;
  if ((tcp_flags & tcp_flag::kSyn) != 0) return TcpEvent::kSyn;
  if ((tcp_flags & tcp_flag::kFin) != 0) return TcpEvent::kFin;
  if ((tcp_flags & tcp_flag::kAck) != 0) return TcpEvent::kAck;
  return TcpEvent::kNone;
}

ConnState next_tcp_state(TcpTable table, TcpEvent event, ConnState state) {
  LVS_ASSERT(index(state) < kTcpStateCount);
  if (event == TcpEvent::kNone) return ConnState::kClose;
  const Table& t = *kTables.at(static_cast<std::size_t>(table));
  return t.at(static_cast<std::size_t>(event)).at(index(state));
}

Timeouts::Timeouts() {
  for (std::size_t i = 0; i < kStateCount; ++i) table_.at(i) = kStates.at(i).timeout;
}

void Timeouts::set(Seconds tcp, Seconds tcpfin, Seconds udp) {
  if (tcp.count() > 0) table_.at(index(ConnState::kEstablished)) = tcp;
  if (tcpfin.count() > 0) table_.at(index(ConnState::kFinWait)) = tcpfin;
  if (udp.count() > 0) table_.at(index(ConnState::kUdp)) = udp;
}

}  // namespace lvs::conn
