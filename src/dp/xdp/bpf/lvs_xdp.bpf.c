// SPDX-License-Identifier: GPL-2.0
/* lvsd's XDP packet engine: masquerading (-m) and direct routing (-g), IPv4 and IPv6, TCP and
 * UDP.
 *
 * A packet whose 5-tuple has a live forward entry (client -> VIP) is DNATed to its realserver;
 * one matching a reply entry (realserver -> client) is SNATed back to VIP:port. A packet to a
 * virtual service without a live entry opens a flow when it may (TCP SYN, any UDP): the
 * realserver comes from the service's scheduling slots, which the loader fills from the C++
 * scheduler of the same name. The next hop comes from bpf_fib_lookup; when the kernel has no
 * neighbour entry yet, the rewritten packet is passed to the kernel, which resolves and
 * forwards it. Direct routing (route_*) leaves the IP packet as it is and only sends the frame
 * to the realserver's MAC; a flow to a tunnel (-i) realserver is not rewritten but
 * encapsulated (IPIP, GUE or GRE; IPv4 in IPv4, IPv6 in IPv6) to the realserver. Flows of both
 * have a forward entry only (replies go straight to the client). Everything else (other
 * addresses and ports, IP options, fragments, truncated headers, other protocols, IPv6
 * extension headers) is passed to the kernel unchanged. */

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/tcp.h>
#include <linux/udp.h>

#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "dp/xdp/bpf/maps.h"
#include "dp/xdp/bpf/tcp_state.h"
#include "sched/hash.h"

char LICENSE[] SEC("license") = "GPL";

#define AF_INET_ 2
#define AF_INET6_ 10
#define ETH_P_IPV6_ 0x86DD
/* The fixed IPv6 header (RFC 8200); <linux/ipv6.h> drags in libc headers. */
struct ip6_head {
  __u8 vtc;
  __u8 flow[3];
  __u16 payload_len;
  __u8 nexthdr;
  __u8 hop_limit;
  __u32 saddr[4];
  __u32 daddr[4];
};
#define IP_DF_ 0x4000
#define IP_MF_ 0x2000
#define IP_OFFSET_ 0x1FFF
/* ICMP (RFC 792); <linux/icmp.h> drags in libc headers. */
#define ICMP_DEST_UNREACH_ 3
#define ICMP_TIME_EXCEEDED_ 11
#define ICMP_PARAMETERPROB_ 12
struct icmp_head {
  __u8 type;
  __u8 code;
  __u16 checksum;
  __u32 rest;
};

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 2 * LVS_XDP_MAX_SERVICES);
  __type(key, struct lvs_svc_key);
  __type(value, struct lvs_svc);
} services SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 2 * LVS_XDP_MAX_SERVICES * LVS_XDP_MAX_DESTS);
  __type(key, __u32);
  __type(value, struct lvs_dest);
} dests SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 2 * LVS_XDP_MAX_SERVICES * LVS_XDP_TABLE_STRIDE);
  __type(key, __u32);
  __type(value, __u32);
} sched_slots SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 2 * LVS_XDP_MAX_SERVICES);
  __type(key, __u32);
  __type(value, __u32);
} cursors SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, LVS_XDP_MAX_CONNS);
  __type(key, struct lvs_conn_key);
  __type(value, struct lvs_conn);
} conns SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, LVS_XDP_MAX_TEMPLATES);
  __type(key, struct lvs_tpl_key);
  __type(value, struct lvs_tpl);
} templates SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, LVS_XDP_MAX_SERVICES);
  __type(key, __u32);
  __type(value, struct lvs_counters);
} svc_stats SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, LVS_XDP_DEST_SLOTS);
  __type(key, __u32);
  __type(value, struct lvs_counters);
} dest_stats SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, LVS_XDP_DEST_SLOTS);
  __type(key, __u32);
  __type(value, struct lvs_dest_load);
} dest_load SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, LVS_XDP_DEST_SLOTS);
  __type(key, __u32);
  __type(value, struct lvs_dest_load);
} dest_released SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct lvs_global);
} global_stats SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct lvs_config);
} config SEC(".maps");

/* What the parser found: pointers into the packet and the 5-tuple. */
struct pkt {
  struct ethhdr* eth;
  struct iphdr* iph;    /* IPv4, else NULL */
  struct ip6_head* ip6; /* IPv6, else NULL */
  __u32* saddr;         /* into the packet: 1 word (IPv4) or 4 (IPv6) */
  __u32* daddr;
  void* end;       /* data_end, for the bounds checks at each IPv6 address access */
  __u8 family;     /* LVS_XDP_INET4 / LVS_XDP_INET6 */
  __u16* l4_check; /* NULL: a UDP datagram sent without checksum */
  __be16* sport;
  __be16* dport;
  __u8 proto;
  __u8 tcp_flags;
  __u16 ip_len; /* host order: the bytes counted */
};

/* RFC 1624 incremental update over raw 16-bit words (ones' complement sums do not care about
 * byte order as long as every word is read the same way). */
static __always_inline __u16 csum_fold32(__u32 s) {
  s = (s & 0xFFFFU) + (s >> 16);
  s = (s & 0xFFFFU) + (s >> 16);
  return (__u16)~s;
}

static __always_inline void csum_replace4(__u16* sum, __u32 from, __u32 to) {
  __u32 s = (__u16) ~*sum;
  s += (~from & 0xFFFFU) + (~from >> 16) + (to & 0xFFFFU) + (to >> 16);
  *sum = csum_fold32(s);
}

static __always_inline void csum_replace2(__u16* sum, __u16 from, __u16 to) {
  __u32 s = (__u16) ~*sum;
  s += (__u16)~from + (__u32)to;
  *sum = csum_fold32(s);
}

/* UDP: a zero checksum means "none" and stays zero; a computed zero is sent as 0xFFFF. */
static __always_inline void l4_replace4(struct pkt* p, __u32 from, __u32 to) {
  if (!p->l4_check) return;
  csum_replace4(p->l4_check, from, to);
  if (p->proto == IPPROTO_UDP && *p->l4_check == 0) *p->l4_check = 0xFFFF;
}

static __always_inline void l4_replace2(struct pkt* p, __u16 from, __u16 to) {
  if (!p->l4_check) return;
  csum_replace2(p->l4_check, from, to);
  if (p->proto == IPPROTO_UDP && *p->l4_check == 0) *p->l4_check = 0xFFFF;
}

/* Rewrites an address of the packet (p->saddr or p->daddr) with the checksums it is in. */
static __always_inline void addr_set(struct pkt* p, __u32* a, const __u32 to[4]) {
  if (p->family == LVS_XDP_INET4) {
    const __u32 old = a[0];
    a[0] = to[0];
    if (p->iph) csum_replace4(&p->iph->check, old, to[0]);
    l4_replace4(p, old, to[0]);
    return;
  }
  if ((void*)(a + 4) > p->end) return;
  for (int i = 0; i < 4; ++i) {
    const __u32 old = a[i];
    a[i] = to[i];
    l4_replace4(p, old, to[i]);
  }
}

