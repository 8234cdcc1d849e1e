/* t_threads: concurrent allocation with cross-thread frees and short-lived
 * threads.
 *
 * Phase 1, with 2, 4 and 8 threads: each thread churns its own slots
 * (malloc / calloc / realloc / aligned / free, sizes in every tier) and
 * trades blocks through a shared, mutex-protected exchange ring: it pushes
 * blocks it allocated and pops and frees blocks another thread allocated.
 * Every block carries a pattern naming its owner thread, slot and
 * generation, verified before each free and realloc.
 *
 * Phase 2: many short-lived threads (a few at a time) allocate and free a
 * few hundred blocks each and exit while their caches hold chunks; some of
 * their blocks outlive them and are freed by the main thread.  Resident
 * memory must not grow with the number of threads that have come and gone.
 *
 * At the end every block is freed: ward_check_heap() must pass and the live
 * bytes (ward_get_stats, or mallinfo2().uordblks without ward) must be back
 * to within 4 MiB of the start. */
#include "test_util.h"

#include <pthread.h>

#define XRING 1024
#define TSLOTS 512

struct block {
    void *p;
    size_t size;
    uint64_t tag;
};

static struct {
    pthread_mutex_t lock;
    struct block ring[XRING];
    size_t head, count;
} xchg = { .lock = PTHREAD_MUTEX_INITIALIZER };

static pthread_barrier_t start_barrier;

static uint64_t block_tag(unsigned thread, unsigned slot, uint32_t gen)
{
    return ((uint64_t)thread << 48) ^ ((uint64_t)slot << 32) ^ gen ^ 0x7700000000000000ULL;
}

static size_t thread_size(struct rng *r)
{
    uint64_t x = rng_below(r, 1000);
    if (x < 900)
        return (size_t)rng_log_range(r, 1, 1024);
    if (x < 998)
        return (size_t)rng_log_range(r, 1025, 256 * KiB);
    return (size_t)rng_range(r, 512 * KiB, 2 * MiB);
}

static void *thread_alloc(struct rng *r, size_t n, uint64_t tag)
{
    void *p;
    uint64_t k = rng_below(r, 10);
    if (k < 6) {
        p = malloc(n);
    } else if (k < 8) {
        p = calloc(1, n);
        if (p) {
            long bad = find_nonzero(p, n);
            if (bad >= 0)
                fail("calloc(1, %zu) in a thread: byte %ld not zero", n, bad);
        }
    } else {
        size_t a = (size_t)1 << rng_range(r, 4, 12);
        p = aligned_alloc(a, n);
        if (p && !is_aligned(p, a))
            fail("aligned_alloc(%zu, %zu) = %p misaligned", a, n, p);
    }
    if (!p)
        fail("allocation of %zu bytes in a thread returned NULL", n);
    if (malloc_usable_size(p) < n)
        fail("malloc_usable_size(%p) = %zu < %zu", p, malloc_usable_size(p), n);
    pat_fill(p, n, tag);
    return p;
}

static bool xchg_push(struct block b)
{
    bool ok = false;
    pthread_mutex_lock(&xchg.lock);
    if (xchg.count < XRING) {
        xchg.ring[(xchg.head + xchg.count) % XRING] = b;
        xchg.count++;
        ok = true;
    }
    pthread_mutex_unlock(&xchg.lock);
    return ok;
}

static bool xchg_pop(struct block *b)
{
    bool ok = false;
    pthread_mutex_lock(&xchg.lock);
    if (xchg.count) {
        *b = xchg.ring[xchg.head];
        xchg.head = (xchg.head + 1) % XRING;
        xchg.count--;
        ok = true;
    }
    pthread_mutex_unlock(&xchg.lock);
    return ok;
}

static void free_block(struct block *b, const char *what)
{
    pat_verify(b->p, b->size, b->tag, what);
    free(b->p);
    b->p = NULL;
}

