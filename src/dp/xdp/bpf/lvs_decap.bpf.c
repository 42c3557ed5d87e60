// SPDX-License-Identifier: GPL-2.0
/* The realserver's side of tunnelling (-i): this kernel has no IPIP device, so an XDP program
 * on the realserver's interface strips the outer header that the director's engine put in
 * front (IPv4 in IPv4, protocol 4; IPv6 in IPv6, next header 41) and hands the inner packet,
 * addressed to a VIP that sits on the realserver's lo, to the kernel's stack. Only a packet
 * whose outer destination is one of the realserver's own addresses (decap_locals) and whose
 * inner destination is a configured VIP (decap_vips) is stripped; everything else, including
 * truncated or malformed tunnel packets, outer options and fragments, passes unchanged. The
 * installer (lvs-decap, src/dp/xdp/decap.cc) fills both maps. */

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>

#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "dp/xdp/bpf/decap.h"

char LICENSE[] SEC("license") = "GPL";

#define ETH_P_IPV6_ 0x86DD
#define IPPROTO_IPV6_ 41
#define IP_MF_ 0x2000
#define IP_OFFSET_ 0x1FFF

/* The fixed IPv6 header (RFC 8200). */
struct ip6_head {
  __u8 vtc;
  __u8 flow[3];
  __u16 payload_len;
  __u8 nexthdr;
  __u8 hop_limit;
  __u32 saddr[4];
  __u32 daddr[4];
};

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, LVS_DECAP_MAX_ADDRS);
  __type(key, struct lvs_decap_addr);
  __type(value, __u32);
} decap_vips SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, LVS_DECAP_MAX_ADDRS);
  __type(key, struct lvs_decap_addr);
  __type(value, __u32);
} decap_locals SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct lvs_decap_stats);
} decap_stats SEC(".maps");

static __always_inline int count(int decapped) {
  __u32 zero = 0;
  struct lvs_decap_stats* s = bpf_map_lookup_elem(&decap_stats, &zero);
  if (s) {
    if (decapped) {
      s->decapped += 1;
    } else {
      s->foreign += 1;
    }
  }
  return XDP_PASS;
}

static __always_inline int known(void* map, __u8 family, const __u32* a) {
  struct lvs_decap_addr k = {};
  k.family = family;
  k.addr[0] = a[0];
  if (family == LVS_XDP_INET6) {
    k.addr[1] = a[1];
    k.addr[2] = a[2];
    k.addr[3] = a[3];
  }
  return bpf_map_lookup_elem(map, &k) != (void*)0;
}

/* Moves the Ethernet header forward over the outer IP header and drops what lies before it. */
static __always_inline int strip(struct xdp_md* ctx, struct ethhdr* eth, int outer) {
  struct ethhdr copy = *eth;
  if (bpf_xdp_adjust_head(ctx, outer) != 0) return XDP_PASS;
  void* data = (void*)(long)ctx->data;
  void* end = (void*)(long)ctx->data_end;
  struct ethhdr* e = data;
  if ((void*)(e + 1) > end) return XDP_DROP; /* cannot happen: the inner header was checked */
  *e = copy;
  return count(1);
}

static __always_inline int decap4(struct xdp_md* ctx, struct ethhdr* eth, void* end) {
  struct iphdr* out = (void*)(eth + 1);
  if ((void*)(out + 1) > end) return XDP_PASS;
  if (out->version != 4 || out->ihl != 5 || out->protocol != IPPROTO_IPIP) return XDP_PASS;
  if ((out->frag_off & bpf_htons(IP_MF_ | IP_OFFSET_)) != 0) return XDP_PASS;
  const __u16 len = bpf_ntohs(out->tot_len);
  struct iphdr* in = (void*)(out + 1);
  if ((void*)(in + 1) > end || len < 2 * sizeof(*out) || (void*)out + len > end) {
    return XDP_PASS;
  }
  if (in->version != 4 || in->ihl < 5 || bpf_ntohs(in->tot_len) != len - sizeof(*out)) {
    return XDP_PASS;
  }
  if (!known(&decap_locals, LVS_XDP_INET4, &out->daddr) ||
      !known(&decap_vips, LVS_XDP_INET4, &in->daddr)) {
    return count(0);
  }
  return strip(ctx, eth, (int)sizeof(*out));
}

static __always_inline int decap6(struct xdp_md* ctx, struct ethhdr* eth, void* end) {
  struct ip6_head* out = (void*)(eth + 1);
  if ((void*)(out + 1) > end) return XDP_PASS;
  if ((out->vtc >> 4) != 6 || out->nexthdr != IPPROTO_IPV6_) return XDP_PASS;
  const __u16 len = bpf_ntohs(out->payload_len);
  struct ip6_head* in = (void*)(out + 1);
  if ((void*)(in + 1) > end || len < sizeof(*in) || (void*)(out + 1) + len > end) {
    return XDP_PASS;
  }
  if ((in->vtc >> 4) != 6 || bpf_ntohs(in->payload_len) != len - sizeof(*in)) return XDP_PASS;
  if (!known(&decap_locals, LVS_XDP_INET6, out->daddr) ||
      !known(&decap_vips, LVS_XDP_INET6, in->daddr)) {
    return count(0);
  }
  return strip(ctx, eth, (int)sizeof(*out));
}

SEC("xdp")
int lvs_decap(struct xdp_md* ctx) {
  void* data = (void*)(long)ctx->data;
  void* end = (void*)(long)ctx->data_end;
  struct ethhdr* eth = data;
  if ((void*)(eth + 1) > end) return XDP_PASS;
  if (eth->h_proto == bpf_htons(ETH_P_IP)) return decap4(ctx, eth, end);
  if (eth->h_proto == bpf_htons(ETH_P_IPV6_)) return decap6(ctx, eth, end);
  return XDP_PASS;
}
