/* tier.h: the contract every tier keeps.
 *
 * The hot operations (malloc, free, realloc, the live size) are direct
 * calls, dispatched by address through tier_of(); ownership is decided from
 * the address before any header is read.  The cold operations, the same in
 * every tier, are one table each: ward_check_heap, the statistics, the live
 * counts, the leak check's list of live chunks, malloc_trim, the fork locks
 * and the harness's reset are loops over `tiers`. */
#ifndef WARD_TIER_H
#define WARD_TIER_H

#include "report.h"
#include "thread.h"

/* ---- where an address belongs --------------------------------------------- */

static inline bool in_small(uintptr_t p) { return p - G.small_base < G.small_end - G.small_base; }
static inline bool in_medium(uintptr_t p) { return p - G.medium_base < G.medium_end - G.medium_base; }
static inline bool in_pool(uintptr_t p) { return p - G.pool_lo < G.pool_hi - G.pool_lo; }
static inline bool in_zero(uintptr_t p) { return p - G.zero_lo < G.zero_hi - G.zero_lo; }

/* Which tier an address belongs to.  Small and medium chunks live in the
 * heap reservation, sampled blocks in their pool; anything else is a large
 * block or not ward's (large.c decides, from its table). */
static inline enum ward_tier tier_of(uintptr_t p)
{
    if (likely(in_small(p)))
        return TIER_SMALL;
    if (in_medium(p))
        return TIER_MEDIUM;
    if (unlikely(in_pool(p)))
        return TIER_SAMPLED;
    if (unlikely(in_zero(p)))
        return TIER_ZERO;
    return TIER_LARGE;
}

/* ---- small.c: size classes carved from slabs, a cache per thread ----------- */
void small_init(void) INTERNAL;
/* picks the small tier's paths for the options, the CPU and, in a forked
 * child, the key ring (chunk.h: its paths read the slots' epochs) */
void small_paths_init(void) INTERNAL;
/* the size class of a request of n bytes (n <= SMALL_MAX) */
static inline unsigned small_class(size_t n) { return G.class_of16[(n + HDR + 15) >> 4]; }
/* malloc, free and realloc: the paths small_init chose (G is read-only once
 * started).  realloc verifies the chunk, sets *old to its request size and
 * resizes it in place when the new size stays in its class; NULL when it
 * must move. */
static inline void *small_alloc(size_t n, unsigned cls, bool zero) { return G.small.alloc(n, cls, zero); }
static inline void small_free(uintptr_t p, enum ward_call op) { G.small.free(p, op); }
static inline void *small_realloc(uintptr_t p, size_t n, size_t *old) { return G.small.realloc(p, n, old); }
void small_release(struct tcache *tc, uintptr_t p) INTERNAL; /* quarantine -> cache, still QUAR */
void small_check_cached(struct tcache *tc, enum ward_call op) INTERNAL;
void small_check_shared(enum ward_call op) INTERNAL;
void small_check_quarantined(uintptr_t p, enum ward_call op) INTERNAL;
/* Verifies a live small chunk, returns its request size and class. */
size_t small_live(uintptr_t p, enum ward_call op) INTERNAL;
void small_drain_cache(struct tcache *tc) INTERNAL;
void small_drain_shared(enum ward_call op) INTERNAL;
static inline bool small_cached(const struct tcache *tc)
{
    for (unsigned c = 0; c < NCLASSES; c++)
        if (tc->count[c])
            return true;
    return false;
}

/* ---- medium.c: boundary-tag arenas, free lists by size -------------------- */
void medium_init(void) INTERNAL;
size_t medium_epoch_bytes(void) INTERNAL; /* the same for every chunk start's epoch byte */
void medium_epoch_attach(uint8_t *map) INTERNAL;
void *medium_alloc(size_t n, size_t align, bool zero) INTERNAL;
void medium_free(uintptr_t p, enum ward_call op) INTERNAL;
void medium_release(uintptr_t p) INTERNAL; /* QUAR -> free */
void medium_check_quarantined(uintptr_t p, enum ward_call op) INTERNAL;
size_t medium_live(uintptr_t p, enum ward_call op) INTERNAL;
void *medium_realloc(uintptr_t p, size_t n, size_t *old) INTERNAL;

