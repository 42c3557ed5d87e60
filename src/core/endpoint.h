#pragma once
// IP addresses and endpoints (address + port) for IPv4 and IPv6, parsed and printed in
// ipvsadm's forms: `192.0.2.1:80`, `[2001:db8::1]:80`. Plain values, comparable and hashable.

#include <array>
#include <compare>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "core/result.h"

namespace lvs::core {

enum class Family : std::uint8_t { kInet4 = 4, kInet6 = 6 };

class IpAddress {
 public:
  IpAddress() = default;  // 0.0.0.0
  static IpAddress v4(std::uint32_t host_order);
  static IpAddress v6(const std::array<std::uint8_t, 16>& bytes);
  // Dotted quad or IPv6 text (no brackets). Names are not resolved here.
  static Result<IpAddress> parse(std::string_view text);

  Family family() const { return family_; }
  bool is_v4() const { return family_ == Family::kInet4; }
  // IPv4 address as a host-order integer. Only for is_v4().
  std::uint32_t v4_host() const;
  // The 32-bit word the IPVS hash schedulers use: the IPv4 address in host order, or for IPv6
  // the XOR of its four 32-bit words (each read in network order).
  std::uint32_t hash_word() const;
  const std::array<std::uint8_t, 16>& bytes() const { return bytes_; }  // v4 uses bytes 0..3

  std::string to_string() const;  // 192.0.2.1 or 2001:db8::1

  auto operator<=>(const IpAddress&) const = default;
  bool operator==(const IpAddress&) const = default;

 private:
  Family family_ = Family::kInet4;
  std::array<std::uint8_t, 16> bytes_{};
};

struct Endpoint {
  IpAddress addr{};
  std::uint16_t port = 0;

  // `A.B.C.D[:PORT]`, `[V6][:PORT]` or a bare IPv6 literal. A missing port gives default_port.
  static Result<Endpoint> parse(std::string_view text, std::uint16_t default_port = 0);
  std::string to_string() const;  // ipvsadm form: 192.0.2.1:80, [2001:db8::1]:80

  auto operator<=>(const Endpoint&) const = default;
  bool operator==(const Endpoint&) const = default;
};

std::size_t hash_value(const IpAddress& a);

}  // namespace lvs::core

template <>
struct std::hash<lvs::core::IpAddress> {
  std::size_t operator()(const lvs::core::IpAddress& a) const { return lvs::core::hash_value(a); }
};

template <>
struct std::hash<lvs::core::Endpoint> {
  std::size_t operator()(const lvs::core::Endpoint& e) const {
    return lvs::core::hash_value(e.addr) * 31U + e.port;
  }
};