/* 0: a packet this engine may handle; -1: pass it to the kernel untouched. */
static __always_inline int parse(struct xdp_md* ctx, struct pkt* p) {
  void* data = (void*)(long)ctx->data;
  void* end = (void*)(long)ctx->data_end;
  struct ethhdr* eth = data;
  if ((void*)(eth + 1) > end) return -1;
  void* l4;
  __u16 ip_len;
  __u16 hdr_len;
  p->eth = eth;
  p->end = end;
  if (eth->h_proto == bpf_htons(ETH_P_IP)) {
    struct iphdr* iph = (void*)(eth + 1);
    if ((void*)(iph + 1) > end) return -1;
    /* Options and fragments go to the kernel: a fragment's ports are not in every piece. */
    if (iph->version != 4 || iph->ihl != 5) return -1;
    if ((iph->frag_off & bpf_htons(IP_MF_ | IP_OFFSET_)) != 0) return -1;
    ip_len = bpf_ntohs(iph->tot_len);
    hdr_len = sizeof(*iph);
    if (ip_len < hdr_len || (void*)iph + ip_len > end) return -1;
    p->iph = iph;
    p->family = LVS_XDP_INET4;
    p->saddr = &iph->saddr;
    p->daddr = &iph->daddr;
    p->proto = iph->protocol;
    l4 = (void*)(iph + 1);
  } else if (eth->h_proto == bpf_htons(ETH_P_IPV6_)) {
    struct ip6_head* ip6 = (void*)(eth + 1);
    if ((void*)(ip6 + 1) > end) return -1;
    /* Extension headers (fragments among them) go to the kernel. */
    if ((ip6->vtc >> 4) != 6) return -1;
    hdr_len = sizeof(*ip6);
    ip_len = bpf_ntohs(ip6->payload_len);
    if (ip_len > 0xFFFF - hdr_len) return -1;
    ip_len += hdr_len;
    if ((void*)ip6 + ip_len > end) return -1;
    p->ip6 = ip6;
    p->family = LVS_XDP_INET6;
    p->saddr = ip6->saddr;
    p->daddr = ip6->daddr;
    p->proto = ip6->nexthdr;
    l4 = (void*)(ip6 + 1);
  } else {
    return -1;
  }
  p->ip_len = ip_len;
  if (p->proto == IPPROTO_TCP) {
    struct tcphdr* th = l4;
    if ((void*)(th + 1) > end || ip_len < hdr_len + sizeof(*th)) return -1;
    if (th->doff < 5) return -1;
    p->l4_check = &th->check;
    p->sport = &th->source;
    p->dport = &th->dest;
    p->tcp_flags = ((__u8*)th)[13];
    return 0;
  }
  if (p->proto == IPPROTO_UDP) {
    struct udphdr* uh = l4;
    if ((void*)(uh + 1) > end || ip_len < hdr_len + sizeof(*uh)) return -1;
    /* IPv6 has no checksum-less UDP: such a datagram is the kernel's to judge. */
    if (uh->check == 0 && p->family == LVS_XDP_INET6) return -1;
    p->l4_check = uh->check != 0 ? &uh->check : (void*)0;
    p->sport = &uh->source;
    p->dport = &uh->dest;
    p->tcp_flags = 0;
    return 0;
  }
  return -1;
}

/* An address of the packet (p->saddr or p->daddr) into a 4-word key field. */
static __always_inline void addr_get(const struct pkt* p, const __u32* a, __u32 out[4]) {
  if (p->family == LVS_XDP_INET4) {
    out[0] = a[0];
    return;
  }
  if ((void*)(a + 4) > p->end) return;
  out[0] = a[0];
  out[1] = a[1];
  out[2] = a[2];
  out[3] = a[3];
}

/* The scheduler's hash word of an address (core::IpAddress::hash_word). */
static __always_inline __u32 addr_hash(const struct pkt* p, const __u32* a) {
  if (p->family == LVS_XDP_INET4) return bpf_ntohl(a[0]);
  if ((void*)(a + 4) > p->end) return 0;
  return bpf_ntohl(a[0]) ^ bpf_ntohl(a[1]) ^ bpf_ntohl(a[2]) ^ bpf_ntohl(a[3]);
}

/* The clock of every timestamp the program writes: CLOCK_MONOTONIC_COARSE, a tick behind
 * CLOCK_MONOTONIC at most (timeouts are seconds), and read without a clock source access (on
 * a VM, the fine clock costs tens of ns per packet). */
static __always_inline __u64 clock_now(void) { return bpf_ktime_get_coarse_ns(); }

/* How long ago `last` was. User space writes entries from the fine clock (sync, apply), which
 * may be up to a tick ahead of `now`: that is no time, not a wrap-around. */
static __always_inline __u64 idle_ns(__u64 now, __u64 last) { return now > last ? now - last : 0; }

static __always_inline int expired(const struct lvs_conn* c, const struct lvs_config* cfg,
                                   __u64 now) {
  __u32 s = c->state;
  if (s >= LVS_XDP_STATE_COUNT) return 1;
  const __u64 timeout_ns = (__u64)cfg->timeout_s[s] * 1000000000ULL;
  return idle_ns(now, c->last_seen_ns) > timeout_ns;
}

static __always_inline void count(void* map, __u32 slot, int in, __u64 bytes, int new_conn) {
  struct lvs_counters* c = bpf_map_lookup_elem(map, &slot);
  if (!c) return;
  if (new_conn) c->conns += 1;
  if (in) {
    c->inpkts += 1;
    c->inbytes += bytes;
  } else {
    c->outpkts += 1;
    c->outbytes += bytes;
  }
}

static __always_inline void count_global(int refused) {
  __u32 zero = 0;
  struct lvs_global* g = bpf_map_lookup_elem(&global_stats, &zero);
  if (!g) return;
  if (refused) {
    g->refused += 1;
  } else {
    g->passed += 1;
  }
}

/* Standing by (a VRRP backup): serve nothing, touch nothing but one counter. */
static __always_inline int standby_pass(void) {
  __u32 zero = 0;
  struct lvs_global* g = bpf_map_lookup_elem(&global_stats, &zero);
  if (g) g->standby_passed += 1;
  return XDP_PASS;
}

/* Cluster mode: a TCP segment of an unknown flow this director cannot take over. */
static __always_inline int midstream_drop(void) {
  __u32 zero = 0;
  struct lvs_global* g = bpf_map_lookup_elem(&global_stats, &zero);
  if (g) g->midstream_dropped += 1;
  return XDP_DROP;
}

/* Route the rewritten packet: redirect or TX with the next hop's MACs, or hand it to the
 * kernel (neighbour not resolved yet, local destination, anything unusual). */
static __always_inline int forward_done(struct xdp_md* ctx, struct pkt* p,
                                        const struct bpf_fib_lookup* fib) {
  __builtin_memcpy(p->eth->h_dest, fib->dmac, ETH_ALEN);
  __builtin_memcpy(p->eth->h_source, fib->smac, ETH_ALEN);
  if (fib->ifindex == ctx->ingress_ifindex) return XDP_TX;
  return bpf_redirect(fib->ifindex, 0);
}

static __always_inline int forward4(struct xdp_md* ctx, struct pkt* p, struct iphdr* iph) {
  struct bpf_fib_lookup fib = {};
  fib.family = AF_INET_;
  fib.tos = iph->tos;
  fib.l4_protocol = p->proto;
  fib.tot_len = p->ip_len;
  fib.ipv4_src = iph->saddr;
  fib.ipv4_dst = iph->daddr;
  fib.ifindex = ctx->ingress_ifindex;
  if (bpf_fib_lookup(ctx, &fib, sizeof(fib), 0) != BPF_FIB_LKUP_RET_SUCCESS || iph->ttl <= 1) {
    count_global(0);
    return XDP_PASS;
  }
  /* The kernel's forwarding would decrement the TTL: so do we. */
  __u16* ttl_word = (__u16*)&iph->ttl;
  const __u16 old_word = *ttl_word;
  iph->ttl -= 1;
  csum_replace2(&iph->check, old_word, *ttl_word);
  return forward_done(ctx, p, &fib);
}

static __always_inline int forward6(struct xdp_md* ctx, struct pkt* p, struct ip6_head* ip6) {
  struct bpf_fib_lookup fib = {};
  fib.family = AF_INET6_;
  fib.l4_protocol = p->proto;
  fib.tot_len = p->ip_len;
  __builtin_memcpy(fib.ipv6_src, ip6->saddr, 16);
  __builtin_memcpy(fib.ipv6_dst, ip6->daddr, 16);
  fib.ifindex = ctx->ingress_ifindex;
  if (bpf_fib_lookup(ctx, &fib, sizeof(fib), 0) != BPF_FIB_LKUP_RET_SUCCESS ||
      ip6->hop_limit <= 1) {
    count_global(0);
    return XDP_PASS;
  }
  ip6->hop_limit -= 1;
  return forward_done(ctx, p, &fib);
}

/* The verifier cannot rule out a packet pointer being NULL, but it can a zero: each family's
 * path dereferences only its own header. */
static __always_inline int forward(struct xdp_md* ctx, struct pkt* p) {
  if (p->ip6) return forward6(ctx, p, p->ip6);
  if (p->iph) return forward4(ctx, p, p->iph);
  return XDP_PASS;
}

/* Direct routing (-g): why a frame could not be sent. */
static __always_inline void count_route_fail(int unresolved) {
  __u32 zero = 0;
  struct lvs_global* g = bpf_map_lookup_elem(&global_stats, &zero);
  if (!g) return;
  if (unresolved) {
    g->unresolved += 1;
  } else {
    g->unrouted += 1;
  }
}

