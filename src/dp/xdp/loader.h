#pragma once
// The XDP engine's loader and map manager (libbpf): loads the embedded BPF program, writes the
// service table into its maps (all-or-nothing, through the bank flip described in
// bpf/maps.h), attaches to interfaces (native XDP, generic as the fallback) and detaches on
// destruction, and sums the per-CPU counters. Needs root (CAP_BPF + CAP_NET_ADMIN).

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "conn/state.h"
#include "conn/stats.h"
#include "core/fd.h"
#include "core/result.h"
#include "dp/data_plane.h"
#include "dp/xdp/bpf/maps.h"
#include "dp/xdp/plan.h"
#include "model/service.h"
#include "sync/codec.h"

struct lvs_xdp;  // the generated skeleton (lvs_xdp.skel.h)
struct bpf_map;  // libbpf

namespace lvs::dp::xdp {

// One run of the program over a frame (bpf_prog_test_run_opts): the verdict (XDP_PASS,
// XDP_DROP, XDP_TX, XDP_REDIRECT...) and the frame as the program left it.
struct TestRun {
  std::uint32_t verdict = 0;
  std::vector<std::uint8_t> frame{};
};

enum class AttachMode : std::uint8_t { kNative, kGeneric };
// What attach() tries: native then generic (kAuto), or only the one mode.
enum class AttachPolicy : std::uint8_t { kAuto, kNative, kGeneric };

class Engine final : public DataPlane {
 public:
  struct LoadOptions {
    // Entries of the connection LRU (two per flow). The kernel allocates them at load time:
    // about 150 bytes each (measured with bpftool map show, memlock).
    std::uint32_t max_conns = LVS_XDP_MAX_CONNS;
    // Cluster mode (lvsd --cluster-seed; LVS_XDP_CFG_CLUSTER): a TCP segment other than a SYN
    // of a flow without an entry is scheduled when its service is mh built with the cluster
    // seed and its realserver is -g or -i, else dropped and counted (midstream_dropped()),
    // never passed to the kernel. Off: such segments pass, as IPVS lets them.
    bool cluster = false;
  };
  static constexpr std::uint32_t kMinConns = 1024;
  static constexpr std::uint32_t kMaxConns = 16U * 1024 * 1024;

  // Loads the program and creates its maps. EPERM names the missing privilege.
  static core::Result<std::unique_ptr<Engine>> load(const LoadOptions& options);
  static core::Result<std::unique_ptr<Engine>> load() { return load(LoadOptions{}); }
  ~Engine() override;
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  core::Result<void> apply(const model::ServiceTable& table) override;
  Stats stats() const override;
  std::vector<ConnEntry> connections() const override;
  void set_timeouts(const IdleTimeouts& timeouts) override;

  // Removes the entries idle longer than their state's timeout at `now_ns` (CLOCK_MONOTONIC;
  // the program stamps with its coarse twin, at most a tick behind) and resets every realserver's
  // lc/wlc load to the live entries it counted on the way (loader.cc: why it cannot drift). The
  // owner calls it periodically (about once a second); returns the flows removed.
  std::size_t expire(std::uint64_t now_ns);

  // The 2 s rate estimator (spec §1.4, conn::RateEstimator) over the per-CPU counters summed:
  // one estimator period for each call that finds a full 2 s passed since the last period
  // (the first call only sets the origin). The owner calls it with expire() (lvsd: the expire
  // timer, under DualDataPlane's mutex); stats() reports the estimates.
  void estimate_rates(std::uint64_t now_ns);
  // `-Z`: restarts the estimators of one service (and its realservers) or of all from 0.
  void zero_rates(const std::optional<model::ServiceKey>& only) override;

  // Attaches to `ifname` in native mode, falling back to generic mode with a log line (kAuto),
  // or in the one mode `policy` names. Detached (in the mode it was attached) on destruction.
  core::Result<AttachMode> attach(std::string_view ifname,
                                  AttachPolicy policy = AttachPolicy::kAuto);

