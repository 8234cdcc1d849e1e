/* large.c: requests above MEDIUM_MAX (and big aligned ones), one mapping
 * each: [guard page][data pages][guard page], the block placed at the end of
 * its data pages so an overflow past the canary faults at once.  Records
 * live in a hash table outside the heap; a freed mapping is made
 * inaccessible and kept for a while, so a use after free faults and a
 * double free is named as one. */
#include "state.h"
#include "report.h"
#include "os.h"
#include "chunk.h"
#include "quarantine.h"
#include "thread.h"
#include "trace.h"
#include "tier.h"

#include <errno.h>

struct lrec {
    uintptr_t p;        /* user pointer; 0: empty slot */
    uintptr_t map;      /* whole mapping, guards included */
    size_t map_size;
    size_t n;           /* requested bytes */
    uint32_t alloc_id;  /* trace=1: where it was allocated */
    uint8_t epoch;      /* the key ring entry its canaries are keyed with (chunk.h) */
};

struct fring {
    uintptr_t p, map;
    size_t map_size;
    bool mapped;        /* still reserved PROT_NONE */
    uint32_t alloc_id, free_id;
};

struct lcache {
    uintptr_t map;
    size_t map_size;
    uint64_t put_ms;    /* when it was cached (os_coarse_ms) */
};

/* The large tier, under one lock: the records of live blocks (a hash table
 * outside the heap), the ring of recent frees and the cache of freed
 * mappings. */
static struct {
    pthread_mutex_t lock;
    struct lcache cache[LCACHE_SLOTS];
    size_t ncache, cache_bytes;
    struct lrec *tab;
    size_t cap, count, bytes, tab_bytes;
    struct fring ring[LARGE_RING];
    size_t ring_head, ring_len, ring_mapped;
    uint64_t ring_pushed;  /* entries ever pushed: the newest is number ring_pushed - 1 */
    uint64_t ring_scan;    /* entries numbered below this are no longer mapped */
} large = {.lock = PTHREAD_MUTEX_INITIALIZER};

static inline size_t slot_of(uintptr_t p, size_t cap)
{
    return (size_t)(((p >> 4) * 0x9e3779b97f4a7c15ull) >> 7) & (cap - 1);
}

static bool table_grow(void)
{
    size_t ncap = large.cap ? large.cap * 2 : 1024;
    size_t bytes = (ncap * sizeof(struct lrec) + G.page - 1) & ~(G.page - 1);
    struct lrec *t = os_map(bytes);
    if (!t)
        return false;
    os_name(t, bytes, "ward large records");
    for (size_t i = 0; i < large.cap; i++)
        if (large.tab[i].p) {
            size_t j = slot_of(large.tab[i].p, ncap);
            while (t[j].p)
                j = (j + 1) & (ncap - 1);
            t[j] = large.tab[i];
        }
    if (large.tab)
        os_unmap(large.tab, large.tab_bytes);
    large.tab = t;
    large.cap = ncap;
    large.tab_bytes = bytes;
    return true;
}

static struct lrec *lookup(uintptr_t p)
{
    if (!large.cap)
        return NULL;
    for (size_t j = slot_of(p, large.cap);; j = (j + 1) & (large.cap - 1)) {
        if (large.tab[j].p == p)
            return &large.tab[j];
        if (!large.tab[j].p)
            return NULL;
    }
}

static void remove_rec(struct lrec *r)
{
    size_t i = (size_t)(r - large.tab), mask = large.cap - 1;
    /* backward-shift deletion keeps every probe chain unbroken */
    for (size_t j = (i + 1) & mask; large.tab[j].p; j = (j + 1) & mask) {
        size_t home = slot_of(large.tab[j].p, large.cap);
        if (((j - home) & mask) >= ((j - i) & mask)) {
            large.tab[i] = large.tab[j];
            i = j;
        }
    }
    large.tab[i].p = 0;
    large.count--;
}

void large_init(void) {}

/* ---- the cache ----------------------------------------------------------
 * A freed mapping that fits the budget keeps its pages but becomes
 * inaccessible (a use after free still faults); a later request of at most
 * its size takes it back without a system call to map and a page fault per
 * page.  It holds its last owner's bytes until then: large_alloc clears
 * the block it hands out. */

