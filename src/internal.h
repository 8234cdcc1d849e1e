/* ward internals: shared types, compile-time settings, the chunk header and
 * its verifying accessors.  Every read of a header or a free-list link goes
 * through the functions here; a raw read of a field elsewhere is a bug. */
#ifndef WARD_INTERNAL_H
#define WARD_INTERNAL_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../include/ward.h"

#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)
#define INTERNAL __attribute__((visibility("hidden")))
#define COLD __attribute__((cold, noinline))

/* ---- report.h: the bug kinds, the calls, the one fatal path ------------- */
#include "report.h"

/* ---- compile-time settings ---------------------------------------------- */

#define HDR 16u                        /* chunk header size; keeps 16-byte alignment */
#define ALIGN 16u
#define NCLASSES 32                    /* small size classes */
#define SMALL_MAX 1024u                /* largest request served by slabs */
#define SMALL_SLOT_MAX (SMALL_MAX + HDR)
#define SLAB_BYTES (16u * 1024)        /* a slab is about this many bytes of slots */
#define SLAB_MAX_SLOTS 2048u
#define SLAB_KEEP 16u                  /* empty slabs a class keeps resident */
#define SLAB_WORDS (SLAB_MAX_SLOTS / 64)
#define TC_MAX 32                      /* per-thread cache depth per class */
#define TC_BATCH 16                    /* slots moved per refill / drain */
#define TC_POOL_KEEP 4                 /* exited threads' caches kept stocked for new threads */
#define MEDIUM_MAX (512u * 1024)       /* largest request served by arenas */
#define MED_MIN_CHUNK 48u              /* header + links + footer */
#define NARENAS 4
#define ARENA_GROW (2u * 1024 * 1024)  /* arenas grow by at least this much */
#define COMMIT_STEP (1u * 1024 * 1024) /* slabs are committed in steps of this */
#define NBINS 576                      /* 64 exact, then 16 per power of two */
#define Q_SLOTS 4096                   /* per-thread quarantine ring capacity */
#define LARGE_RING 65536               /* recently freed large chunks remembered */
#define LCACHE_SLOTS 64                /* freed large mappings cached for reuse */
#define LCACHE_FLOOR (4u << 20)        /* the large cache may always hold this much */
#define CANARY_MAX 64u                 /* canary bytes written after the request */

_Static_assert(HDR == 16 && ALIGN == 16, "the header keeps 16-byte alignment");
_Static_assert(SMALL_SLOT_MAX % 16 == 0, "slots are multiples of 16");
_Static_assert(SLAB_MAX_SLOTS * 32 >= SLAB_BYTES, "smallest slot fits the bitmap");
_Static_assert(TC_BATCH <= TC_MAX, "batch fits in the cache");
_Static_assert(MEDIUM_MAX + 65536 < (1u << 24), "unused bytes fit the 24-bit field");
_Static_assert((Q_SLOTS & (Q_SLOTS - 1)) == 0, "quarantine ring is a power of two");

/* ---- options (options.c): one table, read-only after start-up ----------- */

enum { ON_ERROR_ABORT, ON_ERROR_EXIT, ON_ERROR_CONTINUE };
enum { POISON_OFF, POISON_PARTIAL, POISON_FULL };
enum { CHECKSUM_FAST, CHECKSUM_SIPHASH };
enum { EXIT_CHECK_OFF, EXIT_CHECK_QUARANTINE, EXIT_CHECK_HEAP };
enum { FOREIGN_ABORT, FOREIGN_WARN };

struct ward_options {
    long on_error;
    long exitcode;
    long quarantine_bytes;   /* per thread */
    long quarantine_max_chunk;
    long quarantine_large;   /* freed large mappings kept inaccessible */
    long large_cache_bytes;  /* freed large mappings kept (inaccessible) for reuse */
    long poison;
    long poison_bytes;
    long canary;
    long checksum;
    long purge_threshold;    /* dirty free bytes per arena before pages go back */
    long backtrace;
    long exit_check;
    long trace;              /* stacks=1 (trace=1) */
    long symbolize;
    long sample;             /* one allocation in about N is sampled (0: off) */
    long sample_slots;
    long fault_handler;      /* SIGSEGV/SIGBUS handler (sample.c) */
    long delete_check;       /* C++ sized/aligned delete must match the allocation */
    long foreign;            /* a pointer ward never handed out: report, or warn and ignore */
};