  // attach() for lvsd, which owns the interface's XDP hook while it runs: holds an flock'ed
  // file `lock_dir`/<netns inode>-<ifindex>.lock (holding our pid) until destruction. When the
  // interface already has a program named lvs_xdp and nobody holds that lock, the lvsd that
  // attached it is gone (kill -9): that program is detached and ours attached. Refused with
  // a message naming the pid when another lvsd holds the lock, and naming the program when it
  // is not lvsd's.
  core::Result<AttachMode> attach_owned(std::string_view ifname, AttachPolicy policy,
                                        const std::string& lock_dir);

  // Stand by (lvsd: the followed VRRP instance is BACKUP, FAULT or STOP) or serve. Standing
  // by, the program opens no flow: a packet of no live flow passes to the kernel untouched,
  // counted in standby_passed(); packets of live flows (synced ones) are still forwarded
  // (bpf/maps.h LVS_XDP_CFG_STANDBY: why); apply(), sync imports, expire() and the loads work
  // as when serving, so the table and the flows stay warm. Fails only if the config map refuses the
  // write (the old mode then stays).
  core::Result<void> set_standby(bool standby);
  bool standby() const { return standby_; }
  std::uint64_t standby_passed() const;

  // Whether the program is still attached to every interface it was attached to (health.h
  // hook_problem); one "xdp" answer, none before the first attach.
  std::vector<EngineHealth> health(core::TimePoint now) const override;
  // Attaches the program again, in the mode it had, to every interface whose hook is empty
  // (someone ran `ip link set dev X xdp off`), logging each; another program in its place is
  // left alone (health() names it). The owner calls it periodically (lvsd: its health timer).
  // Returns the interfaces attached again.
  std::size_t reattach();

  // Runs the program once over `frame` without any network (root only).
  core::Result<TestRun> test_run(std::span<const std::uint8_t> frame) const;

  // Map access for tests: the raw connection entries (both directions).
  std::vector<std::pair<lvs_conn_key, lvs_conn>> raw_connections() const;
  std::vector<std::pair<lvs_tpl_key, lvs_tpl>> raw_templates() const;
  core::Result<void> put_raw_connection(const lvs_conn_key& key, const lvs_conn& value);
  core::Result<void> put_raw_template(const lvs_tpl_key& key, const lvs_tpl& value);
  // Engine-wide counters: new flows refused (no realserver), rewritten packets handed to the
  // kernel (next hop not resolved yet).
  // The lc/wlc load the program reads for a realserver (counted minus released).
  lvs_dest_load load_of(const model::ServiceKey& service, const core::Endpoint& dest) const;
  std::uint64_t refused() const;
  std::uint64_t passed() const;
  // Every engine-wide counter of bpf/maps.h lvs_global, summed over the CPUs (one map read).
  lvs_global totals() const { return global(); }
  // Tunnel (-i) packets dropped: no resolved next hop to the realserver, or over the MTU.
  std::uint64_t tun_dropped() const;

  // Connection sync (src/sync, implemented in sync_bridge.cc). The live flows and persistence
  // templates as addresses (not counter slots, which differ between directors), with the
  // seconds each has left at `now_ns` (CLOCK_MONOTONIC).
  std::vector<sync::Entry> sync_entries(std::uint64_t now_ns) const;
  // Writes a received flow (forward and reply entries, counted in its realserver's lc/wlc
  // load) or template with this engine's own slots, expiring when it would on the sender.
  // Fails naming the entry when this director has no such service or realserver.
  core::Result<void> sync_import(const sync::Entry& entry, std::uint64_t now_ns);

  // Direct routing: frames dropped for a realserver whose MAC was not known yet, and for one
  // with no route (bpf/maps.h, lvs_global).
  std::uint64_t unresolved() const;
  std::uint64_t unrouted() const;
  // Cluster mode: TCP segments of unknown flows dropped rather than scheduled (LoadOptions).
  std::uint64_t midstream_dropped() const;

  // Direct routing: when frames were dropped for an unknown neighbour since the last call,
  // asks the kernel to resolve every direct-routing realserver (neigh.h), so the client's
  // retransmission finds the MAC. The owner calls it with expire(); apply() nudges the
  // direct-routing realservers it adds. Returns the realservers nudged.
  std::size_t resolve_neighbours();

