/* chunk.h: what a chunk carries in-band, and its verifying accessors: the
 * keyed hash, the 16-byte header, the canary after the request, the poison
 * of freed memory and the encoded free-list links (chunk.c holds the
 * out-of-line parts).  Every read of a header or a link goes through the
 * functions here; a raw read of a field elsewhere is a bug. */
#ifndef WARD_CHUNK_H
#define WARD_CHUNK_H

#include "state.h"

/* ---- the key ring ---------------------------------------------------------
 * Entry 0 holds the secrets drawn at start-up.  A forked child draws a fresh
 * entry at its own depth (G.epoch, one more than its parent's), so what it
 * allocates is keyed with secrets no sibling shares, and keeps its
 * ancestors' entries for the chunks they made.  Which entry keyed a chunk
 * is kept outside the heap, in an epoch byte per small slot (its live
 * byte) and per medium chunk start (and in a large chunk's record): a
 * header or canary written back from an ancestor's days is checked with
 * the entry the byte names, not the one it was made with.  The tiers pass
 * the byte only once the process has forked (G.epoch > 0): before that
 * every chunk is entry 0's, and they pass NULL (the medium tier's bytes
 * are mapped at the first fork).  Past KEY_EPOCHS generations a
 * child keeps its parent's entry.  The busy mark is always entry 0's: a
 * transition cut short by a fork leaves it behind, and every descendant
 * must still read it as busy. */
#define KEY_EPOCHS 64
struct ward_ring {
    struct ward_keys k[KEY_EPOCHS];
};
union ward_ring_pages {
    struct ward_ring r;
    char pad[(sizeof(struct ward_ring) + 4095) & ~(size_t)4095];
};
extern union ward_ring_pages ward_ring INTERNAL; /* entries 1 on; entry 0 is G.keys */
#define K0 (&G.keys)

static inline const struct ward_keys *keys_of(unsigned e) { return e ? &ward_ring.r.k[e] : K0; }
/* The entry this process keys with (the large tier keeps it in its records). */
static inline const struct ward_keys *keys_now(void) { return keys_of(G.epoch); }

/* The entry a chunk was keyed with, from its epoch byte (NULL: entry 0). */
#define EPOCH_SHIFT 2 /* an epoch byte holds the entry in its upper six bits (the low two: the small tier's slot state) */
_Static_assert(KEY_EPOCHS << EPOCH_SHIFT == 256, "an entry fits its byte");
static inline const struct ward_keys *keys_at(const uint8_t *ep)
{
    return ep ? keys_of(__atomic_load_n(ep, __ATOMIC_ACQUIRE) >> EPOCH_SHIFT) : K0;
}
/* The entry this process keys with, after marking the chunk's epoch byte
 * with it: called while the chunk's header is busy (or before the chunk
 * can be reached), before the check word that ends the transition. */
static inline const struct ward_keys *keys_stamp(uint8_t *ep)
{
    if (!ep)
        return K0;
    uint8_t low = __atomic_load_n(ep, __ATOMIC_RELAXED) & ((1u << EPOCH_SHIFT) - 1);
    __atomic_store_n(ep, (uint8_t)(low | G.epoch << EPOCH_SHIFT), __ATOMIC_RELAXED);
    return keys_now();
}

/* ---- the keyed check ------------------------------------------------------ */

static inline uint64_t wmix(uint64_t a, uint64_t b)
{
    __uint128_t r = (__uint128_t)a * b;
    return (uint64_t)r ^ (uint64_t)(r >> 64);
}

uint64_t ward_siphash2(const struct ward_keys *K, uint64_t a, uint64_t b) INTERNAL;

/* A keyed 64-bit hash of (address, value): two rounds of a 128-bit multiply
 * mix by default, SipHash-2-4 (libsodium's crypto_shorthash) when
 * checksum=siphash.  Not a MAC in the fast mode: see SECURITY.md. */
