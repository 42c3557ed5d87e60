// libFuzzer: any bytes given to the format-detecting loader (keepalived, lvs.conf or ipvsadm
// rules, with and without the full-NAT override) return a Config or an error naming the file.
// Nothing reaches the file system or a resolver: includes are off and the lookups are numeric.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "daemon/config_file.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  // The first byte picks the format (auto most of the time) and whether to override forwarding.
  const auto pick = data[0];
  lvs::daemon::LoadOptions options;
  options.lex.allow_include = false;
  constexpr lvs::daemon::ConfigFormat kFormats[] = {
      lvs::daemon::ConfigFormat::kAuto, lvs::daemon::ConfigFormat::kAuto,
      lvs::daemon::ConfigFormat::kKeepalived, lvs::daemon::ConfigFormat::kLvsConf,
      lvs::daemon::ConfigFormat::kIpvsadmRules};
  options.format = kFormats[pick % 5];
  if ((pick & 0x80U) != 0) options.forward = lvs::model::ForwardMethod::kFullNat;
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  const auto detected = lvs::daemon::detect_format(text);
  if (detected == lvs::daemon::ConfigFormat::kAuto) std::abort();
  auto r = lvs::daemon::parse_config_text(text, "fuzz.conf", options);
  if (!r.ok()) {
    const auto& m = r.error().message;
    const bool located = m.rfind("fuzz.conf:", 0) == 0;
    const bool override_error = m.rfind("forwarding override", 0) == 0;
    if (!located && !override_error) std::abort();
  }
  return 0;
}
