// libFuzzer: any bytes, split into lines, given to the vrrp_notify_fifo parser give an event or
// an error quoting the line; the role rules and advert_int parser take whatever comes.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "ha/vrrp_conf.h"
#include "ha/vrrp_fifo.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  lvs::ha::Role role = lvs::ha::Role::kUnknown;
  while (!text.empty()) {
    const auto nl = text.find('\n');
    const auto line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    auto ev = lvs::ha::parse_fifo_line(line);
    if (!ev.ok()) {
      if (ev.error().message.rfind("vrrp_notify_fifo line '", 0) != 0) std::abort();
      continue;
    }
    if (ev->priority > 255 || ev->name.empty()) std::abort();
    role = lvs::ha::next_role(role, *ev, "VI_1");
    const auto c = lvs::ha::parse_advert_int(line);
    if (c && (*c < 1 || *c > 4095)) std::abort();
  }
  (void)lvs::ha::role_name(role);
  return 0;
}