static inline uint64_t keyed2_with(const struct ward_keys *K, uint64_t addr, uint64_t v, uint64_t k0, uint64_t k1,
                                   bool sip)
{
    if (unlikely(sip))
        return ward_siphash2(K, addr ^ k0, v ^ k1);
    uint64_t h = wmix(addr ^ k0, v ^ k1);
    return wmix(h ^ k1, (addr + v) ^ k0 ^ 0x9e3779b97f4a7c15ull);
}
static inline uint64_t keyed2(const struct ward_keys *K, uint64_t addr, uint64_t v, uint64_t k0, uint64_t k1)
{
    return keyed2_with(K, addr, v, k0, k1, G.opt.checksum == CHECKSUM_SIPHASH);
}

/* ---- chunk header ---------------------------------------------------------
 * 16 bytes before every small and medium chunk's user pointer:
 *   meta  = state (8 bits) | size/16 (32 bits) | unused bytes (24 bits)
 *   check = keyed hash of (header address, meta); never 0.
 * The state comes first and every state byte has its top bit set: the first
 * byte an overflow from the chunk before reaches, so any ASCII byte or NUL
 * written there changes the header.
 * "unused" is chunk size - HDR - requested size: the slack holding the canary.
 * Writers store check = 0 (busy) first, so a thread reading a neighbour's
 * header while its owner rewrites it sees "busy", never a torn pair. */

enum chunk_state {
    ST_ALLOC = 0xA1,
    ST_QUAR = 0x9E,
    ST_FREE = 0xF3,
    ST_SENTINEL = 0xE5,
};

struct hdr {
    uint64_t meta;
    uint64_t check;
};

static inline uint64_t meta_pack(size_t size, size_t unused, unsigned state)
{
    return (uint64_t)state | ((uint64_t)(size >> 4) << 8) | ((uint64_t)unused << 40);
}
static inline unsigned meta_state(uint64_t m) { return (unsigned)(m & 0xff); }
static inline size_t meta_size(uint64_t m) { return (size_t)((m >> 8) & 0xffffffffu) << 4; }
static inline size_t meta_unused(uint64_t m) { return (size_t)(m >> 40); }

/* The *_with forms take checksum=siphash as an argument: a caller that
 * knows it (the small tier's fast paths) lets the test fold away. */
static inline uint64_t hdr_check_with(const struct ward_keys *K, uintptr_t at, uint64_t meta, bool sip)
{
    uint64_t c = keyed2_with(K, at, meta, K->hk0, K->hk1, sip);
    return c ? c : 1;
}
static inline uint64_t hdr_check_of(const struct ward_keys *K, uintptr_t at, uint64_t meta)
{
    return hdr_check_with(K, at, meta, G.opt.checksum == CHECKSUM_SIPHASH);
}

/* The check word of a header whose owner is rewriting it ("busy"): a keyed
 * hash of the chunk's address under keys of its own, so that an overflow
 * cannot fake it (a zeroed check word is a corrupted header, not a busy
 * one), and a busy mark read at one address tells nothing of another's.
 * A permanently busy header still fails its owner's next hdr_load. */
#define BUSY_DOMAIN 0xb05b05b05b05b05bull
static inline uint64_t hdr_busy_with(uintptr_t at, bool sip)
{
    uint64_t b = keyed2_with(K0, at, BUSY_DOMAIN, K0->bk0, K0->bk1, sip);
    return b ? b : 2;
}
static inline uint64_t hdr_busy_of(uintptr_t at) { return hdr_busy_with(at, G.opt.checksum == CHECKSUM_SIPHASH); }

/* Writes a header keyed with this process's entry, its epoch byte `ep`
 * (NULL before the process forked) marked under the busy mark. */
