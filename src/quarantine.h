/* quarantine.h: delayed reuse.  A freed chunk waits in its thread's ring,
 * bounded in bytes, before it may be handed out again (quarantine.c). */
#ifndef WARD_QUARANTINE_H
#define WARD_QUARANTINE_H

#include "thread.h"

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
    uint32_t r = (uint32_t)(((rng_next(&tc->rng) & 0xffffffffu) * ((tc->qlen + 1) / 2)) >> 32);
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

#endif
