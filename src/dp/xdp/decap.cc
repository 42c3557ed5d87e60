#include "dp/xdp/decap.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fmt/format.h>
#include <ifaddrs.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <netinet/in.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <optional>

#include "core/fd.h"
#include "dp/xdp/plan.h"
#include "lvs_decap.skel.h"

namespace lvs::dp::xdp {

namespace {

constexpr std::string_view kProgName = "lvs_decap";

std::string errno_text(int err) { return std::strerror(err); }

core::Unexpected privileged(std::string_view what, int err) {
  if (err == EPERM || err == EACCES) {
    return core::fail(EPERM, fmt::format("lvs-decap: {} was refused: run it as root or with "
                                         "CAP_BPF and CAP_NET_ADMIN",
                                         what));
  }
  return core::fail(err, fmt::format("lvs-decap: {} failed: {}", what, errno_text(err)));
}

lvs_decap_addr key_of(const core::IpAddress& a) {
  lvs_decap_addr k{};
  wire_addr(a, k.addr);
  k.family = wire_family(a);
  return k;
}

// The keys of a hash map of at most `max` entries.
template <typename Key>
std::vector<Key> keys_in(int fd, std::uint32_t max) {
  std::vector<Key> out;
  Key key{};
  Key next{};
  const void* prev = nullptr;
  for (std::uint32_t n = 0; n < max; ++n) {
    if (bpf_map_get_next_key(fd, prev, &next) != 0) break;
    out.push_back(next);
    key = next;
    prev = &key;
  }
  return out;
}

// New keys first, then the ones no longer wanted: a packet never sees an empty table. `names`
// gives the wanted keys' text, for errors.
template <typename Key>
core::Result<void> replace_keys(int fd, const std::vector<Key>& keys,
                                const std::vector<std::string>& names, std::uint32_t max,
                                std::string_view what) {
  if (keys.size() > max) {
    return core::fail(E2BIG,
                      fmt::format("lvs-decap: {} {}; it holds at most {}", keys.size(), what, max));
  }
  for (std::size_t i = 0; i < keys.size(); ++i) {
    const std::uint32_t one = 1;
    if (bpf_map_update_elem(fd, &keys[i], &one, BPF_ANY) != 0) {
      return privileged(fmt::format("writing {} {}", what, names.at(i)), errno);
    }
  }
  for (const Key& k : keys_in<Key>(fd, max)) {
    const bool kept = std::any_of(keys.begin(), keys.end(), [&k](const Key& w) {
      return std::memcmp(&w, &k, sizeof(w)) == 0;
    });
    if (!kept) bpf_map_delete_elem(fd, &k);
  }
  return {};
}

core::Result<void> replace_addrs(int fd, std::span<const core::IpAddress> want,
                                 std::string_view what) {
  std::vector<lvs_decap_addr> keys;
  std::vector<std::string> names;
  for (const core::IpAddress& a : want) {
    keys.push_back(key_of(a));
    names.push_back(a.to_string());
  }
  return replace_keys(fd, keys, names, LVS_DECAP_MAX_ADDRS, what);
}

// GUE ports: the map's keys are the UDP destination port as the packet carries it.
core::Result<void> replace_ports(int fd, std::span<const std::uint16_t> want) {
  std::vector<std::uint16_t> keys;
  std::vector<std::string> names;
  for (const std::uint16_t port : want) {
    if (port == 0) return core::fail(EINVAL, "lvs-decap: GUE port 0 is not a port: give 1-65535");
    keys.push_back(wire_port(port));
    names.push_back(std::to_string(port));
  }
  return replace_keys(fd, keys, names, LVS_DECAP_MAX_GUE_PORTS, "GUE ports");
}

std::vector<std::uint16_t> ports_in(int fd) {
  std::vector<std::uint16_t> out;
  for (const std::uint16_t k : keys_in<std::uint16_t>(fd, LVS_DECAP_MAX_GUE_PORTS)) {
    out.push_back(host_port(k));
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<core::IpAddress> addrs_in(int fd) {
  std::vector<core::IpAddress> out;
  for (const lvs_decap_addr& k : keys_in<lvs_decap_addr>(fd, LVS_DECAP_MAX_ADDRS)) {
    out.push_back(from_wire(k.family, k.addr));
  }
  return out;
}

DecapCounters counters_in(int fd) {
  const auto ncpu = static_cast<std::size_t>(libbpf_num_possible_cpus());
  std::vector<lvs_decap_stats> per_cpu(ncpu);
  const std::uint32_t zero = 0;
  DecapCounters sum;
  if (bpf_map_lookup_elem(fd, &zero, per_cpu.data()) != 0) return sum;
  for (const lvs_decap_stats& s : per_cpu) {
    sum.decapped += s.decapped;
    sum.foreign += s.foreign;
  }
  return sum;
}

core::Result<int> ifindex_of(std::string_view ifname) {
  const std::string name(ifname);
  const unsigned int idx = if_nametoindex(name.c_str());
  if (idx == 0)
    return core::fail(ENODEV, fmt::format("lvs-decap: interface '{}' does not exist", name));
  return static_cast<int>(idx);
}

// The program attached to an interface, if any, and (when it is ours) its maps.
struct Found {
  std::uint32_t prog_id = 0;
  AttachMode mode = AttachMode::kNative;
  bool ours = false;
  std::string name{};
  core::Fd vips{};
  core::Fd locals{};
  core::Fd gue_ports{};
  core::Fd stats{};
};

core::Result<Found> find(int ifindex) {
  bpf_xdp_query_opts q{};
  q.sz = sizeof(q);
  if (bpf_xdp_query(ifindex, 0, &q) != 0) return privileged("querying XDP", errno);
  Found f;
  f.prog_id = q.drv_prog_id != 0 ? q.drv_prog_id : q.skb_prog_id;
  f.mode = q.drv_prog_id != 0 ? AttachMode::kNative : AttachMode::kGeneric;
  if (f.prog_id == 0) return f;
  const core::Fd prog(bpf_prog_get_fd_by_id(f.prog_id));
  if (!prog) return privileged("opening the attached program", errno);
  std::array<std::uint32_t, 16> ids{};
  bpf_prog_info info{};
  info.nr_map_ids = static_cast<std::uint32_t>(ids.size());
  info.map_ids = reinterpret_cast<std::uintptr_t>(ids.data());  // NOLINT: the kernel's ABI
  std::uint32_t len = sizeof(info);
  if (bpf_obj_get_info_by_fd(prog.get(), &info, &len) != 0) {
    return privileged("reading the attached program", errno);
  }
  f.name = info.name;
  f.ours = f.name == kProgName;
  if (!f.ours) return f;
  const std::uint32_t n = std::min<std::uint32_t>(info.nr_map_ids, ids.size());
  for (std::uint32_t i = 0; i < n; ++i) {
    core::Fd m(bpf_map_get_fd_by_id(ids.at(i)));
    if (!m) continue;
    bpf_map_info mi{};
    std::uint32_t mlen = sizeof(mi);
    if (bpf_obj_get_info_by_fd(m.get(), &mi, &mlen) != 0) continue;
    const std::string_view mname = mi.name;
    if (mname == "decap_vips") {
      f.vips = std::move(m);
    } else if (mname == "decap_locals") {
      f.locals = std::move(m);
    } else if (mname == "decap_gue_ports") {
      f.gue_ports = std::move(m);
    } else if (mname == "decap_stats") {
      f.stats = std::move(m);
    }
  }
  if (!f.vips || !f.locals || !f.gue_ports || !f.stats) {
    return core::fail(EINVAL, fmt::format("lvs-decap: the attached program {} lacks its maps "
                                          "(another version?): detach it and attach again",
                                          f.prog_id));
  }
  return f;
}

}  // namespace

core::Result<std::unique_ptr<Decap>> Decap::load() {
  libbpf_set_print(nullptr);
  lvs_decap* skel = lvs_decap::open_and_load();
  if (skel == nullptr) return privileged("loading the decapsulation program", errno);
  return std::unique_ptr<Decap>(new Decap(skel));
}

Decap::~Decap() { lvs_decap::destroy(skel_); }

int Decap::prog_fd() const { return bpf_program__fd(skel_->progs.lvs_decap); }

core::Result<void> Decap::set_addresses(std::span<const core::IpAddress> vips,
                                        std::span<const core::IpAddress> locals) {
  if (auto r = replace_addrs(bpf_map__fd(skel_->maps.decap_vips), vips, "VIPs"); !r) return r;
  return replace_addrs(bpf_map__fd(skel_->maps.decap_locals), locals, "local addresses");
}

core::Result<void> Decap::set_gue_ports(std::span<const std::uint16_t> ports) {
  return replace_ports(bpf_map__fd(skel_->maps.decap_gue_ports), ports);
}

DecapCounters Decap::counters() const { return counters_in(bpf_map__fd(skel_->maps.decap_stats)); }

core::Result<TestRun> Decap::test_run(std::span<const std::uint8_t> frame) const {
  TestRun out;
  out.frame.resize(frame.size() + 256);
  bpf_test_run_opts opts{};
  opts.sz = sizeof(opts);
  opts.data_in = frame.data();
  opts.data_size_in = static_cast<std::uint32_t>(frame.size());
  opts.data_out = out.frame.data();
  opts.data_size_out = static_cast<std::uint32_t>(out.frame.size());
  opts.repeat = 1;
  if (bpf_prog_test_run_opts(prog_fd(), &opts) != 0) {
    return core::fail(errno, fmt::format("lvs-decap: test run failed: {}", errno_text(errno)));
  }
  out.verdict = opts.retval;
  out.frame.resize(opts.data_size_out);
  return out;
}

core::Result<AttachMode> decap_attach(std::string_view ifname,
                                      std::span<const core::IpAddress> vips,
                                      std::span<const core::IpAddress> locals,
                                      std::span<const std::uint16_t> gue_ports,
                                      AttachPolicy policy) {
  if (vips.empty()) return core::fail(EINVAL, "lvs-decap: no VIP given: name at least one");
  if (locals.empty()) {
    return core::fail(EINVAL, fmt::format("lvs-decap: {} has no address to accept tunnelled "
                                          "packets on: give one (--local ADDR)",
                                          ifname));
  }
  auto idx = ifindex_of(ifname);
  if (!idx) return core::Unexpected{idx.error()};
  auto found = find(*idx);
  if (!found) return core::Unexpected{found.error()};
  if (found->prog_id != 0) {
    if (!found->ours) {
      return core::fail(EBUSY, fmt::format("lvs-decap: {} carries another XDP program ({}, id "
                                           "{}); detach it first (ip link set dev {} xdp off)",
                                           ifname, found->name, found->prog_id, ifname));
    }
    if (auto r = replace_addrs(found->vips.get(), vips, "VIPs"); !r)
      return core::Unexpected{r.error()};
    if (auto r = replace_addrs(found->locals.get(), locals, "local addresses"); !r) {
      return core::Unexpected{r.error()};
    }
    if (auto r = replace_ports(found->gue_ports.get(), gue_ports); !r) {
      return core::Unexpected{r.error()};
    }
    return found->mode;
  }
  auto d = Decap::load();
  if (!d) return core::Unexpected{d.error()};
  if (auto r = (*d)->set_addresses(vips, locals); !r) return core::Unexpected{r.error()};
  if (auto r = (*d)->set_gue_ports(gue_ports); !r) return core::Unexpected{r.error()};
  const int prog = (*d)->prog_fd();
  int native_err = 0;
  if (policy != AttachPolicy::kGeneric) {
    if (bpf_xdp_attach(*idx, prog, XDP_FLAGS_DRV_MODE | XDP_FLAGS_UPDATE_IF_NOEXIST, nullptr) ==
        0) {
      return AttachMode::kNative;
    }
    native_err = errno;
    if (policy == AttachPolicy::kNative || native_err == EPERM || native_err == EBUSY) {
      return privileged(fmt::format("attaching to {} in native mode", ifname), native_err);
    }
  }
  if (bpf_xdp_attach(*idx, prog, XDP_FLAGS_SKB_MODE | XDP_FLAGS_UPDATE_IF_NOEXIST, nullptr) != 0) {
    return privileged(fmt::format("attaching to {} in generic mode", ifname), errno);
  }
  return AttachMode::kGeneric;
}

core::Result<bool> decap_detach(std::string_view ifname) {
  auto idx = ifindex_of(ifname);
  if (!idx) return core::Unexpected{idx.error()};
  auto found = find(*idx);
  if (!found) return core::Unexpected{found.error()};
  if (found->prog_id == 0) return false;
  if (!found->ours) {
    return core::fail(EBUSY, fmt::format("lvs-decap: {} carries another XDP program ({}, id {}); "
                                         "left alone",
                                         ifname, found->name, found->prog_id));
  }
  // Only this program: another attached meanwhile stays.
  bpf_xdp_attach_opts o{};
  o.sz = sizeof(o);
  const core::Fd prog(bpf_prog_get_fd_by_id(found->prog_id));
  o.old_prog_fd = prog.get();
  const std::uint32_t flags =
      (found->mode == AttachMode::kGeneric ? XDP_FLAGS_SKB_MODE : XDP_FLAGS_DRV_MODE) |
      XDP_FLAGS_REPLACE;
  if (bpf_xdp_detach(*idx, flags, &o) != 0) {
    return privileged(fmt::format("detaching from {}", ifname), errno);
  }
  return true;
}

core::Result<DecapStatus> decap_status(std::string_view ifname) {
  auto idx = ifindex_of(ifname);
  if (!idx) return core::Unexpected{idx.error()};
  auto found = find(*idx);
  if (!found) return core::Unexpected{found.error()};
  DecapStatus s;
  if (found->prog_id == 0 || !found->ours) return s;
  s.installed = true;
  s.prog_id = found->prog_id;
  s.mode = found->mode;
  s.vips = addrs_in(found->vips.get());
  s.locals = addrs_in(found->locals.get());
  s.gue_ports = ports_in(found->gue_ports.get());
  s.counters = counters_in(found->stats.get());
  return s;
}

core::Result<std::vector<core::IpAddress>> interface_addresses(std::string_view ifname) {
  if (auto idx = ifindex_of(ifname); !idx) return core::Unexpected{idx.error()};
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) {
    return core::fail(errno, fmt::format("lvs-decap: listing addresses: {}", errno_text(errno)));
  }
  std::vector<core::IpAddress> out;
  for (const ifaddrs* a = list; a != nullptr; a = a->ifa_next) {
    if (a->ifa_addr == nullptr || ifname != a->ifa_name) continue;
    if (a->ifa_addr->sa_family == AF_INET) {
      sockaddr_in sin{};
      std::memcpy(&sin, a->ifa_addr, sizeof(sin));
      out.push_back(core::IpAddress::v4(ntohl(sin.sin_addr.s_addr)));
    } else if (a->ifa_addr->sa_family == AF_INET6) {
      sockaddr_in6 sin6{};
      std::memcpy(&sin6, a->ifa_addr, sizeof(sin6));
      std::array<std::uint8_t, 16> b{};
      std::memcpy(b.data(), &sin6.sin6_addr, 16);
      out.push_back(core::IpAddress::v6(b));
    }
  }
  freeifaddrs(list);
  return out;
}

}  // namespace lvs::dp::xdp