static inline void hdr_store(uintptr_t chunk, size_t size, size_t unused, unsigned state, uint8_t *ep)
{
    struct hdr *h = (struct hdr *)chunk;
    uint64_t m = meta_pack(size, unused, state);
    __atomic_store_n(&h->check, hdr_busy_of(chunk), __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_RELEASE);
    uint64_t c = hdr_check_of(keys_stamp(ep), chunk, m);
    __atomic_store_n(&h->meta, m, __ATOMIC_RELAXED);
    __atomic_store_n(&h->check, c, __ATOMIC_RELEASE);
}

/* The same, keyed with the entry K the chunk already has (its other keyed
 * values, a free chunk's footer and links, stay as they are). */
static inline void hdr_store_as(uintptr_t chunk, size_t size, size_t unused, unsigned state, const struct ward_keys *K)
{
    struct hdr *h = (struct hdr *)chunk;
    uint64_t m = meta_pack(size, unused, state);
    uint64_t c = hdr_check_of(K, chunk, m);
    __atomic_store_n(&h->check, hdr_busy_of(chunk), __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_RELEASE);
    __atomic_store_n(&h->meta, m, __ATOMIC_RELAXED);
    __atomic_store_n(&h->check, c, __ATOMIC_RELEASE);
}

/* Loads the header at `chunk`; true (and *meta) when it verifies with the
 * key ring's entry its epoch byte `ep` names (read after the check word:
 * a writer marks the byte before the check word that ends its write). */
static inline bool hdr_load_with(uintptr_t chunk, uint64_t *meta, const uint8_t *ep, bool sip)
{
    const struct hdr *h = (const struct hdr *)chunk;
    uint64_t m = __atomic_load_n(&h->meta, __ATOMIC_RELAXED);
    uint64_t c = __atomic_load_n(&h->check, __ATOMIC_ACQUIRE);
    *meta = m;
    return c == hdr_check_with(keys_at(ep), chunk, m, sip);
}
static inline bool hdr_load(uintptr_t chunk, uint64_t *meta, const uint8_t *ep)
{
    return hdr_load_with(chunk, meta, ep, G.opt.checksum == CHECKSUM_SIPHASH);
}

/* The same for a header another thread may be rewriting right now: 1 when it
 * verifies, 0 when it does not (or is all zero: never written), -1 when it
 * stays busy (the keyed busy mark: its owner is mid-transition, or, in a
 * forked child, was when the fork came). */
int hdr_load_shared(uintptr_t chunk, uint64_t *meta, int tries, const uint8_t *ep) INTERNAL;

/* A header never written (or wiped): both words zero.  A header with
 * either word non-zero that does not verify is corrupted, whatever the
 * other word holds. */
static inline bool hdr_blank(uintptr_t chunk)
{
    const struct hdr *h = (const struct hdr *)chunk;
    return !__atomic_load_n(&h->meta, __ATOMIC_RELAXED) && !__atomic_load_n(&h->check, __ATOMIC_ACQUIRE);
}

/* Claims a header that was just verified (its check word `check`) for a
 * transition: the check word goes from that value to the busy mark in one
 * atomic step, so of two calls that verified the same header, one claims
 * it and the other finds it changed.  hdr_end_with ends the transition. */
