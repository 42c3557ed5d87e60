#include "sync/codec.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <string>

namespace lvs::sync {
namespace {

constexpr std::uint8_t kTypeIpv6 = 0x1;
constexpr std::uint8_t kTypeTemplate = 0x2;
constexpr std::uint8_t kTypeCounters = 0x4;
constexpr std::uint32_t kEntryPersistent = 0x1;
constexpr std::uint32_t kCountersOfDest = 0x1;

void put8(std::vector<std::uint8_t>& out, std::uint8_t v) { out.push_back(v); }
void put16(std::vector<std::uint8_t>& out, std::uint16_t v) {
  out.push_back(static_cast<std::uint8_t>(v >> 8));
  out.push_back(static_cast<std::uint8_t>(v & 0xff));
}
void put32(std::vector<std::uint8_t>& out, std::uint32_t v) {
  put16(out, static_cast<std::uint16_t>(v >> 16));
  put16(out, static_cast<std::uint16_t>(v & 0xffff));
}
void put_addr(std::vector<std::uint8_t>& out, const core::IpAddress& a, bool v6) {
  const auto& b = a.bytes();
  out.insert(out.end(), b.begin(), b.begin() + (v6 ? 16 : 4));
}

std::uint16_t get16(std::span<const std::uint8_t> b, std::size_t at) {
  return static_cast<std::uint16_t>((b[at] << 8) | b[at + 1]);
}
void put64(std::vector<std::uint8_t>& out, std::uint64_t v) {
  put32(out, static_cast<std::uint32_t>(v >> 32));
  put32(out, static_cast<std::uint32_t>(v & 0xffffffff));
}
std::uint32_t get32(std::span<const std::uint8_t> b, std::size_t at) {
  return (std::uint32_t{get16(b, at)} << 16) | get16(b, at + 2);
}
std::uint64_t get64(std::span<const std::uint8_t> b, std::size_t at) {
  return (std::uint64_t{get32(b, at)} << 32) | get32(b, at + 4);
}
core::IpAddress get_addr(std::span<const std::uint8_t> b, std::size_t at, bool v6) {
  if (!v6) return core::IpAddress::v4(get32(b, at));
  std::array<std::uint8_t, 16> bytes{};
  std::copy_n(b.begin() + static_cast<std::ptrdiff_t>(at), 16, bytes.begin());
  return core::IpAddress::v6(bytes);
}

bool is_v6(const Entry& e) { return !e.client.addr.is_v4(); }
std::size_t entry_size(const Entry& e) { return is_v6(e) ? kEntry6Size : kEntry4Size; }

void put_entry(std::vector<std::uint8_t>& out, const Entry& e) {
  const bool v6 = is_v6(e);
  std::uint8_t type = v6 ? kTypeIpv6 : 0;
  if (e.kind == EntryKind::kTemplate) type |= kTypeTemplate;
  put8(out, type);
  put8(out, e.protocol);
  put16(out, static_cast<std::uint16_t>(entry_size(e)));
  put32(out, e.persistent ? kEntryPersistent : 0);
  put16(out, e.state);
  put16(out, e.client.port);
  put16(out, e.vip.port);
  put16(out, e.dest.port);
  put32(out, e.netmask);
  put32(out, e.timeout);
  put_addr(out, e.client.addr, v6);
  put_addr(out, e.vip.addr, v6);
  put_addr(out, e.dest.addr, v6);
}

bool is_v6(const CounterEntry& c) { return c.service.af == core::Family::kInet6; }
std::size_t entry_size(const CounterEntry& c) { return is_v6(c) ? kCounter6Size : kCounter4Size; }

void put_entry(std::vector<std::uint8_t>& out, const CounterEntry& c) {
  const bool v6 = is_v6(c);
  const bool mark = c.service.is_fwmark();
  put8(out, static_cast<std::uint8_t>(kTypeCounters | (v6 ? kTypeIpv6 : 0)));
  put8(out, mark ? 0 : static_cast<std::uint8_t>(c.service.protocol));
  put16(out, static_cast<std::uint16_t>(entry_size(c)));
  put32(out, c.dest ? kCountersOfDest : 0);
  put32(out, c.service.fwmark);
  put16(out, mark ? 0 : c.service.vip.port);
  put16(out, c.dest ? c.dest->port : 0);
  const model::Counters& n = c.counters;
  for (const std::uint64_t v : {n.conns, n.failed, n.inpkts, n.outpkts, n.inbytes, n.outbytes}) {
    put64(out, v);
  }
  const core::IpAddress none = v6 ? core::IpAddress::v6({}) : core::IpAddress::v4(0);
  put_addr(out, mark ? none : c.service.vip.addr, v6);
  put_addr(out, c.dest ? c.dest->addr : none, v6);
}

void put_header(std::vector<std::uint8_t>& out, std::uint8_t syncid, std::uint8_t count,
                std::uint8_t flags) {
  put8(out, 0);  // reserved: 0 tells a version 1 message from IPVS's old format
  put8(out, syncid);
  put16(out, 0);  // size, patched once known
  put8(out, count);
  put8(out, kVersion);
  put8(out, flags);
  put8(out, 0);
}

void finish(std::vector<std::uint8_t>& d, std::size_t count) {
  d[2] = static_cast<std::uint8_t>(d.size() >> 8);
  d[3] = static_cast<std::uint8_t>(d.size() & 0xff);
  d[4] = static_cast<std::uint8_t>(count);
}

core::Unexpected bad(std::string what) {
  return core::fail(EBADMSG, "sync message: " + std::move(what));
}

// Datagrams of `items` (flows or counter entries) in order, each within `maxlen` and 255 entries.
// One counter entry at `at` (its size already checked against the datagram), entry `i` of the
// datagram counted from 1 for the messages.
core::Result<CounterEntry> decode_counters(std::span<const std::uint8_t> b, std::size_t at,
                                           std::size_t i, bool v6) {
  const std::uint8_t proto = b[at + 1];
  const std::uint32_t flags = get32(b, at + 4);
  const std::uint32_t fwmark = get32(b, at + 8);
  if ((flags & ~kCountersOfDest) != 0) {
    return bad(fmt::format("counter entry {} has unknown flags 0x{:08x}", i, flags));
  }
  const std::size_t alen = v6 ? 16 : 4;
  const core::IpAddress vip = get_addr(b, at + kCounterFixed, v6);
  const core::IpAddress dest = get_addr(b, at + kCounterFixed + alen, v6);
  const core::IpAddress none = v6 ? core::IpAddress::v6({}) : core::IpAddress::v4(0);
  const core::Family af = v6 ? core::Family::kInet6 : core::Family::kInet4;
  CounterEntry c;
  if (fwmark != 0) {
    if (proto != 0 || get16(b, at + 12) != 0 || vip != none) {
      return bad(
          fmt::format("counter entry {} is of fwmark service {} but has a protocol, "
                      "virtual address or port (they must be 0)",
                      i, fwmark));
    }
    c.service = model::ServiceKey::mark(fwmark, af);
  } else {
    if (proto != 6 && proto != 17) {
      return bad(
          fmt::format("counter entry {} has protocol {} (TCP 6 or UDP 17; 0 only with a "
                      "fwmark)",
                      i, proto));
    }
    c.service = model::ServiceKey::address(static_cast<model::Protocol>(proto),
                                           {.addr = vip, .port = get16(b, at + 12)});
  }
  if ((flags & kCountersOfDest) != 0) {
    c.dest = core::Endpoint{.addr = dest, .port = get16(b, at + 14)};
  } else if (dest != none || get16(b, at + 14) != 0) {
    return bad(
        fmt::format("counter entry {} has a realserver address or port but not the "
                    "realserver flag",
                    i));
  }
  std::array<std::uint64_t, 6> v{};
  for (std::size_t k = 0; k < v.size(); ++k) v.at(k) = get64(b, at + 16 + 8 * k);
  c.counters = model::Counters{.conns = v[0],
                               .failed = v[1],
                               .inpkts = v[2],
                               .outpkts = v[3],
                               .inbytes = v[4],
                               .outbytes = v[5]};
  return c;
}

// `maxlen` is raised to fit one entry of the largest size of its kind.
template <typename T>
std::vector<std::vector<std::uint8_t>> encode_all(std::uint8_t syncid, std::span<const T> items,
                                                  std::size_t maxlen, std::size_t largest) {
  const std::size_t cap = std::clamp(maxlen, kHeaderSize + largest, kMaxDatagram);
  std::vector<std::vector<std::uint8_t>> out;
  std::vector<std::uint8_t> cur;
  std::size_t count = 0;
  for (const T& e : items) {
    if (!cur.empty() && (cur.size() + entry_size(e) > cap || count == kMaxEntries)) {
      finish(cur, count);
      out.push_back(std::move(cur));
      cur.clear();
      count = 0;
    }
    if (cur.empty()) put_header(cur, syncid, 0, 0);
    put_entry(cur, e);
    ++count;
  }
  if (!cur.empty()) {
    finish(cur, count);
    out.push_back(std::move(cur));
  }
  return out;
}

}  // namespace

std::vector<std::vector<std::uint8_t>> encode(std::uint8_t syncid, std::span<const Entry> entries,
                                              std::size_t maxlen) {
  return encode_all(syncid, entries, maxlen, kEntry6Size);
}

std::vector<std::vector<std::uint8_t>> encode_counters(std::uint8_t syncid,
                                                       std::span<const CounterEntry> counters,
                                                       std::size_t maxlen) {
  return encode_all(syncid, counters, maxlen, kCounter6Size);
}

std::vector<std::uint8_t> encode_control(std::uint8_t syncid, std::uint8_t flags) {
  std::vector<std::uint8_t> d;
  put_header(d, syncid, 0, flags);
  finish(d, 0);
  return d;
}

core::Result<Message> decode(std::span<const std::uint8_t> b) {
  if (b.size() < kHeaderSize) {
    return bad(fmt::format("{} bytes is shorter than the {}-byte header", b.size(), kHeaderSize));
  }
  if (b[0] != 0) {
    return bad(
        fmt::format("reserved byte is {}, not 0 (IPVS's version 0 format is not spoken)", b[0]));
  }
  if (b[5] != kVersion) {
    return bad(fmt::format("version {} is not supported (expected {})", b[5], kVersion));
  }
  if (const std::size_t size = get16(b, 2); size != b.size()) {
    return bad(fmt::format("header says {} bytes but the datagram has {}", size, b.size()));
  }
  if ((b[6] & ~(kFlagResyncRequest | kFlagResyncDone)) != 0) {
    return bad(fmt::format("unknown header flags 0x{:02x}", b[6]));
  }
  if (b[7] != 0) return bad(fmt::format("spare byte is {}, not 0", b[7]));
  Message m{.syncid = b[1], .flags = b[6], .entries = {}};
  const std::size_t count = b[4];
  std::size_t at = kHeaderSize;
  for (std::size_t i = 0; i < count; ++i) {
    if (b.size() - at < kEntryFixed) {
      return bad(
          fmt::format("entry {} of {} is cut short: {} bytes left, an entry needs at least "
                      "{}",
                      i + 1, count, b.size() - at, kEntryFixed));
    }
    const std::uint8_t type = b[at];
    if ((type & ~(kTypeIpv6 | kTypeTemplate | kTypeCounters)) != 0 ||
        (type & (kTypeTemplate | kTypeCounters)) == (kTypeTemplate | kTypeCounters)) {
      return bad(fmt::format("entry {} has unknown type bits 0x{:02x}", i + 1, type));
    }
    const bool v6 = (type & kTypeIpv6) != 0;
    const bool counters = (type & kTypeCounters) != 0;
    const std::size_t want =
        counters ? (v6 ? kCounter6Size : kCounter4Size) : (v6 ? kEntry6Size : kEntry4Size);
    const std::size_t size = get16(b, at + 2);
    if (size != want) {
      return bad(fmt::format("entry {} claims {} bytes but an {} {}entry is {}", i + 1, size,
                             v6 ? "IPv6" : "IPv4", counters ? "counter " : "", want));
    }
    if (b.size() - at < size) {
      return bad(fmt::format("entry {} of {} is cut short: {} bytes left of {}", i + 1, count,
                             b.size() - at, size));
    }
    if (counters) {
      auto c = decode_counters(b, at, i + 1, v6);
      if (!c) return core::Unexpected{c.error()};
      m.counters.push_back(*c);
      at += size;
      continue;
    }
    const std::uint8_t proto = b[at + 1];
    if (proto != 6 && proto != 17) {
      return bad(
          fmt::format("entry {} has protocol {} (only TCP 6 and UDP 17 are synced)", i + 1, proto));
    }
    const std::uint32_t flags = get32(b, at + 4);
    if ((flags & ~kEntryPersistent) != 0) {
      return bad(fmt::format("entry {} has unknown flags 0x{:08x}", i + 1, flags));
    }
    const std::uint16_t state = get16(b, at + 8);
    if (state > 0xff) return bad(fmt::format("entry {} has state {} (at most 255)", i + 1, state));
    Entry e;
    e.kind = (type & kTypeTemplate) != 0 ? EntryKind::kTemplate : EntryKind::kConnection;
    e.protocol = proto;
    e.state = static_cast<std::uint8_t>(state);
    e.persistent = (flags & kEntryPersistent) != 0;
    const std::size_t alen = v6 ? 16 : 4;
    e.client = {.addr = get_addr(b, at + kEntryFixed, v6), .port = get16(b, at + 10)};
    e.vip = {.addr = get_addr(b, at + kEntryFixed + alen, v6), .port = get16(b, at + 12)};
    e.dest = {.addr = get_addr(b, at + kEntryFixed + 2 * alen, v6), .port = get16(b, at + 14)};
    e.netmask = get32(b, at + 16);
    e.timeout = get32(b, at + 20);
    m.entries.push_back(e);
    at += size;
  }
  if (at != b.size()) {
    return bad(fmt::format("{} bytes follow the last of {} entries", b.size() - at, count));
  }
  return m;
}

}  // namespace lvs::sync