static uintptr_t cache_take(size_t total, size_t *got)
{
    if (!G.opt.large_cache_bytes)
        return 0;
    pthread_mutex_lock(&large.lock);
    size_t best = SIZE_MAX;
    for (size_t i = 0; i < large.ncache; i++) {
        size_t s = large.cache[i].map_size;
        if (s >= total && s - total <= total && (best == SIZE_MAX || s < large.cache[best].map_size))
            best = i;
    }
    if (best == SIZE_MAX) {
        pthread_mutex_unlock(&large.lock);
        return 0;
    }
    struct lcache e = large.cache[best];
    memmove(&large.cache[best], &large.cache[best + 1], (large.ncache - best - 1) * sizeof e);
    large.ncache--;
    large.cache_bytes -= e.map_size;
    pthread_mutex_unlock(&large.lock);
    size_t data = e.map_size - 2 * G.page;
    if (!os_commit((void *)(e.map + G.page), data)) {
        os_unmap((void *)e.map, e.map_size);
        return 0;
    }
    os_name((void *)(e.map + G.page), data, "ward large");
    /* the block sits at the end: give back the pages in front it will not use */
    if (e.map_size - total >= total / 4)
        os_release((void *)(e.map + G.page), e.map_size - total);
    *got = e.map_size;
    return e.map;
}

/* The cache holds at most large_cache_bytes, and no more than the live
 * large blocks (at least LCACHE_FLOOR): a program that keeps few large
 * blocks does not keep many more freed ones resident.  Lock held. */
static size_t cache_limit(void)
{
    size_t budget = (size_t)G.opt.large_cache_bytes, live = large.bytes;
    if (live < LCACHE_FLOOR)
        live = LCACHE_FLOOR;
    return live < budget ? live : budget;
}

/* Puts a freed mapping in the cache; false when it does not fit. */
static bool cache_put(uintptr_t map, size_t map_size)
{
    size_t budget = (size_t)G.opt.large_cache_bytes;
    if (map_size > budget / 4)
        return false;
    pthread_mutex_lock(&large.lock);
    size_t limit = cache_limit();
    pthread_mutex_unlock(&large.lock);
    if (map_size > limit / 2)
        return false;
    os_protect_none((void *)(map + G.page), map_size - 2 * G.page);
    os_name((void *)(map + G.page), map_size - 2 * G.page, "ward large freed");
    struct lcache evicted[LCACHE_SLOTS];
    size_t ne = 0;
    pthread_mutex_lock(&large.lock);
    limit = cache_limit();
    /* the oldest go: past the limits, and those cached purge_after ago or
     * more (their pages are memory the program freed: it goes back to the
     * OS when no request has taken it by then) */
    uint64_t now = G.opt.purge_after ? os_coarse_ms() : 0;
    while (large.ncache && (large.ncache == LCACHE_SLOTS || large.cache_bytes + map_size > limit ||
                            (now && now - large.cache[0].put_ms >= (uint64_t)G.opt.purge_after))) {
        evicted[ne++] = large.cache[0];
        large.cache_bytes -= large.cache[0].map_size;
        memmove(&large.cache[0], &large.cache[1], (large.ncache - 1) * sizeof large.cache[0]);
        large.ncache--;
    }
    large.cache[large.ncache++] = (struct lcache){map, map_size, now};
    large.cache_bytes += map_size;
    pthread_mutex_unlock(&large.lock);
    for (size_t i = 0; i < ne; i++)
        os_unmap((void *)evicted[i].map, evicted[i].map_size);
    return true;
}

/* The bytes just before a large block (when it does not start on its page,
 * right after the guard) hold a canary too: an underflow changes them. */
static inline size_t front_len(uintptr_t map, uintptr_t p)
{
    size_t room = p - (map + G.page);
    return room < HDR ? room : HDR;
}

static void front_write(const struct ward_keys *K, uintptr_t map, uintptr_t p)
{
    size_t k = front_len(map, p);
    if (k)
        canary_write(K, p - k, 0, k);
}

/* A page-aligned address between 1 TiB and 64 TiB (x86-64 and arm64 user
 * address spaces reach 128 TiB and more; the kernel picks another place
 * when the range is taken). */
static uintptr_t random_hint(size_t total)
{
    uintptr_t lo = (uintptr_t)1 << 40, span = ((uintptr_t)63 << 40) - total;
    return (lo + ward_rand_global() % span) & ~(uintptr_t)(G.page - 1);
}

