#pragma once
// Shared helpers for the ctl tests: a resolver that knows a few names (no /etc/services),
// an OfflineDirector driven by space-separated command lines, and live-number injection.

#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

#include "common/spec_listings.h"
#include "ctl/ipvsadm_args.h"
#include "ctl/listing.h"
#include "ctl/save.h"
#include "ctl/table_commands.h"
#include "sched/registry.h"

namespace lvs::ctl::testing {

inline Resolver fake_resolver() {
  Resolver r;
  r.service_port = [](std::string_view name, model::Protocol p) -> std::optional<std::uint16_t> {
    if (name == "http" && p == model::Protocol::kTcp) return 80;
    if (name == "domain") return 53;
    return std::nullopt;
  };
  r.host_v4 = [](std::string_view host) -> std::optional<core::IpAddress> {
    if (host == "vip.example") return *core::IpAddress::parse("192.168.1.100");
    return std::nullopt;
  };
  return r;
}

// "ipvsadm -A -t ..." split on spaces; argv[0] is "ipvsadm".
inline std::vector<std::string> words(const std::string& line) {
  std::vector<std::string> v{"ipvsadm"};
  std::istringstream in(line);
  for (std::string w; in >> w;) v.push_back(w);
  return v;
}

inline CliResult<Command> parse(const std::string& line) {
  return parse_ipvsadm_args(words(line), fake_resolver());
}

inline OfflineDirector director() {
  return OfflineDirector(fake_resolver(),
                         [](std::string_view n) { return sched::scheduler_exists(n); });
}

// Runs each line; every one must succeed.
inline void run_all(OfflineDirector& d, const std::vector<std::string>& lines) {
  for (const auto& l : lines) {
    const auto o = d.run(words(l));
    ASSERT_EQ(o.exit_code, 0) << l << ": " << o.err;
  }
}

inline core::Endpoint ep(const char* s) { return *core::Endpoint::parse(s); }

inline ServiceView& service_view(ListingInput& in, const model::ServiceKey& key) {
  for (auto& s : in.services) {
    if (s.service.key == key) return s;
  }
  ADD_FAILURE() << "no service " << key.to_string();
  return in.services.front();
}

inline DestView& dest_view(ListingInput& in, const model::ServiceKey& key, const char* addr) {
  for (auto& d : service_view(in, key).dests) {
    if (d.dest.addr == ep(addr)) return d;
  }
  ADD_FAILURE() << "no dest " << addr;
  return service_view(in, key).dests.front();
}

inline const model::ServiceKey kVip80 =
    model::ServiceKey::address(model::Protocol::kTcp, ep("192.168.1.100:80"));

inline ListOptions numeric() { return ListOptions{.numeric = true}; }

// The §4.7 block: the configuration the §4.6 default listing shows.
inline const std::string kSavedDefaultConfig{lvs::testing::spec::kSavedDefaultConfig};

}  // namespace lvs::ctl::testing
