/* t_soak: a long multi-threaded random workload.
 *
 *   t_soak [OPS]   (or WARD_SOAK_OPS=N; default 10^7; `make soak`: 10^8)
 *
 * Four threads share OPS operations: malloc, calloc, realloc (growing,
 * shrinking, across tiers), aligned allocations, free and sized free, over
 * sizes from 1 byte to 2 MiB (mostly small), each thread keeping up to 4096
 * live blocks, and handing blocks to each other through a shared exchange
 * (so frees cross threads).  Every block carries bytes derived from its
 * address and size at both ends, checked before it is freed or moved;
 * calloc'd blocks are checked zero.  One thread runs ward_check_heap()
 * every 2^21 operations.  At the end: the peak RSS (VmHWM) must stay below
 * a generous bound derived from the largest live set seen — twice the live
 * bytes (slot rounding and slack), plus what ward keeps by design: 1 MiB of
 * quarantine per thread, 64 MiB of free pages per medium arena before
 * purging (256 MiB), the 32 MiB large-chunk cache — plus 64 MiB of program
 * and libraries.  Any report fails the run (the process aborts). */
#include "test_util.h"

#include <pthread.h>
#include <stdatomic.h>

#define THREADS 4
#define LIVE 4096
#define XCHG 256
#define CHECK_EVERY (1u << 21)

struct blk {
    char *p;
    size_t n;
};

static struct {
    pthread_mutex_t lock;
    struct blk b;
} xchg[XCHG];

static uint64_t ops_per_thread;
static atomic_ullong live_bytes, peak_live;
static atomic_ullong total_ops;
typedef void (*free_sized_t)(void *, size_t);
static free_sized_t fsized;

static inline unsigned char mark(const char *p, size_t n, size_t i)
{
    return (unsigned char)(((uintptr_t)p >> 4) * 31u + n * 7u + i);
}

static void stamp(char *p, size_t n)
{
    size_t k = n < 8 ? n : 8;
    for (size_t i = 0; i < k; i++) {
        p[i] = (char)mark(p, n, i);
        p[n - 1 - i] = (char)mark(p, n, n - 1 - i);
    }
}

static void verify(const char *p, size_t n, const char *what)
{
    size_t k = n < 8 ? n : 8;
    for (size_t i = 0; i < k; i++)
        if ((unsigned char)p[i] != mark(p, n, i) || (unsigned char)p[n - 1 - i] != mark(p, n, n - 1 - i))
            fail("%s: block %p of %zu bytes changed", what, (const void *)p, n);
}

static size_t pick_size(struct rng *r)
{
    uint64_t x = rng_below(r, 10000);
    if (x < 8500)
        return (size_t)rng_log_range(r, 1, 1024);
    if (x < 9985)
        return (size_t)rng_log_range(r, 1025, 256 * KiB);
    return (size_t)rng_range(r, 520 * KiB, 2 * MiB);
}

static void account(long long d)
{
    unsigned long long now = atomic_fetch_add(&live_bytes, (unsigned long long)d) + (unsigned long long)d;
    unsigned long long pk = atomic_load(&peak_live);
    while (now > pk && !atomic_compare_exchange_weak(&peak_live, &pk, now))
        ;
}

static void release(struct blk *b, struct rng *r)
{
    verify(b->p, b->n, "before free");
    if (fsized && rng_below(r, 8) == 0)
        fsized(b->p, b->n);
    else
        free(b->p);
    account(-(long long)b->n);
    b->p = NULL;
}

