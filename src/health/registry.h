#pragma once
// The checker table: one row per CheckerKind (its keepalived name and factory). Each checker
// lives in its own file and exports only its factory, declared here.

#include <memory>
#include <span>
#include <string_view>

#include "config/config.h"
#include "core/result.h"
#include "core/rng.h"
#include "health/checker.h"
#include "health/event_loop.h"
#include "health/monitor.h"

namespace lvs::health {

// What a checker may use: the loop it runs on and the randomness passed in (query IDs,
// default UDP payloads). Both outlive every checker.
struct CheckerContext {
  EventLoop* loop = nullptr;
  core::Rng* rng = nullptr;
};

using MakeChecker = core::Result<std::unique_ptr<Checker>> (*)(const config::CheckerSpec&,
                                                               const CheckerContext&);

struct CheckerRow {
  config::CheckerKind kind = config::CheckerKind::kTcp;
  std::string_view name{};  // keepalived's keyword: "TCP_CHECK"
  MakeChecker make = nullptr;
};

std::span<const CheckerRow> checker_table();
core::Result<std::unique_ptr<Checker>> make_checker(const config::CheckerSpec& spec,
                                                    const CheckerContext& ctx);
// The factory a Monitor takes.
CheckerFactory checker_factory(const CheckerContext& ctx);

// One per file.
core::Result<std::unique_ptr<Checker>> make_tcp_checker(const config::CheckerSpec&,
                                                        const CheckerContext&);
core::Result<std::unique_ptr<Checker>> make_http_get_checker(const config::CheckerSpec&,
                                                             const CheckerContext&);
core::Result<std::unique_ptr<Checker>> make_ssl_get_checker(const config::CheckerSpec&,
                                                            const CheckerContext&);
core::Result<std::unique_ptr<Checker>> make_udp_checker(const config::CheckerSpec&,
                                                        const CheckerContext&);
core::Result<std::unique_ptr<Checker>> make_dns_checker(const config::CheckerSpec&,
                                                        const CheckerContext&);
core::Result<std::unique_ptr<Checker>> make_misc_checker(const config::CheckerSpec&,
                                                         const CheckerContext&);
core::Result<std::unique_ptr<Checker>> make_xdmcp_checker(const config::CheckerSpec&,
                                                          const CheckerContext&);
core::Result<std::unique_ptr<Checker>> make_ping_checker(const config::CheckerSpec&,
                                                         const CheckerContext&);

}  // namespace lvs::health
