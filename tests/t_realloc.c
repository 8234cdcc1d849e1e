/* t_realloc: realloc growing and shrinking across every tier boundary keeps
 * the contents.
 *
 * A block is walked through a list of sizes: byte by byte through 1..16 and
 * around the small/medium boundary (1000..1100), in small steps around the
 * medium/large boundary (500 KiB..530 KiB), geometrically up to 8 MiB and
 * back down the same way.  The block always holds a position-dependent
 * pattern; after each realloc the first min(old, new) bytes are verified and
 * the rest of the new block is filled.  The walk is made with the block
 * alone, with neighbours allocated around it (so it cannot always grow in
 * place), starting from an aligned block, and with several blocks walked in
 * lockstep. */
#include "test_util.h"

static size_t *steps;
static size_t nsteps, capsteps;

static void add_step(size_t n)
{
    if (nsteps == capsteps) {
        capsteps = capsteps ? capsteps * 2 : 1024;
        steps = realloc(steps, capsteps * sizeof *steps);
        if (!steps)
            fail("out of memory for the step list");
    }
    steps[nsteps++] = n;
}

/* up: 1..16, 17..999 geometrically, 1000..1100 each, on to 500 KiB, 500 KiB
 * .. 530 KiB in 512-byte steps (and every byte around 512 KiB), on to 8 MiB;
 * then the same sizes back down, then a zig-zag across the boundaries */
static void build_steps(void)
{
    size_t up[4096];
    size_t n = 0;
    for (size_t s = 1; s <= 16; s++)
        up[n++] = s;
    for (size_t s = 20; s < 1000; s = s * 5 / 4)
        up[n++] = s;
    for (size_t s = 1000; s <= 1100; s++)
        up[n++] = s;
    for (size_t s = 1200; s < 500 * KiB; s = s * 5 / 4)
        up[n++] = s;
    for (size_t s = 500 * KiB; s <= 530 * KiB; s += 512) {
        up[n++] = s;
        if (s == 512 * KiB - 512)
            for (size_t t = 512 * KiB - 16; t <= 512 * KiB + 16; t++)
                up[n++] = t;
    }
    for (size_t s = 540 * KiB; s < 8 * MiB; s = s * 5 / 4)
        up[n++] = s;
    up[n++] = 8 * MiB;
    for (size_t i = 0; i < n; i++)
        add_step(up[i]);
    for (size_t i = n - 1; i-- > 0;)
        add_step(up[i]);
    /* zig-zag: big jumps between tiers, and by one byte across each boundary */
    static const size_t zig[] = { 1,      8 * MiB, 16,      600 * KiB, 1024,   1025,    1023,
                                  524288, 524289,  524287,  1,         4 * MiB, 1000,   300 * KiB,
                                  2 * MiB, 64,     1100,    530 * KiB, 100,    8 * MiB, 4096,
                                  4097,   4095,    65536,   65537,     131072, 131073,  262144,
                                  262145, 1,       3 * MiB, 3 * MiB + 1, 3 * MiB - 1, 17 };
    for (size_t i = 0; i < ARRAY_LEN(zig); i++)
        add_step(zig[i]);
}

static void *xrealloc(void *p, size_t n, size_t old)
{
    uintptr_t was = (uintptr_t)p;
    void *q = realloc(p, n);
    if (!q)
        fail("realloc(%#" PRIxPTR ", %zu) from %zu bytes returned NULL (errno %d)", was, n, old,
             errno);
    if (!is_aligned(q, 16))
        fail("realloc(%#" PRIxPTR ", %zu) = %p is not 16-byte aligned", was, n, q);
    size_t u = malloc_usable_size(q);
    if (u < n)
        fail("realloc to %zu bytes: malloc_usable_size = %zu", n, u);
    return q;
}

struct walker {
    void *p;
    size_t size;
    uint64_t tag;
};

/* one realloc of w to n bytes: verify what must survive, fill the rest */
static void step(struct walker *w, size_t n, const char *how)
{
    char what[160];
    size_t old = w->size;
    w->p = xrealloc(w->p, n, old);
    w->size = n;
    size_t keep = old < n ? old : n;
    snprintf(what, sizeof what, "%s: realloc %zu -> %zu bytes", how, old, n);
    pat_verify(w->p, keep, w->tag, what);
    if (n > old)
        pat_fill_range(w->p, old, n, w->tag);
}

