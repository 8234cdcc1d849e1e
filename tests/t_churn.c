/* t_churn: a long randomized sequence of allocation calls against a shadow
 * model.
 *
 * A deterministic PRNG (seed: argv[1], else WARD_TEST_SEED, else fixed)
 * drives operations on 4096 slots: malloc, calloc, realloc, the aligned
 * allocators, free (also free_sized / free_aligned_sized when the library
 * has them).  Sizes cover every tier: mostly small, some medium up to
 * 512 KiB, rare large up to 4 MiB, with live bytes capped at 256 MiB.  Each
 * block holds a pattern derived from its slot and generation; frees and
 * reallocs verify it (a mismatch means an overlap or a stray write), calloc
 * memory must be zero, alignment and malloc_usable_size are checked at every
 * allocation, ward_check_heap runs every 100k operations.
 *
 * argv[2] (or WARD_TEST_OPS) sets the operation count; default 2.5 million. */
#include "test_util.h"

#define SLOTS 4096
#define LIVE_CAP (256 * MiB)
#define HEAP_CHECK_EVERY 100000

enum kind { K_MALLOC, K_CALLOC, K_REALLOC, K_ALIGNED };

struct slot {
    void *p;
    size_t size;
    size_t align; /* 0: plain malloc alignment */
    uint64_t tag;
    uint32_t gen;
};

static struct slot slots[SLOTS];
static size_t live_bytes;
static free_sized_fn p_free_sized;
static free_aligned_sized_fn p_free_aligned_sized;

static uint64_t counts[8];

static size_t draw_size(struct rng *r)
{
    uint64_t x = rng_below(r, 10000);
    if (x < 9000) /* small: mostly tiny, up to 1 KiB */
        return (size_t)(x < 3000 ? rng_range(r, 0, 64) : rng_log_range(r, 1, 1100));
    if (x < 9985) /* medium: log-uniform 1 KiB .. 512 KiB */
        return (size_t)rng_log_range(r, 1000, 512 * KiB + 64);
    return (size_t)rng_range(r, 512 * KiB, 4 * MiB); /* large */
}

static uint64_t make_tag(size_t i, uint32_t gen)
{
    return ((uint64_t)gen << 20) ^ (uint64_t)i ^ 0x5a5a000000000000ULL;
}

static void check_new_block(const struct slot *s, size_t i, const char *how)
{
    if (!s->p)
        fail("op %s slot %zu: allocation of %zu bytes (align %zu) returned NULL (errno %d)", how,
             i, s->size, s->align, errno);
    size_t a = s->align > 16 ? s->align : 16;
    if (!is_aligned(s->p, a))
        fail("op %s slot %zu: %p (size %zu) is not %zu-byte aligned", how, i, s->p, s->size, a);
    size_t u = malloc_usable_size(s->p);
    if (u < s->size)
        fail("op %s slot %zu: malloc_usable_size(%p) = %zu < size %zu", how, i, s->p, u, s->size);
}

static void verify_slot(const struct slot *s, size_t i, const char *when)
{
    char what[96];
    snprintf(what, sizeof what, "slot %zu (size %zu, gen %u) before %s", i, s->size, s->gen, when);
    pat_verify(s->p, s->size, s->tag, what);
}

static void do_free(struct slot *s, size_t i, struct rng *r)
{
    verify_slot(s, i, "free");
    uint64_t how = rng_below(r, 8);
    if (how == 0 && s->align && p_free_aligned_sized) {
        p_free_aligned_sized(s->p, s->align, s->size);
        counts[6]++;
    } else if (how == 1 && !s->align && p_free_sized) {
        p_free_sized(s->p, s->size);
        counts[6]++;
    } else {
        free(s->p);
    }
    counts[5]++;
    live_bytes -= s->size;
    s->p = NULL;
    s->size = 0;
}

static void do_alloc(struct slot *s, size_t i, struct rng *r, size_t n)
{
    uint64_t k = rng_below(r, 100);
    s->gen++;
    s->tag = make_tag(i, s->gen);
    s->align = 0;
    if (k < 60) {
        s->size = n;
        s->p = malloc(n);
        check_new_block(s, i, "malloc");
        counts[K_MALLOC]++;
    } else if (k < 80) {
        size_t nm = 1, sz = n;
        if (n % 8 == 0 && (k & 1))
            nm = n / 8, sz = 8;
        s->size = n;
        s->p = calloc(nm, sz);
        check_new_block(s, i, "calloc");
        long bad = find_nonzero(s->p, n);
        if (bad >= 0)
            fail("calloc(%zu, %zu) slot %zu: byte %ld is 0x%02x, not zero", nm, sz, i, bad,
                 ((unsigned char *)s->p)[bad]);
        counts[K_CALLOC]++;
    } else if (k < 90) {
        /* realloc(NULL, n) */
        s->size = n;
        s->p = realloc(NULL, n);
        check_new_block(s, i, "realloc(NULL)");
        counts[K_MALLOC]++;
    } else {
        size_t align = (size_t)1 << rng_range(r, 3, rng_below(r, 8) ? 8 : 16);
        s->size = n;
        s->align = align;
        uint64_t f = rng_below(r, 3);
        if (f == 0) {
            if (align < sizeof(void *))
                align = sizeof(void *);
            s->align = align;
            void *p = NULL;
            int e = posix_memalign(&p, align, n);
            if (e)
                fail("posix_memalign(%zu, %zu) returned %d", align, n, e);
            s->p = p;
        } else if (f == 1) {
            s->p = aligned_alloc(align, n);
        } else {
            s->p = memalign(align, n);
        }
        check_new_block(s, i, "aligned alloc");
        counts[K_ALIGNED]++;
    }
    live_bytes += n;
    pat_fill(s->p, n, s->tag);
}