/* Direct routing: the frame goes out unchanged above Ethernet (the VIP stays the destination,
 * no checksum or TTL changes, as IPVS's DR transmit), to the MAC of the realserver `rs` (a word
 * array of the flow's family) and from the egress interface's MAC, both from the kernel's
 * route and neighbour tables; XDP_TX when the realserver is on the ingress link (the usual
 * one-armed director). When the neighbour is not resolved yet the frame is dropped, not
 * passed: the kernel would deliver it to the local VIP (a TCP reset for the client) rather than
 * forward it. User space sees `unresolved` grow and makes the kernel resolve the realservers'
 * addresses; the client's retransmission then goes through. No route to the realserver (or
 * forwarding off: bpf_fib_lookup needs ip_forward=1 as the kernel's forwarding does): dropped
 * and counted in `unrouted`. tot_len is left 0 so no MTU check refuses the large GRO frames of
 * generic mode: the realserver shares the link, and so its MTU. */
static __always_inline int route_xmit(struct xdp_md* ctx, struct pkt* p, const __u32 rs[4]) {
  struct bpf_fib_lookup fib = {};
  fib.l4_protocol = p->proto;
  fib.ifindex = ctx->ingress_ifindex;
  if (p->family == LVS_XDP_INET6) {
    fib.family = AF_INET6_;
    __builtin_memcpy(fib.ipv6_dst, rs, 16);
  } else {
    fib.family = AF_INET_;
    fib.ipv4_dst = rs[0];
  }
  const long rc = bpf_fib_lookup(ctx, &fib, sizeof(fib), 0);
  if (rc == BPF_FIB_LKUP_RET_SUCCESS) return forward_done(ctx, p, &fib);
  count_route_fail(rc == BPF_FIB_LKUP_RET_NO_NEIGH);
  return XDP_DROP;
}

/* One connection more (delta 1) or less (delta -1) in `state` for a realserver. */
static __always_inline void load_add(__u32 slot, __u32 state, int delta) {
  struct lvs_dest_load* l = bpf_map_lookup_elem(&dest_load, &slot);
  if (!l) return;
  if (lvs_tcp_state_active(state)) {
    __sync_fetch_and_add(&l->active, (__u32)delta);
  } else {
    __sync_fetch_and_add(&l->inactive, (__u32)delta);
  }
}

/* A state change moves the connection between active and inactive. */
static __always_inline void load_move(const struct lvs_conn* c, __u32 from, __u32 to) {
  if (c->counted == 0 || lvs_tcp_state_active(from) == lvs_tcp_state_active(to)) return;
  load_add(c->dest_stat, from, -1);
  load_add(c->dest_stat, to, 1);
}

/* overhead = active*256 + inactive (spec §2), net of what user space released. Counts that
 * went below zero in a race read as zero. */
static __always_inline __u64 overhead(__u32 slot) {
  struct lvs_dest_load* l = bpf_map_lookup_elem(&dest_load, &slot);
  struct lvs_dest_load* r = bpf_map_lookup_elem(&dest_released, &slot);
  if (!l || !r) return 0;
  __u32 active = l->active - r->active;
  __u32 inactive = l->inactive - r->inactive;
  if (active > 0x7FFFFFFFU) active = 0;
  if (inactive > 0x7FFFFFFFU) inactive = 0;
  return (__u64)active * 256U + inactive;
}

/* lc and wlc (src/sched/lc.cc, scheduler.h weighted_least): the first usable dest in list
 * order is the first candidate; a later one wins on strictly less overhead (lc) or strictly
 * less overhead per weight, cross-multiplied (wlc). One bpf_loop step per dest, so the
 * verifier checks the step once. */
struct least_ctx {
  __u32 base;
  __u32 count;
  __u32 weighted;
  __u32 found;
  __u32 best;
  __u32 pad;
  __u64 best_oh;
  __u64 best_w;
};

static long least_step(__u32 i, void* arg) {
  struct least_ctx* lc = arg;
  if (i >= lc->count) return 1;
  __u32 at = lc->base + i;
  struct lvs_dest* d = bpf_map_lookup_elem(&dests, &at);
  if (!d || d->weight == 0 || d->weight > 0x7FFFFFFFU) return 0;
  const __u64 oh = overhead(d->stat_slot);
  const __u64 w = d->weight;
  int better;
  if (!lc->found) {
    better = 1;
  } else if (lc->weighted) {
    better = lc->best_oh * w > oh * lc->best_w;
  } else {
    better = oh < lc->best_oh;
  }
  if (better) {
    lc->found = 1;
    lc->best = i;
    lc->best_oh = oh;
    lc->best_w = w;
  }
  return 0;
}

static __always_inline struct lvs_dest* pick_least(const struct lvs_svc* svc, int weighted) {
  struct least_ctx lc = {};
  lc.base = svc->dest_base;
  lc.count = svc->dest_count;
  lc.weighted = weighted ? 1U : 0U;
  bpf_loop(LVS_XDP_MAX_DESTS, least_step, &lc, 0);
  if (!lc.found) return (void*)0;
  __u32 at = lc.base + lc.best;
  return bpf_map_lookup_elem(&dests, &at);
}

/* The service's choice for a new flow, or NULL for "no destination". */
static __always_inline struct lvs_dest* pick(const struct lvs_svc* svc, const struct pkt* p) {
  if (svc->sched == LVS_XDP_SCHED_LEAST) return pick_least(svc, 0);
  if (svc->sched == LVS_XDP_SCHED_WLEAST) return pick_least(svc, 1);
  if (svc->table_len == 0 || svc->table_len > LVS_XDP_TABLE_STRIDE) return (void*)0;
  const __u32 saddr = addr_hash(p, p->saddr);
  const __u32 sport = (svc->flags & LVS_XDP_SVC_HASH_PORT) != 0 ? bpf_ntohs(*p->sport) : 0U;
  __u32 slot;
  switch (svc->sched) {
    case LVS_XDP_SCHED_CYCLE: {
      __u32 idx = svc->cursor;
      __u32* cur = bpf_map_lookup_elem(&cursors, &idx);
      if (!cur) return (void*)0;
      slot = __sync_fetch_and_add(cur, 1) % svc->table_len;
      break;
    }
    case LVS_XDP_SCHED_SRC_BUCKET:
      slot = lvs_hash_bucket(saddr, sport, 0U);
      break;
    case LVS_XDP_SCHED_DST_BUCKET:
      slot = lvs_hash_bucket(addr_hash(p, p->daddr), 0U, 0U);
      break;
    case LVS_XDP_SCHED_MAGLEV:
      slot = lvs_mh_slot(saddr, sport);
      break;
    default:
      return (void*)0;
  }
  if (slot >= svc->table_len) return (void*)0;
  __u32 at = svc->table_base + slot;
  __u32* idx = bpf_map_lookup_elem(&sched_slots, &at);
  if (!idx || *idx >= svc->dest_count) return (void*)0;
  __u32 d = svc->dest_base + *idx;
  return bpf_map_lookup_elem(&dests, &d);
}

static __always_inline __u8 next_state(const struct pkt* p, __u8 state, __u32 table) {
  if (p->proto != IPPROTO_TCP) return LVS_TCP_S_UDP;
  const __u32 ev = lvs_tcp_event(p->tcp_flags);
  if (ev == LVS_TCP_EV_NONE) return LVS_TCP_S_CL;
  return (__u8)lvs_tcp_next_state(table, ev, state);
}

/* The template key of a client: (service, client address AND netmask); IPv6 masks by the
 * prefix length. */
static __always_inline void tpl_key(struct lvs_tpl_key* tk, __u32 svc_stat, __u8 family,
                                    const __u32 saddr[4], __u32 netmask) {
  tk->svc_stat = svc_stat;
  tk->family = family;
  if (family == LVS_XDP_INET4) {
    tk->snet[0] = saddr[0] & netmask;
    return;
  }
  for (__u32 i = 0; i < 4; ++i) {
    const __u32 bits = netmask >= 32 * (i + 1) ? 32U : (netmask > 32 * i ? netmask - 32 * i : 0U);
    const __u32 mask = bits == 0 ? 0U : bpf_htonl(0xFFFFFFFFU << (32U - bits));
    tk->snet[i] = saddr[i] & mask;
  }
}

/* A packet of a persistent flow keeps its template alive (IPVS keeps a template while it
 * controls connections), re-making it for the flow's realserver if it went. */
