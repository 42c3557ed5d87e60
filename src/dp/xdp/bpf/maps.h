#pragma once
/* Map layouts of the XDP engine, shared by the BPF program (lvs_xdp.bpf.c) and the C++ loader
 * (loader.cc): both sides include this file, so it is plain C99 on fixed-width integers with
 * explicit padding (no implicit holes: the kernel compares keys byte by byte). Addresses and
 * ports are in network byte order exactly as on the wire; IPv4 uses addr[0] only, the other
 * words are zero.
 *
 * Configuration is double-buffered ("banks"): apply() writes a whole new table into the bank
 * not in use (service keys carry the bank, dest and scheduling slots are offset by it), then
 * flips lvs_config.bank in one array write. A packet sees either the old table or the new one,
 * never a mix. Counter slots are stable across applies (the loader keeps them per service and
 * per realserver) so counters survive a reload. */

/* C names on purpose: the BPF side is C. */
/* NOLINTBEGIN(modernize-use-using,readability-identifier-naming) */
#ifdef __BPF__
/* The BPF side gets its integer types from the kernel headers. */
#include <linux/types.h>
typedef __u8 lvs_u8;
typedef __u16 lvs_u16;
typedef __u32 lvs_u32;
typedef __u64 lvs_u64;
#else
#include <stdint.h>
typedef uint8_t lvs_u8;
typedef uint16_t lvs_u16;
typedef uint32_t lvs_u32;
typedef uint64_t lvs_u64;
#endif

/* Capacities. A table over these is refused by apply() with a message naming the limit. */
#define LVS_XDP_MAX_SERVICES 64U
#define LVS_XDP_MAX_DESTS 64U /* per service */
/* Stable realserver counter slots (per-CPU counters, lc/wlc loads). */
#define LVS_XDP_DEST_SLOTS (LVS_XDP_MAX_SERVICES * LVS_XDP_MAX_DESTS)
/* Scheduling slots per service: the Maglev table (4093), or one rr/wrr cycle, or 256 sh/dh
 * buckets. */
#define LVS_XDP_TABLE_STRIDE 4096U
/* Connection LRU entries by default (each flow takes two: forward and reply), so 262,144 flows;
 * lvsd --xdp-conn-max sets it at load time (Engine::LoadOptions). */
#define LVS_XDP_MAX_CONNS 524288U
#define LVS_XDP_MAX_TEMPLATES 65536U /* persistence templates (LRU) */
#define LVS_XDP_NO_DEST 0xFFFFFFFFU
#define LVS_XDP_STATE_COUNT 12U

enum lvs_xdp_family { LVS_XDP_INET4 = 4, LVS_XDP_INET6 = 6 };

/* How a service picks a realserver for a new flow; the loader fills the slots from the C++
 * scheduler of the same name (docs/ARCHITECTURE.md, "XDP engine"). */
enum lvs_xdp_sched {
  LVS_XDP_SCHED_CYCLE = 1,  /* rr, wrr: slots hold one cycle of picks; a cursor walks them */
  LVS_XDP_SCHED_SRC_BUCKET, /* sh: slot = lvs_hash_bucket(client addr, [client port], 0) */
  LVS_XDP_SCHED_DST_BUCKET, /* dh: slot = lvs_hash_bucket(destination addr, 0, 0) */
  LVS_XDP_SCHED_MAGLEV,     /* mh: slot = lvs_mh_slot(client addr, [client port]) */
  LVS_XDP_SCHED_LEAST,      /* lc: least overhead over the dests (no slots) */
  LVS_XDP_SCHED_WLEAST,     /* wlc: least overhead/weight, cross-multiplied (no slots) */
};

/* Service flags. */
#define LVS_XDP_SVC_HASH_PORT 0x1U /* sh-port / mh-port: the client port enters the hash */
/* mh built with the cluster-wide seed (lvsd --cluster-seed): every director's slots give the
 * same realserver, so in cluster mode a mid-stream segment of an unknown flow is scheduled. */
#define LVS_XDP_SVC_CLUSTER 0x2U

/* Forwarding methods: masquerading, direct routing and tunnelling (IPIP, GUE, GRE). */
enum lvs_xdp_method { LVS_XDP_MASQ = 1, LVS_XDP_ROUTE, LVS_XDP_TUNNEL };