static void *worker(void *arg)
{
    unsigned id = (unsigned)(uintptr_t)arg;
    struct rng r;
    rng_seed(&r, 0x50a4 + id);
    struct blk *live = calloc(LIVE, sizeof *live);
    if (!live)
        fail("calloc of the live table");
    /* the live set breathes: a target that moves between 1/8 and all slots */
    uint64_t local = 0;
    for (uint64_t op = 0; op < ops_per_thread; op++) {
        struct blk *b = &live[rng_below(&r, LIVE)];
        uint64_t what = rng_below(&r, 100);
        if (b->p) {
            if (what < 55) {
                release(b, &r);
            } else if (what < 75) {
                size_t n = rng_below(&r, 4) ? pick_size(&r) : b->n + rng_below(&r, 64);
                if (n == 0)
                    n = 1;
                verify(b->p, b->n, "before realloc");
                char *q = realloc(b->p, n);
                if (!q)
                    fail("realloc(%zu) returned NULL", n);
                /* the kept prefix moved with the block: restamp both ends */
                account((long long)n - (long long)b->n);
                b->p = q;
                b->n = n;
                stamp(q, n);
            } else if (what < 78) { /* swap with another thread's block */
                struct blk mine = *b;
                unsigned x = (unsigned)rng_below(&r, XCHG);
                pthread_mutex_lock(&xchg[x].lock);
                *b = xchg[x].b;
                xchg[x].b = mine;
                pthread_mutex_unlock(&xchg[x].lock);
                if (b->p)
                    verify(b->p, b->n, "a block from another thread");
            } else {
                verify(b->p, b->n, "live block");
            }
        } else {
            size_t n = pick_size(&r);
            char *p;
            if (what < 60) {
                p = malloc(n);
            } else if (what < 80) {
                p = calloc(1, n);
                if (p && (find_nonzero(p, n < 4096 ? n : 4096) >= 0 || find_nonzero(p + n - (n < 64 ? n : 64), n < 64 ? n : 64) >= 0))
                    fail("calloc(%zu) not zero", n);
            } else {
                size_t a = (size_t)1 << rng_range(&r, 4, 13);
                p = aligned_alloc(a, n);
                if (p && !is_aligned(p, a))
                    fail("aligned_alloc(%zu) not aligned", a);
            }
            if (!p)
                fail("allocation of %zu returned NULL", n);
            b->p = p;
            b->n = n;
            stamp(p, n);
            account((long long)n);
        }
        if (++local == 65536) {
            unsigned long long t = atomic_fetch_add(&total_ops, local) + local;
            local = 0;
            if (id == 0 && t / CHECK_EVERY != (t - 65536) / CHECK_EVERY)
                check_heap_at("during the soak");
        }
    }
    struct rng r2;
    rng_seed(&r2, id);
    for (unsigned i = 0; i < LIVE; i++)
        if (live[i].p)
            release(&live[i], &r2);
    free(live);
    return NULL;
}

int main(int argc, char **argv)
{
    ward_loaded();
    uint64_t ops = 10000000;
    const char *e = getenv("WARD_SOAK_OPS");
    if (argc > 1)
        ops = strtoull(argv[1], NULL, 10);
    else if (e)
        ops = strtoull(e, NULL, 10);
    ops_per_thread = ops / THREADS;
    fsized = get_free_sized();
    for (int i = 0; i < XCHG; i++)
        pthread_mutex_init(&xchg[i].lock, NULL);
    double t0 = now_sec();
    pthread_t th[THREADS];
    for (unsigned i = 0; i < THREADS; i++)
        if (pthread_create(&th[i], NULL, worker, (void *)(uintptr_t)i))
            fail("pthread_create");
    for (unsigned i = 0; i < THREADS; i++)
        pthread_join(th[i], NULL);
    struct rng r;
    rng_seed(&r, 9);
    for (int i = 0; i < XCHG; i++)
        if (xchg[i].b.p)
            release(&xchg[i].b, &r);
    check_heap_at("after the soak");
    double secs = now_sec() - t0;
    long hwm_kb = proc_status_kb("VmHWM");
    unsigned long long peak = atomic_load(&peak_live);
    unsigned long long bound = 2 * peak + (THREADS * 1 + 256 + 32 + 64) * MiB;
    note("%llu operations in %.1f s (%.2f M/s), %u threads; peak live %.1f MiB, peak RSS %.1f MiB (bound %.1f MiB)",
         (unsigned long long)ops_per_thread * THREADS, secs, (double)ops_per_thread * THREADS / secs / 1e6, THREADS,
         (double)peak / MiB, (double)hwm_kb / 1024, (double)bound / MiB);
    if ((unsigned long long)hwm_kb * 1024 > bound)
        fail("peak RSS %ld KiB above the bound %llu KiB", hwm_kb, bound / 1024);
    if (atomic_load(&live_bytes) != 0)
        fail("live byte count did not return to zero");
    return 0;
}