static __always_inline void keep_template(const struct pkt* p, const struct lvs_conn* c,
                                          __u64 now) {
  __u32 client[4] = {};
  addr_get(p, p->saddr, client);
  struct lvs_tpl_key tk = {};
  tpl_key(&tk, c->svc_stat, p->family, client, c->netmask);
  struct lvs_tpl* t = bpf_map_lookup_elem(&templates, &tk);
  if (t) {
    t->last_seen_ns = now;
    return;
  }
  struct lvs_tpl fresh = {};
  fresh.last_seen_ns = now;
  __builtin_memcpy(fresh.dest_addr, c->nat_addr, sizeof(fresh.dest_addr));
  fresh.dest_port = c->nat_port;
  fresh.method = c->method;
  fresh.dest_stat = c->dest_stat;
  bpf_map_update_elem(&templates, &tk, &fresh, BPF_ANY);
}

/* Tunnelling (-i). A packet of a tunnelled flow gets an outer header in front of its IP header,
 * as IPVS's ip_vs_tunnel_xmit builds it: source = the director's address towards the
 * realserver (bpf_fib_lookup's BPF_FIB_LOOKUP_SRC: the route's preferred source, as the
 * kernel would choose), destination = the realserver, TOS/traffic class, TTL/hop limit and DF
 * copied from the inner header. Then, by the realserver's --tun-type (dest_tun):
 *   ipip: nothing more; protocol 4 (IPv4 in IPv4) or 41 (IPv6 in IPv6).
 *   gue:  protocol 17, a UDP header (source port: a hash of the inner flow in the ephemeral
 *         range, as udp_flow_src_port; destination: --tun-port; checksum 0, or computed with
 *         --tun-csum) and a 4-byte GUE header (version 0, no options, protocol 4 or 41).
 *   gre:  protocol 47 and a 4-byte GRE header (no flags, protocol 0x0800 or 0x86DD); with
 *         --tun-csum the C bit and a checksum over the GRE header and the inner packet (8
 *         bytes).
 * The inner packet is not changed. Dropped and counted in tun_dropped: no resolved next hop
 * (the kernel would not forward a packet from its own address that it did not send), or an
 * outer packet over the egress MTU (IPv4 with DF: answered with ICMP "fragmentation needed"
 * as IPVS does, frag_needed4; IPv6 "packet too big" not yet). */
/* What goes between the outer IP header and the inner packet, decided before the packet is
 * moved (the parser's pointers go stale then). */
struct encap {
  __u32 inner_sum; /* --tun-csum: the inner packet's ones' complement sum, unfolded */
  __u16 inner_len; /* the inner packet's bytes */
  __u16 len;       /* bytes of UDP + GUE or GRE headers: 0 for IPIP */
  __be16 sport;    /* GUE */
  __be16 dport;    /* GUE */
  __u8 type;       /* enum lvs_xdp_tun_type */
  __u8 csum;       /* LVS_XDP_TUN_CSUM set */
  __u8 proto;      /* the outer header's protocol / next header */
  __u8 inner;      /* the inner packet's protocol number: 4 (IPv4) or 41 (IPv6) */
};

/* The route lookup's parameters and the encapsulation for tunnelling live here, not on the
 * stack: the program's frame is near the verifier's 512 bytes. */
struct tun_scratch {
  struct bpf_fib_lookup fib;
  struct encap e;
};
struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct tun_scratch);
} tun_fib SEC(".maps");

/* Each realserver's encapsulation, by its counter slot (maps.h, lvs_dest_tun). */
struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, LVS_XDP_DEST_SLOTS);
  __type(key, __u32);
  __type(value, struct lvs_dest_tun);
} dest_tun SEC(".maps");

static __always_inline struct tun_scratch* tun_scratch(void) {
  __u32 zero = 0;
  struct tun_scratch* sc = bpf_map_lookup_elem(&tun_fib, &zero);
  if (sc) __builtin_memset(sc, 0, sizeof(*sc));
  return sc;
}

static __always_inline int tun_drop(void) {
  __u32 zero = 0;
  struct lvs_global* g = bpf_map_lookup_elem(&global_stats, &zero);
  if (g) g->tun_dropped += 1;
  return XDP_DROP;
}

static __always_inline int tun_out(struct xdp_md* ctx, const struct bpf_fib_lookup* fib,
                                   struct ethhdr* eth, __u16 proto) {
  __builtin_memcpy(eth->h_dest, fib->dmac, ETH_ALEN);
  __builtin_memcpy(eth->h_source, fib->smac, ETH_ALEN);
  eth->h_proto = bpf_htons(proto);
  if (fib->ifindex == ctx->ingress_ifindex) return XDP_TX;
  return bpf_redirect(fib->ifindex, 0);
}

#define LVS_GUE_LEN 12U      /* UDP header + GUE header without options */
#define LVS_GRE_LEN 4U       /* flags, protocol */
#define LVS_GRE_CSUM_LEN 8U  /* + checksum, reserved */
#define LVS_GRE_FLAG_C 0x8000U
#define LVS_ENCAP_MAX 12U
/* The checksum runs over the inner packet in chunks of LVS_CSUM_CHUNK bytes (bpf_csum_diff),
 * then 2-byte words: bounded loops the verifier walks once per step. 150 chunks cover a
 * 9600-byte jumbo frame; a longer packet is dropped (it would be over any MTU anyway). */
#define LVS_CSUM_CHUNK 64
#define LVS_CSUM_MAX_CHUNKS 150
/* The kernel's default ip_local_port_range, which udp_flow_src_port maps the flow hash into
 * (its sysctl is not readable from XDP). */
#define LVS_EPHEMERAL_LOW 32768U
#define LVS_EPHEMERAL_HIGH 60999U

static __always_inline __u16 csum_fold64(__u64 s) {
  s = (s & 0xFFFFFFFFULL) + (s >> 32);
  s = (s & 0xFFFFFFFFULL) + (s >> 32);
  return csum_fold32((__u32)(s & 0xFFFFU) + (__u32)(s >> 16));
}

/* The ones' complement sum of the inner packet, its `len` bytes just after the Ethernet
 * header, an odd last byte padded with zero; raw 16-bit words like every checksum here. -1
 * when the bytes are not all in the packet. A global function: the verifier checks its loops
 * once, not at every call site. Its frame adds to the caller's (512 bytes for both). */
__noinline __s64 payload_sum(struct xdp_md* ctx, __u32 len) {
  /* Few live values across the helper calls (end, at, len, sum: the callee-saved registers),
   * so the frame stays small: the caller's is near the 512-byte limit both share. */
  if (len > LVS_CSUM_MAX_CHUNKS * LVS_CSUM_CHUNK) return -1;
  const void* end = (void*)(long)ctx->data_end;
  const __u8* at = (void*)(long)ctx->data + sizeof(struct ethhdr);
  __u64 sum = 0;
  for (int i = 0; i < LVS_CSUM_MAX_CHUNKS && len >= LVS_CSUM_CHUNK; ++i) {
    if ((const void*)(at + LVS_CSUM_CHUNK) > end) return -1;
    sum += (__u32)bpf_csum_diff((void*)0, 0, (__be32*)at, LVS_CSUM_CHUNK, 0);
    at += LVS_CSUM_CHUNK;
    len -= LVS_CSUM_CHUNK;
  }
  /* The rest, under LVS_CSUM_CHUNK bytes, in 16-bit words, from an offset the verifier knows
   * only by its bound (the mask, a no-op, in asm or the compiler drops it): every way out of the
   * loop above then looks the same to it, and it checks this loop once, not once per length.
   * The empty asm below keeps the compiler from rewriting the bounds check into arithmetic on
   * the packet's end, which the verifier refuses. */
  /* A difference of packet pointers: allowed as the engine loads with CAP_PERFMON. */
  __u32 off = (__u32)((long)at - (long)ctx->data);
  asm volatile("%[o] &= 0x3fff" : [o] "+r"(off));
  at = (void*)(long)ctx->data + off;
  end = (void*)(long)ctx->data_end;
  for (int i = 0; i < LVS_CSUM_CHUNK / 2 && len >= 2; ++i) {
    asm volatile("" : "+r"(at));
    if ((const void*)(at + 2) > end) return -1;
    sum += *(const __u16*)at;
    at += 2;
    len -= 2;
  }
  if (len == 1) {
    asm volatile("" : "+r"(at));
    if ((const void*)(at + 1) > end) return -1;
    sum += *at; /* the word's first byte in memory: its low half on little endian */
  }
  return (__s64)sum;
}

