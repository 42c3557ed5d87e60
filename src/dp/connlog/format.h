#pragma once
// The connection log's line format (pure). One line per record, fields in a fixed order,
// `key=value` after the time and protocol, so `grep end=real-reset` and `awk` work:
//
//   2026-11-27T23:50:01.123Z tcp client=198.51.100.7:51522 vip=192.0.2.10:23
//     real=192.0.2.21:23 method=fullnat in=1234 out=56789 duration=12.345 end=client-fin
//
// (one line in the file). Time: the end, UTC, milliseconds. IPv6 endpoints in brackets.
// in = bytes client -> realserver, out = realserver -> client. duration: seconds, 3 decimals.

#include <chrono>
#include <cstdint>
#include <string>

#include "dp/connlog/record.h"

namespace lvs::dp::connlog {

// `end_wall`: the record's end as wall-clock time. No trailing newline.
std::string format_line(const ConnRecord& r, std::chrono::system_clock::time_point end_wall);

// `2026-11-27T23:50:01.123Z`
std::string format_time(std::chrono::system_clock::time_point t);

// The summary the logger writes (at most once per second) when the rate limit dropped lines,
// and when full queues dropped records.
std::string suppressed_line(std::chrono::system_clock::time_point now, std::uint64_t suppressed);
std::string dropped_line(std::chrono::system_clock::time_point now, std::uint64_t dropped);

}  // namespace lvs::dp::connlog
