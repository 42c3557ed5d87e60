#pragma once
// The realserver's half of tunnelling (-i): the decapsulation program (bpf/lvs_decap.bpf.c)
// and its installer. This kernel has no IPIP, FOU/GUE or GRE device, so a realserver strips
// the director's outer headers (IPIP, GRE, and GUE to the ports it is given) in XDP; the program
// stays attached after the installer exits (a netlink XDP attachment), and holds its maps, which
// the installer finds again by the program's id to reconfigure it, report it or detach it. Needs
// root (CAP_BPF + CAP_NET_ADMIN).

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/endpoint.h"
#include "core/result.h"
#include "dp/xdp/bpf/decap.h"
#include "dp/xdp/loader.h"

struct lvs_decap;  // the generated skeleton (lvs_decap.skel.h)

namespace lvs::dp::xdp {

struct DecapCounters {
  std::uint64_t decapped = 0;  // stripped and handed to the stack
  std::uint64_t foreign = 0;   // tunnelled, but not to a local address and a VIP: left alone

  bool operator==(const DecapCounters&) const = default;
};

// What is installed on an interface.
struct DecapStatus {
  bool installed = false;  // our program is attached
  std::uint32_t prog_id = 0;
  AttachMode mode = AttachMode::kNative;
  std::vector<core::IpAddress> vips{};
  std::vector<core::IpAddress> locals{};   // outer destinations accepted
  std::vector<std::uint16_t> gue_ports{};  // UDP ports GUE is stripped on, ascending
  DecapCounters counters{};
};

// A loaded (not attached) decapsulation program: packet tests run frames through it.
class Decap {
 public:
  static core::Result<std::unique_ptr<Decap>> load();
  ~Decap();
  Decap(const Decap&) = delete;
  Decap& operator=(const Decap&) = delete;

  // Replaces the VIPs (inner destinations) and local addresses (outer destinations).
  core::Result<void> set_addresses(std::span<const core::IpAddress> vips,
                                   std::span<const core::IpAddress> locals);
  // Replaces the UDP ports GUE is accepted on (none: GUE is not stripped).
  core::Result<void> set_gue_ports(std::span<const std::uint16_t> ports);
  core::Result<TestRun> test_run(std::span<const std::uint8_t> frame) const;
  DecapCounters counters() const;
  // The program, for attaching it.
  int prog_fd() const;

 private:
  explicit Decap(lvs_decap* skel) : skel_(skel) {}
  lvs_decap* skel_ = nullptr;
};

// Installs the program on `ifname` (native XDP, generic as the fallback under kAuto) with these
// VIPs, local addresses and GUE ports; when it is installed already, only those are replaced
// (in place: no packet sees an empty table). Refuses an interface that carries another
// program.
core::Result<AttachMode> decap_attach(std::string_view ifname,
                                      std::span<const core::IpAddress> vips,
                                      std::span<const core::IpAddress> locals,
                                      std::span<const std::uint16_t> gue_ports = {},
                                      AttachPolicy policy = AttachPolicy::kAuto);
// Removes it; false when it was not installed. Refuses to remove another program.
core::Result<bool> decap_detach(std::string_view ifname);
core::Result<DecapStatus> decap_status(std::string_view ifname);
// The interface's IPv4 and IPv6 addresses (the default local addresses).
core::Result<std::vector<core::IpAddress>> interface_addresses(std::string_view ifname);

}  // namespace lvs::dp::xdp