/* Raw 16-bit halves of `n` words (pseudo-header addresses). */
static __always_inline __u64 words_sum(const __u32* a, int n) {
  __u64 sum = 0;
  for (int i = 0; i < n; ++i) sum += (a[i] & 0xFFFFU) + (a[i] >> 16);
  return sum;
}

/* The GUE source port: a hash of the inner flow into the ephemeral range, stable per flow, as
 * the kernel's udp_flow_src_port spreads tunnels over ECMP paths. */
static __always_inline __be16 flow_port(const struct pkt* p) {
  __u32 h = addr_hash(p, p->saddr) * 0x9E3779B1U;
  h ^= addr_hash(p, p->daddr);
  h = h * 0x85EBCA6BU ^ (((__u32)*p->sport << 16) | *p->dport);
  h = h * 0xC2B2AE35U ^ p->proto;
  h ^= h >> 16;
  h *= 0x85EBCA6BU;
  h ^= h >> 13;
  h ^= h << 16;
  const __u32 span = LVS_EPHEMERAL_HIGH - LVS_EPHEMERAL_LOW;
  return bpf_htons((__u16)((((__u64)h * span) >> 32) + LVS_EPHEMERAL_LOW));
}

/* The encapsulation of realserver slot `dest_stat` for this packet; -1: drop it. */
static __always_inline int encap_plan(struct xdp_md* ctx, const struct pkt* p, __u32 dest_stat,
                                      struct encap* e) {
  const struct lvs_dest_tun* t = bpf_map_lookup_elem(&dest_tun, &dest_stat);
  e->inner = p->family == LVS_XDP_INET4 ? IPPROTO_IPIP : 41;
  e->inner_len = p->ip_len;
  e->type = t ? t->type : LVS_XDP_TUN_IPIP;
  e->csum = t && (t->flags & LVS_XDP_TUN_CSUM) != 0;
  if (e->type == LVS_XDP_TUN_GUE) {
    e->proto = IPPROTO_UDP;
    e->len = LVS_GUE_LEN;
    e->dport = t ? t->port : 0;
    e->sport = flow_port(p);
  } else if (e->type == LVS_XDP_TUN_GRE) {
    e->proto = IPPROTO_GRE;
    e->len = e->csum ? LVS_GRE_CSUM_LEN : LVS_GRE_LEN;
  } else {
    e->proto = e->inner;
    e->len = 0;
    e->csum = 0;
  }
  if (e->csum) {
    const __s64 sum = payload_sum(ctx, p->ip_len);
    if (sum < 0) return -1;
    e->inner_sum = (__u32)(sum & 0xFFFFFFFFLL) + (__u32)(sum >> 32);
    if (e->inner_sum < (__u32)(sum & 0xFFFFFFFFLL)) e->inner_sum += 1;
  }
  return 0;
}

/* Writes the UDP + GUE or the GRE header at `at` (the caller checked LVS_ENCAP_MAX bytes are
 * in the packet). `pseudo`: the sum of the outer addresses, for the UDP checksum. */
static __always_inline void encap_write(__u8* at, const struct encap* e, __u64 pseudo) {
  if (e->type == LVS_XDP_TUN_GUE) {
    struct udphdr* uh = (void*)at;
    __u8* gue = at + sizeof(*uh);
    uh->source = e->sport;
    uh->dest = e->dport;
    uh->len = bpf_htons(e->inner_len + LVS_GUE_LEN);
    uh->check = 0;
    gue[0] = 0; /* version 0, C 0, hlen 0 */
    gue[1] = e->inner;
    gue[2] = 0; /* flags */
    gue[3] = 0;
    if (!e->csum) return;
    const __u16* w = (const __u16*)at;
    __u64 sum = pseudo + bpf_htons(IPPROTO_UDP) + uh->len + e->inner_sum;
#pragma unroll
    for (int i = 0; i < (int)(LVS_GUE_LEN / 2); ++i) sum += w[i];
    uh->check = csum_fold64(sum);
    if (uh->check == 0) uh->check = 0xFFFF;
    return;
  }
  if (e->type != LVS_XDP_TUN_GRE) return;
  __u16* gre = (void*)at;
  gre[0] = e->csum ? bpf_htons(LVS_GRE_FLAG_C) : 0;
  gre[1] = bpf_htons(e->inner == IPPROTO_IPIP ? ETH_P_IP : ETH_P_IPV6_);
  if (!e->csum) return;
  gre[2] = 0;
  gre[3] = 0;
  gre[2] = csum_fold64((__u64)gre[0] + gre[1] + e->inner_sum);
}

/* An IPv4 packet with DF that would exceed the egress MTU once encapsulated is answered as
 * IPVS answers it: ICMP "fragmentation needed" to the client, quoting the packet's IP header
 * and first 8 bytes, with `mtu` (the next-hop MTU less the outer headers), sent back out of
 * the interface it came in (XDP_TX), from the VIP. The frame is rebuilt in place: 28 bytes
 * prepended for the new IP and ICMP headers, the tail cut after the quote. */
#define LVS_ICMP_QUOTE 28 /* IP header + 8 bytes */
static __always_inline int frag_needed4(struct xdp_md* ctx, __u32 mtu) {
  void* data = (void*)(long)ctx->data;
  void* end = (void*)(long)ctx->data_end;
  struct ethhdr* eth = data;
  struct iphdr* orig = (void*)(eth + 1);
  if ((void*)orig + LVS_ICMP_QUOTE > end) return tun_drop();
  __u8 client_mac[ETH_ALEN];
  __u8 our_mac[ETH_ALEN];
  __builtin_memcpy(client_mac, eth->h_source, ETH_ALEN);
  __builtin_memcpy(our_mac, eth->h_dest, ETH_ALEN);
  const __u32 client = orig->saddr;
  const __u32 vip = orig->daddr;
  const int frame = sizeof(struct ethhdr) + sizeof(struct iphdr) + sizeof(struct icmp_head) +
                    LVS_ICMP_QUOTE;
  if (bpf_xdp_adjust_head(ctx, -(int)(sizeof(struct iphdr) + sizeof(struct icmp_head))) != 0) {
    return tun_drop();
  }
  data = (void*)(long)ctx->data;
  end = (void*)(long)ctx->data_end;
  if (bpf_xdp_adjust_tail(ctx, frame - (int)(end - data)) != 0) return tun_drop();
  data = (void*)(long)ctx->data;
  end = (void*)(long)ctx->data_end;
  eth = data;
  struct iphdr* ip = (void*)(eth + 1);
  struct icmp_head* icmp = (void*)(ip + 1);
  if (data + frame > end) return XDP_DROP;
  __builtin_memcpy(eth->h_dest, client_mac, ETH_ALEN);
  __builtin_memcpy(eth->h_source, our_mac, ETH_ALEN);
  eth->h_proto = bpf_htons(ETH_P_IP);
  ip->version = 4;
  ip->ihl = 5;
  ip->tos = 0;
  ip->tot_len = bpf_htons(frame - sizeof(struct ethhdr));
  ip->id = 0;
  ip->frag_off = 0;
  ip->ttl = 64;
  ip->protocol = IPPROTO_ICMP;
  ip->check = 0;
  ip->saddr = vip;
  ip->daddr = client;
  __u32 sum = 0;
  const __u16* w = (const __u16*)ip;
#pragma unroll
  for (int i = 0; i < (int)(sizeof(*ip) / 2); ++i) sum += w[i];
  ip->check = csum_fold32(sum);
  icmp->type = ICMP_DEST_UNREACH_;
  icmp->code = 4; /* fragmentation needed and DF set */
  icmp->checksum = 0;
  icmp->rest = bpf_htonl(mtu); /* unused 16 bits, next-hop MTU */
  sum = 0;
  w = (const __u16*)icmp;
#pragma unroll
  for (int i = 0; i < (int)((sizeof(*icmp) + LVS_ICMP_QUOTE) / 2); ++i) sum += w[i];
  icmp->checksum = csum_fold32(sum);
  tun_drop(); /* counted: the packet itself was not sent */
  return XDP_TX;
}

