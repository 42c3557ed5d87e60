// libFuzzer: any bytes given to the /etc/lvs.conf parser return a result or a located error.
// Lookups are fakes, so the fuzzer never reads /etc/services or asks a resolver.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "config/lvs_conf.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  lvs::config::LvsConfOptions options;
  options.lookup_service = [](std::string_view name,
                              std::string_view /*proto*/) -> std::optional<std::uint16_t> {
    if (name == "telnet") return 23;
    return std::nullopt;
  };
  options.resolve_host = [](std::string_view host) -> std::optional<lvs::core::IpAddress> {
    if (host == "epsg9010") return lvs::core::IpAddress::v4(0x0A015A0AU);
    return std::nullopt;
  };
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto r = lvs::config::parse_lvs_conf(text, "fuzz.conf", options);
  if (!r.ok() && r.error().message.rfind("fuzz.conf:", 0) != 0) std::abort();
  return 0;
}
