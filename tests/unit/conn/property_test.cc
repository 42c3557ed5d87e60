// Property: whatever packets arrive, in whatever order, with dests quiesced, deleted and
// re-added, the dest counters equal the live entries that point at them (active, inactive,
// persistent), never go negative, and everything expires once traffic stops.
#include <map>
#include <random>
#include <set>

#include "unit/conn/harness.h"

namespace lvs::conn::testing {
namespace {

using namespace tcp_flag;

struct Target {
  ServiceKey key{};
  std::string vip{};
  Protocol protocol = Protocol::kTcp;
  std::uint32_t fwmark = 0;
};

class Scenario {
 public:
  explicit Scenario(std::uint32_t seed) : rng_(seed) {
    const auto vip = [](int port) { return fmt::format("{}:{}", kVip, port); };
    auto s1 = real("10.0.1.1:80");
    s1.u_threshold = 3;
    s1.l_threshold = 1;
    add({.key = tcp(vip(80)),
         .scheduler = "rr",
         .dests = {s1, real("10.0.1.2:80"), real("10.0.1.3:80")}});
    add({.key = tcp(vip(443)),
         .scheduler = "rr",
         .persistent = true,
         .timeout = 60,
         .netmask = 0xFFFFFF00,
         .dests = {real("10.0.2.1:443", ForwardMethod::kRoute),
                   real("10.0.2.2:443", ForwardMethod::kRoute)}});
    auto dns = real("10.0.3.1:53");
    dns.u_threshold = 4;
    add({.key = udp(vip(53)), .scheduler = "rr", .dests = {dns, real("10.0.3.2:53")}});
    add({.key = ServiceKey::mark(5),
         .scheduler = "rr",
         .persistent = true,
         .timeout = 30,
         .dests = {real("10.0.4.1:0", ForwardMethod::kTunnel)}});
    targets_ = {
        {tcp(vip(80)), vip(80), Protocol::kTcp, 0},
        {tcp(vip(443)), vip(443), Protocol::kTcp, 0},
        {udp(vip(53)), vip(53), Protocol::kUdp, 0},
        {ServiceKey::mark(5), vip(8080), Protocol::kTcp, 5},
    };
  }

  void step() {
    switch (pick(10)) {
      case 0:
      case 1:
      case 2:
      case 3:
        client_packet();
        break;
      case 4:
      case 5:
        reply();
        break;
      case 6:
        client_packet();
        break;
      case 7:
        h_.advance(std::chrono::seconds{pick(20)});
        break;
      case 8:
        quiesce_or_restore();
        break;
      default:
        delete_or_readd();
        break;
    }
  }

  // Per dest in the listing: counters == entries pointing at it.
  void check() {
    const auto conns = h_.engine.connections(h_.now());
    ASSERT_EQ(conns.size(), h_.engine.entry_count());
    struct Count {
      std::uint32_t active = 0;
      std::uint32_t inactive = 0;
      std::uint32_t templates = 0;
    };
    std::map<core::IpAddress, Count> by_dest;
    for (const auto& c : conns) {
      ASSERT_LE(c.remaining, core::Duration{std::chrono::seconds{900}});
      auto& n = by_dest[c.dest.addr];
      if (c.is_template) {
        ++n.templates;
      } else if (c.inactive) {
        ++n.inactive;
        ASSERT_FALSE(is_active(c.state)) << state_name(c.state);
      } else {
        ++n.active;
        ASSERT_TRUE(is_active(c.state)) << state_name(c.state);
      }
    }
    peak_entries_ = std::max(peak_entries_, conns.size());
    for (const auto& svc : h_.engine.services()) {
      for (const auto& d : svc.dests) {
        saw_overload_ = saw_overload_ || d.overloaded;
        const auto n = by_dest[d.config.addr.addr];
        ASSERT_EQ(d.active, n.active) << d.config.addr.to_string();
        ASSERT_EQ(d.inactive, n.inactive) << d.config.addr.to_string();
        ASSERT_EQ(d.persistent, n.templates) << d.config.addr.to_string();
        ASSERT_LT(d.active, 1000000U);  // an underflow would wrap to ~4e9
        ASSERT_LT(d.inactive, 1000000U);
      }
    }
  }