static bool front_ok(const struct ward_keys *K, uintptr_t map, uintptr_t p)
{
    size_t k = front_len(map, p);
    return !k || canary_ok(K, p - k, 0, k);
}

void *large_alloc(size_t n, size_t align, bool zero)
{
    (void)zero; /* every block is zero: fresh pages, or a cached mapping cleared */
    size_t page = G.page;
    if (align < ALIGN)
        align = ALIGN;
    if (n > PTRDIFF_MAX - 4 * page - align)
        return NULL;
    size_t data = (n + page - 1) & ~(page - 1);
    if (data == 0)
        data = page;
    if (align > page)
        data += align;
    size_t total = data + 2 * page;
    uintptr_t map = align <= page ? cache_take(total, &total) : 0;
    bool reused = map != 0;
    if (map) {
        data = total - 2 * page;
    } else {
        /* in a forked child, at a random address: every child of one
         * parent would otherwise get the same mappings, in the same order
         * (the kernel's placement is deterministic), and a crash oracle
         * across children could probe one block's canary again and again */
        map = (uintptr_t)(ward_forked ? os_reserve_block_at(total, random_hint(total)) : os_reserve_block(total));
        if (!map)
            return NULL;
        if (!os_commit((void *)(map + page), data)) {
            os_unmap((void *)map, total);
            return NULL;
        }
        os_name((void *)map, total, "ward large");
        os_name((void *)map, page, "ward large guard");
        os_name((void *)(map + total - page), page, "ward large guard");
    }
    uintptr_t end = map + page + data;
    uintptr_t p = (end - n) & ~(uintptr_t)(align - 1);
    /* a cached mapping holds its last owner's bytes: none is handed out
     * again (fresh pages are zero; a page the owner never touched is still
     * zero, and stays untouched: no fault, no memory) */
    if (reused)
        zero_resident(p, n);
    canary_write(keys_now(), p, n, end - p - n);
    front_write(keys_now(), map, p);
    pthread_mutex_lock(&large.lock);
    if ((large.count + 1) * 2 > large.cap && !table_grow()) {
        pthread_mutex_unlock(&large.lock);
        os_unmap((void *)map, total);
        return NULL;
    }
    size_t j = slot_of(p, large.cap);
    while (large.tab[j].p)
        j = (j + 1) & (large.cap - 1);
    large.tab[j] = (struct lrec){p, map, total, n, G.opt.stacks ? trace_capture() : 0, G.epoch};
    large.count++;
    large.bytes += total;
    pthread_mutex_unlock(&large.lock);
    return (void *)p;
}

/* Not a live large chunk: say what it is; lock held, never returns. */
static COLD _Noreturn void not_live(uintptr_t p, enum ward_call op)
{
    for (size_t i = 0; i < large.ring_len; i++) {
        struct fring *f = &large.ring[(large.ring_head + LARGE_RING - 1 - i) % LARGE_RING];
        if (f->p == p)
            ward_fatal(freed_class(op), op, (void *)p, TIER_LARGE, f->map_size,
                       "chunk is already free%s", f->mapped ? " (its pages are kept inaccessible)" : "");
    }
    for (size_t i = 0; i < large.cap; i++) {
        struct lrec *r = &large.tab[i];
        if (r->p && p >= r->map && p < r->map + r->map_size)
            ward_fatal(invalid_class(op), op, (void *)p, TIER_LARGE, r->map_size,
                       "interior pointer, %ld bytes from the start of a chunk", (long)(p - r->p));
    }
    ward_fatal(invalid_class(op), op, (void *)p, TIER_NONE, 0,
               "pointer was not allocated by ward (stack, global, foreign mapping or another allocator; "
               "WARD_OPTIONS=foreign=warn ignores such pointers)");
}

static struct lrec *verify_live(uintptr_t p, enum ward_call op, bool full)
{
    struct lrec *r = lookup(p);
    if (unlikely(!r))
        not_live(p, op);
    uintptr_t end = r->map + r->map_size - G.page;
    const struct ward_keys *K = keys_of(r->epoch);
    if (full && unlikely(!front_ok(K, r->map, p)))
        ward_fatal(BUG_CORRUPTED_HEADER, op, (void *)p, TIER_LARGE, r->map_size,
                   "the bytes before the chunk were overwritten (underflow)");
    if (full && unlikely(!canary_ok(K, p, r->n, end - p - r->n)))
        ward_fatal(BUG_HEAP_BUFFER_OVERFLOW, op, (void *)p, TIER_LARGE, r->map_size,
                   "canary after the %zu requested bytes was overwritten", r->n);
    return r;
}

