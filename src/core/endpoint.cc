#include "core/endpoint.h"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>

#include <fmt/format.h>

namespace lvs::core {

IpAddress IpAddress::v4(std::uint32_t host_order) {
  IpAddress a;
  a.family_ = Family::kInet4;
  a.bytes_[0] = static_cast<std::uint8_t>(host_order >> 24);
  a.bytes_[1] = static_cast<std::uint8_t>(host_order >> 16);
  a.bytes_[2] = static_cast<std::uint8_t>(host_order >> 8);
  a.bytes_[3] = static_cast<std::uint8_t>(host_order);
  return a;
}

IpAddress IpAddress::v6(const std::array<std::uint8_t, 16>& bytes) {
  IpAddress a;
  a.family_ = Family::kInet6;
  a.bytes_ = bytes;
  return a;
}

Result<IpAddress> IpAddress::parse(std::string_view text) {
  // inet_pton needs a NUL-terminated string; the longest IPv6 text is 45 characters.
  char buf[64];
  if (text.empty() || text.size() >= sizeof(buf)) {
    return fail(EINVAL, fmt::format("'{}' is not an IPv4 or IPv6 address", text));
  }
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';
  std::array<std::uint8_t, 16> bytes{};
  if (inet_pton(AF_INET, buf, bytes.data()) == 1) {
    IpAddress a;
    a.family_ = Family::kInet4;
    a.bytes_ = bytes;
    return a;
  }
  if (inet_pton(AF_INET6, buf, bytes.data()) == 1) return v6(bytes);
  return fail(EINVAL, fmt::format("'{}' is not an IPv4 or IPv6 address", text));
}

std::uint32_t IpAddress::v4_host() const {
  LVS_ASSERT(is_v4());
  return (std::uint32_t{bytes_[0]} << 24) | (std::uint32_t{bytes_[1]} << 16) |
         (std::uint32_t{bytes_[2]} << 8) | std::uint32_t{bytes_[3]};
}

std::uint32_t IpAddress::hash_word() const {
  if (is_v4()) return v4_host();
  std::uint32_t folded = 0;
  for (std::size_t w = 0; w < 4; ++w) {
    const std::size_t i = w * 4;
    folded ^= (std::uint32_t{bytes_[i]} << 24) | (std::uint32_t{bytes_[i + 1]} << 16) |
              (std::uint32_t{bytes_[i + 2]} << 8) | std::uint32_t{bytes_[i + 3]};
  }
  return folded;
}

std::string IpAddress::to_string() const {
  char buf[INET6_ADDRSTRLEN];
  const int af = is_v4() ? AF_INET : AF_INET6;
  if (inet_ntop(af, bytes_.data(), buf, sizeof(buf)) == nullptr) return "?";
  return buf;
}

std::size_t hash_value(const IpAddress& a) {
  std::size_t h = a.is_v4() ? 4 : 6;
  for (const auto b : a.bytes()) h = h * 1099511628211ULL + b;
  return h;
}

namespace {

Result<std::uint16_t> parse_port(std::string_view text, std::string_view whole) {
  unsigned value = 0;
  const auto* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc{} || ptr != end || value > 65535) {
    return fail(EINVAL, fmt::format("port '{}' in '{}' is not a number in 0..65535", text, whole));
  }
  return static_cast<std::uint16_t>(value);
}

}  // namespace

Result<Endpoint> Endpoint::parse(std::string_view text, std::uint16_t default_port) {
  std::string_view host = text;
  std::string_view port;
  bool has_port = false;
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos) {
      return fail(EINVAL, fmt::format("'{}' has '[' without a closing ']'", text));
    }
    host = text.substr(1, close - 1);
    const auto rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') {
        return fail(EINVAL, fmt::format("'{}': expected ':PORT' after ']'", text));
      }
      port = rest.substr(1);
      has_port = true;
    }
    auto addr = IpAddress::parse(host);
    if (!addr || addr->is_v4()) {
      return fail(EINVAL, fmt::format("'{}' is not an IPv6 address in brackets", text));
    }
  } else if (const auto colon = text.find(':'); colon != std::string_view::npos) {
    if (text.find(':', colon + 1) == std::string_view::npos) {
      host = text.substr(0, colon);
      port = text.substr(colon + 1);
      has_port = true;
    }  // else: a bare IPv6 literal without port
  }
  auto addr = IpAddress::parse(host);
  if (!addr) return fail(EINVAL, fmt::format("'{}': {}", text, addr.error().message));
  Endpoint e{.addr = *addr, .port = default_port};
  if (has_port) {
    auto p = parse_port(port, text);
    if (!p) return Unexpected{p.error()};
    e.port = *p;
  }
  return e;
}

std::string Endpoint::to_string() const {
  if (addr.is_v4()) return fmt::format("{}:{}", addr.to_string(), port);
  return fmt::format("[{}]:{}", addr.to_string(), port);
}

}  // namespace lvs::core
