// PING_CHECK: one ICMP/ICMPv6 echo; success iff the matching echo reply arrives in time.
// Uses an unprivileged ICMP datagram socket when net.ipv4.ping_group_range allows our group,
// else a raw socket (needs CAP_NET_RAW). The choice is made once, when the checker is created.
#include <netinet/in.h>
#include <unistd.h>

#include <cerrno>

#include "health/datagram.h"
#include "health/net.h"
#include "health/registry.h"

namespace lvs::health {

namespace {

constexpr std::uint8_t kEchoRequest4 = 8;
constexpr std::uint8_t kEchoReply4 = 0;
constexpr std::uint8_t kEchoRequest6 = 128;
constexpr std::uint8_t kEchoReply6 = 129;

// RFC 1071 ones'-complement sum (ICMPv4; the kernel sums ICMPv6 itself).
std::uint16_t checksum(const std::vector<std::uint8_t>& b) {
  std::uint32_t sum = 0;
  for (std::size_t i = 0; i < b.size(); i += 2) {
    sum += static_cast<std::uint32_t>(b[i] << 8U) | (i + 1 < b.size() ? b[i + 1] : 0U);
  }
  while ((sum >> 16U) != 0) sum = (sum & 0xFFFFU) + (sum >> 16U);
  return static_cast<std::uint16_t>(~sum);
}

class PingChecker final : public Checker {
 public:
  PingChecker(const config::CheckerSpec& spec, const CheckerContext& ctx, int type)
      : spec_(spec), ctx_(ctx), type_(type) {}

  void probe(const core::Endpoint& target, core::Duration timeout, ProbeDone done) override {
    const bool v4 = target.addr.is_v4();
    core::Endpoint to{.addr = target.addr, .port = 0};
    auto fd = open_connected(
        to, type_, v4 ? static_cast<int>(IPPROTO_ICMP) : static_cast<int>(IPPROTO_ICMPV6), spec_);
    if (!fd.ok())
      return done(ProbeResult{.outcome = Outcome::kFailure, .reason = fd.error().message});
    const auto id = static_cast<std::uint16_t>(ctx_.rng->next_u32());
    const std::uint16_t seq = ++seq_;
    std::vector<std::uint8_t> req = {v4 ? kEchoRequest4 : kEchoRequest6,
                                     0,
                                     0,
                                     0,
                                     static_cast<std::uint8_t>(id >> 8U),
                                     static_cast<std::uint8_t>(id),
                                     static_cast<std::uint8_t>(seq >> 8U),
                                     static_cast<std::uint8_t>(seq)};
    for (char c : std::string_view("lvsd-ping")) req.push_back(static_cast<std::uint8_t>(c));
    if (v4) {
      const std::uint16_t sum = checksum(req);
      req[2] = static_cast<std::uint8_t>(sum >> 8U);
      req[3] = static_cast<std::uint8_t>(sum);
    }
    // A datagram socket gets the ICMP message alone, its id rewritten by the kernel; a raw IPv4
    // socket gets the IP header too and every ICMP message from the peer.
    const bool raw = type_ == SOCK_RAW;
    DatagramExchange ex{
        .socket = std::move(*fd),
        .request = std::move(req),
        .judge = [v4, raw, id, seq](std::span<const std::uint8_t> r) -> Verdict {
          std::size_t off = 0;
          if (raw && v4) {
            if (r.empty()) return {};
            off = static_cast<std::size_t>(r[0] & 0x0FU) * 4;
          }
          if (r.size() < off + 8) return {};
          if (r[off] != (v4 ? kEchoReply4 : kEchoReply6)) return {};
          const auto got_id = static_cast<std::uint16_t>((r[off + 4] << 8U) | r[off + 5]);
          const auto got_seq = static_cast<std::uint16_t>((r[off + 6] << 8U) | r[off + 7]);
          if (got_seq != seq || (raw && got_id != id)) return {};
          return {Verdict::Kind::kAccept, "echo reply"};
        },
        .silence_is_success = false};
    run_datagram_exchange(*ctx_.loop, std::move(ex), timeout, std::move(done));
  }

 private:
  config::CheckerSpec spec_;
  CheckerContext ctx_;
  int type_;
  std::uint16_t seq_ = 0;
};

}  // namespace

core::Result<std::unique_ptr<Checker>> make_ping_checker(const config::CheckerSpec& spec,
                                                         const CheckerContext& ctx) {
  const bool v4 = spec.target.addr.is_v4();
  const int proto = v4 ? static_cast<int>(IPPROTO_ICMP) : static_cast<int>(IPPROTO_ICMPV6);
  for (const int type : {SOCK_DGRAM, SOCK_RAW}) {
    core::Fd probe_fd(::socket(v4 ? AF_INET : AF_INET6, type | SOCK_CLOEXEC, proto));
    if (probe_fd) return std::unique_ptr<Checker>(std::make_unique<PingChecker>(spec, ctx, type));
  }
  return core::fail(EPERM, "PING_CHECK needs an ICMP socket: add group " +
                               std::to_string(::getgid()) +
                               " to net.ipv4.ping_group_range or run with CAP_NET_RAW");
}

}  // namespace lvs::health