static void do_realloc(struct slot *s, size_t i, size_t n)
{
    verify_slot(s, i, "realloc");
    uintptr_t was = (uintptr_t)s->p;
    if (n == 0) {
        /* realloc(p, 0) frees p and returns NULL, as glibc does */
        void *q = realloc(s->p, 0);
        if (q)
            fail("realloc(%#" PRIxPTR ", 0) slot %zu returned %p, want NULL", was, i, q);
        live_bytes -= s->size;
        s->p = NULL;
        s->size = 0;
        counts[5]++;
        return;
    }
    void *q = realloc(s->p, n);
    if (!q)
        fail("realloc(%#" PRIxPTR ", %zu) slot %zu from %zu bytes returned NULL (errno %d)", was,
             n, i, s->size, errno);
    size_t keep = s->size < n ? s->size : n;
    size_t old = s->size;
    s->p = q;
    s->align = 0; /* realloc promises only malloc's alignment */
    s->size = n;
    check_new_block(s, i, "realloc");
    char what[96];
    snprintf(what, sizeof what, "slot %zu after realloc %zu -> %zu", i, old, n);
    pat_verify(q, keep, s->tag, what);
    if (n > old)
        pat_fill_range(q, old, n, s->tag);
    live_bytes = live_bytes - old + n;
    counts[K_REALLOC]++;
}

/* bytes in live blocks as the allocator counts them */
static size_t allocator_live(const char **how)
{
    struct ward_stats st;
    if (ward_stats(&st)) {
        *how = "ward_get_stats().requested";
        return st.requested;
    }
    *how = "mallinfo2().uordblks";
    return mallinfo2().uordblks;
}

int main(int argc, char **argv)
{
    ward_loaded();
    pat_init();
    uint64_t seed = test_seed(argc, argv, 0x5eed1234);
    const char *ops_s = argc > 2 ? argv[2] : getenv("WARD_TEST_OPS");
    uint64_t ops = ops_s && *ops_s ? strtoull(ops_s, NULL, 0) : 2500000;
    p_free_sized = get_free_sized();
    p_free_aligned_sized = get_free_aligned_sized();
    if (!no_ward() && (!p_free_sized || !p_free_aligned_sized))
        fail("ward does not export free_sized / free_aligned_sized");

    const char *how;
    size_t live_start = allocator_live(&how);
    struct rng r;
    rng_seed(&r, seed);
    double t0 = now_sec();
    size_t max_live = 0;
    check_heap();

    for (uint64_t op = 1; op <= ops; op++) {
        /* mostly nearby slots, so that recent blocks are freed soon, with
         * some picks anywhere */
        size_t i = (size_t)(rng_below(&r, 4) ? (op * 7 + rng_below(&r, 64)) % SLOTS
                                              : rng_below(&r, SLOTS));
        struct slot *s = &slots[i];
        uint64_t what = rng_below(&r, 100);
        if (!s->p) {
            size_t n = draw_size(&r);
            if (live_bytes + n > LIVE_CAP)
                continue;
            do_alloc(s, i, &r, n);
        } else if (what < 55) {
            do_free(s, i, &r);
        } else if (what < 80) {
            size_t n = rng_below(&r, 4) ? draw_size(&r)
                                        : (size_t)rng_range(&r, s->size / 2, s->size * 2 + 16);
            if (live_bytes - s->size + n > LIVE_CAP)
                n = s->size / 2;
            do_realloc(s, i, n);
        } else {
            /* free and allocate again in the same slot */
            do_free(s, i, &r);
            size_t n = draw_size(&r);
            if (live_bytes + n <= LIVE_CAP)
                do_alloc(s, i, &r, n);
        }
        if (live_bytes > max_live)
            max_live = live_bytes;
        if (op % HEAP_CHECK_EVERY == 0) {
            char where[64];
            snprintf(where, sizeof where, "after op %" PRIu64, op);
            check_heap_at(where);
        }
    }

    /* everything still live is intact; free it all */
    for (size_t i = 0; i < SLOTS; i++)
        if (slots[i].p)
            do_free(&slots[i], i, &r);
    if (live_bytes != 0)
        fail("shadow model lost track: %zu live bytes after freeing everything", live_bytes);
    check_heap_at("end");

    /* nothing lost: the allocator's live figure is back near the start */
    size_t live_end = allocator_live(&how);
    if (live_end > live_start + 4 * MiB)
        fail("%s: %zu bytes at the start, %zu after everything was freed", how, live_start,
             live_end);

    note("seed %#" PRIx64 ": %" PRIu64 " ops (%" PRIu64 " malloc, %" PRIu64 " calloc, %" PRIu64
         " realloc, %" PRIu64 " aligned, %" PRIu64 " free of which %" PRIu64
         " sized), peak live %zu MiB, %.1f s",
         seed, ops, counts[K_MALLOC], counts[K_CALLOC], counts[K_REALLOC], counts[K_ALIGNED],
         counts[5], counts[6], max_live / MiB, now_sec() - t0);
    return 0;
}