static __always_inline int tunnel4(struct xdp_md* ctx, const struct pkt* p, struct iphdr* in,
                                   __u32 rs, __u32 dest_stat) {
  const __u8 tos = in->tos;
  const __u8 ttl = in->ttl;
  const __u16 df = in->frag_off & bpf_htons(IP_DF_);
  struct tun_scratch* sc = tun_scratch();
  if (!sc) return tun_drop();
  struct bpf_fib_lookup* fib = &sc->fib;
  struct encap* e = &sc->e;
  if (encap_plan(ctx, p, dest_stat, e) != 0) return tun_drop();
  const __u16 outer = (__u16)sizeof(struct iphdr) + e->len;
  if (p->ip_len > 0xFFFF - outer) return tun_drop();
  const __u16 len = p->ip_len + outer;
  fib->family = AF_INET_;
  fib->tos = tos;
  fib->l4_protocol = e->proto;
  fib->tot_len = len;
  fib->ipv4_dst = rs;
  fib->ifindex = ctx->ingress_ifindex;
  const long rc = bpf_fib_lookup(ctx, fib, sizeof(*fib), BPF_FIB_LOOKUP_SRC);
  if (rc == BPF_FIB_LKUP_RET_FRAG_NEEDED && df != 0 && fib->mtu_result > outer) {
    return frag_needed4(ctx, fib->mtu_result - outer);
  }
  if (rc != BPF_FIB_LKUP_RET_SUCCESS) return tun_drop();
  if (bpf_xdp_adjust_head(ctx, -(int)outer) != 0) return tun_drop();
  void* data = (void*)(long)ctx->data;
  void* end = (void*)(long)ctx->data_end;
  struct ethhdr* eth = data;
  struct iphdr* out = (void*)(eth + 1);
  /* The inner packet follows (at least an IP and a TCP or UDP header): LVS_ENCAP_MAX bytes
   * after the outer IP header are in the packet whatever the encapsulation. */
  if ((void*)(out + 1) + LVS_ENCAP_MAX > end) return XDP_DROP;
  out->version = 4;
  out->ihl = 5;
  out->tos = tos;
  out->tot_len = bpf_htons(len);
  /* An ID matters only for fragments, which DF rules out. */
  out->id = df != 0 ? 0 : (__u16)bpf_get_prandom_u32();
  out->frag_off = df;
  out->ttl = ttl;
  out->protocol = e->proto;
  out->check = 0;
  out->saddr = fib->ipv4_src;
  out->daddr = rs;
  __u32 sum = 0;
  const __u16* w = (const __u16*)out;
#pragma unroll
  for (int i = 0; i < (int)(sizeof(*out) / 2); ++i) sum += w[i];
  out->check = csum_fold32(sum);
  encap_write((__u8*)(out + 1), e, words_sum(&out->saddr, 2));
  return tun_out(ctx, fib, eth, ETH_P_IP);
}

static __always_inline int tunnel6(struct xdp_md* ctx, const struct pkt* p, struct ip6_head* in,
                                   const __u32 rs[4], __u32 dest_stat) {
  const __u8 vtc = in->vtc;
  const __u8 tc_low = in->flow[0] & 0xF0; /* the traffic class's low half; no flow label */
  const __u8 hops = in->hop_limit;
  struct tun_scratch* sc = tun_scratch();
  if (!sc) return tun_drop();
  struct bpf_fib_lookup* fib = &sc->fib;
  struct encap* e = &sc->e;
  if (encap_plan(ctx, p, dest_stat, e) != 0) return tun_drop();
  if (p->ip_len > 0xFFFF - sizeof(struct ip6_head) - e->len) return tun_drop();
  const __u16 payload = p->ip_len + e->len;
  fib->family = AF_INET6_;
  fib->l4_protocol = e->proto;
  fib->tot_len = payload + (__u16)sizeof(struct ip6_head);
  __builtin_memcpy(fib->ipv6_dst, rs, 16);
  fib->ifindex = ctx->ingress_ifindex;
  if (bpf_fib_lookup(ctx, fib, sizeof(*fib), BPF_FIB_LOOKUP_SRC) != BPF_FIB_LKUP_RET_SUCCESS) {
    return tun_drop();
  }
  if (bpf_xdp_adjust_head(ctx, -(int)(sizeof(struct ip6_head) + e->len)) != 0) return tun_drop();
  void* data = (void*)(long)ctx->data;
  void* end = (void*)(long)ctx->data_end;
  struct ethhdr* eth = data;
  struct ip6_head* out = (void*)(eth + 1);
  if ((void*)(out + 1) + LVS_ENCAP_MAX > end) return XDP_DROP; /* as tunnel4 */
  out->vtc = vtc;
  out->flow[0] = tc_low;
  out->flow[1] = 0;
  out->flow[2] = 0;
  out->payload_len = bpf_htons(payload);
  out->nexthdr = e->proto;
  out->hop_limit = hops;
  __builtin_memcpy(out->saddr, fib->ipv6_src, 16);
  __builtin_memcpy(out->daddr, rs, 16);
  encap_write((__u8*)(out + 1), e, words_sum(out->saddr, 8));
  return tun_out(ctx, fib, eth, ETH_P_IPV6_);
}

static __always_inline int tunnel(struct xdp_md* ctx, const struct pkt* p, const __u32 rs[4],
                                  __u32 dest_stat) {
  if (p->ip6) return tunnel6(ctx, p, p->ip6, rs, dest_stat);
  if (p->iph) return tunnel4(ctx, p, p->iph, rs[0], dest_stat);
  return XDP_PASS;
}

/* client -> VIP on a live direct-routing entry: state from the client's packets alone (the
 * INPUT-ONLY table), counted in, sent on unchanged. */
static __always_inline int route_forward(struct xdp_md* ctx, struct pkt* p, struct lvs_conn* c,
                                         __u64 now, int new_conn) {
  const __u8 before = c->state;
  c->state = next_state(p, before, LVS_TCP_INPUT_ONLY);
  load_move(c, before, c->state);
  c->last_seen_ns = now;
  count(&svc_stats, c->svc_stat, 1, p->ip_len, new_conn);
  count(&dest_stats, c->dest_stat, 1, p->ip_len, new_conn);
  if ((c->flags & LVS_XDP_CONN_PERSIST) != 0 && !new_conn) keep_template(p, c, now);
  return route_xmit(ctx, p, c->nat_addr);
}

/* client -> VIP on a live forward entry: DNAT to the realserver (masquerading),
 * encapsulated to it (tunnelling), or on to it unchanged (direct routing). */
static __always_inline int do_forward(struct xdp_md* ctx, struct pkt* p, struct lvs_conn* c,
                                      __u64 now, int new_conn) {
  if (c->method == LVS_XDP_ROUTE) return route_forward(ctx, p, c, now, new_conn);
  const __u8 before = c->state;
  const int tunnelled = c->method == LVS_XDP_TUNNEL;
  /* A tunnelled flow's replies bypass the director: the input-only table (spec §3). */
  c->state = next_state(p, before, tunnelled ? LVS_TCP_INPUT_ONLY : LVS_TCP_INPUT);
  load_move(c, before, c->state);
  c->last_seen_ns = now;
  count(&svc_stats, c->svc_stat, 1, p->ip_len, new_conn);
  count(&dest_stats, c->dest_stat, 1, p->ip_len, new_conn);
  if ((c->flags & LVS_XDP_CONN_PERSIST) != 0 && !new_conn) keep_template(p, c, now);
  if (tunnelled) return tunnel(ctx, p, c->nat_addr, c->dest_stat);
  const __u16 old_port = *p->dport;
  addr_set(p, p->daddr, c->nat_addr);
  *p->dport = c->nat_port;
  l4_replace2(p, old_port, c->nat_port);
  return forward(ctx, p);
}

/* realserver -> client on a reply entry: SNAT back to VIP:port. */
static __always_inline int do_reply(struct xdp_md* ctx, struct pkt* p, const struct lvs_conn* r,
                                    const struct lvs_config* cfg, __u64 now) {
  struct lvs_conn_key fk = {};
  addr_get(p, p->daddr, fk.saddr);
  __builtin_memcpy(fk.daddr, r->nat_addr, sizeof(fk.daddr));
  fk.sport = *p->dport;
  fk.dport = r->nat_port;
  fk.proto = p->proto;
  fk.family = p->family;
  struct lvs_conn* c = bpf_map_lookup_elem(&conns, &fk);
  if (!c || (c->flags & LVS_XDP_CONN_REPLY) != 0 || expired(c, cfg, now)) return XDP_PASS;
  const __u8 before = c->state;
  c->state = next_state(p, before, LVS_TCP_OUTPUT);
  load_move(c, before, c->state);
  c->last_seen_ns = now;
  count(&svc_stats, c->svc_stat, 0, p->ip_len, 0);
  count(&dest_stats, c->dest_stat, 0, p->ip_len, 0);
  const __u16 old_port = *p->sport;
  addr_set(p, p->saddr, r->nat_addr);
  *p->sport = r->nat_port;
  l4_replace2(p, old_port, r->nat_port);
  return forward(ctx, p);
}