  // Runs the program once over `frame` as if it came in on interface `ingress_ifindex`.
  core::Result<TestRun> test_run(std::span<const std::uint8_t> frame,
                                 std::uint32_t ingress_ifindex) const;

 private:
  Engine(lvs_xdp* skel, bool cluster);
  core::Result<void> write_config(std::uint32_t bank);
  lvs_global global() const;
  // The rr/wrr cursor a service starts from in the bank being written (plan.h carried_cursor).
  std::uint32_t carried_cursor_of(const model::VirtualService& vs, const SchedSlots& slots) const;
  // Makes the load the program reads for a realserver slot equal `load`.
  void set_load(std::uint32_t slot, const lvs_dest_load& load);
  // The per-CPU counters of a slot of `svc_stats` or `dest_stats`, summed.
  lvs_counters summed(const bpf_map* map, std::uint32_t slot) const;
  // The service of a counter slot in the current table, or null.
  const model::VirtualService* service_at(std::uint32_t svc_stat) const;

  using DestId = std::pair<model::ServiceKey, core::Endpoint>;

  // Asks the kernel to resolve `addrs` (direct routing); failures are logged at debug.
  static std::size_t nudge(const std::vector<core::IpAddress>& addrs);
  std::vector<core::IpAddress> route_dests() const;

  lvs_xdp* skel_ = nullptr;
  std::uint32_t bank_ = 0;
  bool cluster_ = false;               // LoadOptions::cluster, written into lvs_config.flags
  bool standby_ = false;               // set_standby(), written into lvs_config.flags
  std::uint32_t prog_id_ = 0;          // the kernel's id of our program (health())
  std::uint64_t unresolved_seen_ = 0;  // unresolved() at the last resolve_neighbours()
  conn::Timeouts timeouts_{};
  model::ServiceTable table_{};
  // Connection sync: the last_seen_ns sync_import wrote per received entry (kind, protocol,
  // client, VIP). sync_entries leaves out an entry still carrying it: a flow this director got
  // from the peer and has not forwarded itself is not sent back (IPVS syncs a connection from
  // the director its packets pass), so the two directors' masters do not echo each other's
  // flows, older state overwriting newer. Pruned by sync_entries (hence mutable: the source
  // hook runs it under the dual data plane's lock, like every engine call).
  using SyncKey = std::tuple<sync::EntryKind, std::uint8_t, core::Endpoint, core::Endpoint>;
  mutable std::map<SyncKey, std::uint64_t> imported_{};
  // Stable counter slots, kept across applies so counters survive a reload.
  std::map<model::ServiceKey, std::uint32_t> svc_slots_{};
  std::map<DestId, std::uint32_t> dest_slots_{};
  // The service keys each bank holds, deleted before the bank is rewritten.
  std::array<std::vector<lvs_svc_key>, 2> bank_keys_{};
  struct Attached {
    int ifindex = 0;
    std::string name{};
    AttachMode mode = AttachMode::kNative;
  };
  // The kernel's view of one attachment (health.h).
  XdpHook hook(const Attached& a) const;
  std::vector<Attached> attached_{};
  // attach_owned()'s interface locks, released after the detaches (members outlive ~Engine's
  // body).
  struct Lock {
    std::string path{};
    core::Fd fd{};
  };
  std::vector<Lock> locks_{};
  // Rate estimators (conns, inpkts, outpkts, inbytes, outbytes) by counter slot; a fresh slot
  // starts from {} as its counters start from 0.
  using Estimators = std::array<conn::RateEstimator, 5>;
  std::map<std::uint32_t, Estimators> svc_rates_{};
  std::map<std::uint32_t, Estimators> dest_rates_{};
  std::optional<std::uint64_t> next_period_ns_{};
  // Each service's rr/wrr cycle as last applied, to carry its cursor over.
  std::map<model::ServiceKey, Cycle> cycles_{};
};

}  // namespace lvs::dp::xdp
