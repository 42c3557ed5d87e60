#pragma once
// The exchange UDP_CHECK, DNS_CHECK, XDMCP_CHECK and PING_CHECK share: send one datagram on a
// connected socket, then judge each reply until one is accepted or rejected, an ICMP error
// arrives (ECONNREFUSED and friends), or the timeout passes.

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "core/fd.h"
#include "health/checker.h"
#include "health/event_loop.h"

namespace lvs::health {

struct Verdict {
  enum class Kind : std::uint8_t { kIgnore, kAccept, kReject };
  Kind kind = Kind::kIgnore;
  std::string reason{};
};

struct DatagramExchange {
  core::Fd socket{};  // connected, non-blocking
  std::vector<std::uint8_t> request{};
  std::function<Verdict(std::span<const std::uint8_t>)> judge{};
  // When true, silence until the timeout is a success (UDP_CHECK without require_reply).
  bool silence_is_success = false;
};

void run_datagram_exchange(EventLoop& loop, DatagramExchange exchange, core::Duration timeout,
                           ProbeDone done);

}  // namespace lvs::health
