// The connection log's line format: every end reason by name, IPv4 and IPv6, bytes each way,
// duration, the summary lines.

#include "dp/connlog/format.h"

#include <gtest/gtest.h>

namespace lvs::dp::connlog {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

core::Endpoint ep(const char* text) { return core::Endpoint::parse(text).value(); }

// 2026-11-27T23:50:01.123Z
std::chrono::system_clock::time_point wall() {
  return std::chrono::system_clock::time_point(seconds(1795823401)) + milliseconds(123);
}

ConnRecord tcp_record(EndReason why) {
  const core::TimePoint start{seconds(100)};
  return ConnRecord{.proto = Proto::kTcp,
                    .method = Method::kFullNat,
                    .end = why,
                    .client = ep("198.51.100.7:51522"),
                    .vip = ep("192.0.2.10:23"),
                    .real = ep("192.0.2.21:23"),
                    .in_bytes = 1234,
                    .out_bytes = 56789,
                    .start = start,
                    .end_time = start + seconds(12) + milliseconds(345)};
}

// The documented example, field for field.
TEST(ConnLogFormat, TcpLineHasEveryFieldInOrder) {
  EXPECT_EQ(format_line(tcp_record(EndReason::kClientFin), wall()),
            "2026-11-27T23:50:01.123Z tcp client=198.51.100.7:51522 vip=192.0.2.10:23 "
            "real=192.0.2.21:23 method=fullnat in=1234 out=56789 duration=12.345 end=client-fin");
}

// Each end reason has its own stable word.
TEST(ConnLogFormat, EveryEndReasonHasItsName) {
  const std::pair<EndReason, const char*> names[] = {
      {EndReason::kClientFin, "client-fin"},
      {EndReason::kRealFin, "real-fin"},
      {EndReason::kClientReset, "client-reset"},
      {EndReason::kRealReset, "real-reset"},
      {EndReason::kIdleTimeout, "idle-timeout"},
      {EndReason::kConnectRefused, "connect-refused"},
      {EndReason::kConnectTimeout, "connect-timeout"},
      {EndReason::kConnectError, "connect-error"},
      {EndReason::kRealDeleted, "real-deleted"},
      {EndReason::kServiceRemoved, "service-removed"},
      {EndReason::kShutdown, "shutdown"},
      {EndReason::kError, "error"},
  };
  ASSERT_EQ(std::size(names), kEndReasons);
  for (const auto& [why, name] : names) {
    EXPECT_EQ(end_reason_name(why), name);
    const std::string line = format_line(tcp_record(why), wall());
    EXPECT_TRUE(line.ends_with(std::string(" end=") + name)) << line;
  }
}

// IPv6 endpoints are bracketed; UDP and Masq say so; a sub-second flow keeps its zeros.
TEST(ConnLogFormat, UdpIpv6MasqLine) {
  const core::TimePoint start{seconds(5)};
  const ConnRecord r{.proto = Proto::kUdp,
                     .method = Method::kMasq,
                     .end = EndReason::kIdleTimeout,
                     .client = ep("[2001:db8::7]:5353"),
                     .vip = ep("[2001:db8::10]:53"),
                     .real = ep("[2001:db8::21]:53"),
                     .in_bytes = 40,
                     .out_bytes = 0,
                     .start = start,
                     .end_time = start + milliseconds(7)};
  EXPECT_EQ(format_line(r, wall()),
            "2026-11-27T23:50:01.123Z udp client=[2001:db8::7]:5353 vip=[2001:db8::10]:53 "
            "real=[2001:db8::21]:53 method=masq in=40 out=0 duration=0.007 end=idle-timeout");
}

// An end before the start (cannot happen on a steady clock) prints duration 0, not garbage.
TEST(ConnLogFormat, NegativeDurationIsZero) {
  ConnRecord r = tcp_record(EndReason::kRealFin);
  r.end_time = r.start - seconds(1);
  EXPECT_NE(format_line(r, wall()).find(" duration=0.000 "), std::string::npos);
}

TEST(ConnLogFormat, SummaryLines) {
  EXPECT_EQ(suppressed_line(wall(), 1234),
            "2026-11-27T23:50:01.123Z conn_log: 1234 lines suppressed");
  EXPECT_EQ(dropped_line(wall(), 5),
            "2026-11-27T23:50:01.123Z conn_log: 5 records dropped (worker queue full)");
}

}  // namespace
}  // namespace lvs::dp::connlog
