// -S and -R: spec §4.7, acceptance case 32 and a save/restore round-trip property.
#include "ctl/save.h"

#include <algorithm>
#include <random>

#include "unit/ctl/fixture.h"

namespace lvs::ctl::testing {
namespace {

// Case 32: -S -n of the §4.6 default-listing configuration equals the §4.7 block.
TEST(SaveRestore, Case32SaveEqualsTheSpecBlock) {
  auto d = director();
  ASSERT_EQ(d.restore(kSavedDefaultConfig, "ipvsadm").exit_code, 0);
  EXPECT_EQ(d.run(words("-S -n")).out, kSavedDefaultConfig);
}

// Case 32: -C then -R of that text (with `ipvsadm` words and blank lines) gives the same
// -L -n, except thresholds, which -S does not save.
TEST(SaveRestore, Case32ClearRestoreRoundTrip) {
  auto d = director();
  ASSERT_EQ(d.restore(kSavedDefaultConfig, "ipvsadm").exit_code, 0);
  run_all(d, {"-e -t 192.168.1.100:80 -r 10.0.0.11:80 -m -w 1 -x 100 -y 50"});
  const auto before = d.run(words("-L -n")).out;
  const auto thresholds_before = d.run(words("-L -n --thresholds")).out;
  const auto saved = d.run(words("-S -n")).out;

  std::string input = "\n";
  std::size_t start = 0;
  while (start < saved.size()) {
    const auto nl = saved.find('\n', start);
    input += "ipvsadm " + saved.substr(start, nl - start) + " \r\n\t\n";
    start = nl + 1;
  }
  run_all(d, {"-C"});
  EXPECT_TRUE(d.table().services.empty());
  EXPECT_EQ(d.run(words("-R"), input), Outcome{});
  EXPECT_EQ(d.run(words("-L -n")).out, before);
  const auto thresholds_after = d.run(words("-L -n --thresholds")).out;
  EXPECT_NE(thresholds_after, thresholds_before);
  EXPECT_EQ(thresholds_after.find("100        50"), std::string::npos);
}

// Local saves as -g, FullNat as --fullnat, tunnels with their options, IPv6 in brackets.
TEST(SaveRestore, ForwardMethodsAndTunnels) {
  model::ServiceTable t;
  model::VirtualService s{.key = kVip80, .scheduler = "rr"};
  s.dests = {
      {.addr = ep("10.0.0.1:80"), .forward = model::ForwardMethod::kLocal},
      {.addr = ep("10.0.0.2:8080"), .forward = model::ForwardMethod::kFullNat, .weight = 7},
      {.addr = ep("10.0.0.3:80"),
       .forward = model::ForwardMethod::kTunnel,
       .tun_type = model::TunnelType::kGue,
       .tun_port = 6080,
       .tun_csum = model::TunnelCsum::kRemCsum},
      {.addr = ep("[2001:db8::4]:80"),
       .forward = model::ForwardMethod::kTunnel,
       .tun_type = model::TunnelType::kGre,
       .tun_csum = model::TunnelCsum::kCsum},
  };
  t.services = {s, model::VirtualService{.key = model::ServiceKey::mark(9, core::Family::kInet6),
                                         .persistent = true,
                                         .netmask = 64}};
  EXPECT_EQ(format_save(t, true, numeric_names()),
            "-A -t 192.168.1.100:80 -s rr\n"
            "-a -t 192.168.1.100:80 -r 10.0.0.1:80 -g -w 1\n"
            "-a -t 192.168.1.100:80 -r 10.0.0.2:8080 --fullnat -w 7\n"
            "-a -t 192.168.1.100:80 -r 10.0.0.3:80 -i -w 1 --tun-type gue --tun-port 6080 "
            "--tun-remcsum\n"
            "-a -t 192.168.1.100:80 -r [2001:db8::4]:80 -i -w 1 --tun-type gre --tun-csum\n"
            "-A -f 9 -6 -s wlc -p 360 -M 64\n");
}

// Restore lines: blanks/tabs/CR split words, `ipvsadm` words drop, empty lines skip, and
// each line keeps its number.
TEST(SaveRestore, RestoreLinesSplitAndNumber) {
  const auto lines = restore_lines("\nipvsadm -A\t-t 10.0.0.1:80\r\n  \n-C ipvsadm\n", "lvsadm");
  ASSERT_EQ(lines.size(), 2U);
  EXPECT_EQ(lines[0], (RestoreLine{.number = 2, .argv = {"lvsadm", "-A", "-t", "10.0.0.1:80"}}));
  EXPECT_EQ(lines[1], (RestoreLine{.number = 4, .argv = {"lvsadm", "-C"}}));
}

// parse_restore names the failing line; the text stays ipvsadm's.
TEST(SaveRestore, ParseRestoreNamesTheLine) {
  const auto r =
      parse_restore("-A -t 10.0.0.1:80\n\n-A -t 10.0.0.1:80 -w 2\n", "ipvsadm", fake_resolver());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), (CliError{.text = "Illegal 'weight' option with the 'add-service' command",
                                 .exit_code = 2,
                                 .line = 3}));
  const auto ok = parse_restore(kSavedDefaultConfig, "ipvsadm", fake_resolver());
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->size(), 9U);
}

// ---------------------------------------------------------------------------------------------
// Property: any table that the CLI can build survives -S -n -> -R onto an empty table, up to
// thresholds (not saved) and order (restore creates in listing order).

