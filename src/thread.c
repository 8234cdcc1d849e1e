/* thread.c: per-thread caches, their registry, thread exit and fork.
 * The thread-local part is one pointer (initial-exec TLS stays tiny, so a
 * dlopen of ward never runs out of static TLS).  A thread that exits leaves
 * its cache and quarantine as they are, in a pool, for the next thread that
 * starts (up to TC_POOL_KEEP of them; past that, and at malloc_trim, they are
 * drained back to the shared structures, every chunk verified on its way);
 * after that its last frees go straight to the shared structures.  A pooled
 * cache's chunks are verified as any thread's: when they leave the
 * quarantine or are handed out again, and at exit (exit_check). */
#include "state.h"
#include "report.h"
#include "os.h"
#include "chunk.h"
#include "thread.h"
#include "quarantine.h"
#include "trace.h"
#include "tier.h"

#include <errno.h>
#include <time.h>
#include <unistd.h>

__thread struct tcache *ward_tls __attribute__((tls_model("initial-exec")));

static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
/* registry: the caches of running threads; stocked: exited threads' caches
 * with their quarantine and cached slots (at most TC_POOL_KEEP), handed to
 * the next threads that start; pool: exited threads' caches, empty. */
static struct tcache *registry, *stocked, *pool;
static unsigned nstocked;
static uint64_t thread_counter;
/* set in a child forked while other threads ran: their transitions, cut
 * short, leave headers busy for good */
static bool fork_abandoned;
/* 0 in the process that loaded ward; in each forked child, fresh from the
 * kernel: mixed into every generator's seed, so that no two children of
 * one parent draw the same placements */
static uint64_t fork_salt;
bool ward_forked;

