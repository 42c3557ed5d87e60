#pragma once
// Test helper: an Engine on a fake clock, with shorthand for services, realservers and
// packets, and a `-L -c`-style line for one entry.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "conn/engine.h"
#include "core/clock.h"

namespace lvs::conn::testing {

using namespace std::chrono_literals;
using model::ForwardMethod;
using model::Protocol;
using model::RealServer;
using model::ServiceKey;
using model::VirtualService;

inline constexpr std::string_view kVip = "192.168.1.100";

inline core::Endpoint ep(std::string_view text) {
  auto e = core::Endpoint::parse(text);
  EXPECT_TRUE(e.ok()) << text;
  return e.ok() ? *e : core::Endpoint{};
}

inline ServiceKey tcp(std::string_view vip) { return ServiceKey::address(Protocol::kTcp, ep(vip)); }
inline ServiceKey udp(std::string_view vip) { return ServiceKey::address(Protocol::kUdp, ep(vip)); }

inline RealServer real(std::string_view addr, ForwardMethod fwd = ForwardMethod::kMasq,
                       std::int32_t weight = 1) {
  return RealServer{.addr = ep(addr), .forward = fwd, .weight = weight, .last_weight = weight};
}

// "MM:SS" as `-L -c` prints the remaining time (whole seconds, truncated).
inline std::string mmss(core::Duration d) {
  const auto s = std::chrono::duration_cast<std::chrono::seconds>(d).count();
  return fmt::format("{:02}:{:02}", s / 60, s % 60);
}

// One `-L -c` line (spec §4.6) built from the listing API.
inline std::string list_line(const ConnView& c) {
  return fmt::format("{:<3} {:<6} {:<11} {:<18} {:<18} {}", protocol_label(c.protocol),
                     mmss(c.remaining), state_name(c.state), c.client.to_string(),
                     c.vip.to_string(), c.dest.to_string());
}

class Harness {
 public:
  explicit Harness(Sysctls sysctls = {}) : engine(sysctls) {}

  void add(const VirtualService& svc) { ASSERT_TRUE(engine.add_service(svc).ok()); }

  core::TimePoint now() const { return clock.now(); }
  // Moves virtual time forward and runs the timers, as the event loop would.
  void advance(core::Duration d) {
    clock.advance(d);
    engine.expire(clock.now());
  }

  Verdict in(std::string_view client, std::string_view vip, std::uint8_t flags,
             Protocol proto = Protocol::kTcp, std::uint32_t fwmark = 0, std::uint32_t bytes = 60) {
    return engine.in_packet(Packet{.protocol = proto,
                                   .src = ep(client),
                                   .dst = ep(vip),
                                   .fwmark = fwmark,
                                   .tcp_flags = flags,
                                   .bytes = bytes},
                            clock.now());
  }
  Verdict syn(std::string_view client, std::string_view vip) {
    return in(client, vip, tcp_flag::kSyn);
  }
  Verdict out(std::string_view real_addr, std::string_view client, std::uint8_t flags,
              Protocol proto = Protocol::kTcp, std::uint32_t bytes = 60) {
    return engine.out_packet(Packet{.protocol = proto,
                                    .src = ep(real_addr),
                                    .dst = ep(client),
                                    .fwmark = 0,
                                    .tcp_flags = flags,
                                    .bytes = bytes},
                             clock.now());
  }

  DestView dest(const ServiceKey& key, std::string_view addr) const {
    const auto svc = engine.service(key);
    EXPECT_TRUE(svc.has_value()) << key.to_string();
    if (svc) {
      for (const auto& d : svc->dests) {
        if (d.config.addr == ep(addr)) return d;
      }
    }
    ADD_FAILURE() << "no dest " << addr;
    return {};
  }

  // The connection entry (not template) of this client towards vip, if any.
  std::optional<ConnView> conn(std::string_view client, std::string_view vip) const {
    for (const auto& c : engine.connections(clock.now())) {
      if (!c.is_template && c.client == ep(client) && c.vip == ep(vip)) return c;
    }
    return std::nullopt;
  }
  std::vector<ConnView> templates() const {
    std::vector<ConnView> out;
    for (const auto& c : engine.connections(clock.now())) {
      if (c.is_template) out.push_back(c);
    }
    return out;
  }

  core::FakeClock clock;
  Engine engine;
};

}  // namespace lvs::conn::testing
