// Installing and removing the masquerading state: nftables through libnftables, rules and
// routes through rtnetlink (libmnl). Control thread only; every call opens its own handles.

#include "dp/masq/masq.h"

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/capability.h>
#include <linux/fib_rules.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netinet/in.h>
#include <nftables/libnftables.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <array>
#include <cstring>
#include <fstream>
#include <memory>
#include <vector>

#include <fmt/format.h>

#include "core/fd.h"
#include "core/log.h"

namespace lvs::dp::masq {

namespace {

int af_of(core::Family f) { return f == core::Family::kInet4 ? AF_INET : AF_INET6; }

// --- nftables ----------------------------------------------------------------------------------

struct NftResult {
  int rc = 0;
  std::string error{};
  std::string output{};
};

NftResult nft_run(const std::string& script) {
  nft_ctx* ctx = nft_ctx_new(NFT_CTX_DEFAULT);
  if (ctx == nullptr) return NftResult{.rc = -1, .error = "cannot create an nftables context"};
  nft_ctx_buffer_output(ctx);
  nft_ctx_buffer_error(ctx);
  const int rc = nft_run_cmd_from_buffer(ctx, script.c_str());
  const char* err = nft_ctx_get_error_buffer(ctx);
  const char* out = nft_ctx_get_output_buffer(ctx);
  NftResult r{.rc = rc, .error = err != nullptr ? err : "", .output = out != nullptr ? out : ""};
  nft_ctx_free(ctx);
  return r;
}

// --- rtnetlink ---------------------------------------------------------------------------------

// Large enough for a dump batch (libmnl's MNL_SOCKET_BUFFER_SIZE is a page, at most 8 KiB).
constexpr std::size_t kRecvBuffer = std::size_t{32} * 1024;

// Calls f(attr) for each attribute after the `offset`-byte family header (libmnl's
// mnl_attr_for_each, without its C casts).
template <typename F>
void for_each_attr(const nlmsghdr* nlh, std::size_t offset, F&& f) {
  const auto* attr = static_cast<const nlattr*>(mnl_nlmsg_get_payload_offset(nlh, offset));
  const auto* tail = static_cast<const char*>(mnl_nlmsg_get_payload_tail(nlh));
  while (mnl_attr_ok(attr, static_cast<int>(tail - reinterpret_cast<const char*>(attr)))) {
    f(attr);
    attr = mnl_attr_next(attr);
  }
}

struct MnlClose {
  void operator()(mnl_socket* s) const { mnl_socket_close(s); }
};
using MnlSocket = std::unique_ptr<mnl_socket, MnlClose>;

// One NETLINK_ROUTE socket; requests are answered with an ack, dumps are read to the end.
class Rtnl {
 public:
  static core::Result<Rtnl> open() {
    MnlSocket s(mnl_socket_open(NETLINK_ROUTE));
    if (!s || mnl_socket_bind(s.get(), 0, MNL_SOCKET_AUTOPID) < 0) {
      return core::fail(errno, fmt::format("masquerading (-m): cannot open a netlink socket: {}",
                                           std::strerror(errno)));
    }
    Rtnl r;
    r.portid_ = mnl_socket_get_portid(s.get());
    r.sock_ = std::move(s);
    return r;
  }

  // Sends `nlh` (NLM_F_ACK is added) and returns the kernel's errno (0: done).
  int request(nlmsghdr* nlh) {
    nlh->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
    nlh->nlmsg_seq = ++seq_;
    if (mnl_socket_sendto(sock_.get(), nlh, nlh->nlmsg_len) < 0) return errno;
    std::vector<char> buf(kRecvBuffer);
    for (;;) {
      const ssize_t n = mnl_socket_recvfrom(sock_.get(), buf.data(), buf.size());
      if (n < 0) return errno;
      const int rc =
          mnl_cb_run(buf.data(), static_cast<std::size_t>(n), seq_, portid_, nullptr, nullptr);
      if (rc < 0) return errno;
      if (rc == MNL_CB_STOP) return 0;
    }
  }

