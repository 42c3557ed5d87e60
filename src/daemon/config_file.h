#pragma once
// One entry point for every configuration file lvsd reads: the keepalived-style file (spec
// §5.1), the article's /etc/lvs.conf (shell variables) and `ipvsadm -S` rules files. The format
// is detected from the content (or forced), and the result is one validated config::Config.
//
// Detection looks at the first line that is not blank and not a comment (`#`, or `!` as in
// keepalived files):
//   * its first word (after any `ipvsadm` words) starts with '-'   -> ipvsadm rules
//   * it is NAME=value or `export NAME=value`                      -> lvs.conf
//   * anything else, and an empty file                             -> keepalived
// A file whose later lines belong to another format gets that format's precise error.
//
// Rules files are read with lvsadm's own parser (ctl::parse_restore_line) and applied with
// ctl::apply_to_table(), so every line is checked exactly as `ipvsadm -R` would. Unlike -R, loading
// is all-or-nothing and two lvsd extensions apply: lines starting with `#` are comments, and
// only table commands (-A -E -D -a -e -d -C) are allowed. Errors read
//   FILE:LINE:COL: <ipvsadm's message>: '<offending option and value>'; expected <what is valid>
// Rules files carry no health checks: every realserver is always up (ServiceHealth with no
// checkers).
//
// Forwarding: files keep the method they name (-m, -g, lb_kind NAT, ...); the Director refuses
// the ones its data plane cannot serve with its own message. LoadOptions::forward rewrites every
// realserver (and sorry server) to one method, e.g. FullNat to run an -m rules file or an lvs.conf
// on lvsd's proxy; the table is rebuilt through model::table_ops so the result is validated again.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "config/config.h"
#include "config/lvs_conf.h"
#include "config/source.h"
#include "core/result.h"
#include "ctl/ipvsadm_args.h"
#include "model/service.h"

namespace lvs::daemon {

enum class ConfigFormat : std::uint8_t { kAuto, kKeepalived, kLvsConf, kIpvsadmRules };
std::string_view format_name(ConfigFormat f);  // "auto", "keepalived", "lvs.conf", "ipvsadm"
// "auto" | "keepalived" | "lvs.conf" (or "lvsconf") | "ipvsadm" (or "rules").
std::optional<ConfigFormat> parse_format_name(std::string_view name);

struct LoadOptions {
  ConfigFormat format = ConfigFormat::kAuto;
  std::optional<model::ForwardMethod> forward{};  // unset: as written in the file
  config::LexOptions lex{};                       // keepalived: includes, size limit
  config::LvsConfOptions lookups{};               // lvs.conf: /etc/services and resolver
  ctl::Resolver resolver{};  // rules files: host and service names (unset: numeric only)
};

// LoadOptions with the machine's lookups (/etc/services, the resolver) for lvsd itself.
LoadOptions system_load_options();

// The format detection described above (never kAuto).
ConfigFormat detect_format(std::string_view text);

// Reads and parses `path`. Every error names FILE:LINE:COL, the offending word and what would be
// valid; nothing touches the host except reading the file (and includes, for keepalived).
core::Result<config::Config> load_config_file(const std::string& path, const LoadOptions& options);
// The same over text already read; `file` names it in messages.
core::Result<config::Config> parse_config_text(std::string_view text, const std::string& file,
                                               const LoadOptions& options);

// Rules files alone (`ipvsadm -S` output): see the header comment.
core::Result<config::Config> parse_rules(std::string_view text, const std::string& file,
                                         const ctl::Resolver& resolver);

// Every realserver and sorry server forwarded by `method`; the table is rebuilt (and so
// validated) through model::table_ops. Errors name the service and the realserver.
core::Result<config::Config> override_forwarding(const config::Config& cfg,
                                                 model::ForwardMethod method);

}  // namespace lvs::daemon
