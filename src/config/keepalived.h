#pragma once
// The keepalived-style configuration (spec §5.1) as lvsd's main format: global_defs,
// virtual_server blocks (address or fwmark) with their real_server and checker blocks, and
// `include` with globs. The result is a validated Config; nothing is applied.
//
// Errors: parsing stops at the first error, which reads
//   FILE:LINE:COL: <what is wrong>: '<offending word>'; expected <what would be valid>
// Warnings (defaults keepalived applies silently, ignored VRRP blocks, unknown global_defs
// keys) are collected in Config::warnings with their file:line:col.
//
// Unknown keywords are errors everywhere except inside global_defs, where keepalived files
// carry many VRRP and SNMP settings lvsd has no use for: those are skipped with a warning.
// Top-level VRRP blocks (vrrp_instance, vrrp_script, ...) are skipped with a warning too.
// virtual_server_group and `virtual_server group NAME` are rejected as not supported.

#include <string>
#include <string_view>

#include "config/config.h"
#include "config/source.h"
#include "core/result.h"

namespace lvs::config {

struct KeepalivedOptions {
  LexOptions lex{};
};

core::Result<Config> load_keepalived(const std::string& path,
                                     const KeepalivedOptions& options = {});
// `file` names the text in messages; includes resolve relative to its directory.
core::Result<Config> parse_keepalived(std::string_view text, const std::string& file,
                                      const KeepalivedOptions& options = {});

}  // namespace lvs::config
