#pragma once
// Applying parsed commands to a ServiceTable value (spec §4.3 edit semantics, §4.5 errors),
// and an in-memory director that runs whole ipvsadm invocations against a table. The real
// Director (later) uses apply_to_table() for its table and adds live numbers and the data path.

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ctl/ipvsadm_args.h"
#include "ctl/listing.h"
#include "model/service.h"
#include "model/table_ops.h"

namespace lvs::ctl {

// What an invocation prints and its exit status.
struct Outcome {
  std::string out{};  // stdout
  std::string err{};  // stderr (one line per message, each ending in '\n')
  int exit_code = 0;

  bool operator==(const Outcome&) const = default;
};

// Applies -A -E -D -a -e -d -C to `table` through model::table_ops. The command is sent as a
// complete object (defaults + given options), so -E/-e reset every unspecified field. The
// §4.3 CLI checks run again first (exit 2); engine errors become ipvsadm's text (exit 255).
// Any other command kind is refused with exit 2 ("... does not change the table").
Outcome apply_to_table(model::ServiceTable& table, const Command& cmd,
                       const model::SchedulerExists& scheduler_exists);

// `-R` input with ipvsadm's restore semantics (spec §4.7): lines are parsed one by one; a parse
// failure stops (earlier lines stay applied), an engine error is printed and the next line
// runs; the exit status is the last line's. `execute` runs one parsed command.
Outcome run_restore(std::string_view text, std::string_view prog, const Resolver& resolver,
                    const std::function<Outcome(const Command&)>& execute);

// What every director answers the same way: -h/--help and -v/--version (nothing else).
std::optional<Outcome> informational(const Command& cmd, std::string_view prog);
// The one service a listing is limited to (`-L -t V:P`), or none.
std::optional<model::ServiceKey> listed_service(const Command& cmd);

// `--set`: each non-zero value replaces the current one.
Timeouts apply_timeouts(const Timeouts& current, const Timeouts& set);

// A director without counters or data path: the table, the timeouts, and ipvsadm's command
// flow over them (list with zero live numbers, save, restore, set, zero as a no-op).
// --start-daemon/--stop-daemon/--drain answer "not supported" with exit 1.
class OfflineDirector {
 public:
  OfflineDirector(Resolver resolver, model::SchedulerExists scheduler_exists);

  // One invocation (argv[0] = program name); `input` is stdin for -R.
  Outcome run(const std::vector<std::string>& argv, std::string_view input = {});
  // Restore semantics (spec §4.7): a parse failure aborts (earlier lines stay applied), an
  // engine error is printed and processing goes on; the exit status is the last line's.
  Outcome restore(std::string_view text, std::string_view prog);

  const model::ServiceTable& table() const { return table_; }
  const Timeouts& timeouts() const { return timeouts_; }

 private:
  Outcome execute(const Command& cmd, std::string_view prog, std::string_view input);

  Resolver resolver_;
  model::SchedulerExists scheduler_exists_;
  model::ServiceTable table_{};
  Timeouts timeouts_{.tcp = 900, .tcpfin = 120, .udp = 300};
};

}  // namespace lvs::ctl
