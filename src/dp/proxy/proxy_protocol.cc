#include "dp/proxy/proxy_protocol.h"

#include <fmt/format.h>

namespace lvs::dp::proxy {

namespace {

// v2: 12-byte signature, version 2 + PROXY command, family/transport, address block length.
constexpr std::string_view kV2Signature("\r\n\r\n\0\r\nQUIT\n", 12);
constexpr char kV2ProxyCommand = 0x21;

void put_u16(std::string& out, std::uint16_t v) {
  out.push_back(static_cast<char>(v >> 8));
  out.push_back(static_cast<char>(v & 0xFF));
}

void put_addr(std::string& out, const core::IpAddress& a) {
  const std::size_t n = a.is_v4() ? 4 : 16;
  for (std::size_t i = 0; i < n; ++i) out.push_back(static_cast<char>(a.bytes()[i]));
}

}  // namespace

std::string proxy_header(model::ProxyProtocol version, model::Protocol proto,
                         const core::Endpoint& client, const core::Endpoint& vip) {
  const bool v4 = client.addr.is_v4();
  switch (version) {
    case model::ProxyProtocol::kNone:
      return {};
    case model::ProxyProtocol::kV1:
      return fmt::format("PROXY {} {} {} {} {}\r\n", v4 ? "TCP4" : "TCP6", client.addr.to_string(),
                         vip.addr.to_string(), client.port, vip.port);
    case model::ProxyProtocol::kV2: {
      std::string out(kV2Signature);
      out.push_back(kV2ProxyCommand);
      // High nibble: 1 = AF_INET, 2 = AF_INET6; low nibble: 1 = STREAM, 2 = DGRAM.
      const int family = v4 ? 0x10 : 0x20;
      const int transport = proto == model::Protocol::kUdp ? 0x2 : 0x1;
      out.push_back(static_cast<char>(family | transport));
      put_u16(out, v4 ? 12 : 36);
      put_addr(out, client.addr);
      put_addr(out, vip.addr);
      put_u16(out, client.port);
      put_u16(out, vip.port);
      return out;
    }
  }
  return {};
}

}  // namespace lvs::dp::proxy
