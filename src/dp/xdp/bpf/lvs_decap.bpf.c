// SPDX-License-Identifier: GPL-2.0
/* The realserver's side of tunnelling (-i): this kernel has no IPIP, FOU/GUE or GRE device, so
 * an XDP program on the realserver's interface strips the outer headers that the director's
 * engine put in front (IPv4 in IPv4, IPv6 in IPv6; IPIP, GUE to a configured UDP port, or GRE:
 * encap_len) and hands the inner packet, addressed to a VIP that sits on the realserver's lo,
 * to the kernel's stack. Only a packet whose outer destination is one of the realserver's own
 * addresses (decap_locals) and whose inner destination is a configured VIP (decap_vips) is
 * stripped; everything else, including truncated or malformed tunnel packets, GUE to another
 * port, outer options and fragments, passes unchanged. The installer (lvs-decap,
 * src/dp/xdp/decap.cc) fills the maps. */

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/udp.h>

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

/* The UDP ports (network order) GUE arrives on (lvs-decap --gue-port); empty: no GUE. */
struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, LVS_DECAP_MAX_GUE_PORTS);
  __type(key, __u16);
  __type(value, __u32);
} decap_gue_ports SEC(".maps");

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

/* Moves the Ethernet header forward over the outer headers and drops what lies before it. */
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

/* The bytes between the outer IP header and the inner packet, or -1 when the packet is not a
 * tunnel this program strips. `at`: just after the outer IP header; `proto`: its protocol;
 * `inner`: the inner packet's protocol number (4 under IPv4, 41 under IPv6, as the director
 * builds them); `payload`: the bytes after the outer IP header.
 *   IPIP: protocol `inner`, nothing between.
 *   GRE:  protocol 47, version 0, no flags but C (checksum: 8 bytes, else 4), protocol type
 *         0x0800 or 0x86DD matching `inner`.
 *   GUE:  protocol 17 to a port of decap_gue_ports, the UDP length = `payload`, then GUE
 *         version 0 without options or flags, protocol `inner` (12 bytes).
 * The outer checksums (GRE's C, UDP's) are not verified: the inner packet's are the stack's to
 * verify, as for IPIP. */
static __always_inline int encap_len(__u8 proto, const __u8* at, const void* end, __u8 inner,
                                     __u16 payload) {
  if (proto == inner) return 0;
  if (proto == IPPROTO_GRE) {
    const __be16* gre = (const void*)at;
    if ((const void*)(gre + 2) > end) return -1;
    const __be16 type = bpf_htons(inner == IPPROTO_IPIP ? ETH_P_IP : ETH_P_IPV6_);
    if (gre[1] != type) return -1;
    if (gre[0] == 0) return LVS_DECAP_GRE_LEN;
    if (gre[0] == bpf_htons(LVS_DECAP_GRE_FLAG_C)) return LVS_DECAP_GRE_CSUM_LEN;
    return -1;
  }
  if (proto != IPPROTO_UDP) return -1;
  const struct udphdr* uh = (const void*)at;
  const __u8* gue = (const void*)(uh + 1);
  if ((const void*)(gue + 4) > end || bpf_ntohs(uh->len) != payload) return -1;
  const __u16 port = uh->dest;
  if (!bpf_map_lookup_elem(&decap_gue_ports, &port)) return -1;
  if (gue[0] != 0 || gue[1] != inner || gue[2] != 0 || gue[3] != 0) return -1;
  return LVS_DECAP_GUE_LEN;
}

static __always_inline int decap4(struct xdp_md* ctx, struct ethhdr* eth, void* end) {
  struct iphdr* out = (void*)(eth + 1);
  if ((void*)(out + 1) > end) return XDP_PASS;
  if (out->version != 4 || out->ihl != 5) return XDP_PASS;
  if ((out->frag_off & bpf_htons(IP_MF_ | IP_OFFSET_)) != 0) return XDP_PASS;
  const __u16 len = bpf_ntohs(out->tot_len);
  if (len < sizeof(*out) || (void*)out + len > end) return XDP_PASS;
  const int hdr = encap_len(out->protocol, (const __u8*)(out + 1), end, IPPROTO_IPIP,
                            len - sizeof(*out));
  if (hdr < 0 || hdr > LVS_DECAP_ENCAP_MAX) return XDP_PASS;
  struct iphdr* in = (void*)(out + 1) + hdr;
  if ((void*)(in + 1) > end || len < 2 * sizeof(*out) + hdr) return XDP_PASS;
  if (in->version != 4 || in->ihl < 5 || bpf_ntohs(in->tot_len) != len - sizeof(*out) - hdr) {
    return XDP_PASS;
  }
  if (!known(&decap_locals, LVS_XDP_INET4, &out->daddr) ||
      !known(&decap_vips, LVS_XDP_INET4, &in->daddr)) {
    return count(0);
  }
  return strip(ctx, eth, (int)sizeof(*out) + hdr);
}

static __always_inline int decap6(struct xdp_md* ctx, struct ethhdr* eth, void* end) {
  struct ip6_head* out = (void*)(eth + 1);
  if ((void*)(out + 1) > end) return XDP_PASS;
  if ((out->vtc >> 4) != 6) return XDP_PASS;
  const __u16 len = bpf_ntohs(out->payload_len);
  if ((void*)(out + 1) + len > end) return XDP_PASS;
  const int hdr = encap_len(out->nexthdr, (const __u8*)(out + 1), end, IPPROTO_IPV6_, len);
  if (hdr < 0 || hdr > LVS_DECAP_ENCAP_MAX) return XDP_PASS;
  struct ip6_head* in = (void*)(out + 1) + hdr;
  if ((void*)(in + 1) > end || len < sizeof(*in) + hdr) return XDP_PASS;
  if ((in->vtc >> 4) != 6 || bpf_ntohs(in->payload_len) != len - sizeof(*in) - hdr) {
    return XDP_PASS;
  }
  if (!known(&decap_locals, LVS_XDP_INET6, out->daddr) ||
      !known(&decap_vips, LVS_XDP_INET6, in->daddr)) {
    return count(0);
  }
  return strip(ctx, eth, (int)sizeof(*out) + hdr);
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