size_t large_live(uintptr_t p, enum ward_call op)
{
    lock_for_checks(&large.lock);
    size_t n = verify_live(p, op, false)->n;
    checks_passed();
    pthread_mutex_unlock(&large.lock);
    return n;
}

void large_free(uintptr_t p, enum ward_call op)
{
    lock_for_checks(&large.lock);
    struct lrec *r = verify_live(p, op, true);
    checks_passed();
    struct lrec rec = *r;
    remove_rec(r);
    large.bytes -= rec.map_size;
    pthread_mutex_unlock(&large.lock);

    uint32_t free_id = G.opt.stacks ? trace_capture() : 0;
    bool cached = cache_put(rec.map, rec.map_size);
    bool keep = !cached && G.opt.quarantine_large > 0;
    if (keep) {
        os_decommit((void *)rec.map, rec.map_size); /* faults from now on; memory freed */
        os_name((void *)rec.map, rec.map_size, "ward large freed"); /* a new mapping: name it */
    }
    else if (!cached)
        os_unmap((void *)rec.map, rec.map_size);

    struct fring victims[2];
    int nv = 0;
    pthread_mutex_lock(&large.lock);
    struct fring *f = &large.ring[large.ring_head];
    if (large.ring_len == LARGE_RING && f->mapped) {
        victims[nv++] = *f;
        large.ring_mapped--;
    }
    *f = (struct fring){rec.p, rec.map, rec.map_size, keep, rec.alloc_id, free_id};
    large.ring_head = (large.ring_head + 1) % LARGE_RING;
    if (large.ring_len < LARGE_RING)
        large.ring_len++;
    large.ring_pushed++;
    large.ring_mapped += keep;
    /* unmap the oldest mappings still held inaccessible past the limit; the
     * scan resumes where the last one stopped (entries are numbered in push
     * order, entry s at index s % LARGE_RING), so each is looked at once */
    if (large.ring_scan < large.ring_pushed - large.ring_len)
        large.ring_scan = large.ring_pushed - large.ring_len;
    while (large.ring_mapped > (size_t)G.opt.quarantine_large && large.ring_scan < large.ring_pushed) {
        struct fring *o = &large.ring[large.ring_scan++ % LARGE_RING];
        if (o->mapped) {
            o->mapped = false;
            large.ring_mapped--;
            victims[nv++] = *o;
        }
    }
    pthread_mutex_unlock(&large.lock);
    for (int i = 0; i < nv; i++)
        os_unmap((void *)victims[i].map, victims[i].map_size);
}

/* realloc's first step: verifies the chunk, sets *old, and resizes it in
 * place when the new size fits its mapping without wasting half of it. */
bool large_realloc(uintptr_t p, size_t n, size_t *old)
{
    lock_for_checks(&large.lock);
    struct lrec *r = verify_live(p, CALL_REALLOC, true);
    checks_passed();
    *old = r->n;
    uintptr_t end = r->map + r->map_size - G.page;
    bool ok = n <= end - p && n >= (end - p) / 2;
    if (ok) {
        r->n = n;
        if (r->epoch != G.epoch) { /* keyed anew, front too, with this process's entry */
            r->epoch = G.epoch;
            front_write(keys_now(), r->map, p);
        }
        canary_write(keys_now(), p, n, end - p - n);
    }
    pthread_mutex_unlock(&large.lock);
    return ok;
}

static size_t large_trim(void)
{
    size_t n = 0;
    pthread_mutex_lock(&large.lock);
    /* nothing held: no walk (a failing allocation asks every time) */
    for (size_t i = 0; large.ring_mapped && i < large.ring_len; i++) {
        struct fring *f = &large.ring[i];
        if (f->mapped) {
            os_unmap((void *)f->map, f->map_size);
            f->mapped = false;
            n += f->map_size;
        }
    }
    large.ring_mapped = 0;
    for (size_t i = 0; i < large.ncache; i++) {
        os_unmap((void *)large.cache[i].map, large.cache[i].map_size);
        n += large.cache[i].map_size;
    }
    large.ncache = 0;
    large.cache_bytes = 0;
    pthread_mutex_unlock(&large.lock);
    return n;
}

