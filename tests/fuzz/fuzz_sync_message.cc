// libFuzzer: any bytes given to the sync decoder (sync/codec.h) give a Message or an error
// naming what is wrong, never a crash or a sanitizer report. A message that decodes re-encodes
// to the same bytes (one form per message).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <vector>

#include "sync/codec.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> bytes(data, size);
  auto m = lvs::sync::decode(bytes);
  if (!m) {
    if (m.error().message.empty()) std::abort();
    return 0;
  }
  // encode() and encode_counters() write data messages of one kind without flags: one with
  // flags and entries, or flows and counters mixed, is valid but has a second form.
  const bool flows = !m->entries.empty();
  const bool counters = !m->counters.empty();
  if ((flows && counters) || (m->flags != 0 && (flows || counters))) return 0;
  const auto again =
      flows ? lvs::sync::encode(m->syncid, m->entries, lvs::sync::kMaxDatagram)
      : counters
          ? lvs::sync::encode_counters(m->syncid, m->counters, lvs::sync::kMaxDatagram)
          : std::vector<std::vector<std::uint8_t>>{lvs::sync::encode_control(m->syncid, m->flags)};
  if (again.size() != 1) return 0;
  if (!std::equal(again[0].begin(), again[0].end(), bytes.begin(), bytes.end())) std::abort();
  return 0;
}
