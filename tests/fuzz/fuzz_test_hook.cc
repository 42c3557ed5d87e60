// libFuzzer: any bytes given as an lvsd --test-hooks injection text (dp/fixture/fixture.h)
// against a two-service table give success or an error naming what is wrong, never a crash or a
// sanitizer report; the Stats and entries reported afterwards are read back in full.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "dp/fixture/fixture.h"

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

lvs::model::ServiceTable table() {
  using namespace lvs;
  const auto ep = [](const char* s) { return *core::Endpoint::parse(s); };
  model::VirtualService tcp{
      .key = model::ServiceKey::address(model::Protocol::kTcp, ep("192.168.1.100:80"))};
  tcp.dests.push_back(model::RealServer{.addr = ep("10.0.0.11:80")});
  model::VirtualService fwm{.key = model::ServiceKey::mark(7)};
  fwm.dests.push_back(model::RealServer{.addr = ep("10.0.0.41:0")});
  return model::ServiceTable{.services = {tcp, fwm}};
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace lvs::dp::fixture;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  TestDataPlane dp;
  check(dp.apply(table()).ok());
  const auto before = dp.stats();
  if (auto r = dp.inject(text); !r) {
    check(!r.error().message.empty());
    check(dp.stats() == before);  // all or nothing
  }
  check(dp.stats().services.size() == 2);
  (void)dp.connections();
  dp.zero_rates(std::nullopt);
  (void)dp.inject("tick\n");  // may be refused (ERANGE) after huge counters
  return 0;
}