static void large_check(void)
{
    pthread_mutex_lock(&large.lock);
    size_t count = 0, bytes = 0;
    for (size_t i = 0; i < large.cap; i++) {
        struct lrec *r = &large.tab[i];
        if (!r->p)
            continue;
        count++;
        bytes += r->map_size;
        if (r->map < G.heap_hi && r->map + r->map_size > G.heap_lo)
            ward_fatal(BUG_STATE_CORRUPTED, CALL_CHECK_HEAP, (void *)r->p, TIER_LARGE, r->map_size,
                       "large mapping overlaps the heap");
        if (lookup(r->p) != r)
            ward_fatal(BUG_STATE_CORRUPTED, CALL_CHECK_HEAP, (void *)r->p, TIER_LARGE, r->map_size,
                       "large record unreachable");
        (void)verify_live(r->p, CALL_CHECK_HEAP, true);
    }
    if (count != large.count || bytes != large.bytes)
        ward_fatal(BUG_STATE_CORRUPTED, CALL_CHECK_HEAP, NULL, TIER_LARGE, 0,
                   "large records disagree with their counts");
    pthread_mutex_unlock(&large.lock);
}

static void large_stats(struct ward_stats *st)
{
    pthread_mutex_lock(&large.lock);
    st->large_count += large.count;
    st->large_bytes += large.bytes;
    st->mapped += large.bytes + large.cache_bytes;
    st->free_bytes += large.cache_bytes;
    st->releasable += large.cache_bytes;
    pthread_mutex_unlock(&large.lock);
}

/* For the report path, without the lock (it may be held: the process is
 * ending). */
bool large_trace_ids(uintptr_t p, uint32_t *alloc_id, uint32_t *free_id)
{
    struct lrec *r = lookup(p);
    if (r) {
        *alloc_id = r->alloc_id;
        *free_id = 0;
        return true;
    }
    for (size_t i = 0; i < large.ring_len; i++) {
        struct fring *f = &large.ring[(large.ring_head + LARGE_RING - 1 - i) % LARGE_RING];
        if (f->p == p) {
            *alloc_id = f->alloc_id;
            *free_id = f->free_id;
            return true;
        }
    }
    return false;
}

static void large_lock_all(void) { pthread_mutex_lock(&large.lock); }
static void large_unlock_all(void) { pthread_mutex_unlock(&large.lock); }
static void large_reinit_locks(void) { pthread_mutex_init(&large.lock, NULL); }

/* The parent's cached mappings are at the same addresses in every child:
 * a child places its blocks afresh, and gives them back. */
void large_fork_child(void)
{
    for (size_t i = 0; i < large.ncache; i++)
        os_unmap((void *)large.cache[i].map, large.cache[i].map_size);
    large.ncache = 0;
    large.cache_bytes = 0;
}

/* Live chunks and their requested bytes (ward_live_chunks). */
static void large_count_live(size_t *count, size_t *bytes)
{
    pthread_mutex_lock(&large.lock);
    for (size_t i = 0; i < large.cap; i++)
        if (large.tab[i].p) {
            (*count)++;
            *bytes += large.tab[i].n;
        }
    pthread_mutex_unlock(&large.lock);
}

/* leaks=1: the table's live records */
static void large_for_each_live(void (*fn)(void *, uintptr_t, size_t, int), void *ctx)
{
    for (size_t i = 0; i < large.cap; i++)
        if (large.tab[i].p)
            fn(ctx, large.tab[i].p, large.tab[i].n, TIER_LARGE);
}

/* From the fault handler: the large block a faulting address belongs to, a
 * live block's guard page or a freed block's inaccessible pages.  Lock-free
 * reads (the process is about to end); returns the block's user pointer, or
 * 0 when the address is not the large tier's. */
