/* thread.c: per-thread caches, their registry, thread exit and fork.
 * The thread-local part is one pointer (initial-exec TLS stays tiny, so a
 * dlopen of ward never runs out of static TLS).  A thread that exits gives
 * its cache and quarantine back; after that its last frees go straight to
 * the shared structures. */
#include "internal.h"

#include <errno.h>
#include <unistd.h>

__thread struct tcache *ward_tls __attribute__((tls_model("initial-exec")));

static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static struct tcache *registry, *pool;
static uint64_t thread_counter;

static void unregister(struct tcache *tc)
{
    if (tc->prev)
        tc->prev->next = tc->next;
    else
        registry = tc->next;
    if (tc->next)
        tc->next->prev = tc->prev;
}

static void thread_exit(void *arg)
{
    struct tcache *tc = arg;
    if (!tc || tc == TC_DEAD)
        return;
    int e = errno;
    quarantine_drain(tc);
    small_drain_cache(tc);
    ward_tls = TC_DEAD;
    pthread_mutex_lock(&reg_lock);
    unregister(tc);
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
    struct tcache *tc = pool;
    if (tc)
        pool = tc->next;
    uint64_t n = ++thread_counter;
    pthread_mutex_unlock(&reg_lock);
    if (!tc) {
        size_t bytes = (sizeof(struct tcache) + G.page - 1) & ~(G.page - 1);
        tc = os_map(bytes);
        if (!tc) {
            errno = e;
            return NULL; /* this thread works without a cache */
        }
        os_name(tc, bytes, "ward thread cache");
    }
    memset(tc, 0, sizeof *tc);
    tc->tid = os_tid();
    tc->rng[0] = wmix(G.rk ^ n, 0x9e3779b97f4a7c15ull) | 1;
    tc->rng[1] = wmix(G.rk + (uint64_t)tc->tid, n ^ 0xd1b54a32d192ed03ull);
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

uint64_t ward_rand_global(void)
{
    uint64_t n = __atomic_add_fetch(&thread_counter, 1, __ATOMIC_RELAXED);
    return wmix(G.rk ^ n, 0x2545f4914f6cdd1dull);
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
    pthread_mutex_unlock(&reg_lock);
    return n;
}

/* fork: every lock is taken in one order before the fork and released (or
 * made anew, in the child) after it, so the child never inherits a lock held
 * by a thread that does not exist there. */
void ward_lock_all(void)
{
    pthread_mutex_lock(&reg_lock);
    small_lock_all();
    medium_lock_all();
    large_lock_all();
    trace_lock();
    sample_lock();
}

void ward_unlock_all(void)
{
    sample_unlock();
    trace_unlock();
    large_unlock_all();
    medium_unlock_all();
    small_unlock_all();
    pthread_mutex_unlock(&reg_lock);
}

void ward_reinit_locks_child(void)
{
    sample_reinit_lock();
    trace_reinit_lock();
    large_reinit_locks();
    medium_reinit_locks();
    small_reinit_locks();
    pthread_mutex_init(&reg_lock, NULL);
    /* The other threads' caches belong to threads that do not exist here and
     * may be mid-update: their chunks stay out of use, never reused twice. */
    struct tcache *me = ward_tls > TC_DEAD ? ward_tls : NULL;
    registry = me;
    if (me) {
        me->next = me->prev = NULL;
        me->tid = os_tid();
    }
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
        t->qhead = t->qlen = 0;
        t->qbytes = 0;
    }
    struct tcache *me = tcache_get(); /* made now, so the first input is seeded like the rest */
    if (me) {
        me->rng[0] = 0x9e3779b97f4a7c15ull;
        me->rng[1] = 0xd1b54a32d192ed03ull;
    }
}
#endif