  // Dumps and calls `cb(nlh)` for every message; returns the errno (0: done).
  template <typename F>
  int dump(nlmsghdr* nlh, F&& cb) {
    nlh->nlmsg_flags |= NLM_F_REQUEST | NLM_F_DUMP;
    nlh->nlmsg_seq = ++seq_;
    if (mnl_socket_sendto(sock_.get(), nlh, nlh->nlmsg_len) < 0) return errno;
    const mnl_cb_t thunk = [](const nlmsghdr* m, void* data) -> int {
      (*static_cast<F*>(data))(m);
      return MNL_CB_OK;
    };
    std::vector<char> buf(kRecvBuffer);
    for (;;) {
      const ssize_t n = mnl_socket_recvfrom(sock_.get(), buf.data(), buf.size());
      if (n < 0) return errno;
      const int rc = mnl_cb_run(buf.data(), static_cast<std::size_t>(n), seq_, portid_, thunk, &cb);
      if (rc < 0) return errno;
      if (rc == MNL_CB_STOP) return 0;
    }
  }

 private:
  Rtnl() = default;
  MnlSocket sock_{};
  unsigned portid_ = 0;
  unsigned seq_ = 0;
};

struct MsgBuf {
  alignas(nlmsghdr) std::array<char, 512> data{};
  nlmsghdr* header(std::uint16_t type) {
    data.fill(0);
    nlmsghdr* nlh = mnl_nlmsg_put_header(data.data());
    nlh->nlmsg_type = type;
    return nlh;
  }
};

fib_rule_hdr* put_rule_header(nlmsghdr* nlh, int af, std::uint32_t table) {
  auto* frh = static_cast<fib_rule_hdr*>(mnl_nlmsg_put_extra_header(nlh, sizeof(fib_rule_hdr)));
  frh->family = static_cast<std::uint8_t>(af);
  frh->action = FR_ACT_TO_TBL;
  frh->table = table < 256 ? static_cast<std::uint8_t>(table) : std::uint8_t{RT_TABLE_UNSPEC};
  return frh;
}

rtmsg* put_route_header(nlmsghdr* nlh, int af, std::uint32_t table) {
  auto* rtm = static_cast<rtmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(rtmsg)));
  rtm->rtm_family = static_cast<std::uint8_t>(af);
  rtm->rtm_table = table < 256 ? static_cast<std::uint8_t>(table) : std::uint8_t{RT_TABLE_UNSPEC};
  return rtm;
}

int add_rule(Rtnl& nl, const Settings& s, int af) {
  MsgBuf m;
  nlmsghdr* nlh = m.header(RTM_NEWRULE);
  nlh->nlmsg_flags = NLM_F_CREATE | NLM_F_EXCL;
  put_rule_header(nlh, af, s.table);
  mnl_attr_put_u32(nlh, FRA_TABLE, s.table);
  mnl_attr_put_u32(nlh, FRA_FWMARK, s.fwmark);
  mnl_attr_put_u32(nlh, FRA_FWMASK, 0xFFFFFFFFU);
  mnl_attr_put_u32(nlh, FRA_PRIORITY, kRulePriority);
  return nl.request(nlh);
}

int add_local_route(Rtnl& nl, const Settings& s, int af) {
  const unsigned lo = if_nametoindex("lo");
  if (lo == 0) return ENODEV;
  MsgBuf m;
  nlmsghdr* nlh = m.header(RTM_NEWROUTE);
  nlh->nlmsg_flags = NLM_F_CREATE | NLM_F_REPLACE;
  rtmsg* rtm = put_route_header(nlh, af, s.table);
  rtm->rtm_protocol = RTPROT_BOOT;
  rtm->rtm_scope = RT_SCOPE_HOST;
  rtm->rtm_type = RTN_LOCAL;
  mnl_attr_put_u32(nlh, RTA_TABLE, s.table);
  mnl_attr_put_u32(nlh, RTA_OIF, lo);
  return nl.request(nlh);
}