static void walk(const char *how, void *start, size_t start_size, uint64_t tag, bool neighbours)
{
    struct walker w = { start, start_size, tag };
    if (!start)
        fail("%s: the first allocation (%zu bytes) returned NULL", how, start_size);
    pat_fill(w.p, w.size, tag);
    void *nb[8] = { 0 };
    for (size_t i = 0; i < nsteps; i++) {
        if (neighbours && i % 7 == 0) {
            /* a fresh block of the current size class right after the
             * walker, most of the time, keeps it from growing in place */
            size_t k = (i / 7) % ARRAY_LEN(nb);
            if (nb[k]) {
                pat_verify(nb[k], 32, tag + 1000 + k, "neighbour block");
                free(nb[k]);
            }
            nb[k] = malloc(w.size > 32 ? w.size : 32);
            if (!nb[k])
                fail("malloc(%zu) for a neighbour returned NULL", w.size);
            pat_fill(nb[k], 32, tag + 1000 + k);
        }
        step(&w, steps[i], how);
        if (i % 200 == 199)
            check_heap_at(how);
    }
    pat_verify(w.p, w.size, w.tag, how);
    free(w.p);
    for (size_t k = 0; k < ARRAY_LEN(nb); k++) {
        if (nb[k]) {
            pat_verify(nb[k], 32, tag + 1000 + k, "neighbour block");
            free(nb[k]);
        }
    }
    check_heap_at(how);
}

/* several blocks walked in lockstep, each starting at a different place in
 * the step list, so that their reallocs interleave in every tier */
static void lockstep(void)
{
    enum { W = 6 };
    struct walker w[W];
    for (int k = 0; k < W; k++) {
        w[k].size = 1 + (size_t)k;
        w[k].p = malloc(w[k].size);
        if (!w[k].p)
            fail("malloc returned NULL");
        w[k].tag = 5000 + (uint64_t)k;
        pat_fill(w[k].p, w[k].size, w[k].tag);
    }
    for (size_t i = 0; i < nsteps; i++) {
        for (int k = 0; k < W; k++)
            step(&w[k], steps[(i + (size_t)k * nsteps / W) % nsteps], "lockstep");
        if (i % 100 == 99)
            check_heap_at("lockstep");
    }
    for (int k = 0; k < W; k++) {
        pat_verify(w[k].p, w[k].size, w[k].tag, "lockstep end");
        free(w[k].p);
    }
}

/* realloc by one byte at a time, up and down, over each boundary region */
static void creep(void)
{
    static const size_t regions[][2] = { { 1, 80 },           { 900, 1200 },
                                         { 4000, 4200 },      { 65400, 65700 },
                                         { 130900, 131200 },  { 262000, 262300 },
                                         { 524000, 524400 },  { 1048400, 1048700 } };
    for (size_t r = 0; r < ARRAY_LEN(regions); r++) {
        struct walker w = { malloc(regions[r][0]), regions[r][0], 7000 + r };
        if (!w.p)
            fail("malloc returned NULL");
        pat_fill(w.p, w.size, w.tag);
        for (size_t s = regions[r][0] + 1; s <= regions[r][1]; s++)
            step(&w, s, "creep up");
        for (size_t s = regions[r][1]; s-- > regions[r][0];)
            step(&w, s, "creep down");
        free(w.p);
        check_heap_at("creep");
    }
}

int main(void)
{
    ward_loaded();
    pat_init();
    build_steps();
    check_heap();

    walk("alone", malloc(1), 1, 1, false);
    walk("with neighbours", malloc(1), 1, 2, true);
    static const size_t aligns[] = { 64, 4096, 65536 };
    for (size_t i = 0; i < ARRAY_LEN(aligns); i++) {
        void *p = NULL;
        if (posix_memalign(&p, aligns[i], 100) != 0)
            fail("posix_memalign(%zu, 100) failed", aligns[i]);
        walk("from an aligned block", p, 100, 3 + i, i == 1);
    }
    walk("from a large block", malloc(6 * MiB), 6 * MiB, 9, true);
    lockstep();
    creep();

    check_heap();
    free(steps);
    check_heap();
    return 0;
}
