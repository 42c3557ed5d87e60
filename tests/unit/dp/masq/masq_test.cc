// The pure parts of the masquerading state: settings, the nft script, the error sentences.

#include "dp/masq/masq.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <string>

namespace lvs::dp::masq {
namespace {

using core::Family;

bool contains(const std::string& text, std::string_view part) {
  return text.find(part) != std::string::npos;
}

// The defaults are the documented mark and table, and valid.
TEST(MasqSettings, DefaultsAreLvsMarkAndTable) {
  EXPECT_EQ(Settings{}.fwmark, 0x4c56U);
  EXPECT_EQ(Settings{}.table, 19542U);
  EXPECT_TRUE(validate(Settings{}).ok());
}

// Mark 0 matches nothing; tables 0 and 253-255 are the kernel's.
TEST(MasqSettings, RefusesMarkZeroAndKernelTables) {
  EXPECT_EQ(validate(Settings{.fwmark = 0}).error().message,
            "--masq-fwmark 0 is not a mark: use a number in 1..4294967295");
  EXPECT_EQ(validate(Settings{.table = 254}).error().message,
            "--masq-table 254 is a table the kernel owns (0 unspec, 253 default, 254 main, 255 "
            "local): use another number");
  EXPECT_FALSE(validate(Settings{.table = 0}).ok());
  EXPECT_FALSE(validate(Settings{.table = 253}).ok());
  EXPECT_TRUE(validate(Settings{.fwmark = 1, .table = 100}).ok());
}

// One transaction replaces whatever table inet lvsd was there (a crashed run's) with ours.
TEST(MasqNftScript, ReplacesTheTableInOneTransaction) {
  EXPECT_EQ(nft_install_script(Settings{.fwmark = 0x10, .table = 100}, 4321),
            "add table inet lvsd\n"
            "delete table inet lvsd\n"
            "table inet lvsd {\n"
            "  comment \"lvsd pid 4321\"\n"
            "  chain prerouting {\n"
            "    type filter hook prerouting priority mangle; policy accept;\n"
            "    meta l4proto { tcp, udp } socket transparent 1 meta mark set 0x10 accept\n"
            "  }\n"
            "}\n");
}

// The owner's pid comes back from nft's listing of the table; anything else is no owner.
TEST(MasqNftScript, OwnerPidIsReadFromTheListing) {
  EXPECT_EQ(nft_owner("table inet lvsd {\n\tcomment \"lvsd pid 4321\"\n\tchain prerouting {"),
            4321);
  EXPECT_EQ(nft_owner("table inet lvsd {\n\tchain prerouting {"), std::nullopt);
  EXPECT_EQ(nft_owner("comment \"lvsd pid \""), std::nullopt);
  EXPECT_EQ(nft_owner("comment \"lvsd pid 12x\""), std::nullopt);
  EXPECT_EQ(nft_owner("comment \"lvsd pid 0\""), std::nullopt);
}

// Rules and routes are described as `ip` prints them, with the family.
TEST(MasqTexts, RuleAndRouteReadLikeIpCommands) {
  const Settings s{};
  EXPECT_EQ(rule_text(s, Family::kInet4), "ip rule fwmark 0x4c56 lookup 19542 (IPv4)");
  EXPECT_EQ(route_text(s, Family::kInet4), "ip route local 0.0.0.0/0 dev lo table 19542 (IPv4)");
  EXPECT_EQ(route_text(s, Family::kInet6), "ip route local ::/0 dev lo table 19542 (IPv6)");
}

// A missing socket expression names the kernel option and the module; EPERM names the
// capability; nft's own text is kept on one line.
TEST(MasqErrors, NftFailuresSayWhatToFix) {
  const std::string missing = explain_nft_error(
      "Error: Could not process rule: No such file or directory\n"
      "    meta l4proto { tcp, udp } socket transparent 1 meta mark set 0x4c56 accept\n"
      "                              ^^^^^^^^^^^^^^^^^^\n");
  EXPECT_TRUE(contains(missing,
                       "cannot install the nftables table inet lvsd: Error: Could not "
                       "process rule: No such file or directory"))
      << missing;
  EXPECT_TRUE(contains(missing, "CONFIG_NFT_SOCKET")) << missing;
  EXPECT_TRUE(contains(missing, "modprobe nft_socket")) << missing;
  EXPECT_FALSE(contains(missing, "\n")) << missing;
  const std::string perm =
      explain_nft_error("Error: Could not process rule: Operation not permitted\n");
  EXPECT_TRUE(contains(perm, "lvsd needs CAP_NET_ADMIN: run it as root")) << perm;
}

// Policy routing missing is named per family.
TEST(MasqErrors, NetlinkFailuresNameTheKernelOption) {
  const Settings s{};
  EXPECT_EQ(explain_netlink_error(rule_text(s, Family::kInet4), EAFNOSUPPORT, Family::kInet4),
            "masquerading (-m): cannot install `ip rule fwmark 0x4c56 lookup 19542 (IPv4)`: "
            "Address family not supported by protocol; the kernel needs policy routing "
            "(CONFIG_IP_MULTIPLE_TABLES)");
  EXPECT_TRUE(
      contains(explain_netlink_error(rule_text(s, Family::kInet6), EOPNOTSUPP, Family::kInet6),
               "CONFIG_IPV6_MULTIPLE_TABLES"));
  EXPECT_TRUE(contains(explain_netlink_error("x", EPERM, Family::kInet4), "CAP_NET_ADMIN"));
}

// IP_TRANSPARENT refused: the option, the family and the fix.
TEST(MasqErrors, TransparentRefusedNamesTheOption) {
  EXPECT_EQ(explain_transparent_error(EPERM, Family::kInet4),
            "masquerading (-m): the kernel refused IP_TRANSPARENT on an IPv4 socket: Operation "
            "not permitted; lvsd needs CAP_NET_ADMIN (or CAP_NET_RAW): run it as root");
  EXPECT_TRUE(contains(explain_transparent_error(ENOPROTOOPT, Family::kInet6),
                       "IPV6_TRANSPARENT on an IPv6 socket"));
}

}  // namespace
}  // namespace lvs::dp::masq