struct lvs_svc_key {
  lvs_u32 addr[4]; /* VIP */
  lvs_u16 port;    /* VIP port */
  lvs_u8 proto;    /* IPPROTO_TCP / IPPROTO_UDP */
  lvs_u8 family;   /* enum lvs_xdp_family */
  lvs_u32 bank;    /* 0 or 1 */
};

struct lvs_svc {
  lvs_u32 sched;           /* enum lvs_xdp_sched */
  lvs_u32 flags;           /* LVS_XDP_SVC_* */
  lvs_u32 dest_base;       /* first slot of its realservers in the dests map */
  lvs_u32 dest_count;      /* realservers (iteration order, newest first) */
  lvs_u32 table_base;      /* first slot in the sched_slots map */
  lvs_u32 table_len;       /* slots in use (0: no realserver can be picked) */
  lvs_u32 cursor;          /* index in the cursors map (rr/wrr) */
  lvs_u32 stat_slot;       /* index in svc_stats (stable across applies) */
  lvs_u32 persist_timeout; /* seconds; 0 = not persistent */
  lvs_u32 netmask;         /* persistence granularity: IPv4 mask, network order */
};

struct lvs_dest {
  lvs_u32 addr[4];
  lvs_u16 port;
  lvs_u8 family; /* enum lvs_xdp_family */
  lvs_u8 method; /* enum lvs_xdp_method */
  lvs_u32 weight;
  lvs_u32 stat_slot; /* index in dest_stats (stable across applies) */
  lvs_u32 ifindex;   /* unused: direct routing finds the egress and MAC per packet (fib) */
  lvs_u8 mac[6];     /* unused, as ifindex */
  lvs_u8 pad[2];
};

/* Tunnelling (-i): the encapsulation of a realserver, as ipvsadm's --tun-type, --tun-port and
 * --tun-nocsum/--tun-csum set it. Array map `dest_tun`, indexed like dest_stats by the
 * realserver's stable counter slot: a flow carries that slot, and every packet reads the
 * realserver's current encapsulation, as IPVS reads cp->dest->tun_* per packet. A zeroed entry
 * is IPIP. */
enum lvs_xdp_tun_type { LVS_XDP_TUN_IPIP = 0, LVS_XDP_TUN_GUE, LVS_XDP_TUN_GRE };
/* lvs_dest_tun.flags: the UDP checksum (GUE) or the GRE checksum (C bit) is computed over the
 * encapsulated packet; without it the UDP checksum is 0 and GRE has no checksum field. */
#define LVS_XDP_TUN_CSUM 0x1U

struct lvs_dest_tun {
  lvs_u8 type;  /* enum lvs_xdp_tun_type */
  lvs_u8 flags; /* LVS_XDP_TUN_* */
  lvs_u16 port; /* GUE: the UDP destination port, network order; 0 otherwise */
};

/* One direction of a flow, as the packet carries it. Forward: client -> VIP. Reply: realserver
 * -> client. */
struct lvs_conn_key {
  lvs_u32 saddr[4];
  lvs_u32 daddr[4];
  lvs_u16 sport;
  lvs_u16 dport;
  lvs_u8 proto;
  lvs_u8 family;
  lvs_u8 pad[2];
};

/* The reply entry of a flow (its state lives in the forward one). */
#define LVS_XDP_CONN_REPLY 0x1U
/* A flow of a persistent service: its packets keep its template alive. */
#define LVS_XDP_CONN_PERSIST 0x2U
/* A flow whose replies bypass the director (direct routing, tunnelling): it has no reply entry
 * and its TCP state follows the INPUT-ONLY table (spec §3.1, no_output). */
#define LVS_XDP_CONN_NO_OUTPUT 0x4U

/* Forward entry: nat = the realserver, rewritten into the destination. Reply entry: nat = the
 * VIP, rewritten into the source; the forward key is (reply daddr/dport, nat addr/port). */
