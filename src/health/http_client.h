#pragma once
// The HTTP exchange HTTP_GET and SSL_GET share (spec §5.2): connect (TLS for SSL_GET, no
// certificate verification, SNI when enabled), GET each url with User-Agent KeepAliveClient,
// read the whole response and check status, MD5 digest and regex. All urls must pass.

#include <memory>
#include <string_view>

#include "config/config.h"
#include "core/result.h"
#include "health/checker.h"
#include "health/registry.h"

namespace lvs::health {

enum class Transport : std::uint8_t { kPlain, kTls };

core::Result<std::unique_ptr<Checker>> make_http_checker(const config::CheckerSpec& spec,
                                                         const CheckerContext& ctx,
                                                         Transport transport);

// What a response must satisfy for one url; the failure reason, or empty when it passes.
// Exposed for unit tests.
std::string judge_http_response(const config::UrlSpec& url, std::string_view response);
// Lower-case hex MD5 of `data` (OpenSSL libcrypto).
std::string md5_hex(std::string_view data);

}  // namespace lvs::health
