// The status page's history: a bounded ring of (time, active, inactive) per realserver on
// passed-in time, its JSON, and the Sampler thread that fills it.
#include "web/history.h"

#include <atomic>
#include <chrono>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace lvs::web {
namespace {

core::Endpoint ep(const char* s) { return *core::Endpoint::parse(s); }

// One TCP service with realservers .11 and .12 holding `a` and `b` active connections.
ctl::ListingInput listing(std::uint32_t a, std::uint32_t b) {
  ctl::ListingInput in;
  in.services.push_back(ctl::ServiceView{
      .service = {.key = model::ServiceKey::address(model::Protocol::kTcp, ep("192.0.2.1:80"))},
      .dests = {ctl::DestView{.dest = {.addr = ep("198.51.100.11:80")}, .active = a, .inactive = 1},
                ctl::DestView{.dest = {.addr = ep("198.51.100.12:80")}, .active = b}}});
  return in;
}

std::vector<std::uint32_t> actives(const HistorySeries& s) {
  std::vector<std::uint32_t> out;
  for (const auto& x : s.samples) out.push_back(x.active);
  return out;
}

// Each record() adds one sample per realserver, named as the page names them.
TEST(History, RecordsOneSamplePerRealserver) {
  History h;
  h.record(1000, listing(3, 4));
  h.record(3000, listing(5, 6));
  const auto s = h.series();
  ASSERT_EQ(s.size(), 2U);
  EXPECT_EQ(s[0].service, "TCP 192.0.2.1:80");
  EXPECT_EQ(s[0].real, "198.51.100.11:80");
  EXPECT_EQ(s[0].samples, (std::vector<HistorySample>{{.t_ms = 1000, .active = 3, .inactive = 1},
                                                      {.t_ms = 3000, .active = 5, .inactive = 1}}));
  EXPECT_EQ(actives(s[1]), (std::vector<std::uint32_t>{4, 6}));
}

// The ring holds at most `samples` per realserver: the oldest go first.
TEST(History, KeepsAtMostSamplesPerRealserver) {
  History h({.interval = std::chrono::milliseconds(2000), .samples = 3});
  for (std::uint32_t i = 0; i < 10; ++i) h.record(std::int64_t{2000} * i, listing(i, 0));
  const auto s = h.series();
  ASSERT_EQ(s.size(), 2U);
  EXPECT_EQ(actives(s[0]), (std::vector<std::uint32_t>{7, 8, 9}));
}

// Samples older than samples x interval go even when fewer were taken (a gap in sampling), and
// a realserver no longer listed disappears once its last sample is that old.
TEST(History, DropsSamplesOlderThanTheWindow) {
  History h({.interval = std::chrono::milliseconds(1000), .samples = 10});
  h.record(0, listing(1, 1));
  h.record(5000, listing(2, 2));
  ctl::ListingInput only_first = listing(3, 0);
  only_first.services[0].dests.pop_back();
  h.record(10'000, only_first);  // t=0 is now 10 s old: out
  auto s = h.series();
  ASSERT_EQ(s.size(), 2U);
  EXPECT_EQ(actives(s[0]), (std::vector<std::uint32_t>{2, 3}));
  EXPECT_EQ(actives(s[1]), (std::vector<std::uint32_t>{2}));
  h.record(15'000, only_first);
  s = h.series();
  ASSERT_EQ(s.size(), 1U);
  EXPECT_EQ(s[0].real, "198.51.100.11:80");
}

// A wall clock set backwards would put new samples before old ones: the history starts afresh.
TEST(History, ClockGoingBackStartsAfresh) {
  History h;
  h.record(100'000, listing(1, 1));
  h.record(50'000, listing(2, 2));
  const auto s = h.series();
  ASSERT_EQ(s.size(), 2U);
  EXPECT_EQ(actives(s[0]), (std::vector<std::uint32_t>{2}));
}

// Beyond max_series realservers, new ones are not recorded (memory stays bounded).
TEST(History, BoundedNumberOfSeries) {
  History h({.interval = std::chrono::milliseconds(2000), .samples = 300, .max_series = 1});
  h.record(0, listing(1, 2));
  const auto s = h.series();
  ASSERT_EQ(s.size(), 1U);
  EXPECT_EQ(s[0].real, "198.51.100.11:80");
}

// IPv6 realservers in brackets, fwmark services as "FWM N" (and "FWM N IPv6").
TEST(History, NamesIpv6AndFwmarkServices) {
  ctl::ListingInput in;
  in.services.push_back(ctl::ServiceView{
      .service = {.key = model::ServiceKey::mark(7, core::Family::kInet6)},
      .dests = {ctl::DestView{.dest = {.addr = ep("[2001:db8::2]:53")}, .active = 1}}});
  History h;
  h.record(0, in);
  const auto s = h.series();
  ASSERT_EQ(s.size(), 1U);
  EXPECT_EQ(s[0].service, "FWM 7 IPv6");
  EXPECT_EQ(s[0].real, "[2001:db8::2]:53");
}

// The JSON: interval, capacity and per realserver parallel arrays of times and counts.
TEST(History, Json) {
  History h;
  h.record(1000, listing(3, 4));
  EXPECT_EQ(history_json(h.series(), h.options()),
            R"({"interval_ms":2000,"samples":300,"series":[)"
            R"({"service":"TCP 192.0.2.1:80","real":"198.51.100.11:80","t":[1000],"active":[3],)"
            R"("inactive":[1]},)"
            R"({"service":"TCP 192.0.2.1:80","real":"198.51.100.12:80","t":[1000],"active":[4],)"
            R"("inactive":[0]}]})"
            "\n");
}

// The Sampler records at once and then every interval on its own thread while readers read;
// stop() returns promptly and no sample is taken afterwards (TSan checks the locking).
TEST(Sampler, RecordsUntilStopped) {
  HistoryLog log({.interval = std::chrono::milliseconds(5), .samples = 1000});
  std::atomic<std::int64_t> now{0};
  std::atomic<int> calls{0};
  Sampler sampler(
      log,
      [&calls] {
        ++calls;
        return listing(1, 2);
      },
      std::chrono::milliseconds(5), [&now] { return now += 5; });
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  std::size_t seen = 0;
  while (seen < 4 && std::chrono::steady_clock::now() < deadline) {
    const auto j = nlohmann::json::parse(log.json());
    seen = j["series"].empty() ? 0 : j["series"][0]["t"].size();
    std::this_thread::yield();
  }
  EXPECT_GE(seen, 4U);
  sampler.stop();
  const int after_stop = calls.load();
  sampler.stop();  // idempotent
  EXPECT_EQ(calls.load(), after_stop);
}

}  // namespace
}  // namespace lvs::web