struct lvs_conn {
  lvs_u64 last_seen_ns; /* bpf_ktime_get_ns() of the last packet (forward entry) */
  lvs_u32 nat_addr[4];
  lvs_u16 nat_port;
  lvs_u8 state; /* the index of conn::ConnState (tcp_state.h); UDP flows use LVS_TCP_S_UDP */
  lvs_u8 flags; /* LVS_XDP_CONN_* */
  lvs_u32 svc_stat;
  lvs_u32 dest_stat;
  lvs_u32 counted; /* forward entry: 1 while it counts in its realserver's lvs_dest_load */
  lvs_u32 netmask; /* LVS_XDP_CONN_PERSIST: the service's netmask (IPv6: prefix length) */
  lvs_u8 method;   /* enum lvs_xdp_method of the realserver (0 in old entries: masquerading) */
  lvs_u8 pad[3];
};

/* Persistence template: (service, client network) -> the realserver it sticks to. */
struct lvs_tpl_key {
  lvs_u32 svc_stat; /* the service's stable counter slot */
  lvs_u32 snet[4];  /* client address AND netmask */
  lvs_u8 family;
  lvs_u8 pad[3];
};

struct lvs_tpl {
  lvs_u64 last_seen_ns; /* re-armed by every new connection it controls */
  lvs_u32 dest_addr[4];
  lvs_u16 dest_port;
  lvs_u8 method; /* enum lvs_xdp_method of the realserver */
  lvs_u8 pad;
  lvs_u32 dest_stat;
};

/* Per-CPU counters per service and per realserver ("in": client -> realserver). */
struct lvs_counters {
  lvs_u64 conns;
  lvs_u64 inpkts;
  lvs_u64 outpkts;
  lvs_u64 inbytes;
  lvs_u64 outbytes;
};

/* Active/inactive connections per realserver (by its counter slot), as lc/wlc read them. The
 * program counts with atomic adds in dest_load; user space (dest_released's only writer) sets
 * dest_released = dest_load - (the live entries it recounted) on every expire pass, so the
 * load, the difference, cannot drift (LRU evictions, races: loader.cc, Engine::expire). */
struct lvs_dest_load {
  lvs_u32 active;
  lvs_u32 inactive;
};

/* Per-CPU engine-wide counters. */
struct lvs_global {
  lvs_u64 refused; /* new flows with no realserver to pick: dropped */
  lvs_u64 passed;  /* packets handed to the kernel after a rewrite (next hop not resolved) */
  /* Direct routing: packets dropped because the realserver's MAC is not known yet (user space
   * then makes the kernel resolve it), or because there is no route to it (or forwarding is
   * off). Passing them would deliver them to the local VIP instead. */
  lvs_u64 unresolved;
  lvs_u64 unrouted;
  lvs_u64 tun_dropped; /* tunnel (-i) packets dropped: no resolved next hop, or over the MTU */
  /* Cluster mode: TCP segments other than a SYN of flows this director has no entry for,
   * dropped (a service not built with the cluster seed, a masquerading realserver, a RST)
   * rather than passed to the kernel, which would reset them. */
  lvs_u64 midstream_dropped;
  /* Packets passed to the kernel untouched while the engine stood by (LVS_XDP_CFG_STANDBY). */
  lvs_u64 standby_passed;
};

/* lvs_config.flags: the engine runs in an active/active cluster (lvsd --cluster-seed), where a
 * flow may reach this director mid-stream (ECMP re-spread, a director lost). */
#define LVS_XDP_CFG_CLUSTER 0x1U
/* lvs_config.flags: the director stands by (lvsd follows a VRRP backup, fault or stop): a
 * packet of no live flow goes to the kernel untouched (no flow is opened, nothing counted but
 * standby_passed); packets of live flows (synced from the master) are forwarded, so the moment
 * between keepalived adding the VIP and lvsd hearing MASTER resets none of them. */
#define LVS_XDP_CFG_STANDBY 0x2U

/* Array map with one entry. */
struct lvs_config {
  lvs_u32 bank;                           /* the bank packets read */
  lvs_u32 timeout_s[LVS_XDP_STATE_COUNT]; /* idle timeout per state, seconds (spec §3) */
  lvs_u32 flags;                          /* LVS_XDP_CFG_* */
  lvs_u32 pad[2];
};
/* NOLINTEND(modernize-use-using,readability-identifier-naming) */
