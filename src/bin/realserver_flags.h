#pragma once
// lvs-realserver's command line. Two modes share the binary:
//   serve:  --name NAME (--tcp ADDR:PORT [--http] | --udp ADDR:PORT)...   a fake realserver
//   query:  --query-udp ADDR:PORT [--count N] [--wait DURATION] [MESSAGE]  a tiny UDP client
// Parsing is a pure function so tests can check every error text.

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "core/endpoint.h"
#include "core/result.h"

namespace lvs::bin {

enum class RealserverMode : std::uint8_t { kServe, kQueryUdp, kHelp };

// TCP without --http: a greeting line then an echo; with --http: HTTP/1.x answering NAME.
enum class TcpProtocol : std::uint8_t { kEcho, kHttp };

struct RealserverConfig {
  RealserverMode mode = RealserverMode::kServe;
  // serve
  std::string name{};
  std::optional<core::Endpoint> tcp{};
  std::optional<core::Endpoint> udp{};
  TcpProtocol tcp_protocol = TcpProtocol::kEcho;
  // --report-peer: answers carry the address:port the realserver saw the client at
  // ("NAME peer=ADDR:PORT"), to check masquerading keeps the client's own address.
  bool report_peer = false;
  // query
  core::Endpoint target{};
  std::uint32_t count = 1;  // datagrams, each from a fresh socket (a new flow for a director)
  std::chrono::milliseconds wait{1000};  // per reply
  std::string message = "hello";
};

// Parses argv[1..]. Errors say which flag is wrong and why, e.g.
// "--tcp '127.0.0.2:70000': port '70000' in '127.0.0.2:70000' is not a number in 0..65535".
core::Result<RealserverConfig> parse_realserver_flags(std::span<const std::string_view> args);
std::string realserver_usage();

}  // namespace lvs::bin
