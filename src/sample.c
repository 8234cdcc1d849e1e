/* sample.c: sampled guard pages, in the manner of GWP-ASan.
 *
 * With sample=N, about one allocation in N of up to a page (minus 16 bytes)
 * gets a page of its own in a pool where every page is flanked by
 * inaccessible guard pages:
 *
 *     [guard][data 0][guard][data 1][guard] ... [data S-1][guard]
 *
 * The block sits at the end of its page (an overflow faults on the next
 * guard page) or at the start (an underflow faults on the one before),
 * chosen at random; the rest of the page (the few bytes between the block
 * and the page's end that 16-byte alignment leaves, and before a block at
 * the end, the page's start) is filled with a pattern verified at free and
 * by ward_check_heap, so an overflow or underflow that stays on the page is
 * found too.  A
 * freed page becomes inaccessible and is reused last (the slots form a
 * FIFO), so a use after free faults.  The fault handler (fault.c) passes a
 * fault in the pool to sample_fault, which reports it like any other heap
 * error, with the stacks of the allocation and the free, recorded for every
 * sampled block.
 *
 * The fast path costs one thread-local countdown per malloc. */
#include "state.h"
#include "report.h"
#include "os.h"
#include "tier.h"
#include "thread.h"
#include "chunk.h"

#include <errno.h>

#define SFRAMES 20
#define SLACK_BYTE 0xd7 /* top bit set, like the canary */

enum { S_NEVER, S_LIVE, S_FREED };

struct sslot {
    uintptr_t ptr;
    uint32_t n;
    uint8_t state;
    uint8_t nalloc, nfree;
    int alloc_tid, free_tid;
    uintptr_t alloc_pc[SFRAMES];
    uintptr_t free_pc[SFRAMES];
};

/* The sampling pool, under one lock: a slot per data page, and the FIFO of
 * the slots not live. */
static struct {
    pthread_mutex_t lock;
    struct sslot *slots;
    uint32_t *fifo;         /* slots not live, oldest freed first */
    uint32_t head, len, cap;
} pool = {.lock = PTHREAD_MUTEX_INITIALIZER};

__thread uint32_t ward_sample_left __attribute__((tls_model("initial-exec")));
static __thread struct rng sample_rng __attribute__((tls_model("initial-exec")));

static bool rnd_seeded(void) { return sample_rng.s[0] | sample_rng.s[1]; }

/* A forked child samples afresh: its generator is reseeded at the next
 * draw (from its own thread id). */
void sample_fork_child(void) { sample_rng = (struct rng){{0, 0}}; }
static uint64_t rnd(void)
{
    if (!rnd_seeded()) {
        sample_rng.s[0] = K0->rk ^ ((uint64_t)os_tid() * 0x9e3779b97f4a7c15ull) ^ (uintptr_t)&sample_rng;
        sample_rng.s[1] = wmix(sample_rng.s[0], 0x2545f4914f6cdd1dull) | 1;
    }
    return rng_next(&sample_rng);
}

/* A sampled block's stack, its caller's frame first. */
static __attribute__((noinline)) int capture(uintptr_t *pcs, int cap) { return os_backtrace((void **)pcs, cap); }

static inline uintptr_t data_page(uint32_t i) { return G.pool_lo + (2 * (uintptr_t)i + 1) * G.page; }

void sample_init(void)
{
#ifndef WARD_TESTING /* the harness build samples on demand (ward_testing_sample_next) */
    if (!G.opt.sample)
        return;
#endif
    size_t slots = (size_t)G.opt.sample_slots;
    size_t pool_bytes = (2 * slots + 1) * G.page;
    size_t meta = (slots * (sizeof(struct sslot) + sizeof(uint32_t)) + G.page - 1) & ~(G.page - 1);
    void *p = os_reserve(pool_bytes);
    char *m = os_map(meta);
    if (!p || !m)
        ward_die("sample=%ld: cannot reserve the sampling pool", G.opt.sample);
    os_name(p, pool_bytes, "ward sampled pages");
    os_name(m, meta, "ward sampled metadata");
    G.pool_lo = (uintptr_t)p;
    G.pool_hi = G.pool_lo + pool_bytes;
    pool.slots = (struct sslot *)(void *)m;
    pool.fifo = (uint32_t *)(void *)(m + slots * sizeof(struct sslot));
    pool.cap = (uint32_t)slots;
    for (uint32_t i = 0; i < pool.cap; i++)
        pool.fifo[i] = i;
    pool.len = pool.cap;
}

