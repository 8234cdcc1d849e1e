/* thread.h: the per-thread cache and quarantine ring, the thread registry
 * (thread.c), and the per-thread random generator. */
#ifndef WARD_THREAD_H
#define WARD_THREAD_H

#include "state.h"

/* ---- per-thread state (thread.c) ------------------------------------------ */

/* ward's one random generator (xorshift128+), for placement and order: the
 * thread cache's and the sampling countdown's.  Seeded from the process's
 * secret; never all zero once seeded. */
struct rng {
    uint64_t s[2];
};
static inline uint64_t rng_next(struct rng *r);

struct tcache {
    uint32_t count[NCLASSES];
    uint8_t batch[NCLASSES];    /* slots the class's next refill takes from its slabs (0: the first) */
    uintptr_t slot[NCLASSES][TC_MAX];
    /* quarantine: a ring of user pointers */
    uintptr_t q[Q_SLOTS];
    uint32_t qhead, qlen;
    size_t qbytes;
    struct rng rng;
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
/* A header still busy after hdr_load_shared's tries (the keyed busy mark
 * that a transition holds while it works): true when no call is making
 * it, that is, when it stays busy through 200 sleeps of a millisecond (a
 * thread preempted mid-transition has had its processor back long before)
 * in a process that cannot hold a transition a fork abandoned.  A child
 * forked while other threads ran may: there it is never reported. */
bool busy_forged(uintptr_t chunk) INTERNAL;
void thread_init(void) INTERNAL;
bool thread_trim(void) INTERNAL;
void thread_exit_check(enum ward_call op) INTERNAL;
void ward_lock_all(void) INTERNAL;
void ward_unlock_all(void) INTERNAL;
void ward_reinit_locks_child(void) INTERNAL;

static inline uint64_t rng_next(struct rng *r)
{
    uint64_t s1 = r->s[0];
    const uint64_t s0 = r->s[1];
    r->s[0] = s0;
    s1 ^= s1 << 23;
    r->s[1] = s1 ^ s0 ^ (s1 >> 17) ^ (s0 >> 26);
    return r->s[1] + s0;
}
uint64_t ward_rand_global(void) INTERNAL;
/* true in a forked child: medium and large blocks are then placed at
 * random (medium.c, large.c), as small ones always are */
extern bool ward_forked INTERNAL;
size_t ward_quarantined_bytes(void) INTERNAL;

#endif