  // The history was rich enough to mean something.
  void check_coverage() const {
    EXPECT_GE(peak_entries_, 15U);
    EXPECT_TRUE(saw_overload_);
  }

  // Stop the traffic: within a bounded number of timer runs every entry is gone.
  void drain() {
    for (int k = 0; k < 40 && h_.engine.entry_count() > 0; ++k) h_.advance(100s);
    EXPECT_EQ(h_.engine.entry_count(), 0U);
    for (const auto& svc : h_.engine.services()) {
      for (const auto& d : svc.dests) {
        EXPECT_EQ(d.active + d.inactive + d.persistent, 0U) << d.config.addr.to_string();
        EXPECT_FALSE(d.overloaded) << d.config.addr.to_string();
      }
    }
  }

 private:
  std::uint32_t pick(std::size_t n) {
    return std::uniform_int_distribution<std::uint32_t>(0, static_cast<std::uint32_t>(n) - 1)(rng_);
  }

  void add(const VirtualService& svc) {
    h_.add(svc);
    for (const auto& d : svc.dests) all_dests_.emplace_back(svc.key, d);
  }

  void client_packet() {
    static constexpr std::array<std::uint8_t, 7> kFlags{kSyn, kSyn,        kAck, kFin | kAck,
                                                        kRst, kPsh | kAck, 0};
    const auto& t = targets_.at(pick(static_cast<std::uint32_t>(targets_.size())));
    const auto client = fmt::format("203.0.113.{}:{}", 1 + pick(40), 1000 + pick(3));
    h_.in(client, t.vip, kFlags.at(pick(kFlags.size())), t.protocol, t.fwmark, 100);
  }

  void reply() {
    const auto conns = h_.engine.connections(h_.now());
    if (conns.empty()) return;
    const auto& c = conns.at(pick(static_cast<std::uint32_t>(conns.size())));
    if (c.is_template) return;
    static constexpr std::array<std::uint8_t, 5> kFlags{kSyn | kAck, kAck, kFin | kAck, kRst, 0};
    const auto proto = c.protocol == 17 ? Protocol::kUdp : Protocol::kTcp;
    h_.out(c.dest.to_string(), c.client.to_string(), kFlags.at(pick(kFlags.size())), proto, 1500);
  }

  void quiesce_or_restore() {
    auto& [key, d] = all_dests_.at(pick(static_cast<std::uint32_t>(all_dests_.size())));
    if (deleted_.contains(d.addr)) return;
    d.weight = d.weight == 0 ? 1 : 0;
    ASSERT_TRUE(h_.engine.edit_dest(key, d).ok());
  }

  void delete_or_readd() {
    const auto& [key, d] = all_dests_.at(pick(static_cast<std::uint32_t>(all_dests_.size())));
    if (deleted_.erase(d.addr) > 0) {
      ASSERT_TRUE(h_.engine.add_dest(key, d).ok());
    } else {
      ASSERT_TRUE(h_.engine.delete_dest(key, d.addr).ok());
      deleted_.insert(d.addr);
    }
  }

  std::mt19937 rng_;
  Harness h_;
  std::vector<Target> targets_;
  std::vector<std::pair<ServiceKey, RealServer>> all_dests_;
  std::set<core::Endpoint> deleted_;
  std::size_t peak_entries_ = 0;
  bool saw_overload_ = false;
};

// Counters match the entries after every step, for several random histories.
TEST(ConnectionProperty, CountersMatchEntriesAndEverythingExpires) {
  for (std::uint32_t seed = 1; seed <= 8; ++seed) {
    SCOPED_TRACE(seed);
    Scenario s(seed);
    for (int i = 0; i < 1500; ++i) {
      s.step();
      ASSERT_NO_FATAL_FAILURE(s.check());
    }
    s.check_coverage();
    s.drain();
  }
}

}  // namespace
}  // namespace lvs::conn::testing
