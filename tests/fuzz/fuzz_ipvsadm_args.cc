// libFuzzer: lvsadm's argument parser. The fuzz bytes are split on NUL into argv words (after
// argv[0] = "lvsadm"); names resolve through a fixed fake resolver, so nothing touches DNS or
// /etc/services. Every input gives a Command or a non-empty CliError with one of ipvsadm's exit
// statuses, never a crash or a sanitizer report; an accepted Command passes the further
// checks again unchanged (apply_cli_checks is idempotent). The invocation then runs on an
// in-memory director holding a small table, and whatever table results must list, save,
// and come back from its own `-S -n` text through -R with the same `-S -n` and `-L -n` (spec
// §4.7's round trip).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "ctl/ipvsadm_args.h"
#include "ctl/table_commands.h"
#include "sched/registry.h"

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

  // -R reads stdin and -h prints the usage: both are covered elsewhere and only slow this down.
  if (cmd->kind == lvs::ctl::CommandKind::kRestore || cmd->kind == lvs::ctl::CommandKind::kHelp) {
    return 0;
  }
  lvs::ctl::OfflineDirector director(resolver, lvs::sched::scheduler_exists);
  const auto seeded = director.restore(
      "-A -t 192.0.2.1:80 -s rr -p 60\n"
      "-a -t 192.0.2.1:80 -r 198.51.100.2:80 -m -w 2 -x 10\n"
      "-A -u 192.0.2.1:53 -s sh -o -b sh-port\n"
      "-A -f 7 -s wrr\n"
      "-a -f 7 -r 198.51.100.3 -g\n",
      "lvsadm");
  check(seeded.exit_code == 0);
  const auto outcome = director.run(argv);
  check(outcome.exit_code == 0 || outcome.exit_code == 1 || outcome.exit_code == 2 ||
        outcome.exit_code == 255);
  const auto listed = director.run({"lvsadm", "-L", "-n"});
  check(listed.exit_code == 0);
  const auto saved = director.run({"lvsadm", "-S", "-n"});
  check(saved.exit_code == 0);
  lvs::ctl::OfflineDirector copy(resolver, lvs::sched::scheduler_exists);
  const auto restored = copy.restore(saved.out, "lvsadm");
  check(restored.exit_code == 0);
  check(copy.run({"lvsadm", "-S", "-n"}).out == saved.out);
  // The default listing shows no thresholds; its sorting hides the creation order -R changes.
  check(copy.run({"lvsadm", "-L", "-n"}).out == listed.out);
  return 0;
}
