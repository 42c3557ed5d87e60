#pragma once
// Ethernet + IPv4 + TCP/UDP frames for the XDP packet tests: built with correct checksums,
// read back field by field, and checksums verified by full recomputation (never by the
// incremental arithmetic under test).

#include <arpa/inet.h>

#include <array>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace lvs::dp::xdp::testing {

inline constexpr std::uint8_t kFin = 0x01;
inline constexpr std::uint8_t kSyn = 0x02;
inline constexpr std::uint8_t kRst = 0x04;
inline constexpr std::uint8_t kAck = 0x10;
inline constexpr std::size_t kEth = 14;
inline constexpr std::size_t kIp = 20;

using Bytes = std::vector<std::uint8_t>;

inline std::uint32_t v4(const char* text) {
  in_addr a{};
  inet_pton(AF_INET, text, &a);
  return ntohl(a.s_addr);
}

inline std::string v4_text(std::uint32_t host) {
  in_addr a{};
  a.s_addr = htonl(host);
  char buf[INET_ADDRSTRLEN] = {};
  inet_ntop(AF_INET, &a, buf, sizeof(buf));
  return buf;
}

inline void put16(Bytes& b, std::size_t at, std::uint16_t v) {
  b.at(at) = static_cast<std::uint8_t>(v >> 8U);
  b.at(at + 1) = static_cast<std::uint8_t>(v & 0xFFU);
}
inline void put32(Bytes& b, std::size_t at, std::uint32_t v) {
  put16(b, at, static_cast<std::uint16_t>(v >> 16U));
  put16(b, at + 2, static_cast<std::uint16_t>(v & 0xFFFFU));
}
inline std::uint16_t get16(const Bytes& b, std::size_t at) {
  return static_cast<std::uint16_t>((b.at(at) << 8U) | b.at(at + 1));
}
inline std::uint32_t get32(const Bytes& b, std::size_t at) {
  return (std::uint32_t{get16(b, at)} << 16U) | get16(b, at + 2);
}

// Ones' complement sum of big-endian 16-bit words.
inline std::uint32_t sum16(const Bytes& b, std::size_t from, std::size_t len, std::uint32_t s) {
  for (std::size_t i = 0; i + 1 < len; i += 2) s += get16(b, from + i);
  if (len % 2 != 0) s += static_cast<std::uint32_t>(b.at(from + len - 1)) << 8U;
  return s;
}
inline std::uint16_t fold(std::uint32_t s) {
  while (s > 0xFFFFU) s = (s & 0xFFFFU) + (s >> 16U);
  return static_cast<std::uint16_t>(~s & 0xFFFFU);
}

struct Packet {
  std::uint8_t proto = 6;
  std::uint32_t saddr = 0;
  std::uint32_t daddr = 0;
  std::uint16_t sport = 0;
  std::uint16_t dport = 0;
  std::uint8_t flags = kSyn;  // TCP
  std::uint8_t ttl = 64;
  std::string payload{};
  bool udp_csum = true;
};

inline std::size_t l4_len(const Packet& p) { return (p.proto == 6 ? 20U : 8U) + p.payload.size(); }

// The L4 checksum over the pseudo header, computed from scratch.
inline std::uint16_t l4_checksum(const Bytes& f) {
  const std::size_t ip_len = get16(f, kEth + 2);
  const std::size_t len = ip_len - kIp;
  std::uint32_t s = 0;
  s = sum16(f, kEth + 12, 8, s);  // saddr, daddr
  s += f.at(kEth + 9);
  s += static_cast<std::uint32_t>(len);
  const std::size_t check_at = kEth + kIp + (f.at(kEth + 9) == 6 ? 16U : 6U);
  Bytes copy = f;
  put16(copy, check_at, 0);
  s = sum16(copy, kEth + kIp, len, s);
  return fold(s);
}

inline std::uint16_t ip_checksum(const Bytes& f) {
  Bytes copy = f;
  put16(copy, kEth + 10, 0);
  return fold(sum16(copy, kEth, kIp, 0));
}

