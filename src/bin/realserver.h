#pragma once
// lvs-realserver's two modes: a fake realserver that answers with its name (TCP echo or
// HTTP/1.x, and UDP), and a small UDP query client. Single-threaded, one epoll loop.

#include <cstdint>
#include <cstdio>
#include <string_view>

#include "bin/realserver_flags.h"
#include "core/result.h"

namespace lvs::bin {

// Serves until SIGINT or SIGTERM arrives. The caller must have blocked both signals in every
// thread: they are read through a signalfd inside the loop. Once every socket listens, prints
// "ready tcp=ADDR:PORT udp=ADDR:PORT" (only the configured parts) on `ready_out` and flushes.
// Errors are setup failures (a port in use, ...); traffic problems only drop that connection.
core::Result<void> serve_realserver(const RealserverConfig& cfg, std::FILE* ready_out);

// Sends cfg.message cfg.count times to cfg.target, each time from a new socket, and prints each
// reply on its own line on `out`. Fails when a reply does not come within cfg.wait.
core::Result<void> query_udp(const RealserverConfig& cfg, std::FILE* out);

// The head of one HTTP/1.x request at the start of a buffer.
enum class HttpParse : std::uint8_t { kIncomplete, kComplete, kBad };

struct HttpHead {
  HttpParse parse = HttpParse::kIncomplete;
  std::size_t length = 0;          // bytes of the head, blank line included
  bool keep_alive = false;         // HTTP/1.1 unless "Connection: close"; 1.0 only if asked
  bool head_only = false;          // HEAD: the answer carries headers, no body
  bool chunked = false;            // Transfer-Encoding: chunked (not supported: 501)
  std::size_t content_length = 0;  // request body bytes that follow the head
};

// Pure: reads the request line and headers at the start of `in`. kIncomplete until the blank
// line arrives; kBad for anything that is not an HTTP/1.0 or 1.1 request.
HttpHead parse_http_head(std::string_view in);

}  // namespace lvs::bin