struct worker {
    pthread_t th;
    unsigned id;
    unsigned ops;
    uint64_t seed;
    uint64_t cross_frees;
};

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct rng r;
    rng_seed(&r, w->seed);
    struct block mine[TSLOTS];
    memset(mine, 0, sizeof mine);
    uint32_t gen = 0;
    pthread_barrier_wait(&start_barrier);
    for (unsigned op = 0; op < w->ops; op++) {
        unsigned i = (unsigned)rng_below(&r, TSLOTS);
        struct block *b = &mine[i];
        uint64_t k = rng_below(&r, 100);
        if (!b->p) {
            b->size = thread_size(&r);
            b->tag = block_tag(w->id, i, ++gen);
            b->p = thread_alloc(&r, b->size, b->tag);
        } else if (k < 40) {
            free_block(b, "own block before free");
        } else if (k < 60) {
            pat_verify(b->p, b->size, b->tag, "own block before realloc");
            size_t n = thread_size(&r) + 1;
            void *q = realloc(b->p, n);
            if (!q)
                fail("realloc to %zu in a thread returned NULL", n);
            size_t keep = b->size < n ? b->size : n;
            pat_verify(q, keep, b->tag, "own block after realloc");
            if (n > b->size)
                pat_fill_range(q, b->size, n, b->tag);
            b->p = q;
            b->size = n;
        } else if (k < 80) {
            /* hand the block to whichever thread pops it */
            if (xchg_push(*b))
                b->p = NULL;
        } else {
            struct block x;
            if (xchg_pop(&x)) {
                if ((x.tag >> 48) != (w->id ^ 0x7700))
                    w->cross_frees++;
                free_block(&x, "block from the exchange before free");
            }
        }
    }
    for (unsigned i = 0; i < TSLOTS; i++)
        if (mine[i].p)
            free_block(&mine[i], "own block at thread end");
    return NULL;
}

static void phase_concurrent(unsigned nthreads, unsigned ops_per_thread, uint64_t seed)
{
    struct worker w[8];
    if (pthread_barrier_init(&start_barrier, NULL, nthreads) != 0)
        fail("pthread_barrier_init failed");
    for (unsigned t = 0; t < nthreads; t++) {
        w[t] = (struct worker){ .id = t + 1, .ops = ops_per_thread, .seed = seed * 31 + t };
        if (pthread_create(&w[t].th, NULL, worker_main, &w[t]) != 0)
            fail("pthread_create failed");
    }
    uint64_t cross = 0;
    for (unsigned t = 0; t < nthreads; t++) {
        pthread_join(w[t].th, NULL);
        cross += w[t].cross_frees;
    }
    pthread_barrier_destroy(&start_barrier);
    /* blocks still in the exchange: the main thread frees them */
    struct block x;
    while (xchg_pop(&x))
        free_block(&x, "block left in the exchange");
    if (cross == 0)
        fail("%u threads: no cross-thread free happened", nthreads);
    note("%u threads x %u ops: %" PRIu64 " cross-thread frees", nthreads, ops_per_thread, cross);
    check_heap_at("after the concurrent phase");
}

/* ---- short-lived threads */

#define LEFTOVER_MAX 8192
static struct block leftovers[LEFTOVER_MAX];
static size_t nleftovers;
static pthread_mutex_t leftover_lock = PTHREAD_MUTEX_INITIALIZER;

struct brief {
    pthread_t th;
    unsigned id;
};

static void *brief_main(void *arg)
{
    struct brief *b = arg;
    struct rng r;
    rng_seed(&r, 0xb1ef0000ULL + b->id);
    enum { N = 300 };
    struct block blk[N];
    for (unsigned i = 0; i < N; i++) {
        uint64_t x = rng_below(&r, 100);
        blk[i].size = x < 95 ? (size_t)rng_log_range(&r, 1, 2048)
                             : (size_t)rng_log_range(&r, 8 * KiB, 64 * KiB);
        blk[i].tag = block_tag(1000 + b->id, i, 1);
        blk[i].p = thread_alloc(&r, blk[i].size, blk[i].tag);
    }
    /* free most, in a shuffled order; keep a few alive past our exit */
    for (unsigned i = 0; i < N; i++) {
        unsigned j = i + (unsigned)rng_below(&r, N - i);
        struct block t = blk[i];
        blk[i] = blk[j];
        blk[j] = t;
    }
    for (unsigned i = 0; i < N; i++) {
        if (i < 4) {
            pthread_mutex_lock(&leftover_lock);
            if (nleftovers < LEFTOVER_MAX) {
                leftovers[nleftovers++] = blk[i];
                blk[i].p = NULL;
            }
            pthread_mutex_unlock(&leftover_lock);
        }
        if (blk[i].p)
            free_block(&blk[i], "short-lived thread's block");
    }
    /* and allocate a little again, so the cache is warm at exit */
    for (unsigned i = 0; i < 32; i++) {
        blk[i].size = (size_t)rng_log_range(&r, 1, 1024);
        blk[i].tag = block_tag(1000 + b->id, i, 2);
        blk[i].p = thread_alloc(&r, blk[i].size, blk[i].tag);
    }
    for (unsigned i = 0; i < 32; i++)
        free_block(&blk[i], "short-lived thread's second block");
    return NULL;
}

