// The pure parts of the masquerading state: validation, the nft script, the texts.

#include <cstring>

#include <fmt/format.h>

#include "dp/masq/masq.h"

namespace lvs::dp::masq {

namespace {

std::string_view family_name(core::Family f) { return f == core::Family::kInet4 ? "IPv4" : "IPv6"; }

}  // namespace

core::Result<void> validate(const Settings& s) {
  if (s.fwmark == 0) {
    return core::fail(EINVAL, "--masq-fwmark 0 is not a mark: use a number in 1..4294967295");
  }
  if (s.table == 0 || (s.table >= 253 && s.table <= 255)) {
    return core::fail(EINVAL, fmt::format("--masq-table {} is a table the kernel owns (0 unspec, "
                                          "253 default, 254 main, 255 local): use another number",
                                          s.table));
  }
  return {};
}

std::string nft_install_script(const Settings& s, long owner_pid) {
  // `add` then `delete` makes the delete succeed whether or not a table was there; the whole
  // buffer is one transaction, so no moment exists without the rule once it was installed.
  return fmt::format(
      "add table inet {0}\n"
      "delete table inet {0}\n"
      "table inet {0} {{\n"
      "  comment \"lvsd pid {2}\"\n"
      "  chain prerouting {{\n"
      "    type filter hook prerouting priority mangle; policy accept;\n"
      "    meta l4proto {{ tcp, udp }} socket transparent 1 meta mark set {1:#x} accept\n"
      "  }}\n"
      "}}\n",
      kNftTable, s.fwmark, owner_pid);
}

std::optional<long> nft_owner(std::string_view listing) {
  constexpr std::string_view kTag = "comment \"lvsd pid ";
  const auto at = listing.find(kTag);
  if (at == std::string_view::npos) return std::nullopt;
  long pid = 0;
  std::size_t i = at + kTag.size();
  const std::size_t start = i;
  while (i < listing.size() && listing[i] >= '0' && listing[i] <= '9' && pid < 100'000'000) {
    pid = pid * 10 + (listing[i] - '0');
    ++i;
  }
  if (i == start || i >= listing.size() || listing[i] != '"' || pid == 0) return std::nullopt;
  return pid;
}

std::string rule_text(const Settings& s, core::Family family) {
  return fmt::format("ip rule fwmark {:#x} lookup {} ({})", s.fwmark, s.table, family_name(family));
}

std::string route_text(const Settings& s, core::Family family) {
  return fmt::format("ip route local {} dev lo table {} ({})",
                     family == core::Family::kInet4 ? "0.0.0.0/0" : "::/0", s.table,
                     family_name(family));
}

std::string explain_nft_error(std::string_view nft_error) {
  std::string text(nft_error);
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  for (auto& c : text) {
    if (c == '\n') c = ' ';
  }
  const bool no_perm = text.find("Operation not permitted") != std::string::npos;
  const bool missing = text.find("No such file or directory") != std::string::npos ||
                       text.find("Protocol not supported") != std::string::npos ||
                       text.find("not supported") != std::string::npos;
  std::string fix;
  if (no_perm) {
    fix = "lvsd needs CAP_NET_ADMIN: run it as root";
  } else if (missing) {
    fix =
        "the kernel needs nf_tables with the inet family and the socket expression "
        "(CONFIG_NF_TABLES_INET, CONFIG_NFT_SOCKET: try `modprobe nft_socket`)";
  } else {
    fix = "check that nf_tables and its socket expression (nft_socket) are available";
  }
  return fmt::format("masquerading (-m): cannot install the nftables table inet {}: {}; {}",
                     kNftTable, text.empty() ? "nft gave no reason" : text, fix);
}

std::string explain_netlink_error(std::string_view what, int err, core::Family family) {
  std::string fix;
  switch (err) {
    case EPERM:
    case EACCES:
      fix = "lvsd needs CAP_NET_ADMIN: run it as root";
      break;
    case EAFNOSUPPORT:
    case EOPNOTSUPP:
    case EPROTONOSUPPORT:
      fix = family == core::Family::kInet4
                ? "the kernel needs policy routing (CONFIG_IP_MULTIPLE_TABLES)"
                : "the kernel needs IPv6 with policy routing (CONFIG_IPV6_MULTIPLE_TABLES)";
      break;
    case ENODEV:
      fix = "the loopback interface lo is missing";
      break;
    default:
      fix = "check the kernel's policy routing support (ip rule, ip route table)";
      break;
  }
  return fmt::format("masquerading (-m): cannot install `{}`: {}; {}", what, std::strerror(err),
                     fix);
}

std::string explain_transparent_error(int err, core::Family family) {
  const std::string_view option =
      family == core::Family::kInet4 ? "IP_TRANSPARENT" : "IPV6_TRANSPARENT";
  const std::string fix = err == EPERM || err == EACCES
                              ? "lvsd needs CAP_NET_ADMIN (or CAP_NET_RAW): run it as root"
                              : "the kernel has no transparent sockets for this family";
  return fmt::format("masquerading (-m): the kernel refused {} on an {} socket: {}; {}", option,
                     family_name(family), std::strerror(err), fix);
}

}  // namespace lvs::dp::masq