/* The countdown ran out: sample this allocation or not, and start the next
 * countdown: the allocations to skip, uniform in [0, 2N-2], so one in N on
 * average.  A thread's first allocation only starts its countdown (with
 * N = 1, every allocation is sampled). */
#ifdef WARD_TESTING
static __thread bool sample_forced;
#endif

bool sample_due(void)
{
    bool first = !rnd_seeded();
    uint64_t r = rnd();
#ifdef WARD_TESTING
    if (sample_forced) {
        sample_forced = false;
        ward_sample_left = G.opt.sample ? (uint32_t)(r % (2 * (uint64_t)G.opt.sample - 1)) : UINT32_MAX;
        return true;
    }
#endif
    if (!G.opt.sample) {
        ward_sample_left = UINT32_MAX;
        return false;
    }
    ward_sample_left = (uint32_t)(r % (2 * (uint64_t)G.opt.sample - 1));
    return !first || G.opt.sample == 1;
}

static void slack_fill(uintptr_t from, uintptr_t to)
{
    memset((void *)from, SLACK_BYTE, to - from);
}

static uintptr_t slack_bad(uintptr_t from, uintptr_t to)
{
    for (uintptr_t q = from; q < to; q++)
        if (*(const unsigned char *)q != SLACK_BYTE)
            return q;
    return 0;
}

/* the block's slack: from the start of its page to the block, and from its
 * end to the end of the page */
static inline uintptr_t slack_start(const struct sslot *s) { return s->ptr & ~(G.page - 1); }
static inline uintptr_t slack_end(const struct sslot *s) { return slack_start(s) + G.page; }

void *sample_alloc(size_t n)
{
    if (n > G.page - 16)
        return NULL;
    pthread_mutex_lock(&pool.lock);
    if (!pool.len) {
        pthread_mutex_unlock(&pool.lock);
        return NULL;
    }
    uint32_t i = pool.fifo[pool.head];
    uintptr_t page = data_page(i);
    if (!os_commit((void *)page, G.page)) {
        pthread_mutex_unlock(&pool.lock);
        return NULL;
    }
    pool.head = (pool.head + 1) % pool.cap;
    pool.len--;
    struct sslot *s = &pool.slots[i];
    size_t r16 = (n + 15) & ~(size_t)15;
    bool right = (rnd() & 1) && r16 > 0;
    s->ptr = right ? page + G.page - r16 : page;
    s->n = (uint32_t)n;
    s->state = S_LIVE;
    s->alloc_tid = os_tid();
    s->free_tid = 0;
    s->nfree = 0;
    int k = capture(s->alloc_pc, SFRAMES);
    s->nalloc = (uint8_t)(k > 0 ? k : 0);
    /* fresh pages are zero: calloc needs nothing more */
    slack_fill(slack_start(s), s->ptr);
    slack_fill(s->ptr + n, slack_end(s));
    pthread_mutex_unlock(&pool.lock);
    return (void *)s->ptr;
}

/* The slot of a pool pointer that must be a live block's start; reports
 * otherwise (lock held). */
static struct sslot *verify_live(uintptr_t p, enum ward_call op)
{
    uintptr_t pi = (p - G.pool_lo) / G.page;
    if (!(pi & 1))
        ward_fatal(invalid_class(op), op, (void *)p, TIER_SAMPLED, 0, "pointer into a guard page of the sampling pool");
    struct sslot *s = &pool.slots[pi / 2];
    if (s->ptr != p || s->state == S_NEVER)
        ward_fatal(invalid_class(op), op, (void *)p, TIER_SAMPLED, s->state ? s->n : 0,
                   s->state ? "not the start of the sampled block on this page" : "no block was ever allocated here");
    if (s->state == S_FREED)
        ward_fatal(freed_class(op), op, (void *)p, TIER_SAMPLED, s->n, "the sampled block is already free");
    return s;
}