// Deletes every rule of family `af` that sends mark `s.fwmark` to table `s.table`.
core::Result<void> remove_rules(Rtnl& nl, const Settings& s, core::Family family,
                                Removed& removed) {
  const int af = af_of(family);
  std::vector<std::uint32_t> priorities;
  MsgBuf m;
  nlmsghdr* q = m.header(RTM_GETRULE);
  put_rule_header(q, af, 0);
  const int err = nl.dump(q, [&](const nlmsghdr* nlh) {
    const auto* frh = static_cast<const fib_rule_hdr*>(mnl_nlmsg_get_payload(nlh));
    std::uint32_t table = frh->table;
    std::uint32_t mark = 0;
    std::uint32_t prio = 0;
    for_each_attr(nlh, sizeof(*frh), [&](const nlattr* attr) {
      switch (mnl_attr_get_type(attr)) {
        case FRA_TABLE:
          table = mnl_attr_get_u32(attr);
          break;
        case FRA_FWMARK:
          mark = mnl_attr_get_u32(attr);
          break;
        case FRA_PRIORITY:
          prio = mnl_attr_get_u32(attr);
          break;
        default:
          break;
      }
    });
    if (mark == s.fwmark && table == s.table) priorities.push_back(prio);
  });
  // No policy routing for this family (IPv6 disabled, ...): nothing of ours can be there.
  if (err == EAFNOSUPPORT || err == EOPNOTSUPP) return {};
  if (err != 0) {
    return core::fail(
        err, fmt::format("cannot list the {} rules: {}",
                         family == core::Family::kInet4 ? "IPv4" : "IPv6", std::strerror(err)));
  }
  for (const std::uint32_t prio : priorities) {
    nlmsghdr* nlh = m.header(RTM_DELRULE);
    put_rule_header(nlh, af, s.table);
    mnl_attr_put_u32(nlh, FRA_TABLE, s.table);
    mnl_attr_put_u32(nlh, FRA_FWMARK, s.fwmark);
    mnl_attr_put_u32(nlh, FRA_FWMASK, 0xFFFFFFFFU);
    mnl_attr_put_u32(nlh, FRA_PRIORITY, prio);
    if (const int e = nl.request(nlh); e != 0 && e != ENOENT) {
      return core::fail(
          e, fmt::format("cannot delete `{}`: {}", rule_text(s, family), std::strerror(e)));
    }
    removed.items.push_back(fmt::format("{} priority {}", rule_text(s, family), prio));
  }
  return {};
}

struct RouteKey {
  std::uint8_t dst_len = 0;
  std::uint8_t type = 0;
  std::array<std::uint8_t, 16> dst{};
  bool has_dst = false;
  std::uint32_t oif = 0;
};

std::string route_desc(const RouteKey& r, core::Family family, std::uint32_t table) {
  std::array<char, INET6_ADDRSTRLEN> text{};
  std::array<std::uint8_t, 16> zero{};
  inet_ntop(af_of(family), r.has_dst ? r.dst.data() : zero.data(), text.data(),
            static_cast<socklen_t>(text.size()));
  const std::string_view type = r.type == RTN_LOCAL ? "local " : "";
  std::array<char, IF_NAMESIZE> dev{};
  const char* name = r.oif != 0 ? if_indextoname(r.oif, dev.data()) : nullptr;
  return fmt::format("ip route {}{}/{}{} table {} ({})", type, text.data(), r.dst_len,
                     name != nullptr ? fmt::format(" dev {}", name) : std::string{}, table,
                     family == core::Family::kInet4 ? "IPv4" : "IPv6");
}

