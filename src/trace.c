/* trace.c: with trace=1, where each chunk was allocated and first freed, so
 * a report can name both.  Stacks (os_backtrace, which never calls malloc) are
 * kept once each in a depot of their own mappings, found by hash; a side
 * table outside the heap holds each small/medium chunk's two stack ids,
 * indexed by the chunk's 16-byte granule.  Off by default: it costs a stack
 * walk per malloc and free. */
#include "state.h"
#include "report.h"
#include "os.h"
#include "chunk.h"
#include "trace.h"
#include "tier.h"

#include <dlfcn.h>
#include <unistd.h>

#define TRACE_FRAMES 24
#define DEPOT_BYTES (256ull << 20)
#define DEPOT_HASH (1u << 20)

struct depot_rec {
    uint32_t next;     /* id of the next record in the hash chain */
    uint32_t hash;
    uint32_t n;
    uint32_t pad;
    uintptr_t pc[];
};

/* The stack depot, under one lock: stacks kept once each, and a side table
 * giving each heap granule its allocation and free stacks. */
static struct {
    pthread_mutex_t lock;
    char *mem;          /* records; id = offset / 8, 0 is none */
    size_t used, committed;
    uint32_t *heads;
    uint32_t (*side)[2]; /* per 16-byte granule of the heap: alloc id, free id */
} depot = {.lock = PTHREAD_MUTEX_INITIALIZER};

static __thread int in_trace __attribute__((tls_model("initial-exec")));

void trace_init(void)
{
    if (!G.opt.stacks)
        return;
    size_t side = (G.heap_hi - G.heap_lo) / 16 * sizeof depot.side[0];
    depot.mem = os_reserve(DEPOT_BYTES);
    depot.heads = os_reserve(DEPOT_HASH * sizeof(uint32_t));
    depot.side = os_reserve(side);
    if (!depot.mem || !depot.heads || !depot.side || !os_commit(depot.heads, DEPOT_HASH * sizeof(uint32_t)) ||
        !os_commit(depot.side, side))
        ward_die("trace=1: cannot reserve the stack depot");
    os_name(depot.mem, DEPOT_BYTES, "ward trace depot");
    os_name(depot.side, side, "ward trace table");
    depot.used = 8;
}

static uint32_t depot_put(uintptr_t *pc, uint32_t n)
{
    uint64_t h = 0x9e3779b97f4a7c15ull;
    for (uint32_t i = 0; i < n; i++)
        h = wmix(h ^ pc[i], 0xff51afd7ed558ccdull);
    uint32_t hash = (uint32_t)h, slot = hash & (DEPOT_HASH - 1), id;
    size_t rec = sizeof(struct depot_rec) + n * sizeof(uintptr_t);
    pthread_mutex_lock(&depot.lock);
    for (id = depot.heads[slot]; id; id = ((struct depot_rec *)(depot.mem + (size_t)id * 8))->next) {
        struct depot_rec *r = (struct depot_rec *)(depot.mem + (size_t)id * 8);
        if (r->hash == hash && r->n == n && !memcmp(r->pc, pc, n * sizeof(uintptr_t)))
            goto out;
    }
    id = 0;
    if (depot.used + rec > DEPOT_BYTES)
        goto out; /* full: new stacks are not kept */
    if (depot.used + rec > depot.committed) {
        size_t want = (depot.used + rec + COMMIT_STEP - 1) & ~(size_t)(COMMIT_STEP - 1);
        if (!os_commit(depot.mem + depot.committed, want - depot.committed))
            goto out;
        depot.committed = want;
    }
    struct depot_rec *r = (struct depot_rec *)(depot.mem + depot.used);
    r->hash = hash;
    r->n = n;
    memcpy(r->pc, pc, n * sizeof(uintptr_t));
    r->next = depot.heads[slot];
    id = (uint32_t)(depot.used / 8);
    depot.heads[slot] = id;
    depot.used += (rec + 7) & ~(size_t)7;
out:
    pthread_mutex_unlock(&depot.lock);
    return id;
}

uint32_t trace_capture(void)
{
    if (in_trace)
        return 0;
    in_trace = 1;
    void *pcs[TRACE_FRAMES];
    int n = os_backtrace(pcs, TRACE_FRAMES);
    uint32_t id = n > 0 ? depot_put((uintptr_t *)pcs, (uint32_t)n) : 0;
    in_trace = 0;
    return id;
}

static inline uint32_t *side_of(uintptr_t chunk)
{
    return depot.side[(chunk - G.heap_lo) / 16];
}

/* fork: the depot lock is taken with the others (thread.c) */
void trace_lock(void) { pthread_mutex_lock(&depot.lock); }
void trace_unlock(void) { pthread_mutex_unlock(&depot.lock); }
void trace_reinit_lock(void) { pthread_mutex_init(&depot.lock, NULL); }

void trace_alloc(uintptr_t chunk)
{
    uint32_t *s = side_of(chunk);
    s[0] = trace_capture();
    s[1] = 0;
}

void trace_free(uintptr_t chunk)
{
    uint32_t *s = side_of(chunk);
    if (!s[1])
        s[1] = trace_capture();
}

static int get_stack(const char *title, uint32_t id, struct ward_named_stack *out)
{
    if (!id || (size_t)id * 8 >= depot.used)
        return 0;
    const struct depot_rec *r = (const struct depot_rec *)(depot.mem + (size_t)id * 8);
    *out = (struct ward_named_stack){title, {r->pc, (int)r->n, 0}, false, true};
    return 1;
}

static int get_ids(uint32_t alloc_id, uint32_t free_id, struct ward_named_stack *out)
{
    int n = get_stack("chunk allocated at", alloc_id, out);
    return n + get_stack("chunk first freed at", free_id, out + n);
}

/* leaks=1: a live chunk's allocation stack as recorded (0 frames: none);
 * lock-free reads, with the other threads stopped */
int trace_alloc_stack(uintptr_t ptr, int tier, const uintptr_t **pcs)
{
    uint32_t id = 0, f;
    if (!G.opt.stacks || !depot.side)
        return 0;
    if (tier == TIER_LARGE) {
        if (!large_trace_ids(ptr, &id, &f))
            return 0;
    } else if (tier == TIER_SMALL || tier == TIER_MEDIUM) {
        id = side_of(ptr - HDR)[0];
    }
    if (!id || (size_t)id * 8 >= depot.used)
        return 0;
    const struct depot_rec *r = (const struct depot_rec *)(depot.mem + (size_t)id * 8);
    *pcs = r->pc;
    return (int)r->n;
}

/* From the report path: the chunk's stacks, when ptr is a chunk's user
 * pointer (lock-free reads: the process is ending). */
int trace_stacks(uintptr_t ptr, int tier, struct ward_named_stack *out)
{
    if (!G.opt.stacks || !depot.side)
        return 0;
    if (tier == TIER_LARGE) {
        uint32_t a, f;
        if (large_trace_ids(ptr, &a, &f))
            return get_ids(a, f, out);
        return 0;
    }
    if ((ptr & 15) || ptr - HDR < G.heap_lo || ptr >= G.heap_hi)
        return 0;
    uint32_t *s = side_of(ptr - HDR);
    return get_ids(s[0], s[1], out);
}
