#include "ctl/table_commands.h"

#include <fmt/format.h>

#include "ctl/save.h"

namespace lvs::ctl {

namespace {

using model::Operation;

Outcome failed(const CliError& e) {
  return Outcome{.err = e.text + "\n", .exit_code = e.exit_code};
}

Outcome engine(const core::Result<void>& r, Operation op) {
  if (r) return {};
  return Outcome{.err = model::ipvsadm_text(op, r.error().code) + "\n", .exit_code = 255};
}

}  // namespace

Outcome apply_to_table(model::ServiceTable& table, const Command& parsed,
                       const model::SchedulerExists& scheduler_exists) {
  Command cmd = parsed;
  if (auto err = apply_cli_checks(cmd)) return failed(*err);
  const auto& key = cmd.service.key;
  switch (cmd.kind) {
    case CommandKind::kAddService:
      return engine(model::add_service(table, cmd.service, scheduler_exists),
                    Operation::kAddService);
    case CommandKind::kEditService:
      return engine(model::edit_service(table, cmd.service, scheduler_exists),
                    Operation::kEditService);
    case CommandKind::kDeleteService:
      return engine(model::delete_service(table, key), Operation::kDeleteService);
    case CommandKind::kAddServer:
      return engine(model::add_dest(table, key, cmd.dest), Operation::kAddDest);
    case CommandKind::kEditServer:
      return engine(model::edit_dest(table, key, cmd.dest), Operation::kEditDest);
    case CommandKind::kDeleteServer:
      return engine(model::delete_dest(table, key, cmd.dest.addr), Operation::kDeleteDest);
    case CommandKind::kFlush:
      table.services.clear();
      return {};
    default:
      return failed(CliError{
          .text = fmt::format("the '{}' command does not change the table", command_name(cmd.kind)),
          .exit_code = 2});
  }
}

Timeouts apply_timeouts(const Timeouts& current, const Timeouts& set) {
  return Timeouts{.tcp = set.tcp != 0 ? set.tcp : current.tcp,
                  .tcpfin = set.tcpfin != 0 ? set.tcpfin : current.tcpfin,
                  .udp = set.udp != 0 ? set.udp : current.udp};
}

OfflineDirector::OfflineDirector(Resolver resolver, model::SchedulerExists scheduler_exists)
    : resolver_(std::move(resolver)), scheduler_exists_(std::move(scheduler_exists)) {}

Outcome OfflineDirector::run(const std::vector<std::string>& argv, std::string_view input) {
  const auto cmd = parse_ipvsadm_args(argv, resolver_);
  if (!cmd) return failed(cmd.error());
  return execute(*cmd, argv.empty() ? "ipvsadm" : argv.front(), input);
}

Outcome run_restore(std::string_view text, std::string_view prog, const Resolver& resolver,
                    const std::function<Outcome(const Command&)>& execute) {
  Outcome total;
  for (const auto& line : restore_lines(text, prog)) {
    const auto cmd = parse_restore_line(line, resolver);
    if (!cmd) {
      total.err += cmd.error().text + "\n";
      total.exit_code = cmd.error().exit_code;
      return total;
    }
    const auto one = execute(*cmd);
    total.out += one.out;
    total.err += one.err;
    total.exit_code = one.exit_code;
  }
  return total;
}

std::optional<Outcome> informational(const Command& cmd, std::string_view prog) {
  if (cmd.kind == CommandKind::kHelp) return Outcome{.out = help_text(prog)};
  if (cmd.kind == CommandKind::kVersion) return Outcome{.out = version_line() + "\n"};
  return std::nullopt;
}

std::optional<model::ServiceKey> listed_service(const Command& cmd) {
  if (!cmd.has(Option::kServiceAddress)) return std::nullopt;
  return cmd.service.key;
}

Outcome OfflineDirector::restore(std::string_view text, std::string_view prog) {
  return run_restore(text, prog, resolver_,
                     [&](const Command& cmd) { return execute(cmd, prog, {}); });
}

Outcome OfflineDirector::execute(const Command& cmd, std::string_view prog,
                                 std::string_view input) {
  switch (cmd.kind) {
    case CommandKind::kList: {
      auto in = listing_input(table_);
      in.timeouts = timeouts_;
      const std::optional<model::ServiceKey> only = listed_service(cmd);
      const auto text = format_listing(in, cmd.list, only, numeric_names());
      if (!text) return failed(text.error());
      return Outcome{.out = *text};
    }
    case CommandKind::kSave:
      return Outcome{.out = format_save(table_, cmd.list.numeric, numeric_names())};
    case CommandKind::kRestore:
      return restore(input, prog);
    case CommandKind::kSet:
      timeouts_ = apply_timeouts(timeouts_, cmd.timeouts);
      return {};
    case CommandKind::kZero:
      if (cmd.has(Option::kServiceAddress) && table_.find(cmd.service.key) == nullptr) {
        return Outcome{.err = model::ipvsadm_text(model::Operation::kZeroService, ESRCH) + "\n",
                       .exit_code = 255};
      }
      return {};  // no counters here
    case CommandKind::kHelp:
    case CommandKind::kVersion:
      return *informational(cmd, prog);
    case CommandKind::kStartDaemon:
    case CommandKind::kStopDaemon:
    case CommandKind::kDrain:
    case CommandKind::kReload:
      return Outcome{
          .err = fmt::format("{}: not supported by the offline director\n", command_name(cmd.kind)),
          .exit_code = 1};
    default:
      return apply_to_table(table_, cmd, scheduler_exists_);
  }
}

}  // namespace lvs::ctl