// Deletes every route of family `af` in table `s.table` (the table is lvsd's own).
core::Result<void> remove_routes(Rtnl& nl, const Settings& s, core::Family family,
                                 Removed& removed) {
  const int af = af_of(family);
  std::vector<RouteKey> routes;
  MsgBuf m;
  nlmsghdr* q = m.header(RTM_GETROUTE);
  put_route_header(q, af, 0);
  const int err = nl.dump(q, [&](const nlmsghdr* nlh) {
    const auto* rtm = static_cast<const rtmsg*>(mnl_nlmsg_get_payload(nlh));
    std::uint32_t table = rtm->rtm_table;
    RouteKey r{.dst_len = rtm->rtm_dst_len, .type = rtm->rtm_type};
    for_each_attr(nlh, sizeof(*rtm), [&](const nlattr* attr) {
      switch (mnl_attr_get_type(attr)) {
        case RTA_TABLE:
          table = mnl_attr_get_u32(attr);
          break;
        case RTA_DST: {
          const auto len = std::min<std::size_t>(mnl_attr_get_payload_len(attr), r.dst.size());
          std::memcpy(r.dst.data(), mnl_attr_get_payload(attr), len);
          r.has_dst = true;
          break;
        }
        case RTA_OIF:
          r.oif = mnl_attr_get_u32(attr);
          break;
        default:
          break;
      }
    });
    if (table == s.table) routes.push_back(r);
  });
  if (err == EAFNOSUPPORT || err == EOPNOTSUPP) return {};
  if (err != 0) {
    return core::fail(
        err, fmt::format("cannot list the routes of table {}: {}", s.table, std::strerror(err)));
  }
  for (const RouteKey& r : routes) {
    nlmsghdr* nlh = m.header(RTM_DELROUTE);
    rtmsg* rtm = put_route_header(nlh, af, s.table);
    rtm->rtm_dst_len = r.dst_len;
    rtm->rtm_type = r.type;
    rtm->rtm_scope = RT_SCOPE_NOWHERE;
    mnl_attr_put_u32(nlh, RTA_TABLE, s.table);
    if (r.has_dst) {
      mnl_attr_put(nlh, RTA_DST, family == core::Family::kInet4 ? 4 : 16, r.dst.data());
    }
    if (r.oif != 0) mnl_attr_put_u32(nlh, RTA_OIF, r.oif);
    if (const int e = nl.request(nlh); e != 0 && e != ESRCH && e != ENOENT) {
      return core::fail(e, fmt::format("cannot delete `{}`: {}", route_desc(r, family, s.table),
                                       std::strerror(e)));
    }
    removed.items.push_back(route_desc(r, family, s.table));
  }
  return {};
}

// Can this process make a transparent socket of `family`?
core::Result<void> probe_transparent(core::Family family) {
  core::Fd fd(::socket(af_of(family), SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) {
    return core::fail(
        errno, fmt::format("masquerading (-m): cannot create an {} socket: {}",
                           family == core::Family::kInet4 ? "IPv4" : "IPv6", std::strerror(errno)));
  }
  const int one = 1;
  const int rc = family == core::Family::kInet4
                     ? ::setsockopt(fd.get(), SOL_IP, IP_TRANSPARENT, &one, sizeof(one))
                     : ::setsockopt(fd.get(), SOL_IPV6, IPV6_TRANSPARENT, &one, sizeof(one));
  if (rc != 0) return core::fail(errno, explain_transparent_error(errno, family));
  return {};
}

}  // namespace

