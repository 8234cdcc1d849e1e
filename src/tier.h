/* tier.h: the contract every tier keeps.
 *
 * The hot operations (malloc, free, realloc, the live size) are direct
 * calls, dispatched by address through tier_of(); ownership is decided from
 * the address before any header is read.  The cold operations, the same in
 * every tier, are one table each: ward_check_heap, the statistics, the live
 * counts, malloc_trim, the fork locks and the harness's reset are loops
 * over `tiers`. */
#ifndef WARD_TIER_H
#define WARD_TIER_H

#include "internal.h"

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
    return TIER_LARGE;
}

struct tier_ops {
    /* ward_check_heap: verify every chunk the tier holds (reports on failure) */
    void (*check)(void);
    /* ward_get_stats: add the tier's figures */
    void (*stats)(struct ward_stats *s);
    /* ward_live_chunks: add the live chunks and their requested bytes */
    void (*count_live)(size_t *count, size_t *bytes);
    /* malloc_trim and out of memory: give free memory back; the bytes given
     * (NULL: the tier keeps nothing to give) */
    size_t (*trim)(void);
    /* fork: take every lock of the tier (in `tiers` order), release them,
     * or make them anew in the child */
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

extern const struct tier_ops small_tier INTERNAL, medium_tier INTERNAL, large_tier INTERNAL, sample_tier INTERNAL;

/* In lock order (fork takes them first to last). */
static const struct tier_ops *const tiers[] = {&small_tier, &medium_tier, &large_tier, &sample_tier};
#define NTIERS (sizeof tiers / sizeof tiers[0])

#endif
