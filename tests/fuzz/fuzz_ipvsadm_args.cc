// libFuzzer: lvsadm's argument parser. The fuzz bytes are split on NUL into argv words (after
// argv[0] = "lvsadm"); names resolve through a fixed fake resolver, so nothing touches DNS or
// /etc/services. Every input gives a Command or a non-empty CliError with one of ipvsadm's exit
// statuses, never a crash or a sanitizer report; an accepted Command passes the further
// checks again unchanged (apply_cli_checks is idempotent).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "ctl/ipvsadm_args.h"

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

lvs::ctl::Resolver fake_resolver() {
  lvs::ctl::Resolver r;
  r.service_port = [](std::string_view name, lvs::model::Protocol) -> std::optional<std::uint16_t> {
    if (name == "http") return 80;
    if (name == "domain") return 53;
    return std::nullopt;
  };
  r.host_v4 = [](std::string_view host) -> std::optional<lvs::core::IpAddress> {
    if (host == "localhost") return *lvs::core::IpAddress::parse("127.0.0.1");
    if (host == "vip") return *lvs::core::IpAddress::parse("192.0.2.1");
    return std::nullopt;
  };
  return r;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const lvs::ctl::Resolver resolver = fake_resolver();
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> argv{"lvsadm"};
  if (!bytes.empty()) {
    std::size_t start = 0;
    for (;;) {
      const std::size_t nul = bytes.find('\0', start);
      argv.emplace_back(bytes.substr(start, nul == std::string_view::npos ? nul : nul - start));
      if (nul == std::string_view::npos) break;
      start = nul + 1;
    }
  }
  auto cmd = lvs::ctl::parse_ipvsadm_args(argv, resolver);
  if (!cmd) {
    const auto& e = cmd.error();
    check(!e.text.empty());
    check(e.exit_code == 1 || e.exit_code == 2 || e.exit_code == 255);
    return 0;
  }
  lvs::ctl::Command again = *cmd;
  check(!lvs::ctl::apply_cli_checks(again).has_value());
  check(again == *cmd);
  return 0;
}