inline Bytes build(const Packet& p) {
  Bytes f(kEth + kIp + l4_len(p), 0);
  const std::uint8_t dmac[6] = {0x02, 0, 0, 0, 0, 0x01};
  const std::uint8_t smac[6] = {0x02, 0, 0, 0, 0, 0x02};
  std::memcpy(f.data(), dmac, 6);
  std::memcpy(f.data() + 6, smac, 6);
  put16(f, 12, 0x0800);
  f.at(kEth) = 0x45;
  put16(f, kEth + 2, static_cast<std::uint16_t>(kIp + l4_len(p)));
  put16(f, kEth + 4, 0x1234);
  put16(f, kEth + 6, 0x4000);  // DF
  f.at(kEth + 8) = p.ttl;
  f.at(kEth + 9) = p.proto;
  put32(f, kEth + 12, p.saddr);
  put32(f, kEth + 16, p.daddr);
  const std::size_t l4 = kEth + kIp;
  put16(f, l4, p.sport);
  put16(f, l4 + 2, p.dport);
  if (p.proto == 6) {
    put32(f, l4 + 4, 1000);
    f.at(l4 + 12) = 0x50;
    f.at(l4 + 13) = p.flags;
    put16(f, l4 + 14, 65535);
    std::memcpy(f.data() + l4 + 20, p.payload.data(), p.payload.size());
  } else {
    put16(f, l4 + 4, static_cast<std::uint16_t>(l4_len(p)));
    std::memcpy(f.data() + l4 + 8, p.payload.data(), p.payload.size());
  }
  put16(f, kEth + 10, ip_checksum(f));
  if (p.proto == 6 || p.udp_csum) {
    std::uint16_t c = l4_checksum(f);
    if (p.proto == 17 && c == 0) c = 0xFFFF;
    put16(f, l4 + (p.proto == 6 ? 16U : 6U), c);
  }
  return f;
}

// What a frame says, for comparisons.
struct Seen {
  std::uint32_t saddr = 0;
  std::uint32_t daddr = 0;
  std::uint16_t sport = 0;
  std::uint16_t dport = 0;
  std::uint8_t ttl = 0;
  bool ip_ok = false;
  bool l4_ok = false;
  std::uint16_t l4_check = 0;
};

inline Seen read(const Bytes& f) {
  Seen s;
  s.saddr = get32(f, kEth + 12);
  s.daddr = get32(f, kEth + 16);
  s.sport = get16(f, kEth + kIp);
  s.dport = get16(f, kEth + kIp + 2);
  s.ttl = f.at(kEth + 8);
  s.ip_ok = get16(f, kEth + 10) == ip_checksum(f);
  const bool tcp = f.at(kEth + 9) == 6;
  s.l4_check = get16(f, kEth + kIp + (tcp ? 16U : 6U));
  std::uint16_t want = l4_checksum(f);
  if (!tcp && want == 0) want = 0xFFFF;
  s.l4_ok = s.l4_check == want;
  return s;
}

// IPv6 (fixed header only).
inline constexpr std::size_t kIp6 = 40;
using Addr6 = std::array<std::uint8_t, 16>;

inline Addr6 v6(const char* text) {
  Addr6 a{};
  inet_pton(AF_INET6, text, a.data());
  return a;
}

inline std::string v6_text(const Addr6& a) {
  char buf[INET6_ADDRSTRLEN] = {};
  inet_ntop(AF_INET6, a.data(), buf, sizeof(buf));
  return buf;
}

struct Packet6 {
  std::uint8_t proto = 6;
  Addr6 saddr{};
  Addr6 daddr{};
  std::uint16_t sport = 0;
  std::uint16_t dport = 0;
  std::uint8_t flags = kSyn;
  std::string payload{};
  std::uint8_t next_header = 0;  // 0: `proto`; else an extension header type, for tests
};

inline std::uint16_t l4_checksum6(const Bytes& f) {
  const std::size_t len = get16(f, kEth + 4);
  std::uint32_t s = sum16(f, kEth + 8, 32, 0);  // source and destination
  s += static_cast<std::uint32_t>(len);
  s += f.at(kEth + 6);
  const bool tcp = f.at(kEth + 6) == 6;
  Bytes copy = f;
  put16(copy, kEth + kIp6 + (tcp ? 16U : 6U), 0);
  s = sum16(copy, kEth + kIp6, len, s);
  return fold(s);
}