static void free_leftovers(void)
{
    pthread_mutex_lock(&leftover_lock);
    for (size_t i = 0; i < nleftovers; i++)
        free_block(&leftovers[i], "block that outlived its thread");
    nleftovers = 0;
    pthread_mutex_unlock(&leftover_lock);
}

static unsigned brief_id;

static void run_brief_threads(unsigned count, unsigned concurrent)
{
    struct brief b[8];
    for (unsigned done = 0; done < count; done += concurrent) {
        for (unsigned k = 0; k < concurrent; k++) {
            b[k].id = brief_id++;
            if (pthread_create(&b[k].th, NULL, brief_main, &b[k]) != 0)
                fail("pthread_create failed (thread %u)", b[k].id);
        }
        for (unsigned k = 0; k < concurrent; k++)
            pthread_join(b[k].th, NULL);
        if ((done / concurrent) % 16 == 15)
            free_leftovers();
    }
    free_leftovers();
}

static void phase_short_lived(void)
{
    /* warm up (thread stacks, TLS, allocator structures), then measure */
    run_brief_threads(200, 4);
    check_heap_at("after 200 short-lived threads");
    long rss1 = rss_kb();
    run_brief_threads(1200, 4);
    check_heap_at("after 1400 short-lived threads");
    long rss2 = rss_kb();
    run_brief_threads(400, 8);
    check_heap_at("after 1800 short-lived threads");
    long rss3 = rss_kb();
    note("short-lived threads: RSS %ld kB after 200, %ld kB after 1400, %ld kB after 1800", rss1,
         rss2, rss3);
    /* a thread's caches that are never given back would grow RSS by
     * hundreds of kB per thread */
    if (rss3 > rss1 + 48 * 1024)
        fail("RSS grew from %ld kB to %ld kB over 1600 short-lived threads: their memory is "
             "not reused",
             rss1, rss3);
}

static size_t live_bytes(const char **how)
{
    struct ward_stats st;
    if (ward_stats(&st)) {
        *how = "ward_get_stats().in_use";
        return st.in_use;
    }
    *how = "mallinfo2().uordblks";
    return mallinfo2().uordblks;
}

int main(int argc, char **argv)
{
    ward_loaded();
    pat_init();
    uint64_t seed = test_seed(argc, argv, 0x7437);
    const char *how;
    check_heap();
    size_t live0 = live_bytes(&how);
    double t0 = now_sec();

    phase_concurrent(2, 200000, seed);
    phase_concurrent(4, 100000, seed + 1);
    phase_concurrent(8, 50000, seed + 2);
    phase_short_lived();
    /* and all together: short-lived threads while workers churn */
    {
        struct worker w[2];
        if (pthread_barrier_init(&start_barrier, NULL, 2) != 0)
            fail("pthread_barrier_init failed");
        for (unsigned t = 0; t < 2; t++) {
            w[t] = (struct worker){ .id = 20 + t, .ops = 100000, .seed = seed * 7 + t };
            if (pthread_create(&w[t].th, NULL, worker_main, &w[t]) != 0)
                fail("pthread_create failed");
        }
        run_brief_threads(200, 2);
        for (unsigned t = 0; t < 2; t++)
            pthread_join(w[t].th, NULL);
        pthread_barrier_destroy(&start_barrier);
        struct block x;
        while (xchg_pop(&x))
            free_block(&x, "block left in the exchange");
    }

    check_heap_at("end");
    size_t live1 = live_bytes(&how);
    note("%s: %zu bytes at start, %zu at the end; %.1f s", how, live0, live1, now_sec() - t0);
    if (live1 > live0 + 4 * MiB)
        fail("%s grew from %zu to %zu bytes with every block freed: memory lost", how, live0,
             live1);
    return 0;
}
