#pragma once
/* IPVS's TCP state machine (spec §3.1) and default timeouts (§3.2) as plain C99 tables for the
 * XDP program. The C++ engine's tables live in src/conn/state.cc; tests/unit/dp/xdp checks
 * every (table, event, state) cell and every timeout of this file against it, so the two
 * cannot drift apart. State numbers are the values of conn::ConnState. */

/* C names on purpose: the BPF side is C. */
/* NOLINTBEGIN(modernize-use-using,readability-identifier-naming) */
#include "dp/xdp/bpf/maps.h"

#define LVS_TCP_S_NONE 0U
#define LVS_TCP_S_ES 1U  /* ESTABLISHED */
#define LVS_TCP_S_SS 2U  /* SYN_SENT */
#define LVS_TCP_S_SR 3U  /* SYN_RECV */
#define LVS_TCP_S_FW 4U  /* FIN_WAIT */
#define LVS_TCP_S_TW 5U  /* TIME_WAIT */
#define LVS_TCP_S_CL 6U  /* CLOSE */
#define LVS_TCP_S_CW 7U  /* CLOSE_WAIT */
#define LVS_TCP_S_LA 8U  /* LAST_ACK */
#define LVS_TCP_S_LI 9U  /* LISTEN */
#define LVS_TCP_S_SA 10U /* SYNACK */
#define LVS_TCP_S_UDP 11U
#define LVS_TCP_STATES 11U

/* Events in the order of the table rows: the first of RST, SYN, FIN, ACK a segment carries is
 * its event (lvs_tcp_event); a segment with none of them moves the entry to CLOSE. */
#define LVS_TCP_EV_SYN 0U
#define LVS_TCP_EV_FIN 1U
#define LVS_TCP_EV_ACK 2U
#define LVS_TCP_EV_RST 3U
#define LVS_TCP_EV_NONE 4U

/* Tables: client -> server, server -> client, client -> server without output (DR/TUN). */
#define LVS_TCP_INPUT 0U
#define LVS_TCP_OUTPUT 1U
#define LVS_TCP_INPUT_ONLY 2U

/* Either side may leave a table unused. */
#define LVS_TCP_MAYBE_UNUSED __attribute__((unused))