/* ---- global read-only state --------------------------------------------- */

/* G.small_fixed: the small tier's malloc, free and realloc are compiled for
 * checksum=fast and trace=0 with each setting of canary and poison (no
 * option tested on the way), and once reading every option. */
enum { SMALL_FIXED = 1, SMALL_FIXED_CANARY = 2, SMALL_FIXED_POISON = 4 };

struct ward_report;

struct ward_ro {
    uint64_t guard0;
    struct ward_options opt;
    uint64_t hk0, hk1, hk2;      /* header check keys */
    uint64_t bk;                 /* the busy mark's key (hdr_begin) */
    uint64_t fk0, fk1;           /* footer check keys */
    uint64_t lk0, lk1;           /* free-list link keys */
    uint64_t ck0;                /* canary key */
    uint64_t rk;                 /* seed for per-thread randomness */
    unsigned char sipkey[16];    /* crypto_shorthash key (checksum=siphash) */
    size_t page;
    uintptr_t heap_lo, heap_hi;  /* the whole reservation */
    uintptr_t pool_lo, pool_hi;  /* sample.c's pages (empty with sample=0) */
    uintptr_t small_base, small_end;
    uintptr_t medium_base, medium_end;
    size_t class_region, arena_region;
    unsigned class_shift;        /* class_region == 1 << class_shift */
    unsigned arena_shift;        /* arena_region == 1 << arena_shift */
    uint32_t slot_size[NCLASSES];
    uint8_t class_of16[SMALL_SLOT_MAX / 16 + 1]; /* (n + HDR + 15) / 16 -> class */
    pthread_key_t tkey;
    bool free_direct;            /* free of a small chunk may skip the API layer (no trace, no continue) */
    bool std_checks;             /* checksum=fast, canary=1, poison on, trace=0: the small tier's fast paths as compiled */
    uint8_t small_fixed;         /* SMALL_FIXED* (checksum=fast, trace=0), or 0: which small-tier path applies */
    bool avx2;                   /* the CPU has AVX2: the poison checks read 32 bytes a load */
    void *(*small_alloc_fn)(size_t n, unsigned cls, bool zero); /* the small tier's malloc for these options and this CPU */
    void (*small_free_fn)(uintptr_t p, enum ward_call op);       /* ... and its free */
    void (*report_fn)(const struct ward_report *, void *); /* ward_set_report_callback */
    void *report_arg;
    uint64_t guard1;
};

union ward_ro_page {
    struct ward_ro r;
    char pad[4096];
};
_Static_assert(sizeof(struct ward_ro) <= 4096, "read-only state fits one page");
extern union ward_ro_page ward_g INTERNAL;
#define G (ward_g.r)

extern int ward_ready INTERNAL; /* 2 once start-up is complete */
void ward_init_slow(void) INTERNAL;
static inline void ward_ensure_init(void)
{
    if (unlikely(__atomic_load_n(&ward_ready, __ATOMIC_ACQUIRE) != 2))
        ward_init_slow();
}

/* ---- options.c ----------------------------------------------------------- */
void ward_options_init(struct ward_options *o) INTERNAL;

/* ---- os.c: one thin layer over the kernel -------------------------------- */
void *os_reserve(size_t size) INTERNAL;          /* PROT_NONE; NULL on ENOMEM */
void *os_reserve_block(size_t size) INTERNAL;    /* the same, for a large block (os.c says why) */
void *os_reserve_try(size_t size) INTERNAL;      /* PROT_NONE; NULL on any failure */
bool os_commit(void *p, size_t size) INTERNAL;   /* make read-write */
void os_decommit(void *p, size_t size) INTERNAL; /* back to PROT_NONE, memory freed */
void os_release(void *p, size_t size) INTERNAL;  /* give the pages back, keep the range */
void *os_map(size_t size) INTERNAL;              /* read-write anonymous; NULL on ENOMEM */
void os_unmap(void *p, size_t size) INTERNAL;
void os_protect_none(void *p, size_t size) INTERNAL;
void os_protect_ro(void *p, size_t size) INTERNAL;
void os_name(void *p, size_t size, const char *name) INTERNAL;
void os_name_heap(void) INTERNAL; /* slabs by slot size, arenas by number */
int os_tid(void) INTERNAL;
void os_random(void *buf, size_t n) INTERNAL;
/* After an mmap / mprotect that failed with ENOMEM: when the process is out
 * of memory mappings (vm.max_map_count), says so on stderr, once. */
