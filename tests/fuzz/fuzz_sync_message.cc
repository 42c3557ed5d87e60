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
  const auto again =
      m->entries.empty()
          ? std::vector<std::vector<std::uint8_t>>{lvs::sync::encode_control(m->syncid, m->flags)}
          : lvs::sync::encode(m->syncid, m->entries, lvs::sync::kMaxDatagram);
  // encode() writes data messages without flags: one with flags and entries is valid but has
  // a second form.
  if (again.size() != 1 || (m->flags != 0 && !m->entries.empty())) return 0;
  if (!std::equal(again[0].begin(), again[0].end(), bytes.begin(), bytes.end())) std::abort();
  return 0;
}
