// The sync wire format (docs/SYNC.md): golden bytes, round trips, batching under --sync-maxlen,
// and a precise error for every malformed shape.
#include "sync/codec.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

namespace lvs::sync {
namespace {

core::Endpoint ep(const char* text) { return *core::Endpoint::parse(text); }

Entry v4_flow() {
  return Entry{.kind = EntryKind::kConnection,
               .protocol = 6,
               .state = 1,
               .persistent = false,
               .client = ep("203.0.113.7:51514"),
               .vip = ep("192.0.2.100:80"),
               .dest = ep("198.51.100.11:8080"),
               .netmask = 0,
               .timeout = 900};
}

Entry v6_template() {
  return Entry{.kind = EntryKind::kTemplate,
               .protocol = 17,
               .state = 0,
               .persistent = true,
               .client = ep("[2001:db8:1::]:0"),
               .vip = ep("[2001:db8::100]:53"),
               .dest = ep("[2001:db8::11]:53"),
               .netmask = 64,
               .timeout = 360};
}

// One IPv4 flow: the header (reserved 0, syncid, size, count, version, flags, spare) and the
// entry's fields in network order, byte for byte.
TEST(SyncCodec, EncodesAnIpv4FlowToGoldenBytes) {
  const Entry e = v4_flow();
  const auto d = encode(7, std::vector<Entry>{e}, 1472);
  ASSERT_EQ(d.size(), 1U);
  const std::vector<std::uint8_t> golden{
      0,    7,    0,    44,   1,    1,    0, 0,  // header: size 44, 1 entry, version 1
      0x00, 6,    0,    36,                      // IPv4 flow, TCP, 36 bytes
      0,    0,    0,    0,                       // flags
      0,    1,                                   // state
      0xc9, 0x3a, 0,    80,   0x1f, 0x90,        // ports 51514, 80, 8080
      0,    0,    0,    0,                       // netmask
      0,    0,    0x03, 0x84,                    // timeout 900
      203,  0,    113,  7,    192,  0,    2, 100, 198, 51, 100, 11};
  EXPECT_EQ(d[0], golden);
}

// A message round-trips: what decode() returns is what was encoded, IPv4 and IPv6 mixed.
TEST(SyncCodec, RoundTripsFlowsAndTemplatesOfBothFamilies) {
  const std::vector<Entry> entries{v4_flow(), v6_template(), v4_flow()};
  const auto d = encode(200, entries, 1472);
  ASSERT_EQ(d.size(), 1U);
  EXPECT_EQ(d[0].size(), kHeaderSize + 2 * kEntry4Size + kEntry6Size);
  auto m = decode(d[0]);
  ASSERT_TRUE(m) << m.error().message;
  EXPECT_EQ(m->syncid, 200);
  EXPECT_EQ(m->flags, 0);
  EXPECT_EQ(m->entries, entries);
}

// --sync-maxlen caps each datagram; a batch splits into as many as needed, none longer.
TEST(SyncCodec, SplitsBatchesAtTheMaximumLength) {
  const std::vector<Entry> entries(10, v4_flow());
  const std::size_t maxlen = kHeaderSize + 3 * kEntry4Size;
  const auto d = encode(1, entries, maxlen);
  ASSERT_EQ(d.size(), 4U);  // 3 + 3 + 3 + 1
  std::size_t total = 0;
  for (const auto& datagram : d) {
    EXPECT_LE(datagram.size(), maxlen);
    auto m = decode(datagram);
    ASSERT_TRUE(m) << m.error().message;
    total += m->entries.size();
  }
  EXPECT_EQ(total, 10U);
}

// The count is one byte: more than 255 entries never share a datagram.
TEST(SyncCodec, NeverPutsMoreThan255EntriesInOneDatagram) {
  const std::vector<Entry> entries(300, v4_flow());
  const auto d = encode(1, entries, kMaxDatagram);
  ASSERT_EQ(d.size(), 2U);
  EXPECT_EQ(decode(d[0])->entries.size(), 255U);
  EXPECT_EQ(decode(d[1])->entries.size(), 45U);
}

// A resync request is a bare header with flag 1.
TEST(SyncCodec, ResyncRequestIsAHeaderWithFlagOne) {
  const auto d = encode_control(3, kFlagResyncRequest);
  EXPECT_EQ(d, (std::vector<std::uint8_t>{0, 3, 0, 8, 0, 1, 1, 0}));
  auto m = decode(d);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->flags, kFlagResyncRequest);
  EXPECT_TRUE(m->entries.empty());
}

// The master's "resync done" is a bare header with flag 2.
TEST(SyncCodec, ResyncDoneIsAHeaderWithFlagTwo) {
  const auto d = encode_control(3, kFlagResyncDone);
  EXPECT_EQ(d, (std::vector<std::uint8_t>{0, 3, 0, 8, 0, 1, 2, 0}));
  auto m = decode(d);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->flags, kFlagResyncDone);
}

