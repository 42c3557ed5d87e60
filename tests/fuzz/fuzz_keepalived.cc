// libFuzzer: any bytes given to the keepalived-style parser return a Config or a located
// error, never a crash, a sanitizer report or an unlocated message. Includes are disabled, so
// the fuzzer never touches the file system.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "config/keepalived.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  lvs::config::KeepalivedOptions options;
  options.lex.allow_include = false;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto r = lvs::config::parse_keepalived(text, "fuzz.conf", options);
  if (!r.ok() && r.error().message.rfind("fuzz.conf:", 0) != 0) std::abort();
  return 0;
}
