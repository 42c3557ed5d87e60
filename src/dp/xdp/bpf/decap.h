#pragma once
/* Map layouts of the realserver's decapsulation program (lvs_decap.bpf.c), shared with its
 * installer (decap.cc, the lvs-decap tool): plain C99 with explicit padding, like maps.h.
 * Addresses are in network byte order as on the wire; IPv4 uses addr[0] only. */

/* C names on purpose: the BPF side is C. */
/* NOLINTBEGIN(modernize-use-using,readability-identifier-naming) */
#include "dp/xdp/bpf/maps.h"

#define LVS_DECAP_MAX_ADDRS 256U /* VIPs, and local addresses, each */
#define LVS_DECAP_MAX_GUE_PORTS 16U

/* What lies between the outer IP header and the inner packet (lvs_xdp.bpf.c builds them). */
#define LVS_DECAP_GUE_LEN 12     /* UDP header + GUE header (version 0, no options) */
#define LVS_DECAP_GRE_LEN 4      /* GRE flags and protocol */
#define LVS_DECAP_GRE_CSUM_LEN 8 /* + checksum and reserved (the C bit) */
#define LVS_DECAP_GRE_FLAG_C 0x8000
#define LVS_DECAP_ENCAP_MAX 12

/* A VIP (decap_vips) or one of the realserver's own addresses (decap_locals). */
struct lvs_decap_addr {
  lvs_u32 addr[4];
  lvs_u8 family; /* enum lvs_xdp_family */
  lvs_u8 pad[3];
};

/* Per-CPU counters (one entry). */
struct lvs_decap_stats {
  lvs_u64 decapped; /* tunnelled packets stripped and handed to the stack */
  lvs_u64 foreign;  /* tunnelled packets left alone: not to a local address, or not to a VIP */
};
/* NOLINTEND(modernize-use-using,readability-identifier-naming) */