std::vector<std::uint8_t> one_flow() { return encode(7, std::vector<Entry>{v4_flow()}, 1472)[0]; }

std::string error_of(const std::vector<std::uint8_t>& d) {
  auto m = decode(d);
  return m ? std::string("(decoded)") : m.error().message;
}

// Every malformed shape is refused with a sentence naming the field, never read past the end.
TEST(SyncCodec, RefusesEveryMalformedShapePrecisely) {
  EXPECT_EQ(error_of({0, 7, 0}), "sync message: 3 bytes is shorter than the 8-byte header");
  auto d = one_flow();
  d[0] = 1;
  EXPECT_EQ(error_of(d),
            "sync message: reserved byte is 1, not 0 (IPVS's version 0 format is not spoken)");
  d = one_flow();
  d[5] = 2;
  EXPECT_EQ(error_of(d), "sync message: version 2 is not supported (expected 1)");
  d = one_flow();
  d[3] = 45;
  EXPECT_EQ(error_of(d), "sync message: header says 45 bytes but the datagram has 44");
  d = one_flow();
  d[6] = 0x80;
  EXPECT_EQ(error_of(d), "sync message: unknown header flags 0x80");
  d = one_flow();
  d[7] = 9;
  EXPECT_EQ(error_of(d), "sync message: spare byte is 9, not 0");
  d = one_flow();
  d[4] = 2;  // claims a second entry that is not there
  EXPECT_EQ(error_of(d),
            "sync message: entry 2 of 2 is cut short: 0 bytes left, an entry needs at least 24");
  d = one_flow();
  d[4] = 0;
  EXPECT_EQ(error_of(d), "sync message: 36 bytes follow the last of 0 entries");
  d = one_flow();
  d[8] = 0x08;
  EXPECT_EQ(error_of(d), "sync message: entry 1 has unknown type bits 0x08");
  d = one_flow();
  d[8] = 0x06;  // a template and counters at once
  EXPECT_EQ(error_of(d), "sync message: entry 1 has unknown type bits 0x06");
  d = one_flow();
  d[8] = 0x04;  // says counters: those are 72 bytes
  EXPECT_EQ(error_of(d), "sync message: entry 1 claims 36 bytes but an IPv4 counter entry is 72");
  d = one_flow();
  d[11] = 80;
  EXPECT_EQ(error_of(d), "sync message: entry 1 claims 80 bytes but an IPv4 entry is 36");
  d = one_flow();
  d[8] = 0x01;  // says IPv6: 72 bytes, only 36 there
  d[11] = 72;
  EXPECT_EQ(error_of(d), "sync message: entry 1 of 1 is cut short: 36 bytes left of 72");
  d = one_flow();
  d[9] = 1;
  EXPECT_EQ(error_of(d), "sync message: entry 1 has protocol 1 (only TCP 6 and UDP 17 are synced)");
  d = one_flow();
  d[12] = 0x10;
  EXPECT_EQ(error_of(d), "sync message: entry 1 has unknown flags 0x10000000");
  d = one_flow();
  d[16] = 1;
  EXPECT_EQ(error_of(d), "sync message: entry 1 has state 257 (at most 255)");
}

// Every prefix of a valid datagram is refused (none decodes, none reads out of bounds).
TEST(SyncCodec, RefusesEveryTruncation) {
  const auto full = encode(1, std::vector<Entry>{v4_flow(), v6_template()}, 1472)[0];
  for (std::size_t n = 0; n < full.size(); ++n) {
    std::vector<std::uint8_t> cut(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(n));
    if (n >= 4) {  // keep the header's size honest so the entry checks are reached
      cut[2] = static_cast<std::uint8_t>(n >> 8);
      cut[3] = static_cast<std::uint8_t>(n & 0xff);
    }
    EXPECT_FALSE(decode(cut)) << n;
  }
}

CounterEntry dest_counters() {
  return CounterEntry{
      .service = model::ServiceKey::address(model::Protocol::kTcp, ep("192.0.2.100:80")),
      .dest = ep("198.51.100.11:8080"),
      .counters = {.conns = 1,
                   .failed = 2,
                   .inpkts = 3,
                   .outpkts = 4,
                   .inbytes = 0x100000000,  // above 32 bits
                   .outbytes = 6}};
}

std::vector<std::uint8_t> one_counter() {
  return encode_counters(7, std::vector<CounterEntry>{dest_counters()}, 1472)[0];
}

