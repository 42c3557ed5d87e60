#pragma once
/* Hash arithmetic of the sh, dh and mh schedulers (spec §2), shared by the C++ schedulers and
 * the XDP engine: both sides must put a flow in the same bucket or slot, so this file is plain
 * C99 (static inline functions on fixed-width unsigned integers, no C++-only constructs) and
 * compiles warning-free as C and as C++ under the house flags. All arithmetic wraps mod 2^32
 * or 2^64 by design; no signed values appear. */

#include <stdint.h>

/* Narrowing casts: static_cast under C++ (-Wold-style-cast), a C cast otherwise. */
#ifdef __cplusplus
#define LVS_HASH_CAST(type, x) static_cast<type>(x)
#else
#define LVS_HASH_CAST(type, x) ((type)(x))
#endif

/* The IPVS golden-ratio multiplier, 2^32 / phi rounded. */
#define LVS_HASH_GOLDEN_RATIO 2654435761U
/* sh and dh tables have 256 buckets (a power of two: "mod 256" is a mask). */
#define LVS_HASH_BUCKETS 256U
/* mh: Maglev table size (prime, the kernel default) and the two SipHash keys. */
#define LVS_MH_TABLE_SIZE 4093U
#define LVS_MH_KEY1 2654435761U
#define LVS_MH_KEY2 2654446892U

/* sh/dh bucket of (addr, port): (offset + (port + addr) * 2654435761) mod 256. `addr` is the
 * IPv4 address in host order (IPv6: XOR of its four 32-bit words); `port` is 0 unless the
 * sh-port flag asks for the source port. Only the low byte of (addr + port) survives the mask,
 * so 10.0.0.1 and 192.168.7.1 share a bucket: a reference quirk kept on purpose. */
static inline uint32_t lvs_hash_bucket(uint32_t addr, uint32_t port, uint32_t offset) {
  return (offset + (port + addr) * LVS_HASH_GOLDEN_RATIO) & (LVS_HASH_BUCKETS - 1U);
}

static inline uint64_t lvs_hash_rotl64(uint64_t x, unsigned int bits) {
  return (x << bits) | (x >> (64U - bits));
}

/* One SipHash round over the four state words. */
static inline void lvs_hash_sipround(uint64_t* v0, uint64_t* v1, uint64_t* v2, uint64_t* v3) {
  *v0 += *v1;
  *v1 = lvs_hash_rotl64(*v1, 13U);
  *v1 ^= *v0;
  *v0 = lvs_hash_rotl64(*v0, 32U);
  *v2 += *v3;
  *v3 = lvs_hash_rotl64(*v3, 16U);
  *v3 ^= *v2;
  *v0 += *v3;
  *v3 = lvs_hash_rotl64(*v3, 21U);
  *v3 ^= *v0;
  *v2 += *v1;
  *v1 = lvs_hash_rotl64(*v1, 17U);
  *v1 ^= *v2;
  *v2 = lvs_hash_rotl64(*v2, 32U);
}

/* SipHash-1-3 (one compression round, three finalization rounds) of the 4-byte little-endian
 * message `msg` under the 128-bit key (k0 = k1 = key), truncated to its low 32 bits. This is
 * the kernel's 64-bit hsiphash() of one u32 as ip_vs_mh keys it. Check value:
 * lvs_hsiphash_u32(2654435761, 0) == 0x1d5a77c2. */
static inline uint32_t lvs_hsiphash_u32(uint64_t key, uint32_t msg) {
  uint64_t v0 = key ^ 0x736f6d6570736575ULL;
  uint64_t v1 = key ^ 0x646f72616e646f6dULL;
  uint64_t v2 = key ^ 0x6c7967656e657261ULL;
  uint64_t v3 = key ^ 0x7465646279746573ULL;
  /* A 4-byte message is all tail: its bytes in the low half (little-endian), length 4 in the
   * top byte. There is no full 8-byte block before it. */
  const uint64_t last = (4ULL << 56U) | msg;
  v3 ^= last;
  lvs_hash_sipround(&v0, &v1, &v2, &v3);
  v0 ^= last;
  v2 ^= 0xffU;
  lvs_hash_sipround(&v0, &v1, &v2, &v3);
  lvs_hash_sipround(&v0, &v1, &v2, &v3);
  lvs_hash_sipround(&v0, &v1, &v2, &v3);
  return LVS_HASH_CAST(uint32_t, (v0 ^ v1) ^ (v2 ^ v3));
}

/* mh hash H(key, addr, port, offset): SipHash-1-3 of the u32 (offset + port + addr) mod 2^32.
 * `addr`/`port` as for lvs_hash_bucket; for a dest its own address and port. */
static inline uint32_t lvs_mh_hash(uint64_t key, uint32_t addr, uint32_t port, uint32_t offset) {
  return lvs_hsiphash_u32(key, offset + port + addr);
}

/* The Maglev slot a client lands in first: H(key1, addr, port, 0) mod M. */
static inline uint32_t lvs_mh_slot(uint32_t addr, uint32_t port) {
  return lvs_mh_hash(LVS_MH_KEY1, addr, port, 0U) % LVS_MH_TABLE_SIZE;
}
