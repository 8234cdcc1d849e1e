/* t_rss: resident memory stays bounded under a long churn, and freed memory
 * goes back to the system.
 *
 * Part 1: 20 million small/medium operations (argv[2] / WARD_TEST_OPS to
 * change) over a bounded live set of about 10 MB.  VmRSS is read at 10% of
 * the run and at the end; the end must be at most twice the 10% figure plus
 * 32 MiB.  Fragmentation that grows without bound, a quarantine that is not
 * bounded, or freed memory never reused shows up as growth.
 *
 * Part 2: 200 MiB allocated in medium-size blocks and touched, then freed
 * (in a shuffled order) and malloc_trim(0): RSS must drop by at least half of
 * what the blocks added.
 *
 * Part 3: the same with 48 MiB (below purge_threshold) and no malloc_trim:
 * 1.2 s after the frees, one more malloc and free must give at least half
 * of it back (purge_after).
 *
 * Part 4: three large blocks of 1 MiB, written and freed, stay resident in
 * the large cache; a large free 1.2 s later must give the two it does not
 * reuse back (purge_after). */
#include "test_util.h"

#define SLOTS 4096
#define LIVE_CAP (12 * MiB)

struct slot {
    void *p;
    size_t size;
};

static struct slot slots[SLOTS];

static size_t rss_size(struct rng *r)
{
    uint64_t x = rng_below(r, 100);
    if (x < 92)
        return (size_t)rng_log_range(r, 1, 1024);
    return (size_t)rng_log_range(r, 1025, 64 * KiB);
}

/* write the head, the tail and one byte per page: the block is resident
 * and its edges are checked at free */
static void touch(unsigned char *p, size_t n, unsigned char v)
{
    if (!n)
        return;
    size_t head = n < 32 ? n : 32;
    memset(p, v, head);
    for (size_t i = 4096; i < n; i += 4096)
        p[i] = v;
    p[n - 1] = v;
}

static void check_touch(const unsigned char *p, size_t n, unsigned char v, size_t slot)
{
    if (!n)
        return;
    size_t head = n < 32 ? n : 32;
    for (size_t i = 0; i < head; i++)
        if (p[i] != v)
            fail("slot %zu (size %zu): byte %zu is 0x%02x, want 0x%02x", slot, n, i, p[i], v);
    for (size_t i = 4096; i < n; i += 4096)
        if (p[i] != v)
            fail("slot %zu (size %zu): byte %zu is 0x%02x, want 0x%02x", slot, n, i, p[i], v);
    if (p[n - 1] != v)
        fail("slot %zu (size %zu): last byte is 0x%02x, want 0x%02x", slot, n, p[n - 1], v);
}

static size_t live, peak_live;

/* one step on a random slot: free what is there, maybe allocate anew */
static void churn_op(struct rng *r, uint64_t op)
{
    size_t i = (size_t)rng_below(r, SLOTS);
    struct slot *s = &slots[i];
    unsigned char v = (unsigned char)(i * 7 + 1);
    if (s->p) {
        check_touch(s->p, s->size, v, i);
        free(s->p);
        live -= s->size;
        s->p = NULL;
        /* half the time the slot stays empty for a while */
        if (rng_below(r, 2))
            return;
    }
    size_t n = rss_size(r);
    if (live + n > LIVE_CAP)
        return;
    s->p = rng_below(r, 8) ? malloc(n) : calloc(1, n);
    if (!s->p)
        fail("malloc(%zu) returned NULL at op %" PRIu64, n, op);
    s->size = n;
    live += n;
    if (live > peak_live)
        peak_live = live;
    touch(s->p, n, v);
}

static void churn(uint64_t ops, uint64_t seed)
{
    struct rng r;
    rng_seed(&r, seed);
    long rss10 = 0, rss_max = 0;
    double t0 = now_sec();
    for (uint64_t op = 1; op <= ops; op++) {
        churn_op(&r, op);
        if (op % (ops / 10) == 0) {
            long rss = rss_kb();
            if (rss > rss_max)
                rss_max = rss;
            if (op == ops / 10) {
                rss10 = rss;
                check_heap_at("churn at 10%");
            }
        }
        if (op % 1000000 == 0)
            check_heap_at("churn");
    }
    long rss_end = rss_kb();
    note("churn: %" PRIu64 " ops, peak live %zu kB; RSS %ld kB at 10%%, %ld kB at the end "
         "(max %ld kB); %.1f s",
         ops, peak_live / 1024, rss10, rss_end, rss_max, now_sec() - t0);
    if (rss_end > 2 * rss10 + 32 * 1024)
        fail("RSS grew from %ld kB (10%% of the churn) to %ld kB (end) with at most %zu kB live",
             rss10, rss_end, peak_live / 1024);
    for (size_t i = 0; i < SLOTS; i++) {
        if (slots[i].p) {
            check_touch(slots[i].p, slots[i].size, (unsigned char)(i * 7 + 1), i);
            free(slots[i].p);
            slots[i].p = NULL;
        }
    }
    check_heap_at("after the churn");
}