#define LVS_S_(x) LVS_TCP_S_##x
/* clang-format off */
LVS_TCP_MAYBE_UNUSED static const lvs_u8 lvs_tcp_next[3][4][LVS_TCP_STATES] = {
  { /* INPUT      NONE       ES         SS         SR         FW         TW         CL         CW         LA         LI         SA */
    /* syn */ {LVS_S_(SR), LVS_S_(ES), LVS_S_(ES), LVS_S_(SR), LVS_S_(SR), LVS_S_(SR), LVS_S_(SR), LVS_S_(SR), LVS_S_(SR), LVS_S_(SR), LVS_S_(SR)},
    /* fin */ {LVS_S_(CL), LVS_S_(CW), LVS_S_(SS), LVS_S_(TW), LVS_S_(TW), LVS_S_(TW), LVS_S_(CL), LVS_S_(CW), LVS_S_(LA), LVS_S_(LI), LVS_S_(TW)},
    /* ack */ {LVS_S_(ES), LVS_S_(ES), LVS_S_(SS), LVS_S_(ES), LVS_S_(FW), LVS_S_(TW), LVS_S_(CL), LVS_S_(CW), LVS_S_(CL), LVS_S_(LI), LVS_S_(ES)},
    /* rst */ {LVS_S_(CL), LVS_S_(CL), LVS_S_(CL), LVS_S_(SR), LVS_S_(CL), LVS_S_(CL), LVS_S_(CL), LVS_S_(CL), LVS_S_(LA), LVS_S_(LI), LVS_S_(SR)},
  },
  { /* OUTPUT */
    /* syn */ {LVS_S_(SS), LVS_S_(ES), LVS_S_(SS), LVS_S_(SR), LVS_S_(SS), LVS_S_(SS), LVS_S_(SS), LVS_S_(SS), LVS_S_(SS), LVS_S_(LI), LVS_S_(SR)},
    /* fin */ {LVS_S_(TW), LVS_S_(FW), LVS_S_(SS), LVS_S_(TW), LVS_S_(FW), LVS_S_(TW), LVS_S_(CL), LVS_S_(TW), LVS_S_(LA), LVS_S_(LI), LVS_S_(TW)},
    /* ack */ {LVS_S_(ES), LVS_S_(ES), LVS_S_(SS), LVS_S_(ES), LVS_S_(FW), LVS_S_(TW), LVS_S_(CL), LVS_S_(CW), LVS_S_(LA), LVS_S_(ES), LVS_S_(ES)},
    /* rst */ {LVS_S_(CL), LVS_S_(CL), LVS_S_(SS), LVS_S_(CL), LVS_S_(CL), LVS_S_(TW), LVS_S_(CL), LVS_S_(CL), LVS_S_(CL), LVS_S_(CL), LVS_S_(CL)},
  },
  { /* INPUT-ONLY */
    /* syn */ {LVS_S_(SR), LVS_S_(ES), LVS_S_(ES), LVS_S_(SR), LVS_S_(SR), LVS_S_(SR), LVS_S_(SR), LVS_S_(SR), LVS_S_(SR), LVS_S_(SR), LVS_S_(SR)},
    /* fin */ {LVS_S_(CL), LVS_S_(FW), LVS_S_(SS), LVS_S_(TW), LVS_S_(FW), LVS_S_(TW), LVS_S_(CL), LVS_S_(CW), LVS_S_(LA), LVS_S_(LI), LVS_S_(TW)},
    /* ack */ {LVS_S_(ES), LVS_S_(ES), LVS_S_(SS), LVS_S_(ES), LVS_S_(FW), LVS_S_(TW), LVS_S_(CL), LVS_S_(CW), LVS_S_(CL), LVS_S_(LI), LVS_S_(ES)},
    /* rst */ {LVS_S_(CL), LVS_S_(CL), LVS_S_(CL), LVS_S_(SR), LVS_S_(CL), LVS_S_(CL), LVS_S_(CL), LVS_S_(CL), LVS_S_(LA), LVS_S_(LI), LVS_S_(CL)},
  },
};
/* clang-format on */
#undef LVS_S_

/* Default idle timeouts in seconds, indexed by state (NONE .. SYNACK, UDP). */
LVS_TCP_MAYBE_UNUSED static const lvs_u32 lvs_default_timeout_s[LVS_XDP_STATE_COUNT] = {
    2U, 900U, 120U, 60U, 120U, 120U, 10U, 60U, 30U, 120U, 120U, 300U};

/* Active states count in ActiveConn: ESTABLISHED, SYN_SENT, SYN_RECV, SYNACK. */
static inline int lvs_tcp_state_active(lvs_u32 s) {
  return s == LVS_TCP_S_ES || s == LVS_TCP_S_SS || s == LVS_TCP_S_SR || s == LVS_TCP_S_SA;
}

/* TCP header flag bits as on the wire -> event. */
static inline lvs_u32 lvs_tcp_event(lvs_u8 flags) {
  if ((flags & 0x04U) != 0U) return LVS_TCP_EV_RST;
  if ((flags & 0x02U) != 0U) return LVS_TCP_EV_SYN;
  if ((flags & 0x01U) != 0U) return LVS_TCP_EV_FIN;
  if ((flags & 0x10U) != 0U) return LVS_TCP_EV_ACK;
  return LVS_TCP_EV_NONE;
}

/* The state after `event` in `state` by `table`; anything out of range gives CLOSE. */
static inline lvs_u32 lvs_tcp_next_state(lvs_u32 table, lvs_u32 event, lvs_u32 state) {
  if (table > LVS_TCP_INPUT_ONLY || event > LVS_TCP_EV_RST || state >= LVS_TCP_STATES) {
    return LVS_TCP_S_CL;
  }
  return lvs_tcp_next[table][event][state];
}
/* NOLINTEND(modernize-use-using,readability-identifier-naming) */