bool has_net_admin() {
  __user_cap_header_struct hdr{.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
  std::array<__user_cap_data_struct, 2> data{};
  // NOLINTNEXTLINE(cppcoreguidelines-pro-type-vararg): the raw syscall, no libcap
  if (::syscall(SYS_capget, &hdr, data.data()) != 0) return false;
  return (data[CAP_NET_ADMIN / 32].effective & (1U << (CAP_NET_ADMIN % 32))) != 0;
}

core::Result<Removed> remove_all(const Settings& s) {
  Removed removed;
  // The nft table: `list` says whether it is there (so the report is honest), then delete.
  const std::string table = fmt::format("table inet {}", kNftTable);
  const NftResult listed = nft_run(fmt::format("list {}\n", table));
  // Absent: "No such file or directory"; no nf_tables at all: nothing of ours can be there.
  const bool absent = listed.error.find("No such file or directory") != std::string::npos ||
                      listed.error.find("not supported") != std::string::npos;
  if (listed.rc != 0 && !absent) {
    return core::fail(EIO, fmt::format("cannot look for the nftables {}: {}", table,
                                       explain_nft_error(listed.error)));
  }
  if (listed.rc == 0) {
    if (auto r = nft_run(fmt::format("delete {}\n", table)); r.rc != 0) {
      return core::fail(EIO, fmt::format("cannot delete the nftables {}: {}", table, r.error));
    }
    removed.items.push_back(fmt::format("nftables {}", table));
  }
  auto nl = Rtnl::open();
  if (!nl) return core::Unexpected{nl.error()};
  for (const core::Family f : {core::Family::kInet4, core::Family::kInet6}) {
    if (auto r = remove_rules(*nl, s, f, removed); !r) return core::Unexpected{r.error()};
    if (auto r = remove_routes(*nl, s, f, removed); !r) return core::Unexpected{r.error()};
  }
  return removed;
}

core::Result<Removed> remove_leftovers(const Settings& s) {
  const NftResult listed = nft_run(fmt::format("list table inet {}\n", kNftTable));
  if (listed.rc == 0) {
    if (const auto owner = nft_owner(listed.output);
        owner && *owner != static_cast<long>(::getpid())) {
      // A running lvsd keeps its state; /proc/PID/comm tells lvsd from a recycled pid.
      std::ifstream comm(fmt::format("/proc/{}/comm", *owner));
      std::string name;
      if (comm >> name && name == "lvsd") {
        return core::fail(EBUSY, fmt::format("the nftables table inet {} belongs to a running "
                                             "lvsd (pid {}); its masquerading state is left alone",
                                             kNftTable, *owner));
      }
    }
  }
  return remove_all(s);
}

Routing::~Routing() {
  if (!installed()) return;
  auto r = remove();
  if (!r) core::log().error("masquerading: cleanup failed: {}", r.error().message);
}

core::Result<void> Routing::ensure(core::Family family) {
  bool& done = family == core::Family::kInet4 ? v4_ : v6_;
  if (done && nft_) return {};
  if (!has_net_admin()) {
    return core::fail(EPERM,
                      "masquerading (-m) needs CAP_NET_ADMIN to install its nftables table and "
                      "policy routing: run lvsd as root, or use full-NAT (--fullnat) realservers");
  }
  if (auto r = probe_transparent(family); !r) return r;
  if (!nft_) {
    if (auto r = nft_run(nft_install_script(settings_, static_cast<long>(::getpid()))); r.rc != 0) {
      return core::fail(EOPNOTSUPP, explain_nft_error(r.error));
    }
    nft_ = true;
  }
  if (done) return {};
  auto nl = Rtnl::open();
  if (!nl) return core::Unexpected{nl.error()};
  // A crashed run's rules and routes go first, so the rule exists exactly once.
  Removed stale;
  if (auto r = remove_rules(*nl, settings_, family, stale); !r) return r;
  if (auto r = remove_routes(*nl, settings_, family, stale); !r) return r;
  if (!stale.items.empty()) {
    core::log().info("masquerading: replaced leftovers of an earlier run: {}",
                     fmt::join(stale.items, "; "));
  }
  const int af = af_of(family);
  // Marked flag first: a failure below still leaves what was installed to remove().
  done = true;
  if (const int e = add_local_route(*nl, settings_, af); e != 0) {
    return core::fail(e, explain_netlink_error(route_text(settings_, family), e, family));
  }
  if (const int e = add_rule(*nl, settings_, af); e != 0) {
    return core::fail(e, explain_netlink_error(rule_text(settings_, family), e, family));
  }
  core::log().info("masquerading: installed nftables table inet {}, `{}`, `{}`", kNftTable,
                   rule_text(settings_, family), route_text(settings_, family));
  return {};
}

core::Result<Removed> Routing::remove() {
  auto r = remove_all(settings_);
  if (r) nft_ = v4_ = v6_ = false;
  return r;
}

}  // namespace lvs::dp::masq