inline Bytes build6(const Packet6& p) {
  const std::size_t l4 = (p.proto == 6 ? 20U : 8U) + p.payload.size();
  Bytes f(kEth + kIp6 + l4, 0);
  f.at(0) = 0x02;
  f.at(5) = 0x01;
  f.at(6) = 0x02;
  f.at(11) = 0x02;
  put16(f, 12, 0x86DD);
  f.at(kEth) = 0x60;
  put16(f, kEth + 4, static_cast<std::uint16_t>(l4));
  f.at(kEth + 6) = p.proto;
  f.at(kEth + 7) = 64;
  std::memcpy(f.data() + kEth + 8, p.saddr.data(), 16);
  std::memcpy(f.data() + kEth + 24, p.daddr.data(), 16);
  const std::size_t h = kEth + kIp6;
  put16(f, h, p.sport);
  put16(f, h + 2, p.dport);
  if (p.proto == 6) {
    put32(f, h + 4, 1000);
    f.at(h + 12) = 0x50;
    f.at(h + 13) = p.flags;
    put16(f, h + 14, 65535);
    std::memcpy(f.data() + h + 20, p.payload.data(), p.payload.size());
  } else {
    put16(f, h + 4, static_cast<std::uint16_t>(l4));
    std::memcpy(f.data() + h + 8, p.payload.data(), p.payload.size());
  }
  std::uint16_t c = l4_checksum6(f);
  if (p.proto == 17 && c == 0) c = 0xFFFF;
  put16(f, h + (p.proto == 6 ? 16U : 6U), c);
  if (p.next_header != 0) f.at(kEth + 6) = p.next_header;
  return f;
}

struct Seen6 {
  Addr6 saddr{};
  Addr6 daddr{};
  std::uint16_t sport = 0;
  std::uint16_t dport = 0;
  bool l4_ok = false;
};

inline Seen6 read6(const Bytes& f) {
  Seen6 s;
  std::memcpy(s.saddr.data(), f.data() + kEth + 8, 16);
  std::memcpy(s.daddr.data(), f.data() + kEth + 24, 16);
  s.sport = get16(f, kEth + kIp6);
  s.dport = get16(f, kEth + kIp6 + 2);
  const bool tcp = f.at(kEth + 6) == 6;
  s.l4_ok = get16(f, kEth + kIp6 + (tcp ? 16U : 6U)) == l4_checksum6(f);
  return s;
}

// An ICMP error from `src` to `dst` quoting the IP header and first 8 L4 bytes of `quoted`.
inline Bytes build_icmp_error(std::uint32_t src, std::uint32_t dst, std::uint8_t type,
                              std::uint8_t code, const Packet& quoted) {
  const Bytes q = build(quoted);
  constexpr std::size_t kQuote = kIp + 8;
  Bytes f(kEth + kIp + 8 + kQuote, 0);
  std::memcpy(f.data(), q.data(), 12);  // the same MACs
  put16(f, 12, 0x0800);
  f.at(kEth) = 0x45;
  put16(f, kEth + 2, static_cast<std::uint16_t>(kIp + 8 + kQuote));
  f.at(kEth + 8) = 64;
  f.at(kEth + 9) = 1;
  put32(f, kEth + 12, src);
  put32(f, kEth + 16, dst);
  put16(f, kEth + 10, ip_checksum(f));
  const std::size_t icmp = kEth + kIp;
  f.at(icmp) = type;
  f.at(icmp + 1) = code;
  if (type == 3 && code == 4) put16(f, icmp + 6, 1400);  // next-hop MTU
  std::memcpy(f.data() + icmp + 8, q.data() + kEth, kQuote);
  put16(f, icmp + 2, fold(sum16(f, icmp, 8 + kQuote, 0)));
  return f;
}

// The ICMP error's fields as the tests compare them.
struct SeenIcmp {
  std::uint32_t outer_src = 0;
  std::uint32_t outer_dst = 0;
  std::uint32_t quoted_src = 0;
  std::uint32_t quoted_dst = 0;
  std::uint16_t quoted_sport = 0;
  std::uint16_t quoted_dport = 0;
  bool ip_ok = false;
  bool icmp_ok = false;
  bool quoted_ip_ok = false;
};