/* ICMPv6 (RFC 4443) errors about a flow: destination unreachable, packet too big, time
 * exceeded, parameter problem. */
#define IPPROTO_ICMPV6_ 58
#define ICMPV6_DEST_UNREACH_ 1
#define ICMPV6_PKT_TOOBIG_ 2
#define ICMPV6_TIME_EXCEED_ 3
#define ICMPV6_PARAMPROB_ 4

/* Replaces an IPv6 address of the packet (the caller checked its 16 bytes are in the packet)
 * and fixes the ICMPv6 checksum, which covers both the pseudo header and the quoted packet. */
static __always_inline void addr6_set(__u32* a, const __u32 to[4], __u16* check) {
  for (int i = 0; i < 4; ++i) {
    const __u32 old = a[i];
    a[i] = to[i];
    csum_replace4(check, old, to[i]);
  }
}

/* The IPv6 twin of do_icmp: the same translation; IPv6 headers have no checksum, the ICMPv6
 * checksum (pseudo header included) is fixed incrementally. Extension headers (outer or
 * quoted), a quote too short for the ports, other types: passed unchanged. */
static __always_inline int do_icmp6(struct xdp_md* ctx, const struct lvs_config* cfg, __u64 now) {
  void* data = (void*)(long)ctx->data;
  void* end = (void*)(long)ctx->data_end;
  struct ethhdr* eth = data;
  if ((void*)(eth + 1) > end) return XDP_PASS;
  struct ip6_head* ip6 = (void*)(eth + 1);
  if ((void*)(ip6 + 1) > end || (ip6->vtc >> 4) != 6 || ip6->nexthdr != IPPROTO_ICMPV6_) {
    return XDP_PASS;
  }
  const __u16 payload = bpf_ntohs(ip6->payload_len);
  if ((void*)(ip6 + 1) + payload > end) return XDP_PASS;
  struct icmp_head* icmp = (void*)(ip6 + 1);
  struct ip6_head* in = (void*)(icmp + 1);
  __be16* in_ports = (void*)(in + 1);
  if ((void*)(in_ports + 2) > end || (void*)(in_ports + 2) > (void*)(ip6 + 1) + payload) {
    return XDP_PASS;
  }
  if (icmp->type != ICMPV6_DEST_UNREACH_ && icmp->type != ICMPV6_PKT_TOOBIG_ &&
      icmp->type != ICMPV6_TIME_EXCEED_ && icmp->type != ICMPV6_PARAMPROB_) {
    return XDP_PASS;
  }
  if ((in->vtc >> 4) != 6) return XDP_PASS;
  if (in->nexthdr != IPPROTO_TCP && in->nexthdr != IPPROTO_UDP) return XDP_PASS;
  /* The quoted packet went the other way: its reversed tuple is the key of this direction. */
  struct lvs_conn_key key = {};
  __builtin_memcpy(key.saddr, in->daddr, sizeof(key.saddr));
  __builtin_memcpy(key.daddr, in->saddr, sizeof(key.daddr));
  key.sport = in_ports[1];
  key.dport = in_ports[0];
  key.proto = in->nexthdr;
  key.family = LVS_XDP_INET6;
  struct lvs_conn* c = bpf_map_lookup_elem(&conns, &key);
  if (!c) return XDP_PASS;
  /* Direct routing and tunnelling rewrite no address: an error about such a flow is the
   * kernel's (not forwarded to the realserver as the IPv4 path does for -g: not built yet). */
  if ((c->flags & LVS_XDP_CONN_NO_OUTPUT) != 0) return XDP_PASS;
  const int from_rs = (c->flags & LVS_XDP_CONN_REPLY) != 0;
  if (!from_rs && expired(c, cfg, now)) return XDP_PASS;
  __u32 to[4];
  __builtin_memcpy(to, c->nat_addr, sizeof(to));
  const __u16 new_port = c->nat_port;
  __u16 old_port;
  if (from_rs) {
    /* Outer source and quoted destination become VIP:port. */
    addr6_set(ip6->saddr, to, &icmp->checksum);
    addr6_set(in->daddr, to, &icmp->checksum);
    old_port = in_ports[1];
    in_ports[1] = new_port;
  } else {
    /* Outer destination and quoted source become the realserver. */
    addr6_set(ip6->daddr, to, &icmp->checksum);
    addr6_set(in->saddr, to, &icmp->checksum);
    old_port = in_ports[0];
    in_ports[0] = new_port;
  }
  csum_replace2(&icmp->checksum, old_port, new_port);
  struct pkt p = {};
  p.eth = eth;
  p.ip6 = ip6;
  p.end = end;
  p.family = LVS_XDP_INET6;
  p.proto = IPPROTO_ICMPV6_;
  p.ip_len = (__u16)(sizeof(*ip6) + payload);
  return forward(ctx, &p);
}

/* An ICMP error about a flow (destination unreachable incl. fragmentation needed, time
 * exceeded, parameter problem) is translated like the packet it quotes, as IPVS does: from
 * the realserver side, outer source and quoted destination become VIP:port; from the client
 * side, outer destination and quoted source become the realserver. The quoted IP header
 * checksum and the ICMP checksum are fixed incrementally; the quoted L4 checksum is left as
 * it is. Anything else ICMP passes unchanged. */
static __always_inline int do_icmp(struct xdp_md* ctx, const struct lvs_config* cfg, __u64 now) {
  void* data = (void*)(long)ctx->data;
  void* end = (void*)(long)ctx->data_end;
  struct ethhdr* eth = data;
  if ((void*)(eth + 1) > end) return XDP_PASS;
  if (eth->h_proto == bpf_htons(ETH_P_IPV6_)) return do_icmp6(ctx, cfg, now);
  if (eth->h_proto != bpf_htons(ETH_P_IP)) return XDP_PASS;
  struct iphdr* iph = (void*)(eth + 1);
  if ((void*)(iph + 1) > end || iph->version != 4 || iph->ihl != 5) return XDP_PASS;
  if (iph->protocol != IPPROTO_ICMP) return XDP_PASS;
  if ((iph->frag_off & bpf_htons(IP_MF_ | IP_OFFSET_)) != 0) return XDP_PASS;
  const __u16 ip_len = bpf_ntohs(iph->tot_len);
  if (ip_len < sizeof(*iph) || (void*)iph + ip_len > end) return XDP_PASS;
  struct icmp_head* icmp = (void*)(iph + 1);
  struct iphdr* in = (void*)(icmp + 1);
  __be16* in_ports = (void*)(in + 1);
  if ((void*)(in_ports + 2) > end || (void*)(in_ports + 2) > (void*)iph + ip_len) {
    return XDP_PASS;
  }
  if (icmp->type != ICMP_DEST_UNREACH_ && icmp->type != ICMP_TIME_EXCEEDED_ &&
      icmp->type != ICMP_PARAMETERPROB_) {
    return XDP_PASS;
  }
  if (in->version != 4 || in->ihl != 5) return XDP_PASS;
  if (in->protocol != IPPROTO_TCP && in->protocol != IPPROTO_UDP) return XDP_PASS;
  /* The quoted packet went the other way: its reversed tuple is the key of this direction. */
  struct lvs_conn_key key = {};
  key.saddr[0] = in->daddr;
  key.daddr[0] = in->saddr;
  key.sport = in_ports[1];
  key.dport = in_ports[0];
  key.proto = in->protocol;
  key.family = LVS_XDP_INET4;
  struct lvs_conn* c = bpf_map_lookup_elem(&conns, &key);
  if (!c) return XDP_PASS;
  /* A tunnelled flow's ICMP is the kernel's (its replies never crossed the director). */
  if (c->method == LVS_XDP_TUNNEL) return XDP_PASS;
  struct pkt p = {};
  p.eth = eth;
  p.iph = iph;
  p.end = end;
  p.family = LVS_XDP_INET4;
  p.proto = IPPROTO_ICMP;
  p.ip_len = ip_len;
  if (c->method == LVS_XDP_ROUTE) {
    /* Direct routing: the error goes on to the realserver unchanged, as the flow's packets. */
    if (expired(c, cfg, now)) return XDP_PASS;
    return route_xmit(ctx, &p, c->nat_addr);
  }
  const int from_rs = (c->flags & LVS_XDP_CONN_REPLY) != 0;
  if (!from_rs && expired(c, cfg, now)) return XDP_PASS;
  const __u32 new_addr = c->nat_addr[0];
  const __u16 new_port = c->nat_port;
  /* From the realserver: outer source, quoted destination. From the client: outer
   * destination, quoted source. */
  __u32* outer = from_rs ? &iph->saddr : &iph->daddr;
  __u32* quoted = from_rs ? &in->daddr : &in->saddr;
  __be16* quoted_port = from_rs ? &in_ports[1] : &in_ports[0];
  const __u32 old_outer = *outer;
  const __u32 old_quoted = *quoted;
  const __u16 old_port = *quoted_port;
  const __u16 old_in_check = in->check;
  *outer = new_addr;
  csum_replace4(&iph->check, old_outer, new_addr);
  *quoted = new_addr;
  csum_replace4(&in->check, old_quoted, new_addr);
  *quoted_port = new_port;
  csum_replace4(&icmp->checksum, old_quoted, new_addr);
  csum_replace2(&icmp->checksum, old_in_check, in->check);
  csum_replace2(&icmp->checksum, old_port, new_port);
  return forward(ctx, &p);
}

