#pragma once
// `-S` (save) and `-R` (restore) of spec §4.7. Save prints one ipvsadm command per line, sorted
// as the listing, without thresholds; restore splits text into per-line invocations that the
// same argument parser reads.

#include <string>
#include <string_view>
#include <vector>

#include "ctl/ipvsadm_args.h"
#include "ctl/listing.h"
#include "model/service.h"

namespace lvs::ctl {

// `-S [-n]`: e.g. "-A -t 192.168.1.100:80 -s wlc\n-a -t 192.168.1.100:80 -r 10.0.0.11:80 -m
// -w 1\n". Local saves as -g, FullNat as --fullnat; thresholds (-x/-y) are not saved.
std::string format_save(const model::ServiceTable& table, bool numeric,
                        const Names& names = system_names());

// One non-empty restore line as an argv: argv[0] = prog, then the line's words split on
// blanks, tabs and CR, with every word equal to "ipvsadm" dropped. `number` is 1-based.
struct RestoreLine {
  int number = 0;
  std::vector<std::string> argv{};

  bool operator==(const RestoreLine&) const = default;
};
std::vector<RestoreLine> restore_lines(std::string_view text, std::string_view prog);

// Parses one restore line: as parse_ipvsadm_args(), but `-R` inside restore input gives the
// "Try ..." error. Errors carry the line number in CliError::line (the text stays ipvsadm's).
CliResult<Command> parse_restore_line(const RestoreLine& line, const Resolver& resolver);

// All lines, stopping at the first error (for callers that want all-or-nothing).
CliResult<std::vector<Command>> parse_restore(std::string_view text, std::string_view prog,
                                              const Resolver& resolver = system_resolver());

}  // namespace lvs::ctl
