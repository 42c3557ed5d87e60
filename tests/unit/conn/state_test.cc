// TCP/UDP states, event classification and timeouts: spec §3.
#include "conn/state.h"

#include <gtest/gtest.h>

namespace lvs::conn {
namespace {

using std::chrono::seconds;
using namespace tcp_flag;

ConnState run(TcpTable table, std::initializer_list<std::uint8_t> segments,
              ConnState start = ConnState::kNone) {
  ConnState s = start;
  for (const auto flags : segments) s = next_tcp_state(table, classify(flags), s);
  return s;
}

// The event is the first of RST, SYN, FIN, ACK the segment carries.
TEST(TcpEvent, FirstOfRstSynFinAck) {
  EXPECT_EQ(classify(kRst | kSyn | kFin | kAck), TcpEvent::kRst);
  EXPECT_EQ(classify(kSyn | kAck), TcpEvent::kSyn);
  EXPECT_EQ(classify(kFin | kAck), TcpEvent::kFin);
  EXPECT_EQ(classify(kAck | kPsh), TcpEvent::kAck);
  EXPECT_EQ(classify(kPsh), TcpEvent::kNone);
  EXPECT_EQ(classify(0), TcpEvent::kNone);
}

// A segment with none of the four flags moves any entry to CLOSE.
TEST(TcpStateTable, NoFlagsMeansClose) {
  for (auto t : {TcpTable::kInput, TcpTable::kOutput, TcpTable::kInputOnly}) {
    EXPECT_EQ(next_tcp_state(t, TcpEvent::kNone, ConnState::kEstablished), ConnState::kClose);
  }
}

// Spot checks of the three tables where they differ (spec §3.1).
TEST(TcpStateTable, TablesDifferWhereTheSpecSays) {
  // fin in ES: INPUT -> CLOSE_WAIT, OUTPUT -> FIN_WAIT, INPUT-ONLY -> FIN_WAIT.
  EXPECT_EQ(next_tcp_state(TcpTable::kInput, TcpEvent::kFin, ConnState::kEstablished),
            ConnState::kCloseWait);
  EXPECT_EQ(next_tcp_state(TcpTable::kOutput, TcpEvent::kFin, ConnState::kEstablished),
            ConnState::kFinWait);
  EXPECT_EQ(next_tcp_state(TcpTable::kInputOnly, TcpEvent::kFin, ConnState::kEstablished),
            ConnState::kFinWait);
  // rst in SYNACK: INPUT -> SYN_RECV, INPUT-ONLY -> CLOSE.
  EXPECT_EQ(next_tcp_state(TcpTable::kInput, TcpEvent::kRst, ConnState::kSynAck),
            ConnState::kSynRecv);
  EXPECT_EQ(next_tcp_state(TcpTable::kInputOnly, TcpEvent::kRst, ConnState::kSynAck),
            ConnState::kClose);
  // output syn on NONE -> SYN_SENT; output ack in LISTEN -> ESTABLISHED.
  EXPECT_EQ(next_tcp_state(TcpTable::kOutput, TcpEvent::kSyn, ConnState::kNone),
            ConnState::kSynSent);
  EXPECT_EQ(next_tcp_state(TcpTable::kOutput, TcpEvent::kAck, ConnState::kListen),
            ConnState::kEstablished);
  // ack in LAST_ACK: INPUT -> CLOSE, OUTPUT stays LAST_ACK.
  EXPECT_EQ(next_tcp_state(TcpTable::kInput, TcpEvent::kAck, ConnState::kLastAck),
            ConnState::kClose);
  EXPECT_EQ(next_tcp_state(TcpTable::kOutput, TcpEvent::kAck, ConnState::kLastAck),
            ConnState::kLastAck);
}

// §3.1 worked trace, NAT: SYN -> SR; server SYN+ACK -> SR; ACK -> ES; client FIN -> CW;
// server FIN -> TW; client ACK -> TW.
TEST(TcpStateTable, NatWorkedTrace) {
  ConnState s = ConnState::kNone;
  s = run(TcpTable::kInput, {kSyn}, s);
  EXPECT_EQ(s, ConnState::kSynRecv);
  s = run(TcpTable::kOutput, {kSyn | kAck}, s);
  EXPECT_EQ(s, ConnState::kSynRecv);
  s = run(TcpTable::kInput, {kAck}, s);
  EXPECT_EQ(s, ConnState::kEstablished);
  s = run(TcpTable::kInput, {kFin | kAck}, s);
  EXPECT_EQ(s, ConnState::kCloseWait);
  s = run(TcpTable::kOutput, {kFin | kAck}, s);
  EXPECT_EQ(s, ConnState::kTimeWait);
  s = run(TcpTable::kInput, {kAck}, s);
  EXPECT_EQ(s, ConnState::kTimeWait);
}

// §3.1 worked trace, DR/TUN (INPUT-ONLY): SYN -> SR; ACK -> ES; FIN -> FW; ACK -> FW.
TEST(TcpStateTable, InputOnlyWorkedTrace) {
  EXPECT_EQ(run(TcpTable::kInputOnly, {kSyn}), ConnState::kSynRecv);
  EXPECT_EQ(run(TcpTable::kInputOnly, {kSyn, kAck}), ConnState::kEstablished);
  EXPECT_EQ(run(TcpTable::kInputOnly, {kSyn, kAck, kFin | kAck}), ConnState::kFinWait);
  EXPECT_EQ(run(TcpTable::kInputOnly, {kSyn, kAck, kFin | kAck, kAck}), ConnState::kFinWait);
}

// §3.1 worked trace: RST in ESTABLISHED -> CLOSE.
TEST(TcpStateTable, RstInEstablishedCloses) {
  EXPECT_EQ(run(TcpTable::kInput, {kRst}, ConnState::kEstablished), ConnState::kClose);
}

TEST(ConnStates, ActiveSetIsEstablishedSynSentSynRecvSynAck) {
  for (std::size_t i = 0; i < kStateCount; ++i) {
    const auto s = static_cast<ConnState>(i);
    const bool want = s == ConnState::kEstablished || s == ConnState::kSynSent ||
                      s == ConnState::kSynRecv || s == ConnState::kSynAck;
    EXPECT_EQ(is_active(s), want) << state_name(s);
  }
  EXPECT_FALSE(is_active(ConnState::kUdp));  // UDP entries never become active
}

TEST(ConnStates, NamesAsListed) {
  EXPECT_EQ(state_name(ConnState::kNone), "NONE");
  EXPECT_EQ(state_name(ConnState::kSynRecv), "SYN_RECV");
  EXPECT_EQ(state_name(ConnState::kCloseWait), "CLOSE_WAIT");
  EXPECT_EQ(state_name(ConnState::kSynAck), "SYNACK");
  EXPECT_EQ(state_name(ConnState::kUdp), "UDP");
}

// Defaults: NONE 2, ES 900, SS 120, SR 60, FW 120, TW 120, CL 10, CW 60, LA 30, LI 120,
// SA 120, UDP 300.
TEST(Timeouts, Defaults) {
  const Timeouts t;
  const std::array<int, kStateCount> want{2, 900, 120, 60, 120, 120, 10, 60, 30, 120, 120, 300};
  for (std::size_t i = 0; i < kStateCount; ++i) {
    EXPECT_EQ(t.of(static_cast<ConnState>(i)), seconds{want.at(i)}) << i;
  }
  EXPECT_EQ(t.tcp(), seconds{900});
  EXPECT_EQ(t.tcpfin(), seconds{120});
  EXPECT_EQ(t.udp(), seconds{300});
}

// `--set tcp tcpfin udp` changes ES, FIN_WAIT and UDP only; 0 keeps the current value.
TEST(Timeouts, SetChangesOnlyThreeAndZeroKeeps) {
  Timeouts t;
  t.set(seconds{3600}, seconds{0}, seconds{120});
  EXPECT_EQ(t.tcp(), seconds{3600});
  EXPECT_EQ(t.tcpfin(), seconds{120});
  EXPECT_EQ(t.udp(), seconds{120});
  t.set(seconds{0}, seconds{30}, seconds{0});
  EXPECT_EQ(t.tcp(), seconds{3600});
  EXPECT_EQ(t.tcpfin(), seconds{30});
  EXPECT_EQ(t.of(ConnState::kTimeWait), seconds{120});
  EXPECT_EQ(t.of(ConnState::kClose), seconds{10});
}

}  // namespace
}  // namespace lvs::conn