// A realserver's counters: type 4, the service and realserver, six 64-bit counters, byte for
// byte (docs/SYNC.md "Counter entry").
TEST(SyncCodec, EncodesARealserversCountersToGoldenBytes) {
  const std::vector<std::uint8_t> golden{
      0,    7,  0,    80,   1,   1,  0,   0,  // header: size 80, 1 entry, version 1
      0x04, 6,  0,    72,                     // IPv4 counters, TCP, 72 bytes
      0,    0,  0,    1,                      // flags: of a realserver
      0,    0,  0,    0,                      // fwmark: none
      0,    80, 0x1f, 0x90,                   // ports 80, 8080
      0,    0,  0,    0,    0,   0,  0,   1,  // conns
      0,    0,  0,    0,    0,   0,  0,   2,  // failed
      0,    0,  0,    0,    0,   0,  0,   3,  // inpkts
      0,    0,  0,    0,    0,   0,  0,   4,  // outpkts
      0,    0,  0,    1,    0,   0,  0,   0,  // inbytes 2^32
      0,    0,  0,    0,    0,   0,  0,   6,  // outbytes
      192,  0,  2,    100,  198, 51, 100, 11};
  EXPECT_EQ(one_counter(), golden);
}

// Service totals, realservers, fwmark services and IPv6 round-trip, after flows in one datagram
// as a receiver may meet them.
TEST(SyncCodec, RoundTripsCounterEntriesOfEveryShape) {
  const std::vector<CounterEntry> counters{
      dest_counters(),
      CounterEntry{
          .service = model::ServiceKey::address(model::Protocol::kUdp, ep("[2001:db8::100]:53")),
          .dest = std::nullopt,
          .counters = {.conns = 9, .inpkts = 10}},
      CounterEntry{.service = model::ServiceKey::mark(7, core::Family::kInet6),
                   .dest = ep("[2001:db8::11]:0"),
                   .counters = {.outbytes = ~std::uint64_t{0}}},
      CounterEntry{
          .service = model::ServiceKey::mark(8), .dest = std::nullopt, .counters = {.conns = 1}}};
  const auto d = encode_counters(3, counters, 1472);
  ASSERT_EQ(d.size(), 1U);
  EXPECT_EQ(d[0].size(), kHeaderSize + 2 * kCounter4Size + 2 * kCounter6Size);
  auto m = decode(d[0]);
  ASSERT_TRUE(m) << m.error().message;
  EXPECT_TRUE(m->entries.empty());
  EXPECT_EQ(m->counters, counters);
  // Split by --sync-maxlen like flows.
  const auto split = encode_counters(3, counters, kHeaderSize + kCounter6Size);
  EXPECT_EQ(split.size(), 4U);
}

// A malformed counter entry is refused with a sentence naming the field.
TEST(SyncCodec, RefusesMalformedCounterEntriesPrecisely) {
  auto d = one_counter();
  d[15] = 3;
  EXPECT_EQ(error_of(d), "sync message: counter entry 1 has unknown flags 0x00000003");
  d = one_counter();
  d[9] = 1;
  EXPECT_EQ(error_of(d),
            "sync message: counter entry 1 has protocol 1 (TCP 6 or UDP 17; 0 only with a fwmark)");
  d = one_counter();
  d[19] = 5;  // a fwmark, yet a protocol and a virtual address
  EXPECT_EQ(error_of(d),
            "sync message: counter entry 1 is of fwmark service 5 but has a protocol, virtual "
            "address or port (they must be 0)");
  d = one_counter();
  d[15] = 0;  // no realserver flag, yet a realserver address
  EXPECT_EQ(error_of(d),
            "sync message: counter entry 1 has a realserver address or port but not the "
            "realserver flag");
  d = one_counter();
  d[11] = 36;
  EXPECT_EQ(error_of(d), "sync message: entry 1 claims 36 bytes but an IPv4 counter entry is 72");
  const auto full = one_counter();
  for (std::size_t n = 4; n < full.size(); ++n) {
    std::vector<std::uint8_t> cut(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(n));
    cut[2] = static_cast<std::uint8_t>(n >> 8);
    cut[3] = static_cast<std::uint8_t>(n & 0xff);
    EXPECT_FALSE(decode(cut)) << n;
  }
}

// The master's heartbeat is a bare header without flags.
TEST(SyncCodec, HeartbeatIsABareHeader) {
  const auto d = encode_control(3, 0);
  EXPECT_EQ(d, (std::vector<std::uint8_t>{0, 3, 0, 8, 0, 1, 0, 0}));
  auto m = decode(d);
  ASSERT_TRUE(m);
  EXPECT_EQ(*m, (Message{.syncid = 3, .flags = 0, .entries = {}, .counters = {}}));
}

}  // namespace
}  // namespace lvs::sync
