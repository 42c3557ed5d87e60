// UDP_CHECK: send the payload (random when none is configured). With require_reply, or a
// configured payload, a reply within min/max_reply_length matching reply_pattern is required;
// otherwise silence is success and only an ICMP error fails.
#include <cctype>

#include "health/datagram.h"
#include "health/net.h"
#include "health/registry.h"

namespace lvs::health {

namespace {

int nibble(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  const int l = std::tolower(static_cast<unsigned char>(c));
  if (l >= 'a' && l <= 'f') return l - 'a' + 10;
  return -1;  // 'X' and anything else: wildcard
}

// reply_pattern: hex nibbles, 'X' matches any nibble; the reply must start with the pattern.
bool matches(std::string_view pattern, std::span<const std::uint8_t> reply) {
  if (pattern.size() > reply.size() * 2) return false;
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    const int want = nibble(pattern[i]);
    if (want < 0) continue;
    const std::uint8_t b = reply[i / 2];
    const auto got = static_cast<int>(i % 2 == 0 ? b >> 4U : b & 0x0FU);
    if (got != want) return false;
  }
  return true;
}

class UdpChecker final : public Checker {
 public:
  UdpChecker(const config::CheckerSpec& spec, const CheckerContext& ctx) : spec_(spec), ctx_(ctx) {}

  void probe(const core::Endpoint& target, core::Duration timeout, ProbeDone done) override {
    auto fd = open_connected(target, SOCK_DGRAM, 0, spec_);
    if (!fd.ok())
      return done(ProbeResult{.outcome = Outcome::kFailure, .reason = fd.error().message});
    std::vector<std::uint8_t> payload = spec_.payload;
    if (payload.empty()) {
      for (int i = 0; i < 16; ++i)
        payload.push_back(static_cast<std::uint8_t>(ctx_.rng->next_u32()));
    }
    const bool need_reply = spec_.require_reply || !spec_.payload.empty();
    DatagramExchange ex{.socket = std::move(*fd),
                        .request = std::move(payload),
                        .judge = [spec = spec_](std::span<const std::uint8_t> r) -> Verdict {
                          if (r.size() < spec.min_reply_length ||
                              (spec.max_reply_length != 0 && r.size() > spec.max_reply_length)) {
                            return {Verdict::Kind::kReject,
                                    "reply length " + std::to_string(r.size()) + " out of range"};
                          }
                          if (!matches(spec.reply_pattern, r)) {
                            return {Verdict::Kind::kReject, "reply does not match the pattern"};
                          }
                          return {Verdict::Kind::kAccept, "reply received"};
                        },
                        .silence_is_success = !need_reply};
    run_datagram_exchange(*ctx_.loop, std::move(ex), timeout, std::move(done));
  }

 private:
  config::CheckerSpec spec_;
  CheckerContext ctx_;
};

}  // namespace

core::Result<std::unique_ptr<Checker>> make_udp_checker(const config::CheckerSpec& spec,
                                                        const CheckerContext& ctx) {
  return std::unique_ptr<Checker>(std::make_unique<UdpChecker>(spec, ctx));
}

}  // namespace lvs::health