static inline bool hdr_claim_with(uintptr_t chunk, uint64_t check, bool sip)
{
    return __atomic_compare_exchange_n(&((struct hdr *)chunk)->check, &check, hdr_busy_with(chunk, sip), false,
                                       __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
}

/* Marks a chunk busy for a transition that takes more than one store (its
 * memory zeroed, its canary written); hdr_store ends it. */
static inline void hdr_begin_with(uintptr_t chunk, bool sip)
{
    __atomic_store_n(&((struct hdr *)chunk)->check, hdr_busy_with(chunk, sip), __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_RELEASE);
}
static inline void hdr_begin(uintptr_t chunk) { hdr_begin_with(chunk, G.opt.checksum == CHECKSUM_SIPHASH); }

/* Ends a transition hdr_begin started: the fields, then their check, keyed
 * with K (keys_stamp's, or the entry the chunk had, to put it back). */
static inline void hdr_end_with(uintptr_t chunk, uint64_t meta, const struct ward_keys *K, bool sip)
{
    struct hdr *h = (struct hdr *)chunk;
    uint64_t c = hdr_check_with(K, chunk, meta, sip);
    __atomic_store_n(&h->meta, meta, __ATOMIC_RELAXED);
    __atomic_store_n(&h->check, c, __ATOMIC_RELEASE);
}

/* Back to all zero (never used), through the busy mark: a reader never sees
 * a zero check word over a non-zero meta. */
static inline void hdr_wipe(uintptr_t chunk)
{
    struct hdr *h = (struct hdr *)chunk;
    __atomic_store_n(&h->check, hdr_busy_of(chunk), __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_RELEASE);
    __atomic_store_n(&h->meta, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&h->check, 0, __ATOMIC_RELEASE);
}

/* ---- canary: secret-derived bytes in the slack after the request ---------
 * Every byte has its top bit set, so an overflow by any ASCII byte or NUL
 * (the common off-by-one) always changes it. */

#define CANARY_DOMAIN 0xca4a27ca4a27ca4aull
static inline uint64_t canary_pattern_with(const struct ward_keys *K, uintptr_t user, bool sip)
{
    return keyed2_with(K, user, CANARY_DOMAIN, K->ck0, K->ck1, sip) | 0x8080808080808080ull;
}
static inline uint64_t canary_pattern(const struct ward_keys *K, uintptr_t user)
{
    return canary_pattern_with(K, user, G.opt.checksum == CHECKSUM_SIPHASH);
}
/* The canary runs from the request's end to the next 8-byte boundary at
 * least CANARY_MAX bytes on (or to the chunk's end, when sooner): the user
 * pointer is 16-byte aligned and the chunk's end too in every tier (a small
 * slot, a medium chunk, a large block's page end, a large block's 16-byte
 * front canary), so it is written and compared a word at a time, the word
 * shared with the request's last bytes through a mask. */
static inline size_t canary_end(size_t req, size_t unused)
{
    size_t e = (req + CANARY_MAX + 7) & ~(size_t)7;
    return req + unused < e ? req + unused : e;
}
static inline void canary_write(const struct ward_keys *K, uintptr_t user, size_t req, size_t unused)
{
    if (!G.opt.canary || unused == 0)
        return;
    uint64_t pat = canary_pattern(K, user);
    size_t k = req & ~(size_t)7, end = canary_end(req, unused);
    uint64_t *w = (uint64_t *)(user + k);
    if (req & 7) { /* the request's last bytes share this word: keep them */
        uint64_t keep = ~(~0ull << (8 * (req & 7)));
        *w = (*w & keep) | (pat & ~keep);
        w++, k += 8;
    }
    for (; k < end; k += 8)
        *w++ = pat;
}

static inline bool canary_ok(const struct ward_keys *K, uintptr_t user, size_t req, size_t unused)
{
    if (!G.opt.canary || unused == 0)
        return true;
    uint64_t pat = canary_pattern(K, user), diff = 0;
    size_t k = req & ~(size_t)7, end = canary_end(req, unused);
    const uint64_t *w = (const uint64_t *)(user + k);
    if (req & 7) {
        diff = (*w ^ pat) & (~0ull << (8 * (req & 7)));
        w++, k += 8;
    }
    for (; k < end; k += 8)
        diff |= *w++ ^ pat;
    return diff == 0;
}

/* ---- poison: freed memory is zero, verified before reuse ---------------- */
bool mem_is_zero(const void *p, size_t n) INTERNAL;
/* The same for a 16-byte aligned block of a non-zero multiple of 16 bytes
 * (a small slot's body): 16 bytes ORed together at a time, no early exit.
 * Up to 64 bytes, two or four loads (overlapping where n is not a power
 * of two); more, the last 64 bytes and then 64 a loop step from the start
 * (the last step may overlap them). */
static inline bool mem_is_zero16(const void *p, size_t n)
{
    typedef uint64_t v2 __attribute__((vector_size(16)));
    uintptr_t a = (uintptr_t)p;
#define W16(x) (*(const v2 *)(x))
    v2 acc;
    if (n <= 32) {
        acc = W16(a) | W16(a + n - 16);
    } else if (n <= 64) {
        acc = (W16(a) | W16(a + 16)) | (W16(a + n - 32) | W16(a + n - 16));
    } else {
        uintptr_t e = a + n - 64;
        acc = (W16(e) | W16(e + 16)) | (W16(e + 32) | W16(e + 48));
        for (; a < e; a += 64)
            acc |= (W16(a) | W16(a + 16)) | (W16(a + 32) | W16(a + 48));
    }
#undef W16
    return (acc[0] | acc[1]) == 0;
}
#ifdef WARD_AVX2
/* mem_is_zero16 with 32-byte loads, 128 bytes a loop step, for callers
 * compiled for AVX2 and used where G.avx2 says the CPU has it (half the
 * instructions): the small tier's malloc of the default checks, and
 * mem_is_zero.  No target attribute here, so that it inlines into them. */
static inline __attribute__((always_inline)) bool mem_is_zero16_avx2(uintptr_t a, size_t n)
{
    typedef uint64_t v2 __attribute__((vector_size(16), may_alias));
    typedef uint64_t v4 __attribute__((vector_size(32), aligned(16), may_alias));
#define W16(x) (*(const v2 *)(x))
#define W32(x) (*(const v4 *)(x))
    if (n <= 32) {
        v2 acc = W16(a) | W16(a + n - 16);
        return (acc[0] | acc[1]) == 0;
    }
    v4 acc;
    if (n <= 64) {
        acc = W32(a) | W32(a + n - 32);
    } else if (n <= 128) {
        acc = (W32(a) | W32(a + 32)) | (W32(a + n - 64) | W32(a + n - 32));
    } else {
        uintptr_t e = a + n - 128;
        acc = (W32(e) | W32(e + 32)) | (W32(e + 64) | W32(e + 96));
        for (; a < e; a += 128)
            acc |= (W32(a) | W32(a + 32)) | (W32(a + 64) | W32(a + 96));
    }
#undef W16
#undef W32
    return ((acc[0] | acc[1]) | (acc[2] | acc[3])) == 0;
}
#endif
/* Verifies that [p, p+n) is all zero (always true with poison=off); the
 * first bad address in *bad.  A range over a few pages is read only where
 * its pages are resident: a page given back, or never touched, is zero. */
bool poison_ok(uintptr_t p, size_t n, uintptr_t *bad) INTERNAL;
/* Clears [p, p+n), writing only its resident pages (a page never touched,
 * or given back, reads as zero already); returns how many pages it wrote
 * to, at most (the ones that stay resident). */
size_t zero_resident(uintptr_t p, size_t n) INTERNAL;

/* ---- free-list links: masked with the secret and the slot's own address,
 * with a 16-bit check in the top bits. */
#define LINK_DOMAIN 0x1111c0de1111c0deull
static inline uint64_t link_mask(const struct ward_keys *K, uintptr_t slot)
{
    return keyed2(K, slot, LINK_DOMAIN, K->lm0, K->lm1);
}
static inline uint64_t link_encode(const struct ward_keys *K, uintptr_t slot, uintptr_t target)
{
    uint64_t tag = keyed2(K, slot, target, K->lt0, K->lt1) >> 48;
    return ((uint64_t)target | (tag << 48)) ^ link_mask(K, slot);
}
static inline bool link_decode(const struct ward_keys *K, uintptr_t slot, uint64_t enc, uintptr_t *target)
{
    uint64_t x = enc ^ link_mask(K, slot);
    uintptr_t t = (uintptr_t)(x & 0xffffffffffffull);
    *target = t;
    return (x >> 48) == (keyed2(K, slot, t, K->lt0, K->lt1) >> 48);
}

#endif
