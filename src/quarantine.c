/* quarantine.c: freed small and medium chunks wait in a per-thread ring,
 * bounded in bytes and entries, before they can be reused.  A new entry
 * trades places with a random one of the newer half, so the order of reuse
 * is FIFO with some randomization: a use after free cannot count on getting
 * its victim back at a known time.  Chunks wait zeroed, in state QUAR; the
 * poison is verified when they leave. */
#include "internal.h"

static void evict_one(struct tcache *tc)
{
    uintptr_t p = tc->q[tc->qhead];
    tc->qhead = (tc->qhead + 1) & (Q_SLOTS - 1);
    tc->qlen--;
    if (tc->qlen) /* the next one out was freed long ago: fetch it ahead */
        __builtin_prefetch((void *)(tc->q[tc->qhead] - HDR), 1);
    size_t size;
    if (in_small(p)) {
        size = G.slot_size[(p - G.small_base) >> G.class_shift];
        small_release(tc, p);
    } else {
        uint64_t m;
        (void)hdr_load(p - HDR, &m); /* verified again, under the arena lock */
        size = meta_size(m);
        medium_release(p);
    }
    tc->qbytes = tc->qbytes > size ? tc->qbytes - size : 0;
}

void quarantine_push(struct tcache *tc, uintptr_t p, size_t csize)
{
    if (tc->qlen == Q_SLOTS)
        evict_one(tc);
    uint32_t mask = Q_SLOTS - 1, tail = (tc->qhead + tc->qlen) & mask;
    tc->q[tail] = p;
    tc->qlen++;
    tc->qbytes += csize;
    if (tc->qlen > 1) {
        uint32_t r = (uint32_t)(rng_next(tc) % ((tc->qlen + 1) / 2));
        uint32_t j = (tail - r) & mask;
        uintptr_t t = tc->q[j];
        tc->q[j] = tc->q[tail];
        tc->q[tail] = t;
    }
    while (tc->qbytes > (size_t)G.opt.quarantine_bytes && tc->qlen)
        evict_one(tc);
}

/* Verifies every chunk still waiting, without releasing any (at exit: a
 * write after free shortly before the end is still caught). */
void quarantine_check(struct tcache *tc, const char *op)
{
    for (uint32_t i = 0; i < tc->qlen; i++) {
        uintptr_t p = tc->q[(tc->qhead + i) & (Q_SLOTS - 1)];
        if (in_small(p))
            small_check_quarantined(p, op);
        else
            medium_check_quarantined(p, op);
    }
}

void quarantine_drain(struct tcache *tc)
{
    while (tc->qlen)
        evict_one(tc);
    tc->qbytes = 0;
}
