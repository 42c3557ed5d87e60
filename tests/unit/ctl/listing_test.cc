// `-L` output byte for byte: spec §4.6 and acceptance cases 27-31.
#include "ctl/listing.h"

#include "common/spec_listings.h"
#include "unit/ctl/fixture.h"

namespace lvs::ctl::testing {
namespace {

namespace spec = lvs::testing::spec;

std::string list(const ListingInput& in, ListOptions opts,
                 const std::optional<model::ServiceKey>& only = std::nullopt) {
  opts.numeric = true;
  const auto r = format_listing(in, opts, only, numeric_names());
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().text);
  return r.ok() ? *r : std::string{};
}

ListingInput default_block_input() {
  auto d = director();
  EXPECT_EQ(d.restore(kSavedDefaultConfig, "ipvsadm").exit_code, 0);
  auto in = listing_input(d.table());
  auto& m = dest_view(in, kVip80, "10.0.0.11:80");
  m.active = 3;
  m.inactive = 12;
  const auto udp53 = model::ServiceKey::address(model::Protocol::kUdp, ep("192.168.1.100:53"));
  dest_view(in, udp53, "10.0.0.21:53").inactive = 17;
  return in;
}

// Case 27: an empty table lists exactly the version line and the two title lines.
TEST(Listing, Case27EmptyTableIsThreeHeaderLines) {
  EXPECT_EQ(list(ListingInput{}, {}),
            "IP Virtual Server version 1.2.1 (size=4096)\n"
            "Prot LocalAddress:Port Scheduler Flags\n"
            "  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n");
}

// Case 28, default block: services sorted, flags, persistence mask, ops, trailing spaces.
TEST(Listing, Case28DefaultBlock) {
  EXPECT_EQ(list(default_block_input(), {}), spec::kDefaultBlock);
}

ListingInput one_service(const std::vector<std::string>& lines) {
  auto d = director();
  run_all(d, lines);
  return listing_input(d.table());
}

ListingInput stats_input() {
  auto in = one_service({"-A -t 192.168.1.100:80", "-a -t 192.168.1.100:80 -r 10.0.0.11:80 -m"});
  service_view(in, kVip80).stats = {.conns = 1523,
                                    .inpkts = 98211,
                                    .outpkts = 87640,
                                    .inbytes = 123456789,
                                    .outbytes = 9876543210};
  dest_view(in, kVip80, "10.0.0.11:80").stats = {
      .conns = 800, .inpkts = 50000, .outpkts = 45000, .inbytes = 61728394, .outbytes = 4938271605};
  return in;
}

// Case 28, --stats block: the K/M suffixes on large counters.
TEST(Listing, Case28StatsBlock) {
  EXPECT_EQ(list(stats_input(), {.stats = true}), spec::kStatsBlock);
}

// Case 28, --stats --exact: the service line with full digits.
TEST(Listing, Case28StatsExactServiceLine) {
  const auto out = list(stats_input(), {.stats = true, .exact = true});
  EXPECT_NE(out.find("\n" + std::string(spec::kStatsExactServiceLine)), std::string::npos) << out;
}

// Case 28, --rate block: dest CPS/PPS columns are plain numbers, BPS use the number field.
TEST(Listing, Case28RateBlock) {
  auto in = stats_input();
  service_view(in, kVip80).rates = {
      .cps = 12, .inpps = 340, .outpps = 310, .inbps = 45210, .outbps = 390112};
  dest_view(in, kVip80, "10.0.0.11:80").rates = {
      .cps = 6, .inpps = 170, .outpps = 155, .inbps = 22605, .outbps = 195056};
  EXPECT_EQ(list(in, {.rate = true}), spec::kRateBlock);
}

// Case 28, --thresholds block.
TEST(Listing, Case28ThresholdsBlock) {
  auto in = one_service(
      {"-A -t 192.168.1.100:80", "-a -t 192.168.1.100:80 -r 10.0.0.11:80 -m -x 100 -y 50"});
  auto& d = dest_view(in, kVip80, "10.0.0.11:80");
  d.active = 3;
  d.inactive = 12;
  EXPECT_EQ(list(in, {.thresholds = true}), spec::kThresholdsBlock);
}

// Case 28, --persistent-conn block.
TEST(Listing, Case28PersistentConnBlock) {
  auto in = one_service({"-A -t 192.168.1.100:80 -p", "-a -t 192.168.1.100:80 -r 10.0.0.11:80 -m"});
  auto& d = dest_view(in, kVip80, "10.0.0.11:80");
  d.persist = 4;
  d.active = 3;
  d.inactive = 12;
  EXPECT_EQ(list(in, {.persistent_conn = true}), spec::kPersistentConnBlock);
}

// Case 28, --tun-info block: gue:PORT:CS for tunnels, n/a for the rest.
TEST(Listing, Case28TunInfoBlock) {
  auto in = one_service({"-A -t 192.168.1.100:80 -s rr",
                         "-a -t 192.168.1.100:80 -r 10.0.0.31:80 -i --tun-type gue --tun-port 6080",
                         "-a -t 192.168.1.100:80 -r 10.0.0.32:80"});
  EXPECT_EQ(list(in, {.tun_info = true}), spec::kTunInfoBlock);
}

ListingInput connections_input() {
  ListingInput in;
  using model::Protocol;
  in.connections = {
      {.protocol = Protocol::kTcp,
       .expire_seconds = 14 * 60 + 57,
       .state = "ESTABLISHED",
       .client = ep("203.0.113.7:51514"),
       .virt = ep("192.168.1.100:80"),
       .dest = ep("10.0.0.11:80")},
      {.protocol = Protocol::kTcp,
       .expire_seconds = 54,
       .state = "SYN_RECV",
       .client = ep("203.0.113.8:40000"),
       .virt = ep("192.168.1.100:80"),
       .dest = ep("10.0.0.12:8080")},
      {.protocol = Protocol::kUdp,
       .expire_seconds = 4 * 60 + 59,
       .state = "UDP",
       .client = ep("203.0.113.9:5353"),
       .virt = ep("192.168.1.100:53"),
       .dest = ep("10.0.0.21:53")},
      {.protocol = Protocol::kTcp,
       .expire_seconds = 5 * 60 + 58,
       .state = "NONE",
       .client = ep("203.0.113.0:0"),
       .virt = ep("192.168.1.100:443"),
       .dest = ep("10.0.0.11:443")},
      {.protocol = Protocol::kTcp,
       .fwmark_template = true,
       .expire_seconds = 5 * 60 + 58,
       .state = "NONE",
       .client = ep("203.0.113.7:0"),
       .virt = ep("0.0.0.7:0"),
       .dest = ep("10.0.0.41:0")},
  };
  return in;
}

// Case 28, -c block: connection entries and templates (IP for fwmark templates), no version.
TEST(Listing, Case28ConnectionBlock) {
  EXPECT_EQ(list(connections_input(), {.connection = true}), spec::kConnectionBlock);
}

// -c --persistent-conn adds the "pe name" and "pe_data" columns (destination padded to 18).
TEST(Listing, ConnectionsWithPersistentConnAddPeColumns) {
  auto in = connections_input();
  in.connections.resize(1);
  EXPECT_EQ(list(in, {.connection = true, .persistent_conn = true}),
            "IPVS connection entries\n"
            "pro expire state       source             virtual            destination        "
            "pe name          pe_data\n"
            "TCP 14:57  ESTABLISHED 203.0.113.7:51514  192.168.1.100:80   10.0.0.11:80       "
            "                 \n");
}

// Case 17's template line: expiry 06:00 at the instant of creation.
TEST(Listing, Case17TemplateLine) {
  ListingInput in;
  in.connections = {{.expire_seconds = 360,
                     .state = "NONE",
                     .client = ep("203.0.113.0:0"),
                     .virt = ep("192.168.1.100:443"),
                     .dest = ep("10.0.0.11:443")}};
  EXPECT_EQ(list(in, {.connection = true}),
            "IPVS connection entries\n"
            "pro expire state       source             virtual            destination\n"
            "TCP 06:00  NONE        203.0.113.0:0      192.168.1.100:443  10.0.0.11:443\n");
}

// Case 29: the number-field rule at each boundary, and --exact's full digits.
TEST(Listing, Case29NumberFormatting) {
  EXPECT_EQ(number_field(99999999), " 99999999");
  EXPECT_EQ(number_field(100000000), "  100000K");
  EXPECT_EQ(number_field(999999999), "  999999K");
  EXPECT_EQ(number_field(1000000000), "    1000M");
  EXPECT_EQ(number_field(100000000000), "     100G");
  EXPECT_EQ(number_field(123456789012345), "     123T");
  EXPECT_EQ(number_field(123456789012345, true), " 123456789012345");
  EXPECT_EQ(number_field(7, true), "        7");
  EXPECT_EQ(number_field(123456789, true), " 123456789");
}

// Case 30: services sorted TCP by address, then UDP, then fwmark; -t lists one service
// under the two title lines only.
TEST(Listing, Case30SortingAndSingleService) {
  auto d = director();
  run_all(d, {"-A -u 10.0.0.1:53", "-A -f 3", "-A -t 10.0.0.2:80", "-A -t 10.0.0.1:443"});
  const auto in = listing_input(d.table());
  EXPECT_EQ(list(in, {}),
            "IP Virtual Server version 1.2.1 (size=4096)\n"
            "Prot LocalAddress:Port Scheduler Flags\n"
            "  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n"
            "TCP  10.0.0.1:443 wlc\n"
            "TCP  10.0.0.2:80 wlc\n"
            "UDP  10.0.0.1:53 wlc\n"
            "FWM  3 wlc\n");
  const auto only = model::ServiceKey::address(model::Protocol::kTcp, ep("10.0.0.2:80"));
  EXPECT_EQ(list(in, {}, only),
            "Prot LocalAddress:Port Scheduler Flags\n"
            "  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n"
            "TCP  10.0.0.2:80 wlc\n");
  const auto out = d.run(words("-L -n -t 10.0.0.2:80"));
  EXPECT_EQ(out.out, list(in, {}, only));
}

// --nosort: services in creation order, dests in iteration order (newest first).
TEST(Listing, NoSortKeepsCreationAndIterationOrder) {
  auto d = director();
  run_all(d, {"-A -u 10.0.0.1:53", "-A -t 10.0.0.1:443", "-a -t 10.0.0.1:443 -r 10.0.0.5",
              "-a -t 10.0.0.1:443 -r 10.0.0.9"});
  EXPECT_EQ(list(listing_input(d.table()), {.nosort = true}),
            "IP Virtual Server version 1.2.1 (size=4096)\n"
            "Prot LocalAddress:Port Scheduler Flags\n"
            "  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n"
            "UDP  10.0.0.1:53 wlc\n"
            "TCP  10.0.0.1:443 wlc\n"
            "  -> 10.0.0.9:443                 Route   1      0          0         \n"
            "  -> 10.0.0.5:443                 Route   1      0          0         \n");
}

// Case 31: --timeout shows the defaults, then what --set changed (0 keeps a value).
TEST(Listing, Case31Timeout) {
  auto d = director();
  EXPECT_EQ(d.run(words("-L --timeout")).out, "Timeout (tcp tcpfin udp): 900 120 300\n");
  EXPECT_EQ(d.run(words("--set 3600 0 120")).exit_code, 0);
  EXPECT_EQ(d.run(words("-L --timeout")).out, "Timeout (tcp tcpfin udp): 3600 120 120\n");
}

// --daemon prints one line per running daemon, optional fields only when set.
TEST(Listing, DaemonLines) {
  ListingInput in;
  in.daemons = {{.mcast_interface = "eth0", .syncid = 1},
                {.state = SyncState::kBackup,
                 .mcast_interface = "eth1",
                 .syncid = 2,
                 .sync_maxlen = 1472,
                 .mcast_group = core::IpAddress::parse("224.0.0.81").value(),
                 .mcast_port = 8848,
                 .mcast_ttl = 1}};
  EXPECT_EQ(list(in, {.daemon = true}),
            "master sync daemon (mcast=eth0, syncid=1)\n"
            "backup sync daemon (mcast=eth1, syncid=2, maxlen=1472, group=224.0.0.81, "
            "port=8848, ttl=1)\n");
}

// Labels: IPv4 service labels are cut to 33 characters, dest labels to 28; IPv6 never.
TEST(Listing, LongNamesAreCut) {
  Names names;
  names.host = [](const core::IpAddress&) { return std::string(40, 'h'); };
  const auto label = service_label(kVip80, names, false);
  EXPECT_EQ(label.size(), 33U);
  EXPECT_EQ(label.substr(0, 6), "TCP  h");
  EXPECT_EQ(dest_label(ep("10.0.0.1:80"), model::Protocol::kTcp, names, false).size(), 28U);
  EXPECT_EQ(dest_label(ep("[2001:db8::1]:80"), model::Protocol::kTcp, names, false).size(),
            40U + 5U);
}

// Without -n, ports map through the services database of the service's protocol.
TEST(Listing, NamesWithoutNumeric) {
  Names names;
  names.service = [](std::uint16_t port, model::Protocol) {
    return port == 80 ? std::string("http") : std::string();
  };
  EXPECT_EQ(service_label(kVip80, names, false), "TCP  192.168.1.100:http");
  EXPECT_EQ(service_label(kVip80, names, true), "TCP  192.168.1.100:80");
  EXPECT_EQ(service_label(model::ServiceKey::mark(7, core::Family::kInet6), names, false),
            "FWM  7 IPv6");
}

// `-L -n -t` of an absent service: "No such service", exit 1 (case 47).
TEST(Listing, Case47MissingServiceExitsOne) {
  const auto r = format_listing(ListingInput{}, numeric(), kVip80, numeric_names());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), (CliError{.text = "No such service", .exit_code = 1}));
}

// Extension: -L --json is one JSON object with the services and their dests.
TEST(Listing, JsonExtension) {
  const auto out = list(default_block_input(), {.json = true});
  EXPECT_EQ(out.substr(0, 13), "{\"services\":[");
  EXPECT_NE(out.find(R"("address":"10.0.0.11","port":80,"forward":"Masq","weight":1)"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find(R"("timeouts":{"tcp":900,"tcpfin":120,"udp":300}})"), std::string::npos);
}

}  // namespace
}  // namespace lvs::ctl::testing