static void check_slack(struct sslot *s, enum ward_call op)
{
    uintptr_t bad = slack_bad(s->ptr + s->n, slack_end(s));
    if (bad)
        ward_fatal(BUG_HEAP_BUFFER_OVERFLOW, op, (void *)s->ptr, TIER_SAMPLED, s->n,
                   "the %zu bytes after the %u requested were written (at +%zu)", (size_t)(slack_end(s) - s->ptr - s->n),
                   s->n, (size_t)(bad - s->ptr));
    bad = slack_bad(slack_start(s), s->ptr);
    if (bad)
        ward_fatal(BUG_HEAP_BUFFER_OVERFLOW, op, (void *)s->ptr, TIER_SAMPLED, s->n,
                   "the %zu bytes before the block were written (at -%zu)", (size_t)(s->ptr - slack_start(s)),
                   (size_t)(s->ptr - bad));
}

size_t sample_live(uintptr_t p, enum ward_call op)
{
    lock_for_checks(&pool.lock);
    struct sslot *s = verify_live(p, op);
    checks_passed();
    size_t n = s->n;
    pthread_mutex_unlock(&pool.lock);
    return n;
}

void sample_free(uintptr_t p, enum ward_call op)
{
    lock_for_checks(&pool.lock);
    struct sslot *s = verify_live(p, op);
    check_slack(s, op);
    checks_passed();
    os_decommit((void *)(p & ~(G.page - 1)), G.page); /* faults from now on */
    s->state = S_FREED;
    s->free_tid = os_tid();
    int k = capture(s->free_pc, SFRAMES);
    s->nfree = (uint8_t)(k > 0 ? k : 0);
    pool.fifo[(pool.head + pool.len) % pool.cap] = (uint32_t)(s - pool.slots);
    pool.len++;
    pthread_mutex_unlock(&pool.lock);
}

static void sample_check(void)
{
    if (!pool.slots)
        return;
    lock_for_checks(&pool.lock);
    for (uint32_t i = 0; i < pool.cap; i++)
        if (pool.slots[i].state == S_LIVE)
            check_slack(&pool.slots[i], CALL_CHECK_HEAP);
    checks_passed();
    pthread_mutex_unlock(&pool.lock);
}

/* From the report path (a double free of a sampled block, ...): its stacks.
 * Lock-free reads: the process is ending. */
int sample_stacks(uintptr_t p, struct ward_named_stack *out)
{
    if (!in_pool(p) || !pool.slots)
        return 0;
    const struct sslot *s = &pool.slots[(p - G.pool_lo) / G.page / 2];
    if (s->ptr != p)
        return 0;
    out[0] = (struct ward_named_stack){"chunk allocated at", {s->alloc_pc, s->nalloc, s->alloc_tid}, false, true};
    if (s->state != S_FREED)
        return 1;
    out[1] = (struct ward_named_stack){"chunk freed at", {s->free_pc, s->nfree, s->free_tid}, false, true};
    return 2;
}

static void sample_lock_all(void) { pthread_mutex_lock(&pool.lock); }
static void sample_unlock_all(void) { pthread_mutex_unlock(&pool.lock); }
static void sample_reinit_locks(void) { pthread_mutex_init(&pool.lock, NULL); }

/* A fault in the sampling pool (fault.c): a freed block's page, or a guard
 * page next to a block.  Reports it, or returns when it is not a block's. */