SEC("xdp")
int lvs_xdp(struct xdp_md* ctx) {
  struct pkt p = {};
  __u32 zero = 0;
  const struct lvs_config* cfg = bpf_map_lookup_elem(&config, &zero);
  if (!cfg) return XDP_PASS;
  const __u64 now = clock_now();
  if (parse(ctx, &p) != 0) return do_icmp(ctx, cfg, now);

  struct lvs_conn_key key = {};
  addr_get(&p, p.saddr, key.saddr);
  addr_get(&p, p.daddr, key.daddr);
  key.sport = *p.sport;
  key.dport = *p.dport;
  key.proto = p.proto;
  key.family = p.family;
  struct lvs_conn* c = bpf_map_lookup_elem(&conns, &key);
  if (c) {
    if ((c->flags & LVS_XDP_CONN_REPLY) != 0) return do_reply(ctx, &p, c, cfg, now);
    if (!expired(c, cfg, now)) return do_forward(ctx, &p, c, now, 0);
    /* Expired: it stops counting in its realserver's load (once, whoever sees it first). */
    if (__sync_lock_test_and_set(&c->counted, 0) != 0) load_add(c->dest_stat, c->state, -1);
    /* An expired entry is a miss: a new flow may replace it below. */
  }
  /* Standing by: live flows (synced from the master) go on, so none is reset in the moment
   * between keepalived adding the VIP and lvsd hearing MASTER; nothing new is opened. */
  if ((cfg->flags & LVS_XDP_CFG_STANDBY) != 0) return standby_pass();

  struct lvs_svc_key sk = {};
  __builtin_memcpy(sk.addr, key.daddr, sizeof(sk.addr));
  sk.port = *p.dport;
  sk.proto = p.proto;
  sk.family = p.family;
  sk.bank = cfg->bank;
  const struct lvs_svc* svc = bpf_map_lookup_elem(&services, &sk);
  if (!svc) return XDP_PASS; /* not a virtual service: served locally */
  /* Only a SYN (without ACK) opens a TCP flow; other segments of unknown flows go to the
   * kernel, as IPVS lets them continue. In cluster mode (ECMP may move a flow to this director
   * mid-stream) the kernel, which holds the VIP, would reset them: a service built with the
   * cluster seed schedules them instead, as IPVS's sloppy_tcp does (every director's mh slots
   * give the same realserver; not a RST, as sloppy_tcp); any other is dropped and counted. */
  int midstream = 0;
  if (p.proto == IPPROTO_TCP && (p.tcp_flags & 0x17U) != 0x02U) {
    if ((cfg->flags & LVS_XDP_CFG_CLUSTER) == 0) return XDP_PASS;
    if ((svc->flags & LVS_XDP_SVC_CLUSTER) == 0 || (p.tcp_flags & 0x04U) != 0) {
      return midstream_drop();
    }
    midstream = 1;
  }

  /* Persistence (spec §1.3): a live template of the client's network decides, without the
   * scheduler; otherwise the scheduler picks and a template is made. */
  struct lvs_tpl chosen = {};
  int from_template = 0;
  struct lvs_tpl_key tk = {};
  if (svc->persist_timeout != 0) {
    tpl_key(&tk, svc->stat_slot, p.family, key.saddr, svc->netmask);
    struct lvs_tpl* t = bpf_map_lookup_elem(&templates, &tk);
    if (t && idle_ns(now, t->last_seen_ns) <= (__u64)svc->persist_timeout * 1000000000ULL) {
      t->last_seen_ns = now;
      chosen = *t;
      from_template = 1;
    }
  }
  if (!from_template) {
    const struct lvs_dest* d = pick(svc, &p);
    if (!d || d->family != p.family) {
      count_global(1);
      return XDP_DROP;
    }
    /* A masquerading flow taken over mid-stream would need the realserver's replies to come
     * back through this director, which nothing here can know: held (dropped) instead. */
    if (midstream && d->method == LVS_XDP_MASQ) return midstream_drop();
    chosen.last_seen_ns = now;
    __builtin_memcpy(chosen.dest_addr, d->addr, sizeof(chosen.dest_addr));
    chosen.dest_port = d->port;
    chosen.method = d->method;
    chosen.dest_stat = d->stat_slot;
    if (svc->persist_timeout != 0) bpf_map_update_elem(&templates, &tk, &chosen, BPF_ANY);
  }
  if (midstream && chosen.method == LVS_XDP_MASQ) return midstream_drop();

  struct lvs_conn fwd = {};
  fwd.last_seen_ns = now;
  __builtin_memcpy(fwd.nat_addr, chosen.dest_addr, sizeof(fwd.nat_addr));
  fwd.nat_port = chosen.dest_port;
  fwd.state = LVS_TCP_S_NONE;
  fwd.svc_stat = svc->stat_slot;
  fwd.dest_stat = chosen.dest_stat;
  fwd.counted = 1;
  fwd.method = chosen.method;
  if (svc->persist_timeout != 0) {
    fwd.flags = LVS_XDP_CONN_PERSIST;
    fwd.netmask = svc->netmask;
  }
  if (chosen.method == LVS_XDP_ROUTE || chosen.method == LVS_XDP_TUNNEL) {
    /* Replies bypass the director: the forward entry is the whole flow. */
    fwd.flags |= LVS_XDP_CONN_NO_OUTPUT;
    if (bpf_map_update_elem(&conns, &key, &fwd, BPF_ANY) != 0) {
      count_global(1);
      return XDP_DROP;
    }
    load_add(chosen.dest_stat, LVS_TCP_S_NONE, 1); /* a new entry starts inactive */
    c = bpf_map_lookup_elem(&conns, &key);
    if (!c) return XDP_DROP;
    if (chosen.method == LVS_XDP_ROUTE) return route_forward(ctx, &p, c, now, 1);
    return do_forward(ctx, &p, c, now, 1);
  }

  struct lvs_conn_key rk = {};
  __builtin_memcpy(rk.saddr, chosen.dest_addr, sizeof(rk.saddr));
  __builtin_memcpy(rk.daddr, key.saddr, sizeof(rk.daddr));
  rk.sport = chosen.dest_port;
  rk.dport = *p.sport;
  rk.proto = p.proto;
  rk.family = p.family;
  struct lvs_conn rev = {};
  rev.last_seen_ns = now;
  __builtin_memcpy(rev.nat_addr, key.daddr, sizeof(rev.nat_addr));
  rev.nat_port = *p.dport;
  rev.flags = LVS_XDP_CONN_REPLY;
  rev.svc_stat = svc->stat_slot;
  rev.dest_stat = chosen.dest_stat;

  if (bpf_map_update_elem(&conns, &rk, &rev, BPF_ANY) != 0 ||
      bpf_map_update_elem(&conns, &key, &fwd, BPF_ANY) != 0) {
    count_global(1);
    return XDP_DROP;
  }
  load_add(chosen.dest_stat, LVS_TCP_S_NONE, 1); /* a new entry starts inactive */
  c = bpf_map_lookup_elem(&conns, &key);
  if (!c) return XDP_DROP;
  return do_forward(ctx, &p, c, now, 1);
}