/* ---- large.c: a mapping each, between guard pages ------------------------- */
void large_init(void) INTERNAL;
void *large_alloc(size_t n, size_t align, bool zero) INTERNAL;
void large_free(uintptr_t p, enum ward_call op) INTERNAL;
size_t large_live(uintptr_t p, enum ward_call op) INTERNAL;
bool large_realloc(uintptr_t p, size_t n, size_t *old) INTERNAL;
/* a fault at a in a large block's guard page or freed mapping: reported */
void large_fault(uintptr_t a, bool write, uintptr_t pc) INTERNAL;
/* p is a live or recently freed large chunk, or inside a live large mapping */
bool large_knows(uintptr_t p) INTERNAL;

/* ---- sample.c: sampled guard pages ---------------------------------------- */
void sample_init(void) INTERNAL;
extern __thread uint32_t ward_sample_left INTERNAL;
bool sample_due(void) INTERNAL;
void *sample_alloc(size_t n) INTERNAL;
void sample_free(uintptr_t p, enum ward_call op) INTERNAL;
size_t sample_live(uintptr_t p, enum ward_call op) INTERNAL;
void sample_fork_child(void) INTERNAL; /* reseed in a forked child */
/* leaks=1: a live sampled block's allocation stack (0 frames: not one) */
int sample_alloc_stack(uintptr_t p, const uintptr_t **pcs) INTERNAL;
void large_fork_child(void) INTERNAL;  /* a forked child drops the parent's cached mappings */
/* a fault at a in the sampling pool on a freed block or a guard page: reported */
void sample_fault(uintptr_t a, bool write, uintptr_t pc) INTERNAL;

/* ---- zero.c: malloc(0), addresses that are never accessible --------------- */
void zero_init(void) INTERNAL;
void *zero_alloc(void) INTERNAL; /* NULL when none is left */
void zero_free(uintptr_t p, enum ward_call op) INTERNAL;
size_t zero_live(uintptr_t p, enum ward_call op) INTERNAL; /* 0, once verified live */
/* a fault at a in the region: reported */
void zero_fault(uintptr_t a, bool write, uintptr_t pc) INTERNAL;

/* ---- fault.c: the SIGSEGV/SIGBUS handler, for the tiers above ------------- */
void fault_init(void) INTERNAL;
/* the stack of a faulting access, from the faulting instruction pc on,
 * taken into pcs[cap] */
struct ward_stack fault_access_stack(uintptr_t *pcs, int cap, uintptr_t pc) INTERNAL;

/* ---- the cold operations, a table per tier -------------------------------- */

struct tier_ops {
    /* ward_check_heap: verify every chunk the tier holds (reports on
     * failure; NULL: nothing in-band to verify) */
    void (*check)(void);
    /* ward_get_stats: add the tier's figures (NULL: none) */
    void (*stats)(struct ward_stats *s);
    /* ward_live_chunks: add the live chunks and their requested bytes */
    void (*count_live)(size_t *count, size_t *bytes);
    /* leaks=1: fn(ctx, user pointer, requested bytes, the tier) for each
     * live chunk.  Called with every lock held (ward_lock_all) and the
     * other threads stopped: it takes no lock and never allocates */
    void (*for_each_live)(void (*fn)(void *ctx, uintptr_t p, size_t n, int tier), void *ctx);
    /* malloc_trim and out of memory: give free memory back; the bytes given
     * (NULL: the tier keeps nothing to give) */
    size_t (*trim)(void);
    /* fork: take every lock of the tier (in `tiers` order), release them,
     * or make them anew in the child (NULL: the tier has no lock) */
    void (*lock_all)(void);
    void (*unlock_all)(void);
    void (*reinit_locks)(void);
#ifdef WARD_TESTING
    /* the harness build: discard everything the tier holds, remake its
     * locks (testing.h) */
    void (*testing_reset)(void);
#endif
};
#ifdef WARD_TESTING
#define TIER_TESTING_RESET(fn) .testing_reset = (fn),
#else
#define TIER_TESTING_RESET(fn)
#endif

extern const struct tier_ops small_tier INTERNAL, medium_tier INTERNAL, large_tier INTERNAL, sample_tier INTERNAL,
    zero_tier INTERNAL;

/* In lock order (fork takes them first to last). */
static const struct tier_ops *const tiers[] = {&small_tier, &medium_tier, &large_tier, &sample_tier, &zero_tier};
#define NTIERS (sizeof tiers / sizeof tiers[0])

#endif