void sample_fault(uintptr_t a, bool write, uintptr_t pc)
{
    const char *access = write ? "write" : "read";
    uintptr_t pi = (a - G.pool_lo) / G.page;
    const struct sslot *s;
    enum ward_bug bug;
    char detail[160];
    if (pi & 1) {
        s = &pool.slots[pi / 2];
        if (s->state != S_FREED)
            return;
        bug = write ? BUG_WRITE_AFTER_FREE : BUG_USE_AFTER_FREE;
        ward_snprintf(detail, sizeof detail, "%s at %p, %ld bytes from the start of a freed %u-byte block", access,
                      (void *)a, (long)(a - s->ptr), s->n);
    } else {
        /* a guard page: the block on the page before it (overflow) or after
         * it (underflow), whichever the address is nearer */
        uintptr_t off = (a - G.pool_lo) % G.page;
        bool before = (off < G.page / 2 && pi > 0) || pi / 2 >= pool.cap;
        s = &pool.slots[before ? pi / 2 - 1 : pi / 2];
        if (s->state == S_NEVER)
            return;
        bug = BUG_HEAP_BUFFER_OVERFLOW;
        if (a >= s->ptr + s->n)
            ward_snprintf(detail, sizeof detail, "%s at %p, %lu bytes past the end of a %s%u-byte block", access,
                          (void *)a, (unsigned long)(a - s->ptr - s->n), s->state == S_FREED ? "freed " : "", s->n);
        else
            ward_snprintf(detail, sizeof detail, "%s at %p, %lu bytes before the start of a %s%u-byte block", access,
                          (void *)a, (unsigned long)(s->ptr - a), s->state == S_FREED ? "freed " : "", s->n);
    }
    uintptr_t pcs[64];
    struct ward_fault_stacks st = {
        .access = fault_access_stack(pcs, 64, pc),
        .alloc = {s->alloc_pc, s->nalloc, s->alloc_tid},
        .free = {s->state == S_FREED ? s->free_pc : NULL, s->nfree, s->free_tid},
    };
    ward_fatal_fault(bug, (void *)s->ptr, TIER_SAMPLED, s->n, &st, "%s (sampled)", detail);
}

/* Live sampled blocks (ward_live_chunks, ward_get_stats). */
static void sample_count_live(size_t *count, size_t *bytes)
{
    if (!pool.slots)
        return;
    pthread_mutex_lock(&pool.lock);
    for (uint32_t i = 0; i < pool.cap; i++)
        if (pool.slots[i].state == S_LIVE) {
            (*count)++;
            *bytes += pool.slots[i].n;
        }
    pthread_mutex_unlock(&pool.lock);
}

/* leaks=1: the live slots */
static void sample_for_each_live(void (*fn)(void *, uintptr_t, size_t, int), void *ctx)
{
    for (uint32_t i = 0; pool.slots && i < pool.cap; i++)
        if (pool.slots[i].state == S_LIVE)
            fn(ctx, pool.slots[i].ptr, pool.slots[i].n, TIER_SAMPLED);
}

int sample_alloc_stack(uintptr_t p, const uintptr_t **pcs)
{
    for (uint32_t i = 0; pool.slots && i < pool.cap; i++)
        if (pool.slots[i].state == S_LIVE && pool.slots[i].ptr == p) {
            *pcs = pool.slots[i].alloc_pc;
            return pool.slots[i].nalloc;
        }
    return 0;
}

#ifdef WARD_TESTING
#include "testing.h"
#include "../include/ward_testing.h"

__attribute__((visibility("default"))) int ward_testing_sample_next(void)
{
    ward_ensure_init();
    if (!pool.slots)
        return -1;
    sample_forced = true;
    ward_sample_left = 0;
    return 0;
}

/* The harness build's reset: every sampled page inaccessible and never
 * used, the slots back in order, the calling thread's generator seeded. */
static void sample_testing_reset(void)
{
    pthread_mutex_init(&pool.lock, NULL);
    sample_rng = (struct rng){{0x2545f4914f6cdd1dull, 0x9e3779b97f4a7c15ull}};
    sample_forced = false;
    ward_sample_left = 0; /* the next allocation starts the countdown */
    if (!pool.slots)
        return;
    for (uint32_t i = 0; i < pool.cap; i++) {
        if (pool.slots[i].state == S_LIVE)
            os_decommit((void *)data_page(i), G.page);
        pool.slots[i].state = S_NEVER;
        pool.slots[i].ptr = 0;
        pool.fifo[i] = i;
    }
    pool.head = 0;
    pool.len = pool.cap;
}
#endif

/* Sampled blocks count a page each (their slack is theirs). */
static void sample_stats(struct ward_stats *s)
{
    size_t n = 0, bytes = 0;
    sample_count_live(&n, &bytes);
    s->sampled += n;
    s->in_use += n * G.page;
    s->mapped += n * G.page;
}

const struct tier_ops sample_tier = {
    .check = sample_check,
    .stats = sample_stats,
    .count_live = sample_count_live,
    .for_each_live = sample_for_each_live,
    .trim = NULL, /* a freed sampled page is given back at once */
    .lock_all = sample_lock_all,
    .unlock_all = sample_unlock_all,
    .reinit_locks = sample_reinit_locks,
    TIER_TESTING_RESET(sample_testing_reset)
};
