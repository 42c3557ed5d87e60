// The XDP engine's pure half: its C state tables equal the C++ ones, the scheduling slots it
// writes equal the C++ schedulers' choices, and what it cannot do yet is refused by name.
#include "dp/xdp/plan.h"

#include <gtest/gtest.h>

#include <deque>

#include "conn/state.h"
#include "dp/xdp/bpf/tcp_state.h"
#include "model/dest_load.h"
#include "sched/hash.h"
#include "sched/mh.h"
#include "sched/registry.h"

namespace lvs::dp::xdp {
namespace {

model::RealServer masq(const char* addr, std::int32_t weight = 1) {
  model::RealServer r;
  r.addr = core::Endpoint::parse(addr).value();
  r.forward = model::ForwardMethod::kMasq;
  r.weight = weight;
  r.last_weight = weight > 0 ? weight : 1;
  return r;
}

model::VirtualService service(const char* sched, std::vector<model::RealServer> dests,
                              model::Protocol p = model::Protocol::kTcp) {
  model::VirtualService vs;
  vs.key = model::ServiceKey::address(p, core::Endpoint::parse("192.0.2.1:80").value());
  vs.scheduler = sched;
  vs.dests = std::move(dests);
  return vs;
}

TEST(XdpTcpStates, EveryCellEqualsTheCppTable) {
  const conn::TcpTable tables[] = {conn::TcpTable::kInput, conn::TcpTable::kOutput,
                                   conn::TcpTable::kInputOnly};
  const conn::TcpEvent events[] = {conn::TcpEvent::kSyn, conn::TcpEvent::kFin, conn::TcpEvent::kAck,
                                   conn::TcpEvent::kRst};
  for (std::uint32_t t = 0; t < 3; ++t) {
    for (std::uint32_t e = 0; e < 4; ++e) {
      for (std::uint32_t s = 0; s < conn::kTcpStateCount; ++s) {
        const auto want = static_cast<std::uint32_t>(
            conn::next_tcp_state(tables[t], events[e], static_cast<conn::ConnState>(s)));
        EXPECT_EQ(lvs_tcp_next_state(t, e, s), want)
            << "table " << t << " event " << e << " state " << s;
      }
    }
  }
}

TEST(XdpTcpStates, EventsTimeoutsAndActiveEqualTheCppOnes) {
  for (std::uint32_t f = 0; f < 256; ++f) {
    const auto flags = static_cast<std::uint8_t>(f);
    EXPECT_EQ(lvs_tcp_event(flags), static_cast<std::uint32_t>(conn::classify(flags))) << f;
  }
  const conn::Timeouts defaults;
  for (std::uint32_t s = 0; s < conn::kStateCount; ++s) {
    const auto st = static_cast<conn::ConnState>(s);
    EXPECT_EQ(lvs_default_timeout_s[s], static_cast<std::uint32_t>(defaults.of(st).count()));
    EXPECT_EQ(lvs_tcp_state_active(s) != 0, conn::is_active(st)) << s;
  }
}

// The C++ scheduler's picks for `n` new flows from a fresh start.
std::vector<std::uint32_t> cpp_picks(const model::VirtualService& vs, std::size_t n) {
  std::deque<model::DestLoad> loads;
  std::vector<sched::Dest> dests;
  for (const auto& r : vs.dests) {
    loads.emplace_back();
    dests.push_back(
        {.addr = r.addr, .weight = r.weight, .last_weight = r.last_weight, .load = &loads.back()});
  }
  auto s = sched::make_scheduler(vs.scheduler).value();
  EXPECT_TRUE(s->rebuild(dests, {}).ok());
  std::vector<std::uint32_t> out;
  for (std::size_t i = 0; i < n; ++i) {
    const auto p = s->pick({.dests = dests, .flow = {}, .flags = 0, .now = {}});
    out.push_back(p ? static_cast<std::uint32_t>(*p) : LVS_XDP_NO_DEST);
  }
  return out;
}

TEST(XdpSchedSlots, WrrCycleIsTheSchedulersSequence) {
  const auto vs = service("wrr", {masq("10.0.0.1:80", 4), masq("10.0.0.2:80", 3),
                                  masq("10.0.0.3:80", 2), masq("10.0.0.4:80", 0)});
  const auto slots = sched_slots(vs).value();
  EXPECT_EQ(slots.kind, LVS_XDP_SCHED_CYCLE);
  ASSERT_EQ(slots.slots.size(), 9U);  // 4 + 3 + 2 picks per cycle
  // A cursor walking the cycle twice gives exactly the scheduler's first 18 picks.
  const auto want = cpp_picks(vs, 18);
  for (std::size_t i = 0; i < want.size(); ++i) EXPECT_EQ(slots.slots[i % 9], want[i]) << i;
}

TEST(XdpSchedSlots, RrSkipsQuiescedAndAllQuiescedGivesNoSlots) {
  const auto vs = service("rr", {masq("10.0.0.1:80"), masq("10.0.0.2:80", 0), masq("10.0.0.3:80")});
  EXPECT_EQ(sched_slots(vs).value().slots, (std::vector<std::uint32_t>{0, 2}));
  const auto none = service("rr", {masq("10.0.0.1:80", 0)});
  EXPECT_TRUE(sched_slots(none).value().slots.empty());
}

TEST(XdpSchedSlots, ShBucketsGiveTheSchedulersPickForAnyClient) {
  auto vs = service("sh", {masq("10.0.0.1:80"), masq("10.0.0.2:80", 2), masq("10.0.0.3:80", 0)});
  const auto slots = sched_slots(vs).value();
  ASSERT_EQ(slots.slots.size(), LVS_HASH_BUCKETS);
  std::deque<model::DestLoad> loads;
  std::vector<sched::Dest> dests;
  for (const auto& r : vs.dests) {
    loads.emplace_back();
    dests.push_back(
        {.addr = r.addr, .weight = r.weight, .last_weight = r.last_weight, .load = &loads.back()});
  }
  auto s = sched::make_scheduler("sh").value();
  ASSERT_TRUE(s->rebuild(dests, {}).ok());
  // Clients the program would hash: their bucket's slot must be the scheduler's pick.
  for (std::uint32_t a = 0x0A000000U; a < 0x0A000000U + 2000U; a += 7U) {
    sched::Flow flow{};
    flow.client = {.addr = core::IpAddress::v4(a), .port = 1234};
    const auto p = s->pick({.dests = dests, .flow = flow, .flags = 0, .now = {}});
    EXPECT_EQ(slots.slots.at(lvs_hash_bucket(a, 0U, 0U)),
              p ? static_cast<std::uint32_t>(*p) : LVS_XDP_NO_DEST);
  }
}

TEST(XdpSchedSlots, MhSlotsAreTheMaglevTable) {
  const auto vs =
      service("mh", {masq("10.0.0.1:80", 3), masq("10.0.0.2:80", 1), masq("10.0.0.3:80", 2)});
  const auto slots = sched_slots(vs).value();
  EXPECT_EQ(slots.kind, LVS_XDP_SCHED_MAGLEV);
  std::deque<model::DestLoad> loads;
  std::vector<sched::Dest> dests;
  for (const auto& r : vs.dests) {
    loads.emplace_back();
    dests.push_back(
        {.addr = r.addr, .weight = r.weight, .last_weight = r.last_weight, .load = &loads.back()});
  }
  const auto table = sched::maglev_table(dests);
  ASSERT_EQ(slots.slots.size(), table.size());
  for (std::size_t i = 0; i < table.size(); ++i) EXPECT_EQ(slots.slots[i], table[i]) << i;
}

// Cluster mode (lvsd --cluster-seed): the slots are the seeded, sorted Maglev table, so two
// directors that added the same realservers in different orders write slots naming the same
// realserver; without a seed they would not.
TEST(XdpSchedSlots, MhClusterSeedGivesTheSameRealserverPerSlotInAnyOrder) {
  auto a = service(
      "mh", {masq("10.0.0.1:80"), masq("10.0.0.2:80"), masq("10.0.0.3:80"), masq("10.0.0.4:80")});
  auto b = service(
      "mh", {masq("10.0.0.3:80"), masq("10.0.0.1:80"), masq("10.0.0.4:80"), masq("10.0.0.2:80")});
  const auto owners = [](const model::VirtualService& vs) {
    std::vector<core::Endpoint> out;
    const SchedSlots slots = sched_slots(vs).value();
    for (const std::uint32_t i : slots.slots) out.push_back(vs.dests.at(i).addr);
    return out;
  };
  EXPECT_NE(owners(a), owners(b));
  a.cluster_seed = 7;
  b.cluster_seed = 7;
  EXPECT_EQ(owners(a), owners(b));
}

// Only an mh service built with the cluster seed may schedule mid-stream segments in cluster
// mode (LVS_XDP_SVC_CLUSTER); the flag leaves the hash-port bit alone.
TEST(XdpSchedSlots, TheClusterFlagMarksSeededMhServicesOnly) {
  auto mh = service("mh", {masq("10.0.0.1:80"), masq("10.0.0.2:80")});
  EXPECT_EQ(sched_slots(mh).value().flags, 0U);
  mh.cluster_seed = 7;
  EXPECT_EQ(sched_slots(mh).value().flags, LVS_XDP_SVC_CLUSTER);
  mh.sched_flags = model::sched_flag::kShPort;
  EXPECT_EQ(sched_slots(mh).value().flags, LVS_XDP_SVC_CLUSTER | LVS_XDP_SVC_HASH_PORT);
  auto sh = service("sh", {masq("10.0.0.1:80")});
  sh.cluster_seed = 7;  // the Director stamps mh only; even so, sh gives no cluster-wide choice
  EXPECT_EQ(sched_slots(sh).value().flags & LVS_XDP_SVC_CLUSTER, 0U);
}

TEST(XdpCheckService, RefusesWhatTheEngineCannotDoByName) {
  auto sed = service("sed", {masq("10.0.0.1:80")});
  EXPECT_EQ(check_service(sed).error().message,
            "service TCP 192.0.2.1:80: scheduler 'sed' (rr wrr lc wlc sh dh mh are) is not "
            "supported by the XDP engine yet; serve it with the user-space engine");
  auto fnat = service("rr", {masq("10.0.0.1:80")});
  fnat.dests[0].forward = model::ForwardMethod::kFullNat;
  EXPECT_EQ(check_service(fnat).error().message,
            "service TCP 192.0.2.1:80: FullNat forwarding of realserver 10.0.0.1:80 (masquerading "
            "-m, direct routing -g and tunnelling -i are) is not supported by the XDP engine yet; "
            "serve it with the user-space engine");
  auto dr = service("rr", {masq("10.0.0.1:80")});
  dr.dests[0].forward = model::ForwardMethod::kRoute;
  EXPECT_TRUE(check_service(dr).ok());
  dr.dests[0].addr = *core::Endpoint::parse("[2001:db8::1]:80");
  EXPECT_EQ(check_service(dr).error().message,
            "service TCP 192.0.2.1:80: realserver [2001:db8::1]:80 is of the other address "
            "family; direct routing does not translate between IPv4 and IPv6");
  auto p = service("rr", {masq("10.0.0.1:80")});
  p.persistent = true;
  EXPECT_TRUE(check_service(p).ok());
  auto big = service("wrr", {masq("10.0.0.1:80", 5000), masq("10.0.0.2:80", 1)});
  EXPECT_TRUE(check_service(big).ok());
  EXPECT_EQ(sched_slots(big).error().code, E2BIG);
  EXPECT_TRUE(check_service(service("mh", {masq("10.0.0.1:80")}, model::Protocol::kUdp)).ok());
}

// The cycle of `vs` as apply() records it.
Cycle cycle(const model::VirtualService& vs) { return cycle_of(vs, sched_slots(vs).value()); }

// The realserver the cursor's next pick lands on.
std::string next_pick(const Cycle& c, std::uint32_t cursor) {
  return c.dests.at(c.slots.at(cursor % c.slots.size())).to_string();
}

TEST(XdpCarriedCursor, AnUnchangedCycleGoesOnWhereItWas) {
  const Cycle rr = cycle(service("rr", {masq("10.0.0.1:80"), masq("10.0.0.2:80")}));
  EXPECT_EQ(carried_cursor(rr, 5, rr), 1U);
  // rr: a weight change leaves the cycle alone (the kernel's rr never looks at weights > 0).
  const Cycle heavier = cycle(service("rr", {masq("10.0.0.1:80", 4), masq("10.0.0.2:80")}));
  EXPECT_EQ(carried_cursor(rr, 5, heavier), 1U);
  const Cycle wrr = cycle(service("wrr", {masq("10.0.0.1:80", 2), masq("10.0.0.2:80")}));
  EXPECT_EQ(carried_cursor(wrr, 2, wrr), 2U);
}

TEST(XdpCarriedCursor, ChangedRrGoesOnAfterTheRealserverPickedLast) {
  const Cycle abc =
      cycle(service("rr", {masq("10.0.0.1:80"), masq("10.0.0.2:80"), masq("10.0.0.3:80")}));
  // 4 picks: .1 .2 .3 .1; a new realserver (listed first) changes the cycle, .2 comes next.
  const Cycle dabc = cycle(service(
      "rr", {masq("10.0.0.4:80"), masq("10.0.0.1:80"), masq("10.0.0.2:80"), masq("10.0.0.3:80")}));
  EXPECT_EQ(next_pick(dabc, carried_cursor(abc, 4, dabc)), "10.0.0.2:80");
  // 2 picks: .1 .2; .2 goes: the pointer steps back to .1, so .3 comes next (kernel rr).
  const Cycle ac = cycle(service("rr", {masq("10.0.0.1:80"), masq("10.0.0.3:80")}));
  EXPECT_EQ(next_pick(ac, carried_cursor(abc, 2, ac)), "10.0.0.3:80");
  // Nothing picked yet: from the start.
  EXPECT_EQ(carried_cursor(abc, 0, dabc), 0U);
}

TEST(XdpCarriedCursor, ChangedWrrAndAChangedSchedulerStartAfresh) {
  const Cycle w21 = cycle(service("wrr", {masq("10.0.0.1:80", 2), masq("10.0.0.2:80")}));
  const Cycle w31 = cycle(service("wrr", {masq("10.0.0.1:80", 3), masq("10.0.0.2:80")}));
  EXPECT_EQ(carried_cursor(w21, 2, w31), 0U);  // the kernel's wrr restarts on a change
  const Cycle rr = cycle(service("rr", {masq("10.0.0.1:80", 2), masq("10.0.0.2:80")}));
  EXPECT_EQ(carried_cursor(w21, 1, rr), 0U);
  const Cycle lc = cycle(service("lc", {masq("10.0.0.1:80")}));
  EXPECT_EQ(carried_cursor(lc, 7, lc), 0U);  // no cycle at all
}

// Tunnelling: IPIP, GUE and GRE in the service's family are served, with lvs_dest.method
// TUNNEL and the encapsulation in dest_tun; --tun-remcsum, GUE without a port, the other family
// and another port are refused by name.
TEST(XdpCheckService, TunnelsIpipGueGreInTheServicesFamily) {
  auto tun = service("rr", {masq("198.51.100.10:80")});
  tun.dests[0].forward = model::ForwardMethod::kTunnel;
  EXPECT_TRUE(check_service(tun).ok());
  EXPECT_EQ(wire_method(model::ForwardMethod::kTunnel), LVS_XDP_TUNNEL);
  EXPECT_EQ(wire_method(model::ForwardMethod::kMasq), LVS_XDP_MASQ);
  struct Case {
    model::TunnelType type;
    std::uint16_t port;
    model::TunnelCsum csum;
    lvs_dest_tun wire;
  };
  for (const Case& c : {
           Case{model::TunnelType::kIpip, 0, model::TunnelCsum::kNoCsum, {0, 0, 0}},
           Case{model::TunnelType::kGue,
                6080,
                model::TunnelCsum::kNoCsum,
                {LVS_XDP_TUN_GUE, 0, wire_port(6080)}},
           Case{model::TunnelType::kGue,
                6080,
                model::TunnelCsum::kCsum,
                {LVS_XDP_TUN_GUE, LVS_XDP_TUN_CSUM, wire_port(6080)}},
           Case{model::TunnelType::kGre, 0, model::TunnelCsum::kNoCsum, {LVS_XDP_TUN_GRE, 0, 0}},
           Case{model::TunnelType::kGre,
                0,
                model::TunnelCsum::kCsum,
                {LVS_XDP_TUN_GRE, LVS_XDP_TUN_CSUM, 0}},
       }) {
    auto vs = tun;
    vs.dests[0].tun_type = c.type;
    vs.dests[0].tun_port = c.port;
    vs.dests[0].tun_csum = c.csum;
    EXPECT_TRUE(check_service(vs).ok()) << static_cast<int>(c.type);
    const lvs_dest_tun w = wire_tun(vs.dests[0]);
    EXPECT_EQ(w.type, c.wire.type);
    EXPECT_EQ(w.flags, c.wire.flags);
    EXPECT_EQ(w.port, c.wire.port);
  }
  auto masq_tun = service("rr", {masq("198.51.100.10:80")});
  masq_tun.dests[0].tun_type = model::TunnelType::kGre;  // ignored: not a tunnel realserver
  EXPECT_EQ(wire_tun(masq_tun.dests[0]).type, LVS_XDP_TUN_IPIP);
  auto remcsum = tun;
  remcsum.dests[0].tun_type = model::TunnelType::kGue;
  remcsum.dests[0].tun_port = 6080;
  remcsum.dests[0].tun_csum = model::TunnelCsum::kRemCsum;
  EXPECT_EQ(check_service(remcsum).error().message,
            "service TCP 192.0.2.1:80: realserver 198.51.100.10:80 has --tun-remcsum (remote "
            "checksum offload), which the XDP engine does not build; give it --tun-csum or "
            "--tun-nocsum, or serve it with the user-space engine");
  auto no_port = tun;
  no_port.dests[0].tun_type = model::TunnelType::kGue;
  EXPECT_EQ(check_service(no_port).error().message,
            "service TCP 192.0.2.1:80: realserver 198.51.100.10:80 tunnels with GUE but has no "
            "UDP port; give it --tun-port PORT (the port its lvs-decap --gue-port listens on)");
  auto v6 = tun;
  v6.dests[0].addr = core::Endpoint::parse("[2001:db8::10]:80").value();
  EXPECT_EQ(check_service(v6).error().message,
            "service TCP 192.0.2.1:80: tunnelling between address families (realserver "
            "[2001:db8::10]:80 for a IPv4 service; IPv4 in IPv4 and IPv6 in IPv6 are) is not "
            "supported by the XDP engine yet; serve it with the user-space engine");
  auto port = tun;
  port.dests[0].addr.port = 8080;
  EXPECT_EQ(check_service(port).error().message,
            "service TCP 192.0.2.1:80: tunnelled realserver 198.51.100.10:8080 has port 8080; a "
            "tunnelled packet keeps the service port 80, so give the realserver that port");
}

// Direct routing keeps the packet's port: a -g realserver's flows go to the service port
// whatever port it was given (spec §1.2); masquerading keeps its own.
TEST(XdpPlan, DirectRoutingDestPortIsTheServicePort) {
  auto vs = service("rr", {masq("10.0.0.1:8080"), masq("10.0.0.2:8080")});
  vs.dests[0].forward = model::ForwardMethod::kRoute;
  EXPECT_EQ(host_port(wire_dest_port(vs, vs.dests[0])), 80);
  EXPECT_EQ(host_port(wire_dest_port(vs, vs.dests[1])), 8080);
  EXPECT_EQ(wire_method(vs.dests[0].forward), LVS_XDP_ROUTE);
  EXPECT_EQ(wire_method(vs.dests[1].forward), LVS_XDP_MASQ);
  EXPECT_TRUE(serves(model::ForwardMethod::kRoute));
  EXPECT_TRUE(serves(model::ForwardMethod::kTunnel));
  EXPECT_FALSE(serves(model::ForwardMethod::kFullNat));
}

}  // namespace
}  // namespace lvs::dp::xdp
