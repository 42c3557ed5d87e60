// DNS_CHECK: one UDP query (RD set) of the configured type and name; success iff a reply with
// the same ID, QR=1 and RCODE NOERROR arrives in time. Replies with another ID are ignored.
#include <algorithm>
#include <cctype>
#include <cerrno>
#include <string>

#include "health/datagram.h"
#include "health/net.h"
#include "health/registry.h"

namespace lvs::health {

namespace {

struct DnsType {
  std::string_view name;
  std::uint16_t code;
};
constexpr DnsType kTypes[] = {{"A", 1},   {"NS", 2},   {"CNAME", 5}, {"SOA", 6},
                              {"MX", 15}, {"TXT", 16}, {"AAAA", 28}};

std::optional<std::uint16_t> type_code(std::string_view name) {
  for (const DnsType& t : kTypes) {
    if (std::equal(t.name.begin(), t.name.end(), name.begin(), name.end(), [](char a, char b) {
          return a == std::toupper(static_cast<unsigned char>(b));
        })) {
      return t.code;
    }
  }
  return std::nullopt;
}

// "www.example.org" -> 3www7example3org0; "." -> 0.
core::Result<std::vector<std::uint8_t>> encode_name(std::string_view name) {
  std::vector<std::uint8_t> out;
  std::size_t pos = 0;
  while (pos < name.size()) {
    const std::size_t dot = std::min(name.find('.', pos), name.size());
    const std::string_view label = name.substr(pos, dot - pos);
    if (label.size() > 63)
      return core::fail(EINVAL, "DNS label '" + std::string(label) + "' is longer than 63");
    if (!label.empty()) {
      out.push_back(static_cast<std::uint8_t>(label.size()));
      out.insert(out.end(), label.begin(), label.end());
    }
    pos = dot + 1;
  }
  out.push_back(0);
  return out;
}

class DnsChecker final : public Checker {
 public:
  DnsChecker(const config::CheckerSpec& spec, const CheckerContext& ctx, std::uint16_t qtype,
             std::vector<std::uint8_t> qname)
      : spec_(spec), ctx_(ctx), qtype_(qtype), qname_(std::move(qname)) {}

  void probe(const core::Endpoint& target, core::Duration timeout, ProbeDone done) override {
    auto fd = open_connected(target, SOCK_DGRAM, 0, spec_);
    if (!fd.ok())
      return done(ProbeResult{.outcome = Outcome::kFailure, .reason = fd.error().message});
    const auto id = static_cast<std::uint16_t>(ctx_.rng->next_u32());
    std::vector<std::uint8_t> q = {static_cast<std::uint8_t>(id >> 8U),
                                   static_cast<std::uint8_t>(id),
                                   0x01,
                                   0x00,  // RD
                                   0,
                                   1,
                                   0,
                                   0,
                                   0,
                                   0,
                                   0,
                                   0};
    q.insert(q.end(), qname_.begin(), qname_.end());
    q.insert(q.end(),
             {static_cast<std::uint8_t>(qtype_ >> 8U), static_cast<std::uint8_t>(qtype_), 0, 1});
    DatagramExchange ex{.socket = std::move(*fd),
                        .request = std::move(q),
                        .judge = [id](std::span<const std::uint8_t> r) -> Verdict {
                          if (r.size() < 12) return {};
                          const auto got = static_cast<std::uint16_t>((r[0] << 8U) | r[1]);
                          if (got != id || (r[2] & 0x80U) == 0) return {};
                          const unsigned rcode = r[3] & 0x0FU;
                          if (rcode != 0) {
                            return {Verdict::Kind::kReject, "DNS RCODE " + std::to_string(rcode)};
                          }
                          return {Verdict::Kind::kAccept, "DNS NOERROR"};
                        },
                        .silence_is_success = false};
    run_datagram_exchange(*ctx_.loop, std::move(ex), timeout, std::move(done));
  }

 private:
  config::CheckerSpec spec_;
  CheckerContext ctx_;
  std::uint16_t qtype_;
  std::vector<std::uint8_t> qname_;
};

}  // namespace

core::Result<std::unique_ptr<Checker>> make_dns_checker(const config::CheckerSpec& spec,
                                                        const CheckerContext& ctx) {
  const auto qtype = type_code(spec.dns_type);
  if (!qtype) {
    return core::fail(EINVAL, "DNS_CHECK type '" + spec.dns_type +
                                  "' is not one of A, NS, CNAME, SOA, MX, TXT, AAAA");
  }
  auto qname = encode_name(spec.dns_name);
  if (!qname.ok()) return core::Unexpected{qname.error()};
  return std::unique_ptr<Checker>(
      std::make_unique<DnsChecker>(spec, ctx, *qtype, std::move(*qname)));
}

}  // namespace lvs::health