static uintptr_t fault_lookup(uintptr_t a, bool *freed, size_t *n)
{
    for (size_t i = 0; i < large.cap; i++) {
        const struct lrec *r = &large.tab[i];
        if (r->p && a >= r->map && a < r->map + r->map_size) {
            *freed = false;
            *n = r->n;
            return r->p;
        }
    }
    for (size_t i = 0; i < large.ring_len; i++) {
        const struct fring *f = &large.ring[(large.ring_head + LARGE_RING - 1 - i) % LARGE_RING];
        if (f->p && a >= f->map && a < f->map + f->map_size) {
            *freed = true;
            *n = 0;
            return f->p;
        }
    }
    return 0;
}

/* A fault on a large block's guard page or on a freed large block (fault.c):
 * reports it, or returns when the address is not one of those.  Reads the
 * records without the lock: the process is ending, or the fault is not
 * ours. */
void large_fault(uintptr_t a, bool write, uintptr_t pc)
{
    bool freed;
    size_t n;
    uintptr_t p = fault_lookup(a, &freed, &n);
    if (!p)
        return;
    const char *access = write ? "write" : "read";
    enum ward_bug bug;
    char detail[160];
    if (freed) {
        bug = write ? BUG_WRITE_AFTER_FREE : BUG_USE_AFTER_FREE;
        ward_snprintf(detail, sizeof detail, "%s at %p, %ld bytes from the start of a freed block", access, (void *)a,
                      (long)(a - p));
    } else if (a >= p + n) {
        bug = BUG_HEAP_BUFFER_OVERFLOW;
        ward_snprintf(detail, sizeof detail, "%s at %p, %lu bytes past the end of a %zu-byte block (guard page)",
                      access, (void *)a, (unsigned long)(a - p - n), n);
    } else if (a < p) {
        bug = BUG_HEAP_BUFFER_OVERFLOW;
        ward_snprintf(detail, sizeof detail, "%s at %p, %lu bytes before the start of a %zu-byte block (guard page)",
                      access, (void *)a, (unsigned long)(p - a), n);
    } else {
        return; /* inside a live block: not a heap error of ours */
    }
    uintptr_t pcs[64];
    struct ward_fault_stacks st = {.access = fault_access_stack(pcs, 64, pc)}; /* the depot has the rest (stacks=1) */
    ward_fatal_fault(bug, (void *)p, TIER_LARGE, n, &st, "%s", detail);
}

/* foreign=warn asks, for a pointer outside the heap reservation, whether it
 * is ward's: a live large chunk, one still in the freed ring (a double
 * free), or a pointer into a live large mapping.  Never reads the pointer. */
bool large_knows(uintptr_t p)
{
    bool known = false;
    pthread_mutex_lock(&large.lock);
    if (lookup(p))
        known = true;
    for (size_t i = 0; !known && i < large.ring_len; i++)
        known = large.ring[i].p == p;
    for (size_t i = 0; !known && i < large.cap; i++) {
        struct lrec *r = &large.tab[i];
        known = r->p && p >= r->map && p < r->map + r->map_size;
    }
    pthread_mutex_unlock(&large.lock);
    return known;
}

#ifdef WARD_TESTING
#include "testing.h"
/* The harness build's reset: every live, cached and quarantined mapping
 * unmapped, the records and the ring of freed chunks emptied. */
static void large_testing_reset(void)
{
    pthread_mutex_init(&large.lock, NULL);
    for (size_t i = 0; i < large.cap; i++)
        if (large.tab[i].p)
            os_unmap((void *)large.tab[i].map, large.tab[i].map_size);
    if (large.tab)
        memset(large.tab, 0, large.cap * sizeof *large.tab);
    for (size_t i = 0; i < large.ncache; i++)
        os_unmap((void *)large.cache[i].map, large.cache[i].map_size);
    for (size_t i = 0; i < large.ring_len; i++)
        if (large.ring[i].mapped)
            os_unmap((void *)large.ring[i].map, large.ring[i].map_size);
    large.count = large.bytes = 0;
    large.ncache = large.cache_bytes = 0;
    large.ring_head = large.ring_len = large.ring_mapped = 0;
    large.ring_pushed = large.ring_scan = 0;
}
#endif

const struct tier_ops large_tier = {
    .check = large_check,
    .stats = large_stats,
    .count_live = large_count_live,
    .for_each_live = large_for_each_live,
    .trim = large_trim,
    .lock_all = large_lock_all,
    .unlock_all = large_unlock_all,
    .reinit_locks = large_reinit_locks,
    TIER_TESTING_RESET(large_testing_reset)
};
