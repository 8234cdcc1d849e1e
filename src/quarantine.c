/* quarantine.c: freed small and medium chunks wait in a per-thread ring,
 * bounded in bytes and entries, before they can be reused.  A new entry
 * trades places with a random one of the newer half, so the order of reuse
 * is FIFO with some randomization: a use after free cannot count on getting
 * its victim back at a known time.  Chunks wait zeroed, in state QUAR; the
 * poison is verified when they leave (medium), or, for small chunks, which
 * go on to the thread's cache as they are, when the cache hands them out or
 * gives them back to their slab. */
#include "state.h"
#include "chunk.h"
#include "thread.h"
#include "quarantine.h"
#include "tier.h"

/* Releases the oldest entry. */
void quarantine_evict(struct tcache *tc)
{
    uintptr_t p = quarantine_take(tc);
    size_t size;
    if (likely(in_small(p))) {
        size = G.slot_size[(p - G.small_base) >> G.class_shift];
        small_release(tc, p);
    } else {
        uint64_t m;
        (void)hdr_load(p - HDR, &m, NULL); /* its size: verified again, under the arena lock */
        size = meta_size(m);
        medium_release(p);
    }
    quarantine_uncount(tc, size);
}

/* Verifies every chunk still waiting, without releasing any (at exit: a
 * write after free shortly before the end is still caught), and the small
 * chunks that left it for the thread's cache (verified only when reused). */
void quarantine_check(struct tcache *tc, enum ward_call op)
{
    small_check_cached(tc, op);
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
        quarantine_evict(tc);
    tc->qbytes = 0;
}