inline SeenIcmp read_icmp(const Bytes& f) {
  SeenIcmp s;
  const std::size_t icmp = kEth + kIp;
  const std::size_t in = icmp + 8;
  s.outer_src = get32(f, kEth + 12);
  s.outer_dst = get32(f, kEth + 16);
  s.quoted_src = get32(f, in + 12);
  s.quoted_dst = get32(f, in + 16);
  s.quoted_sport = get16(f, in + kIp);
  s.quoted_dport = get16(f, in + kIp + 2);
  s.ip_ok = get16(f, kEth + 10) == ip_checksum(f);
  s.icmp_ok = fold(sum16(f, icmp, f.size() - icmp, 0)) == 0;
  s.quoted_ip_ok = fold(sum16(f, in, kIp, 0)) == 0;
  return s;
}

// An ICMPv6 error from `src` to `dst` quoting the IPv6 header and first 8 L4 bytes of `quoted`.
inline Bytes build_icmp6_error(const Addr6& src, const Addr6& dst, std::uint8_t type,
                               std::uint8_t code, const Packet6& quoted) {
  const Bytes q = build6(quoted);
  constexpr std::size_t kQuote = kIp6 + 8;
  constexpr std::size_t kLen = 8 + kQuote;  // the ICMPv6 message
  Bytes f(kEth + kIp6 + kLen, 0);
  std::memcpy(f.data(), q.data(), 12);  // the same MACs
  put16(f, 12, 0x86DD);
  f.at(kEth) = 0x60;
  put16(f, kEth + 4, static_cast<std::uint16_t>(kLen));
  f.at(kEth + 6) = 58;
  f.at(kEth + 7) = 64;
  std::memcpy(f.data() + kEth + 8, src.data(), 16);
  std::memcpy(f.data() + kEth + 24, dst.data(), 16);
  const std::size_t icmp = kEth + kIp6;
  f.at(icmp) = type;
  f.at(icmp + 1) = code;
  if (type == 2) put32(f, icmp + 4, 1280);  // packet too big: the MTU
  std::memcpy(f.data() + icmp + 8, q.data() + kEth, kQuote);
  std::uint32_t s = sum16(f, kEth + 8, 32, 0) + static_cast<std::uint32_t>(kLen) + 58U;
  put16(f, icmp + 2, fold(sum16(f, icmp, kLen, s)));
  return f;
}

// The ICMPv6 error's fields as the tests compare them; the checksum recomputed from scratch
// over the pseudo header and the whole message.
struct SeenIcmp6 {
  Addr6 outer_src{};
  Addr6 outer_dst{};
  Addr6 quoted_src{};
  Addr6 quoted_dst{};
  std::uint16_t quoted_sport = 0;
  std::uint16_t quoted_dport = 0;
  std::uint8_t hop_limit = 0;
  bool icmp_ok = false;
};

inline SeenIcmp6 read_icmp6(const Bytes& f) {
  SeenIcmp6 s;
  const std::size_t icmp = kEth + kIp6;
  const std::size_t in = icmp + 8;
  std::memcpy(s.outer_src.data(), f.data() + kEth + 8, 16);
  std::memcpy(s.outer_dst.data(), f.data() + kEth + 24, 16);
  std::memcpy(s.quoted_src.data(), f.data() + in + 8, 16);
  std::memcpy(s.quoted_dst.data(), f.data() + in + 24, 16);
  s.quoted_sport = get16(f, in + kIp6);
  s.quoted_dport = get16(f, in + kIp6 + 2);
  s.hop_limit = f.at(kEth + 7);
  const std::size_t len = get16(f, kEth + 4);
  const std::uint32_t pseudo = sum16(f, kEth + 8, 32, 0) + static_cast<std::uint32_t>(len) + 58U;
  s.icmp_ok = fold(sum16(f, icmp, len, pseudo)) == 0;
  return s;
}

}  // namespace lvs::dp::xdp::testing