bool busy_forged(uintptr_t chunk)
{
    const struct hdr *h = (const struct hdr *)chunk;
    uint64_t busy = hdr_busy_of(chunk);
    for (int ms = 0; ms < 200; ms++) {
        if (fork_abandoned || __atomic_load_n(&h->check, __ATOMIC_ACQUIRE) != busy)
            return false;
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    return !fork_abandoned && __atomic_load_n(&h->check, __ATOMIC_ACQUIRE) == busy;
}

static void unregister(struct tcache *tc)
{
    if (tc->prev)
        tc->prev->next = tc->next;
    else
        registry = tc->next;
    if (tc->next)
        tc->next->prev = tc->prev;
}

/* Gives an exited thread's cache and quarantine back to the shared
 * structures: the quarantine's chunks leave it as they would at any time
 * (verified), then the cache's (verified on their way to their slabs). */
static void tcache_drain(struct tcache *tc)
{
    quarantine_drain(tc);
    small_drain_cache(tc);
}

static void thread_exit(void *arg)
{
    struct tcache *tc = arg;
    if (!tc || tc == TC_DEAD)
        return;
    int e = errno;
    ward_tls = TC_DEAD;
    pthread_mutex_lock(&reg_lock);
    unregister(tc);
    if (nstocked < TC_POOL_KEEP && (tc->qlen || small_cached(tc))) {
        /* kept as it is for the next thread: no chunk is verified twice,
         * and none goes back to its slab only to be taken out again */
        nstocked++;
        tc->next = stocked;
        stocked = tc;
        pthread_mutex_unlock(&reg_lock);
        errno = e;
        return;
    }
    pthread_mutex_unlock(&reg_lock);
    tcache_drain(tc);
    pthread_mutex_lock(&reg_lock);
    tc->next = pool;
    pool = tc;
    pthread_mutex_unlock(&reg_lock);
    errno = e;
}

struct tcache *tcache_create(void)
{
    ward_ensure_init();
    int e = errno;
    pthread_mutex_lock(&reg_lock);
    struct tcache *tc = stocked;
    if (tc) {
        stocked = tc->next;
        nstocked--;
    } else if ((tc = pool) != NULL) {
        pool = tc->next;
    }
    uint64_t n = ++thread_counter;
    pthread_mutex_unlock(&reg_lock);
    if (!tc) {
        size_t bytes = (sizeof(struct tcache) + G.page - 1) & ~(G.page - 1);
        tc = os_map(bytes); /* zero: an empty cache and quarantine */
        if (!tc) {
            errno = e;
            return NULL; /* this thread works without a cache */
        }
        os_name(tc, bytes, "ward thread cache");
    }
    /* A pooled cache keeps its slots and quarantine (a drained one has
     * none); the rest is this thread's. */
    tc->next = tc->prev = NULL;
    tc->tid = os_tid();
    tc->rng.s[0] = wmix(K0->rk ^ n ^ fork_salt, 0x9e3779b97f4a7c15ull) | 1;
    tc->rng.s[1] = wmix(K0->rk + (uint64_t)tc->tid, n ^ fork_salt ^ 0xd1b54a32d192ed03ull);
    tc->arena = (int)(n % NARENAS);
    pthread_mutex_lock(&reg_lock);
    tc->next = registry;
    if (registry)
        registry->prev = tc;
    registry = tc;
    pthread_mutex_unlock(&reg_lock);
    /* Before pthread_setspecific, which may itself allocate. */
    ward_tls = tc;
    pthread_setspecific(G.tkey, tc);
    errno = e;
    return tc;
}

/* malloc_trim, or out of memory: the exited threads' caches give their
 * chunks back.  True when there were any. */
bool thread_trim(void)
{
    pthread_mutex_lock(&reg_lock);
    struct tcache *list = stocked;
    stocked = NULL;
    nstocked = 0;
    pthread_mutex_unlock(&reg_lock);
    bool any = list != NULL;
    while (list) {
        struct tcache *tc = list;
        list = tc->next;
        tcache_drain(tc);
        pthread_mutex_lock(&reg_lock);
        tc->next = pool;
        pool = tc;
        pthread_mutex_unlock(&reg_lock);
    }
    return any;
}

/* exit_check: the exited threads' quarantines and caches, which no thread
 * has taken over (the calling thread's own is checked by its caller). */
void thread_exit_check(enum ward_call op)
{
    pthread_mutex_lock(&reg_lock);
    for (struct tcache *t = stocked; t; t = t->next)
        quarantine_check(t, op);
    pthread_mutex_unlock(&reg_lock);
}

uint64_t ward_rand_global(void)
{
    uint64_t n = __atomic_add_fetch(&thread_counter, 1, __ATOMIC_RELAXED);
    return wmix(K0->rk ^ n ^ fork_salt, 0x2545f4914f6cdd1dull);
}

void thread_init(void)
{
    if (pthread_key_create(&G.tkey, thread_exit) != 0)
        ward_die("cannot create the thread-exit key");
}

size_t ward_quarantined_bytes(void)
{
    size_t n = 0;
    pthread_mutex_lock(&reg_lock);
    for (struct tcache *t = registry; t; t = t->next)
        n += t->qbytes;
    for (struct tcache *t = stocked; t; t = t->next)
        n += t->qbytes;
    pthread_mutex_unlock(&reg_lock);
    return n;
}

/* fork: every lock is taken in one order before the fork and released (or
 * made anew, in the child) after it, so the child never inherits a lock held
 * by a thread that does not exist there. */
void ward_lock_all(void)
{
    pthread_mutex_lock(&reg_lock);
    for (size_t i = 0; i < NTIERS; i++)
        if (tiers[i]->lock_all)
            tiers[i]->lock_all();
    trace_lock();
}

void ward_unlock_all(void)
{
    trace_unlock();
    for (size_t i = NTIERS; i-- > 0;)
        if (tiers[i]->unlock_all)
            tiers[i]->unlock_all();
    pthread_mutex_unlock(&reg_lock);
}

/* A forked child places what it allocates afresh: every child of one
 * parent would otherwise hand out the same addresses in the same order
 * (the parent's cache and generator state), so a crash oracle across
 * children could probe one chunk, and its canary, again and again.  The
 * generator is reseeded from the kernel, and the cached chunks go back to
 * their slabs (verified on the way), so the next malloc of each size
 * takes a slot at random from a slab's free ones. */
static void fresh_salt(void)
{
    uint64_t salt;
    if (!os_random_raw(&salt, sizeof salt)) { /* no getrandom: weaker, still per child */
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        salt = wmix(fork_salt ^ (uint64_t)os_tid(), (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 32));
    }
    fork_salt = salt ? salt : 1;
}

static void fresh_placement(struct tcache *tc)
{
    tc->rng.s[0] = wmix(fork_salt, 0x9e3779b97f4a7c15ull) | 1;
    tc->rng.s[1] = wmix(fork_salt ^ tc->rng.s[1], 0xd1b54a32d192ed03ull);
    small_drain_cache(tc);
}

void ward_reinit_locks_child(void)
{
    trace_reinit_lock();
    for (size_t i = 0; i < NTIERS; i++)
        if (tiers[i]->reinit_locks)
            tiers[i]->reinit_locks();
    pthread_mutex_init(&reg_lock, NULL);
    /* The other threads' caches belong to threads that do not exist here and
     * may be mid-update: their chunks stay out of use, never reused twice. */
    struct tcache *me = ward_tls > TC_DEAD ? ward_tls : NULL;
    if (registry && (registry != me || registry->next))
        fork_abandoned = true; /* other threads ran: mid-transition, maybe */
    fresh_salt();
    ward_forked = true;
    registry = me;
    if (me) {
        me->next = me->prev = NULL;
        me->tid = os_tid();
        fresh_placement(me);
    }
    small_drain_shared(CALL_FREE); /* its slots are taken at random too */
    sample_fork_child();
    large_fork_child();
    report_fork_child();
}

#ifdef WARD_TESTING
#include "testing.h"
/* The harness build's reset: every registered cache and quarantine emptied
 * (their chunks are discarded with the tiers), the calling thread's random
 * generator restarted from a fixed seed. */
void thread_testing_reset(void)
{
    pthread_mutex_init(&reg_lock, NULL);
    for (struct tcache *t = registry; t; t = t->next) {
        memset(t->count, 0, sizeof t->count);
        memset(t->batch, 0, sizeof t->batch); /* refills start small again, as in a new thread */
        t->qhead = t->qlen = 0;
        t->qbytes = 0;
    }
    while (stocked) { /* emptied, like the rest */
        struct tcache *t = stocked;
        stocked = t->next;
        memset(t->count, 0, sizeof t->count);
        memset(t->batch, 0, sizeof t->batch);
        t->qhead = t->qlen = 0;
        t->qbytes = 0;
        t->next = pool;
        pool = t;
    }
    nstocked = 0;
    struct tcache *me = tcache_get(); /* made now, so the first input is seeded like the rest */
    if (me) {
        me->rng.s[0] = 0x9e3779b97f4a7c15ull;
        me->rng.s[1] = 0xd1b54a32d192ed03ull;
    }
}
#endif
