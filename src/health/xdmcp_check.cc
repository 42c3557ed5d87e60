// XDMCP_CHECK: send an XDMCP Query (X Display Manager Control Protocol, version 1) to udp/177
// or the configured port and expect Willing. Wire format, all CARD16 big-endian:
//   header  = version (1) | opcode | length of the rest
//   Query   = opcode 2, body = authentication names: ARRAY of ARRAY8 (CARD8 count; 0 here)
//   Willing = opcode 5, Unwilling = opcode 6.
#include "health/datagram.h"
#include "health/net.h"
#include "health/registry.h"

namespace lvs::health {

namespace {

constexpr std::uint16_t kXdmcpVersion = 1;
constexpr std::uint16_t kQuery = 2;
constexpr std::uint16_t kWilling = 5;
constexpr std::uint16_t kUnwilling = 6;
constexpr std::uint16_t kXdmcpPort = 177;

std::uint16_t card16(std::span<const std::uint8_t> b, std::size_t at) {
  return static_cast<std::uint16_t>((b[at] << 8U) | b[at + 1]);
}

class XdmcpChecker final : public Checker {
 public:
  XdmcpChecker(const config::CheckerSpec& spec, const CheckerContext& ctx)
      : spec_(spec), ctx_(ctx) {}

  void probe(const core::Endpoint& target, core::Duration timeout, ProbeDone done) override {
    core::Endpoint to = target;
    if (to.port == 0) to.port = kXdmcpPort;
    auto fd = open_connected(to, SOCK_DGRAM, 0, spec_);
    if (!fd.ok())
      return done(ProbeResult{.outcome = Outcome::kFailure, .reason = fd.error().message});
    // version 1, opcode Query, length 1, zero authentication names.
    std::vector<std::uint8_t> query = {0, kXdmcpVersion, 0, kQuery, 0, 1, 0};
    DatagramExchange ex{.socket = std::move(*fd),
                        .request = std::move(query),
                        .judge = [](std::span<const std::uint8_t> r) -> Verdict {
                          if (r.size() < 6 || card16(r, 0) != kXdmcpVersion) return {};
                          const std::uint16_t op = card16(r, 2);
                          if (op == kWilling) return {Verdict::Kind::kAccept, "XDMCP Willing"};
                          if (op == kUnwilling) return {Verdict::Kind::kReject, "XDMCP Unwilling"};
                          return {};
                        },
                        .silence_is_success = false};
    run_datagram_exchange(*ctx_.loop, std::move(ex), timeout, std::move(done));
  }

 private:
  config::CheckerSpec spec_;
  CheckerContext ctx_;
};

}  // namespace

core::Result<std::unique_ptr<Checker>> make_xdmcp_checker(const config::CheckerSpec& spec,
                                                          const CheckerContext& ctx) {
  return std::unique_ptr<Checker>(std::make_unique<XdmcpChecker>(spec, ctx));
}

}  // namespace lvs::health