static void big_and_trim(uint64_t seed)
{
    enum { MAXB = 8192 };
    static void *blk[MAXB];
    static size_t bsz[MAXB];
    struct rng r;
    rng_seed(&r, seed ^ 0x7e1f);
    size_t total = 0, nb = 0;
    long rss0 = rss_kb();
    while (total < 200 * MiB && nb < MAXB) {
        size_t n = (size_t)rng_range(&r, 16 * KiB, 100 * KiB);
        blk[nb] = malloc(n);
        if (!blk[nb])
            fail("malloc(%zu) returned NULL with %zu MiB allocated", n, total / MiB);
        memset(blk[nb], (int)(nb & 0xff) | 1, n);
        bsz[nb++] = n;
        total += n;
    }
    long rss1 = rss_kb();
    check_heap_at("with 200 MiB in medium blocks");
    /* free in a shuffled order, so that coalescing has work to do */
    for (size_t i = 0; i < nb; i++) {
        size_t j = i + (size_t)rng_below(&r, nb - i);
        void *t = blk[i];
        size_t ts = bsz[i];
        blk[i] = blk[j], bsz[i] = bsz[j];
        blk[j] = t, bsz[j] = ts;
    }
    for (size_t i = 0; i < nb; i++) {
        unsigned char *b = blk[i];
        if (b[0] != b[bsz[i] - 1] || !(b[0] & 1))
            fail("medium block %zu changed while live", i);
        free(blk[i]);
    }
    long rss2 = rss_kb();
    int tr = malloc_trim(0);
    if (tr != 0 && tr != 1)
        fail("malloc_trim(0) returned %d", tr);
    long rss3 = rss_kb();
    check_heap_at("after malloc_trim");
    note("200 MiB in %zu medium blocks: RSS %ld kB before, %ld kB allocated, %ld kB freed, "
         "%ld kB after malloc_trim(0) (returned %d)",
         nb, rss0, rss1, rss2, rss3, tr);
    long added = rss1 - rss0;
    if (added < 150 * 1024)
        fail("allocating and writing 200 MiB added only %ld kB of RSS", added);
    if (rss1 - rss3 < added / 2)
        fail("RSS %ld kB with 200 MiB live, %ld kB after freeing it all and malloc_trim(0): "
             "less than half given back",
             rss1, rss3);
    /* the heap still works after trimming */
    for (size_t i = 0; i < 1000; i++) {
        size_t n = (size_t)rng_range(&r, 1, 200 * KiB);
        blk[i] = malloc(n);
        if (!blk[i])
            fail("malloc after malloc_trim returned NULL");
        pat_fill(blk[i], n, i);
        bsz[i] = n;
    }
    for (size_t i = 0; i < 1000; i++) {
        pat_verify(blk[i], bsz[i], i, "block allocated after malloc_trim");
        free(blk[i]);
    }
}

static void freed_goes_back(void)
{
    enum { NB = 48 * 1024 / 64 };
    static void *blk[NB];
    long rss0 = rss_kb();
    for (size_t i = 0; i < NB; i++) {
        blk[i] = malloc(64 * KiB);
        if (!blk[i])
            fail("malloc(64 KiB) returned NULL");
        memset(blk[i], 0x5a, 64 * KiB);
    }
    long rss1 = rss_kb();
    for (size_t i = 0; i < NB; i++)
        free(blk[i]);
    long rss2 = rss_kb();
    usleep(1200 * 1000);
    void *volatile one = malloc(64 * KiB); /* a free call, past purge_after */
    free(one);
    long rss3 = rss_kb();
    check_heap_at("after the purge");
    note("48 MiB in medium blocks, freed, then a free 1.2 s later: RSS %ld kB before, %ld kB allocated, "
         "%ld kB freed, %ld kB after", rss0, rss1, rss2, rss3);
    long added = rss1 - rss0;
    if (added < 40 * 1024)
        fail("allocating and writing 48 MiB added only %ld kB of RSS", added);
    if (rss1 - rss3 < added / 2)
        fail("RSS %ld kB with 48 MiB live, %ld kB after freeing it and a free 1.2 s later: less than half "
             "given back without malloc_trim", rss1, rss3);
}

static void large_cache_goes_back(void)
{
    void *b[3];
    long rss0 = rss_kb();
    for (int i = 0; i < 3; i++) {
        b[i] = malloc(MiB);
        if (!b[i])
            fail("malloc(1 MiB) returned NULL");
        memset(b[i], 0x5a, MiB);
    }
    for (int i = 0; i < 3; i++)
        free(b[i]);
    long rss1 = rss_kb();
    usleep(1200 * 1000);
    void *volatile one = malloc(MiB); /* a large free, past purge_after */
    free(one);
    long rss2 = rss_kb();
    note("3 large blocks of 1 MiB: RSS %ld kB before, %ld kB after their free, %ld kB after a large free 1.2 s "
         "later", rss0, rss1, rss2);
    if (rss1 - rss2 < 1536)
        fail("the large cache kept the freed blocks' pages 1.2 s on (RSS %ld kB, then %ld kB)", rss1, rss2);
}

int main(int argc, char **argv)
{
    ward_loaded();
    pat_init();
    uint64_t seed = test_seed(argc, argv, 0x455);
    const char *ops_s = argc > 2 ? argv[2] : getenv("WARD_TEST_OPS");
    uint64_t ops = ops_s && *ops_s ? strtoull(ops_s, NULL, 0) : 20000000;
    if (ops < 10)
        ops = 10;
    check_heap();
    freed_goes_back();
    large_cache_goes_back();
    churn(ops, seed);
    big_and_trim(seed);
    check_heap();
    return 0;
}