void os_enomem(const char *call, size_t size) INTERNAL;

/* ---- the keyed check ------------------------------------------------------ */

static inline uint64_t wmix(uint64_t a, uint64_t b)
{
    __uint128_t r = (__uint128_t)a * b;
    return (uint64_t)r ^ (uint64_t)(r >> 64);
}

uint64_t ward_siphash2(uint64_t a, uint64_t b) INTERNAL;

/* A keyed 64-bit hash of (address, value): two rounds of a 128-bit multiply
 * mix by default, SipHash-2-4 (libsodium's crypto_shorthash) when
 * checksum=siphash.  Not a MAC in the fast mode: see SECURITY.md. */
static inline uint64_t keyed2_with(uint64_t addr, uint64_t v, uint64_t k0, uint64_t k1, bool sip)
{
    if (unlikely(sip))
        return ward_siphash2(addr ^ k0, v ^ k1);
    uint64_t h = wmix(addr ^ k0, v ^ k1);
    return wmix(h ^ k1, (addr + v) ^ k0 ^ 0x9e3779b97f4a7c15ull);
}
static inline uint64_t keyed2(uint64_t addr, uint64_t v, uint64_t k0, uint64_t k1)
{
    return keyed2_with(addr, v, k0, k1, G.opt.checksum == CHECKSUM_SIPHASH);
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
static inline uint64_t hdr_check_with(uintptr_t at, uint64_t meta, bool sip)
{
    uint64_t c = keyed2_with(at, meta, G.hk0, G.hk1, sip);
    return c ? c : 1;
}
static inline uint64_t hdr_check_of(uintptr_t at, uint64_t meta)
{
    return hdr_check_with(at, meta, G.opt.checksum == CHECKSUM_SIPHASH);
}

/* The check word of a header whose owner is rewriting it ("busy"): keyed
 * with the chunk's address, so that an overflow cannot fake it (a zeroed
 * check word is a corrupted header, not a busy one).  A permanently busy
 * header still fails its owner's next hdr_load. */
static inline uint64_t hdr_busy_of(uintptr_t at) { return ((uint64_t)at * 0x9e3779b97f4a7c15ull) ^ G.bk; }

static inline void hdr_store(uintptr_t chunk, size_t size, size_t unused, unsigned state)
{
    struct hdr *h = (struct hdr *)chunk;
    uint64_t m = meta_pack(size, unused, state);
    uint64_t c = hdr_check_of(chunk, m);
    __atomic_store_n(&h->check, hdr_busy_of(chunk), __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_RELEASE);
    __atomic_store_n(&h->meta, m, __ATOMIC_RELAXED);
    __atomic_store_n(&h->check, c, __ATOMIC_RELEASE);
}

/* Loads the header at `chunk`; true (and *meta) when it verifies. */
static inline bool hdr_load_with(uintptr_t chunk, uint64_t *meta, bool sip)
{
    const struct hdr *h = (const struct hdr *)chunk;
    uint64_t m = __atomic_load_n(&h->meta, __ATOMIC_RELAXED);
    uint64_t c = __atomic_load_n(&h->check, __ATOMIC_ACQUIRE);
    *meta = m;
    return c == hdr_check_with(chunk, m, sip);
}
static inline bool hdr_load(uintptr_t chunk, uint64_t *meta)
{
    return hdr_load_with(chunk, meta, G.opt.checksum == CHECKSUM_SIPHASH);
}

/* The same for a header another thread may be rewriting right now: 1 when it
 * verifies, 0 when it does not (or is all zero: never written), -1 when it
 * stays busy (the keyed busy mark: its owner is mid-transition, or, in a
 * forked child, was when the fork came). */
int hdr_load_shared(uintptr_t chunk, uint64_t *meta, int tries) INTERNAL;

/* A header never written (or wiped): both words zero.  A header with
 * either word non-zero that does not verify is corrupted, whatever the
 * other word holds. */
static inline bool hdr_blank(uintptr_t chunk)
{
    const struct hdr *h = (const struct hdr *)chunk;
    return !__atomic_load_n(&h->meta, __ATOMIC_RELAXED) && !__atomic_load_n(&h->check, __ATOMIC_ACQUIRE);
}

/* Marks a chunk busy for a transition that takes more than one store (its
 * memory zeroed, its canary written); hdr_store ends it. */
static inline void hdr_begin(uintptr_t chunk)
{
    __atomic_store_n(&((struct hdr *)chunk)->check, hdr_busy_of(chunk), __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_RELEASE);
}

/* Ends a transition hdr_begin started: the fields, then their check. */
static inline void hdr_end_with(uintptr_t chunk, uint64_t meta, bool sip)
{
    struct hdr *h = (struct hdr *)chunk;
    uint64_t c = hdr_check_with(chunk, meta, sip);
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

static inline uint64_t canary_pattern(uintptr_t user)
{
    return wmix(user ^ G.ck0, G.hk2) | 0x8080808080808080ull;
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
static inline void canary_write(uintptr_t user, size_t req, size_t unused)
{
    if (!G.opt.canary || unused == 0)
        return;
    uint64_t pat = canary_pattern(user);
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

static inline bool canary_ok(uintptr_t user, size_t req, size_t unused)
{
    if (!G.opt.canary || unused == 0)
        return true;
    uint64_t pat = canary_pattern(user), diff = 0;
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
#if defined(__x86_64__)
#define WARD_AVX2 1
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
/* Verifies the poison of [p, p+n) as the poison option says; the first bad
 * address in *bad. */
bool poison_ok(uintptr_t p, size_t n, uintptr_t *bad) INTERNAL;

/* ---- free-list links: masked with the secret and the slot's own address,
 * with a 16-bit check in the top bits. */
static inline uint64_t link_encode(uintptr_t slot, uintptr_t target)
{
    uint64_t tag = keyed2(slot, target, G.lk1, G.lk0) >> 48;
    return ((uint64_t)target | (tag << 48)) ^ wmix(slot ^ G.lk0, G.lk1);
}
static inline bool link_decode(uintptr_t slot, uint64_t enc, uintptr_t *target)
{
    uint64_t x = enc ^ wmix(slot ^ G.lk0, G.lk1);
    uintptr_t t = (uintptr_t)(x & 0xffffffffffffull);
    *target = t;
    return (x >> 48) == (keyed2(slot, t, G.lk1, G.lk0) >> 48);
}

/* ---- per-thread state (thread.c) ------------------------------------------ */

struct tcache {
    uint32_t count[NCLASSES];
    uintptr_t slot[NCLASSES][TC_MAX];
    /* quarantine: a ring of user pointers */
    uintptr_t q[Q_SLOTS];
    uint32_t qhead, qlen;
    size_t qbytes;
    uint64_t rng[2];
    int arena;
    int tid;
    struct tcache *next, *prev; /* registry */
};

#define TC_DEAD ((struct tcache *)1)
extern __thread struct tcache *ward_tls INTERNAL;
struct tcache *tcache_create(void) INTERNAL;
static inline struct tcache *tcache_get(void)
{
    struct tcache *tc = ward_tls;
    if (likely(tc > TC_DEAD))
        return tc;
    if (tc == TC_DEAD)
        return NULL;
    return tcache_create();
}
void thread_init(void) INTERNAL;
bool thread_trim(void) INTERNAL;
void thread_exit_check(enum ward_call op) INTERNAL;
void ward_lock_all(void) INTERNAL;
void ward_unlock_all(void) INTERNAL;
void ward_reinit_locks_child(void) INTERNAL;

static inline uint64_t rng_next(struct tcache *tc)
{
    uint64_t s1 = tc->rng[0];
    const uint64_t s0 = tc->rng[1];
    tc->rng[0] = s0;
    s1 ^= s1 << 23;
    tc->rng[1] = s1 ^ s0 ^ (s1 >> 17) ^ (s0 >> 26);
    return tc->rng[1] + s0;
}
uint64_t ward_rand_global(void) INTERNAL;
size_t ward_quarantined_bytes(void) INTERNAL;

/* ---- quarantine.c --------------------------------------------------------- */
void quarantine_evict(struct tcache *tc) INTERNAL;
/* A freed chunk (zeroed, in state QUAR) joins the thread's ring; it trades
 * places with a random one of the newer half, so the order of reuse is FIFO
 * with some randomization.  quarantine_push then lets the oldest leave
 * while the ring holds more than quarantine_bytes; quarantine_add leaves
 * that, and making room in a full ring first, to its caller (the small tier
 * releases its own chunks inline). */
static inline void quarantine_add(struct tcache *tc, uintptr_t p, size_t csize)
{
    uint32_t mask = Q_SLOTS - 1, tail = (tc->qhead + tc->qlen) & mask;
    tc->qlen++;
    tc->qbytes += csize;
    /* a random r in [0, (qlen + 1) / 2): multiply and shift, no division */
    uint32_t r = (uint32_t)(((rng_next(tc) & 0xffffffffu) * ((tc->qlen + 1) / 2)) >> 32);
    uint32_t j = (tail - r) & mask;
    tc->q[tail] = tc->q[j];
    tc->q[j] = p;
}
static inline bool quarantine_over(const struct tcache *tc)
{
    return tc->qbytes > (size_t)G.opt.quarantine_bytes && tc->qlen;
}
static inline void quarantine_push(struct tcache *tc, uintptr_t p, size_t csize)
{
    if (unlikely(tc->qlen == Q_SLOTS))
        quarantine_evict(tc);
    quarantine_add(tc, p, csize);
    while (quarantine_over(tc))
        quarantine_evict(tc);
}
#define Q_AHEAD 8 /* entries fetched ahead of their eviction */
/* Takes the oldest entry off the ring (the caller uncounts its bytes).  The
 * older half of the ring never moves (a new entry swaps only with the newer
 * half). */
static inline uintptr_t quarantine_pop(struct tcache *tc)
{
    uintptr_t p = tc->q[tc->qhead];
    tc->qhead = (tc->qhead + 1) & (Q_SLOTS - 1);
    tc->qlen--;
    return p;
}
/* The same, where the eviction verifies the chunk (a medium one): it was
 * freed long ago (a whole quarantine of frees back), so its memory is
 * fetched a few evictions ahead.  A small chunk goes to the thread's cache
 * untouched (small.c's evict_oldest pops it without this). */
static inline uintptr_t quarantine_take(struct tcache *tc)
{
    uintptr_t p = quarantine_pop(tc);
    if (tc->qlen > Q_AHEAD) {
        uintptr_t a = tc->q[(tc->qhead + Q_AHEAD) & (Q_SLOTS - 1)] - HDR;
        __builtin_prefetch((void *)a, 1);
        __builtin_prefetch((void *)(a + 64), 0);
    }
    return p;
}
static inline void quarantine_uncount(struct tcache *tc, size_t size)
{
    tc->qbytes = tc->qbytes > size ? tc->qbytes - size : 0;
}
void quarantine_drain(struct tcache *tc) INTERNAL;
void quarantine_check(struct tcache *tc, enum ward_call op) INTERNAL;
void chunk_release(struct tcache *tc, uintptr_t user) INTERNAL; /* quarantine exit */

/* ---- trace.c: allocation and first-free stacks (trace=1) ------------------- */
void trace_init(void) INTERNAL;
uint32_t trace_capture(void) INTERNAL;
void trace_alloc(uintptr_t chunk) INTERNAL;
void trace_free(uintptr_t chunk) INTERNAL;
void trace_print_ids(uint32_t alloc_id, uint32_t free_id) INTERNAL;
void trace_report(uintptr_t ptr, int tier) INTERNAL;
void trace_lock(void) INTERNAL;
void trace_unlock(void) INTERNAL;
void trace_reinit_lock(void) INTERNAL;
bool large_trace_ids(uintptr_t p, uint32_t *alloc_id, uint32_t *free_id) INTERNAL;

/* ---- tiers ---------------------------------------------------------------- */

static inline bool in_small(uintptr_t p) { return p - G.small_base < G.small_end - G.small_base; }
static inline bool in_medium(uintptr_t p) { return p - G.medium_base < G.medium_end - G.medium_base; }

void small_init(void) INTERNAL;
/* malloc and free: the paths small_init chose (G is read-only once started) */
static inline void *small_alloc(size_t n, unsigned cls, bool zero) { return G.small_alloc_fn(n, cls, zero); }
static inline void small_free(uintptr_t p, enum ward_call op) { G.small_free_fn(p, op); }
void small_release(struct tcache *tc, uintptr_t p) INTERNAL; /* quarantine -> cache, still QUAR */
void small_check_cached(struct tcache *tc, enum ward_call op) INTERNAL;
void small_check_shared(enum ward_call op) INTERNAL;
void small_check_quarantined(uintptr_t p, enum ward_call op) INTERNAL;
/* Verifies a live small chunk, returns its request size and class. */
size_t small_live(uintptr_t p, enum ward_call op) INTERNAL;
void *small_realloc(uintptr_t p, size_t n, size_t *old) INTERNAL;
size_t small_trim(void) INTERNAL;
void small_check(void) INTERNAL;
void small_stats(struct ward_stats *s) INTERNAL;
void small_lock_all(void) INTERNAL;
void small_unlock_all(void) INTERNAL;
void small_reinit_locks(void) INTERNAL;
void small_drain_cache(struct tcache *tc) INTERNAL;
static inline bool small_cached(const struct tcache *tc)
{
    for (unsigned c = 0; c < NCLASSES; c++)
        if (tc->count[c])
            return true;
    return false;
}

void medium_init(void) INTERNAL;
void *medium_alloc(size_t n, size_t align, bool zero) INTERNAL;
void medium_free(uintptr_t p, enum ward_call op) INTERNAL;
void medium_release(uintptr_t p) INTERNAL; /* QUAR -> free */
void medium_check_quarantined(uintptr_t p, enum ward_call op) INTERNAL;
size_t medium_live(uintptr_t p, enum ward_call op) INTERNAL;
void *medium_realloc(uintptr_t p, size_t n, size_t *old) INTERNAL;
size_t medium_trim(void) INTERNAL;
void medium_check(void) INTERNAL;
void medium_stats(struct ward_stats *s) INTERNAL;
void medium_lock_all(void) INTERNAL;
void medium_unlock_all(void) INTERNAL;
void medium_reinit_locks(void) INTERNAL;

void large_init(void) INTERNAL;
void *large_alloc(size_t n, size_t align, bool zero) INTERNAL;
void large_free(uintptr_t p, enum ward_call op) INTERNAL;
size_t large_live(uintptr_t p, enum ward_call op) INTERNAL;
bool large_realloc(uintptr_t p, size_t n, size_t *old) INTERNAL;
void large_check(void) INTERNAL;
void large_stats(struct ward_stats *s) INTERNAL;
void large_lock_all(void) INTERNAL;
void large_unlock_all(void) INTERNAL;
void large_reinit_locks(void) INTERNAL;
size_t large_trim(void) INTERNAL;
/* p is a live or recently freed large chunk, or inside a live large mapping */
bool large_knows(uintptr_t p) INTERNAL;

/* ---- sample.c: sampled guard pages ------------------------------------------ */
void sample_init(void) INTERNAL;
extern __thread uint32_t ward_sample_left INTERNAL;
bool sample_due(void) INTERNAL;
void *sample_alloc(size_t n) INTERNAL;
void sample_free(uintptr_t p, enum ward_call op) INTERNAL;
size_t sample_live(uintptr_t p, enum ward_call op) INTERNAL;
void sample_check(void) INTERNAL;
void sample_count_live(size_t *count, size_t *bytes) INTERNAL;
void small_count_live(size_t *count, size_t *bytes) INTERNAL;
void medium_count_live(size_t *count, size_t *bytes) INTERNAL;
void large_count_live(size_t *count, size_t *bytes) INTERNAL;
uintptr_t large_fault_lookup(uintptr_t a, bool *freed, size_t *n) INTERNAL;
void sample_report(uintptr_t p) INTERNAL;
void sample_lock(void) INTERNAL;
void sample_unlock(void) INTERNAL;
void sample_reinit_lock(void) INTERNAL;
static inline bool in_pool(uintptr_t p) { return p - G.pool_lo < G.pool_hi - G.pool_lo; }

static inline unsigned small_class(size_t n) { return G.class_of16[(n + HDR + 15) >> 4]; }

void ward_free_checked(void *ptr, enum ward_call op) INTERNAL;
void ward_free_sized_checked(void *ptr, size_t size, size_t align, enum ward_call op) INTERNAL;

/* errno is the caller's: free and friends keep it. */
#define SAVE_ERRNO int saved_errno_ = errno
#define RESTORE_ERRNO errno = saved_errno_

#endif