model::ServiceTable normalized(model::ServiceTable t) {
  const auto svc_key = [](const model::VirtualService& s) {
    return std::make_tuple(s.key.fwmark, s.key.af, static_cast<unsigned>(s.key.protocol),
                           s.key.vip.addr, s.key.vip.port);
  };
  std::sort(t.services.begin(), t.services.end(),
            [&](const auto& a, const auto& b) { return svc_key(a) < svc_key(b); });
  for (auto& s : t.services) {
    std::sort(s.dests.begin(), s.dests.end(),
              [](const auto& a, const auto& b) { return a.addr < b.addr; });
    for (auto& d : s.dests) {
      d.u_threshold = 0;
      d.l_threshold = 0;
    }
  }
  return t;
}

class TableGenerator {
 public:
  explicit TableGenerator(std::uint32_t seed) : rng_(seed) {}

  model::ServiceTable table() {
    model::ServiceTable t;
    const auto n = pick(0, 6);
    for (std::uint32_t i = 0; i < n; ++i) {
      auto s = service();
      if (t.find(s.key) == nullptr) t.services.push_back(std::move(s));
    }
    return t;
  }

 private:
  std::uint32_t pick(std::uint32_t lo, std::uint32_t hi) {
    return std::uniform_int_distribution<std::uint32_t>(lo, hi)(rng_);
  }
  bool coin() { return pick(0, 1) == 1; }

  core::IpAddress address(bool v6) {
    if (!v6) return core::IpAddress::v4(0x0A000000U | pick(1, 250) << 8 | pick(1, 250));
    std::array<std::uint8_t, 16> b{0x20, 0x01, 0x0d, 0xb8};
    b[14] = static_cast<std::uint8_t>(pick(0, 255));
    b[15] = static_cast<std::uint8_t>(pick(1, 255));
    return core::IpAddress::v6(b);
  }

  model::VirtualService service() {
    static const char* const kScheds[] = {"rr", "wrr", "lc", "wlc", "sh", "mh", "sed"};
    model::VirtualService s;
    const bool v6 = pick(0, 3) == 0;
    const auto kind = pick(0, 3);
    if (kind == 3) {
      s.key =
          model::ServiceKey::mark(pick(1, 1000), v6 ? core::Family::kInet6 : core::Family::kInet4);
    } else {
      const model::Protocol protos[] = {model::Protocol::kTcp, model::Protocol::kUdp,
                                        model::Protocol::kSctp};
      s.key = model::ServiceKey::address(
          protos[kind],
          core::Endpoint{.addr = address(v6),
                         .port = static_cast<std::uint16_t>(pick(0, 3) == 0 ? 0 : pick(1, 65535))});
    }
    s.scheduler = kScheds[pick(0, 6)];
    s.persistent = s.key.vip.port == 0 && !s.key.is_fwmark() ? true : coin();
    if (s.persistent) {
      s.timeout = pick(1, model::kMaxPersistenceTimeout);
      s.netmask = s.key.af == core::Family::kInet6 ? pick(1, 128)
                                                   : (coin() ? 0xFFFFFF00U : model::kV4HostMask);
    } else {
      s.netmask = model::default_netmask(s.key.af);
    }
    s.one_packet = (s.key.is_fwmark() || s.key.protocol == model::Protocol::kUdp) && coin();
    s.sched_flags = pick(0, 7);
    const auto n = pick(0, 4);
    for (std::uint32_t i = 0; i < n; ++i) {
      auto d = dest(s.key);
      if (s.find_dest(d.addr) == nullptr) s.dests.insert(s.dests.begin(), d);
    }
    return s;
  }

  model::RealServer dest(const model::ServiceKey& key) {
    model::RealServer d;
    const model::ForwardMethod methods[] = {
        model::ForwardMethod::kMasq, model::ForwardMethod::kRoute, model::ForwardMethod::kTunnel,
        model::ForwardMethod::kFullNat};
    d.forward = methods[pick(0, 3)];
    const bool other_family = d.forward == model::ForwardMethod::kTunnel && pick(0, 3) == 0;
    const bool v6 = (key.af == core::Family::kInet6) != other_family;
    d.addr = core::Endpoint{.addr = address(v6), .port = static_cast<std::uint16_t>(pick(0, 9000))};
    const bool fixed =
        d.forward == model::ForwardMethod::kRoute || d.forward == model::ForwardMethod::kTunnel;
    if (fixed && !key.is_fwmark()) d.addr.port = key.vip.port;
    d.weight = static_cast<std::int32_t>(pick(0, 65535));
    d.last_weight = d.weight;
    d.u_threshold = pick(0, 100);
    d.l_threshold = d.u_threshold == 0 ? 0 : pick(0, d.u_threshold);
    if (d.forward == model::ForwardMethod::kTunnel) {
      d.tun_type = static_cast<model::TunnelType>(pick(0, 2));
      if (d.tun_type == model::TunnelType::kGue) {
        d.tun_port = static_cast<std::uint16_t>(pick(1, 65535));
        d.tun_csum = static_cast<model::TunnelCsum>(pick(0, 2));
      } else if (d.tun_type == model::TunnelType::kGre) {
        d.tun_csum = static_cast<model::TunnelCsum>(pick(0, 1));
      }
    }
    return d;
  }

  std::mt19937 rng_;
};

TEST(SaveRestore, PropertyRandomTablesRoundTrip) {
  for (std::uint32_t seed = 1; seed <= 300; ++seed) {
    const auto table = TableGenerator(seed).table();
    const auto saved = format_save(table, true, numeric_names());
    auto d = director();
    const auto o = d.restore(saved, "ipvsadm");
    ASSERT_EQ(o, Outcome{}) << "seed " << seed << "\n" << saved;
    ASSERT_EQ(normalized(d.table()), normalized(table)) << "seed " << seed << "\n" << saved;
  }
}

}  // namespace
}  // namespace lvs::ctl::testing
