/* t_api: the semantics of the standard allocation API under ward.
 *
 * Alignment of posix_memalign / aligned_alloc / memalign / valloc / pvalloc,
 * invalid alignments, malloc(0), free(NULL), free keeping errno, realloc's
 * NULL and 0 cases, calloc zeroing (also of reused chunks), overflowing and
 * impossible sizes, malloc_usable_size, free_sized / free_aligned_sized,
 * mallinfo2 and malloc_trim. */
#include "test_util.h"

#include <limits.h>

/* Called through volatile pointers so the compiler can neither fold the
 * calls (malloc(0) != NULL, free() keeping errno, ...) nor warn about sizes
 * it can see are absurd: the test wants the library's answer. */
static void *(*volatile v_malloc)(size_t) = malloc;
static void (*volatile v_free)(void *) = free;
static void *(*volatile v_calloc)(size_t, size_t) = calloc;
static void *(*volatile v_realloc)(void *, size_t) = realloc;
static void *(*volatile v_reallocarray)(void *, size_t, size_t) = reallocarray;
static int (*volatile v_posix_memalign)(void **, size_t, size_t) = posix_memalign;
static void *(*volatile v_aligned_alloc)(size_t, size_t) = aligned_alloc;
static void *(*volatile v_memalign)(size_t, size_t) = memalign;
static void *(*volatile v_valloc)(size_t) = valloc;
static void *(*volatile v_pvalloc)(size_t) = pvalloc;
static size_t (*volatile v_usable)(void *) = malloc_usable_size;

static size_t page;

static const size_t sizes[] = { 0, 1, 15, 16, 17, 100, 1000, 5000, 100000, 1 << 20, 3 << 20 };

/* writable over n bytes and over its whole usable size, usable >= n */
static void check_block(void *p, size_t n, const char *what, size_t align)
{
    if (!p)
        fail("%s(align %zu, size %zu) returned NULL (errno %d)", what, align, n, errno);
    if (align && !is_aligned(p, align))
        fail("%s(align %zu, size %zu) = %p is not aligned", what, align, n, p);
    size_t u = v_usable(p);
    if (u < n)
        fail("%s(align %zu, size %zu): malloc_usable_size = %zu < size", what, align, n, u);
    /* the usable size is the caller's to use (malloc_usable_size(3)) */
    memset(p, 0x5c, u);
    unsigned char *b = p;
    if (n && (b[0] != 0x5c || b[n - 1] != 0x5c))
        fail("%s(align %zu, size %zu): memory does not hold what was written", what, align, n);
}

static void test_aligned(void)
{
    for (size_t align = 1; align <= 64 * KiB; align <<= 1) {
        for (size_t i = 0; i < ARRAY_LEN(sizes); i++) {
            size_t n = sizes[i];
            void *p;

            if (align >= sizeof(void *)) {
                p = (void *)0x1;
                int r = v_posix_memalign(&p, align, n);
                if (r != 0)
                    fail("posix_memalign(align %zu, size %zu) returned %d", align, n, r);
                check_block(p, n, "posix_memalign", align);
                v_free(p);
            }

            errno = 0;
            p = v_aligned_alloc(align, n);
            check_block(p, n, "aligned_alloc", align);
            v_free(p);

            errno = 0;
            p = v_memalign(align, n);
            check_block(p, n, "memalign", align);
            /* realloc of an aligned block keeps the contents */
            if (n) {
                pat_fill(p, n, align * 131 + n);
                void *q = v_realloc(p, n + 100);
                if (!q)
                    fail("realloc(memalign(%zu, %zu), +100) returned NULL", align, n);
                pat_verify(q, n, align * 131 + n, "realloc of a memalign block");
                p = q;
            }
            v_free(p);
        }
    }

    /* several at once, so that they come from a populated heap */
    for (size_t align = 16; align <= 64 * KiB; align <<= 1) {
        void *ps[64];
        for (size_t i = 0; i < ARRAY_LEN(ps); i++) {
            size_t n = sizes[i % 8] + i;
            ps[i] = v_aligned_alloc(align, n);
            check_block(ps[i], n, "aligned_alloc (batch)", align);
            pat_fill(ps[i], n, i + align);
        }
        for (size_t i = 0; i < ARRAY_LEN(ps); i++) {
            pat_verify(ps[i], sizes[i % 8] + i, i + align, "aligned_alloc batch");
            v_free(ps[i]);
        }
    }

    for (size_t i = 0; i < ARRAY_LEN(sizes); i++) {
        size_t n = sizes[i];
        void *p = v_valloc(n);
        check_block(p, n, "valloc", page);
        v_free(p);

        size_t rounded = (n + page - 1) / page * page;
        p = v_pvalloc(n);
        check_block(p, rounded, "pvalloc", page);
        v_free(p);
    }
    check_heap();
}

static void test_bad_alignment(void)
{
    static const size_t bad[] = { 0, 3, 12, 24, 48, 100, 3000, 4095, 4097, 65535, 96 * 1024,
                                  (SIZE_MAX >> 1) + 2, SIZE_MAX };
    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        void *sentinel = (void *)&sentinel;
        void *p = sentinel;
        int r = v_posix_memalign(&p, bad[i], 100);
        if (r != EINVAL)
            fail("posix_memalign(align %zu) returned %d, want EINVAL", bad[i], r);
        if (p != sentinel)
            fail("posix_memalign(align %zu) failed but changed *memptr", bad[i]);
    }
    /* posix_memalign: powers of two below sizeof(void *) are invalid too */
    for (size_t a = 1; a < sizeof(void *); a <<= 1) {
        void *sentinel = (void *)&sentinel;
        void *p = sentinel;
        int r = v_posix_memalign(&p, a, 100);
        if (r != EINVAL || p != sentinel)
            fail("posix_memalign(align %zu) returned %d (memptr %s), want EINVAL", a, r,
                 p == sentinel ? "kept" : "changed");
    }

    /* glibc 2.36's aligned_alloc and memalign round a bad alignment up to a
     * power of two; ward rejects it (EINVAL), which is what it documents. */
    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        if (bad[i] == 0)
            continue; /* alignment 0: glibc and C23 treat it as "no constraint" */
        for (int f = 0; f < 2; f++) {
            errno = 0;
            void *p = f ? v_memalign(bad[i], 100) : v_aligned_alloc(bad[i], 100);
            if (p == NULL && errno == EINVAL)
                continue;
            if (no_ward()) {
                v_free(p);
                continue;
            }
            fail("%s(align %zu, 100) returned %p errno %d, want NULL and EINVAL",
                 f ? "memalign" : "aligned_alloc", bad[i], p, errno);
        }
    }
    check_heap();
}

static void test_zero_and_null(void)
{
    void *ps[32];
    for (size_t i = 0; i < ARRAY_LEN(ps); i++) {
        ps[i] = v_malloc(0);
        if (!ps[i])
            fail("malloc(0) returned NULL");
        for (size_t j = 0; j < i; j++)
            if (ps[i] == ps[j])
                fail("malloc(0) returned %p twice", ps[i]);
    }
    for (size_t i = 0; i < ARRAY_LEN(ps); i++)
        v_free(ps[i]);

    errno = 4321;
    v_free(NULL);
    if (errno != 4321)
        fail("free(NULL) changed errno to %d", errno);

    if (v_usable(NULL) != 0)
        fail("malloc_usable_size(NULL) = %zu, want 0", v_usable(NULL));

    /* free keeps errno, in every tier, also with a quarantine that flushes */
    static const size_t fsz[] = { 1, 24, 100, 1000, 100 * KiB, 300 * KiB, 4 * MiB, 20 * MiB };
    for (int round = 0; round < 200; round++) {
        for (size_t i = 0; i < ARRAY_LEN(fsz); i++) {
            if (fsz[i] >= MiB && round % 20)
                continue;
            void *p = v_malloc(fsz[i]);
            if (!p)
                fail("malloc(%zu) returned NULL", fsz[i]);
            memset(p, 1, fsz[i]);
            errno = 1234;
            v_free(p);
            if (errno != 1234)
                fail("free of a %zu-byte block changed errno from 1234 to %d", fsz[i], errno);
        }
    }

    /* realloc(NULL, n) is malloc(n) */
    for (size_t i = 0; i < ARRAY_LEN(sizes); i++) {
        void *p = v_realloc(NULL, sizes[i]);
        check_block(p, sizes[i], "realloc(NULL)", 16);
        v_free(p);
    }
    check_heap();
}

/* bytes the allocator says are live: ward's own figure when ward is loaded,
 * mallinfo2's otherwise */
static size_t live_bytes(void)
{
    struct ward_stats st;
    if (ward_stats(&st))
        return st.in_use + st.large_bytes;
    struct mallinfo2 mi = mallinfo2();
    return mi.uordblks + mi.hblkhd;
}

static void test_realloc_zero(void)
{
    /* realloc(p, 0) frees p and returns NULL (glibc's behaviour); that it
     * really frees shows in the live-byte figures, for a block big enough to
     * stand out */
    static const size_t rsz[] = { 1, 100, 2000, 100 * KiB, 8 * MiB };
    for (size_t i = 0; i < ARRAY_LEN(rsz); i++) {
        void *p = v_malloc(rsz[i]);
        if (!p)
            fail("malloc(%zu) returned NULL", rsz[i]);
        memset(p, 7, rsz[i]);
        size_t before = live_bytes();
        void *q = v_realloc(p, 0);
        if (q != NULL)
            fail("realloc(%zu-byte block, 0) returned %p, want NULL (the block freed)", rsz[i], q);
        size_t after = live_bytes();
        if (rsz[i] >= MiB && !(after + rsz[i] / 2 < before))
            fail("realloc(%zu-byte block, 0) did not free it: live bytes %zu -> %zu", rsz[i],
                 before, after);
    }
    check_heap();
}

static void test_calloc(void)
{
    static const size_t csz[] = { 1,      2,      7,      8,       15,      16,      17,
                                  24,     31,     32,     48,      63,      64,      65,
                                  100,    127,    128,    200,     255,     256,     384,
                                  500,    512,    640,    1000,    1023,    1024,    1025,
                                  1100,   2000,   4095,   4096,    4097,    5000,    8192,
                                  10000,  30000,  65536,  100000,  131072,  200000,  262144,
                                  400000, 500000, 524288, 524289,  600000,  1 << 20, (1 << 20) + 1,
                                  3 << 19, 2 << 20 };
    enum { NB = 24 };
    for (size_t i = 0; i < ARRAY_LEN(csz); i++) {
        size_t n = csz[i];
        int rounds = n >= 256 * KiB ? 6 : n >= 16 * KiB ? 20 : 60;
        void *ps[NB];
        for (int r = 0; r < rounds; r++) {
            /* dirty NB blocks, free them, take the same sizes from calloc */
            for (int k = 0; k < NB; k++) {
                ps[k] = v_malloc(n);
                if (!ps[k])
                    fail("malloc(%zu) returned NULL", n);
                memset(ps[k], 0xAA, v_usable(ps[k]));
            }
            for (int k = 0; k < NB; k++)
                v_free(ps[k]);
            for (int k = 0; k < NB; k++) {
                /* the same byte count, spelt three ways */
                size_t nm = 1, sz = n;
                if (k % 3 == 1)
                    nm = n, sz = 1;
                else if (k % 3 == 2 && n % 8 == 0)
                    nm = n / 8, sz = 8;
                ps[k] = v_calloc(nm, sz);
                if (!ps[k])
                    fail("calloc(%zu, %zu) returned NULL", nm, sz);
                long bad = find_nonzero(ps[k], n);
                if (bad >= 0)
                    fail("calloc(%zu, %zu) (round %d, block %d) not zeroed at offset %ld: 0x%02x",
                         nm, sz, r, k, bad, ((unsigned char *)ps[k])[bad]);
            }
            /* interleaved: free one, calloc one, many times */
            for (int k = 0; k < 4 * NB; k++) {
                int j = k % NB;
                memset(ps[j], 0xAA, n);
                v_free(ps[j]);
                ps[j] = v_calloc(1, n);
                if (!ps[j])
                    fail("calloc(1, %zu) returned NULL", n);
                long bad = find_nonzero(ps[j], n);
                if (bad >= 0)
                    fail("calloc(1, %zu) right after a free not zeroed at offset %ld", n, bad);
            }
            for (int k = 0; k < NB; k++)
                v_free(ps[k]);
        }
    }
    /* calloc(0, x) and calloc(x, 0) are malloc(0): unique, non-NULL */
    void *a = v_calloc(0, 16), *b = v_calloc(16, 0);
    if (!a || !b || a == b)
        fail("calloc(0, 16) = %p, calloc(16, 0) = %p", a, b);
    v_free(a);
    v_free(b);
    check_heap();
}

static void expect_enomem(void *p, const char *what)
{
    if (p != NULL)
        fail("%s returned %p, want NULL", what, p);
    if (errno != ENOMEM)
        fail("%s failed with errno %d, want ENOMEM", what, errno);
}

static void test_overflow(void)
{
    const size_t pmax = (size_t)PTRDIFF_MAX;
    char what[128];

    static const size_t cz[][2] = { { (SIZE_MAX >> 1) + 1, 3 },
                                    { SIZE_MAX, SIZE_MAX },
                                    { SIZE_MAX, 2 },
                                    { (size_t)1 << 32, (size_t)1 << 32 },
                                    { ((size_t)1 << 63) + 1, 2 },
                                    { (SIZE_MAX / 16) + 1, 16 } };
    for (size_t i = 0; i < ARRAY_LEN(cz); i++) {
        errno = 0;
        snprintf(what, sizeof what, "calloc(%zu, %zu)", cz[i][0], cz[i][1]);
        expect_enomem(v_calloc(cz[i][0], cz[i][1]), what);
        errno = 0;
        snprintf(what, sizeof what, "calloc(%zu, %zu)", cz[i][1], cz[i][0]);
        expect_enomem(v_calloc(cz[i][1], cz[i][0]), what);
    }

    /* sizes that overflow once a header, a canary or rounding is added */
    size_t huge[80];
    size_t nh = 0;
    huge[nh++] = pmax;
    huge[nh++] = pmax + 1;
    huge[nh++] = pmax - 4095;
    for (size_t k = 0; k < 64; k++)
        huge[nh++] = SIZE_MAX - k;
    huge[nh++] = SIZE_MAX - 4096;
    huge[nh++] = SIZE_MAX - 65536;
    huge[nh++] = SIZE_MAX - (1 << 20);
    huge[nh++] = (size_t)1 << 62;
    huge[nh++] = (size_t)1 << 48; /* larger than the address space */
    for (size_t i = 0; i < nh; i++) {
        errno = 0;
        snprintf(what, sizeof what, "malloc(%zu)", huge[i]);
        expect_enomem(v_malloc(huge[i]), what);
        errno = 0;
        snprintf(what, sizeof what, "realloc(NULL, %zu)", huge[i]);
        expect_enomem(v_realloc(NULL, huge[i]), what);
        errno = 0;
        snprintf(what, sizeof what, "aligned_alloc(64, %zu)", huge[i]);
        expect_enomem(v_aligned_alloc(64, huge[i]), what);
        errno = 0;
        snprintf(what, sizeof what, "memalign(4096, %zu)", huge[i]);
        expect_enomem(v_memalign(4096, huge[i]), what);
        errno = 0;
        snprintf(what, sizeof what, "valloc(%zu)", huge[i]);
        expect_enomem(v_valloc(huge[i]), what);
        errno = 0;
        snprintf(what, sizeof what, "pvalloc(%zu)", huge[i]);
        expect_enomem(v_pvalloc(huge[i]), what);
        for (size_t a = 8; a <= 64 * KiB; a <<= 3) {
            void *sentinel = (void *)&sentinel;
            void *p = sentinel;
            int r = v_posix_memalign(&p, a, huge[i]);
            if (r != ENOMEM)
                fail("posix_memalign(align %zu, size %zu) returned %d, want ENOMEM", a, huge[i], r);
            if (p != sentinel)
                fail("posix_memalign(align %zu, size %zu) failed but changed *memptr", a,
                     huge[i]);
        }
    }

    /* a failed realloc leaves the block as it was, in every tier */
    static const size_t rsz[] = { 1, 24, 1000, 70000, 300 * KiB, 2 * MiB };
    for (size_t i = 0; i < ARRAY_LEN(rsz); i++) {
        void *p = v_malloc(rsz[i]);
        if (!p)
            fail("malloc(%zu) returned NULL", rsz[i]);
        pat_fill(p, rsz[i], 900 + i);
        static const size_t rbad[] = { SIZE_MAX, SIZE_MAX - 15, (size_t)PTRDIFF_MAX + 1,
                                       (size_t)1 << 48 };
        for (size_t k = 0; k < ARRAY_LEN(rbad); k++) {
            errno = 0;
            snprintf(what, sizeof what, "realloc(%zu-byte block, %zu)", rsz[i], rbad[k]);
            expect_enomem(v_realloc(p, rbad[k]), what);
            pat_verify(p, rsz[i], 900 + i, "block after a failed realloc");
        }
        errno = 0;
        snprintf(what, sizeof what, "reallocarray(%zu-byte block, SIZE_MAX/2+1, 3)", rsz[i]);
        expect_enomem(v_reallocarray(p, (SIZE_MAX >> 1) + 1, 3), what);
        errno = 0;
        snprintf(what, sizeof what, "reallocarray(%zu-byte block, 2^32, 2^32)", rsz[i]);
        expect_enomem(v_reallocarray(p, (size_t)1 << 32, (size_t)1 << 32), what);
        pat_verify(p, rsz[i], 900 + i, "block after a failed reallocarray");
        /* and it is still a live block that grows, shrinks and frees */
        void *q = v_reallocarray(p, 2, rsz[i]);
        if (!q)
            fail("reallocarray(p, 2, %zu) returned NULL", rsz[i]);
        pat_verify(q, rsz[i], 900 + i, "block grown by reallocarray");
        v_free(q);
    }
    errno = 0;
    expect_enomem(v_reallocarray(NULL, (SIZE_MAX >> 1) + 1, 3), "reallocarray(NULL, SIZE_MAX/2+1, 3)");
    void *p = v_reallocarray(NULL, 10, 10);
    check_block(p, 100, "reallocarray(NULL, 10, 10)", 0);
    v_free(p);
    check_heap();
}

static void test_sized_free(void)
{
    free_sized_fn fs = get_free_sized();
    free_aligned_sized_fn fas = get_free_aligned_sized();
    if (!fs || !fas) {
        if (no_ward()) {
            note("free_sized/free_aligned_sized not in this libc: skipped");
            return;
        }
        fail("ward does not export %s", fs ? "free_aligned_sized" : "free_sized");
    }
    static const size_t fsz[] = { 0, 1, 16, 17, 100, 1000, 1024, 1025, 5000, 100000,
                                  300 * KiB, 1 << 20, 3 << 20 };
    for (int round = 0; round < 4; round++) {
        for (size_t i = 0; i < ARRAY_LEN(fsz); i++) {
            size_t n = fsz[i];
            void *p = v_malloc(n);
            check_block(p, n, "malloc", 0);
            fs(p, n);
            p = v_calloc(1, n);
            check_block(p, n, "calloc", 0);
            fs(p, n);
            if (n) { /* realloc(p, 0) would free p */
                p = v_realloc(NULL, n + 10);
                p = v_realloc(p, n);
                if (!p)
                    fail("realloc to %zu returned NULL", n);
                fs(p, n);
            }
            fs(NULL, n); /* like free(NULL) */
            for (size_t a = 16; a <= 64 * KiB; a <<= 2) {
                p = v_aligned_alloc(a, n);
                check_block(p, n, "aligned_alloc", a);
                fas(p, a, n);
                void *q = NULL;
                if (v_posix_memalign(&q, a, n) != 0)
                    fail("posix_memalign(%zu, %zu) failed", a, n);
                fas(q, a, n);
            }
            fas(NULL, 64, n);
        }
    }
    check_heap();
}

static void test_mallinfo_trim(void)
{
    enum { N = 1000 };
    static void *ps[N];
    void *one = v_malloc(100);
    struct mallinfo2 m0 = mallinfo2();
    if (m0.arena == 0 || m0.uordblks == 0)
        fail("mallinfo2 with a block live: arena %zu, uordblks %zu: want both non-zero",
             m0.arena, m0.uordblks);

    /* 10 MB in medium blocks */
    for (int i = 0; i < N; i++) {
        ps[i] = v_malloc(10 * 1000);
        if (!ps[i])
            fail("malloc(10000) returned NULL");
        memset(ps[i], 3, 10 * 1000);
    }
    struct mallinfo2 m1 = mallinfo2();
    if (m1.uordblks < m0.uordblks + 9 * MiB)
        fail("mallinfo2.uordblks %zu -> %zu after allocating 10 MB", m0.uordblks, m1.uordblks);
    if (m1.arena + m1.hblkhd < m0.arena + m0.hblkhd + 9 * MiB)
        fail("mallinfo2.arena+hblkhd %zu -> %zu after allocating 10 MB", m0.arena + m0.hblkhd,
             m1.arena + m1.hblkhd);
    for (int i = 0; i < N; i++)
        v_free(ps[i]);
    struct mallinfo2 m2 = mallinfo2();
    if (m2.uordblks + 8 * MiB > m1.uordblks)
        fail("mallinfo2.uordblks %zu -> %zu after freeing 10 MB", m1.uordblks, m2.uordblks);

    /* and one 10 MB block (a large mapping) */
    void *big = v_malloc(10 * MiB);
    if (!big)
        fail("malloc(10 MiB) returned NULL");
    memset(big, 4, 10 * MiB);
    struct mallinfo2 m3 = mallinfo2();
    if (m3.uordblks + m3.hblkhd < m2.uordblks + m2.hblkhd + 10 * MiB)
        fail("mallinfo2 uordblks+hblkhd %zu -> %zu after malloc(10 MiB)",
             m2.uordblks + m2.hblkhd, m3.uordblks + m3.hblkhd);
    v_free(big);
    struct mallinfo2 m4 = mallinfo2();
    if (m4.uordblks + m4.hblkhd + 9 * MiB > m3.uordblks + m3.hblkhd)
        fail("mallinfo2 uordblks+hblkhd %zu -> %zu after freeing the 10 MiB block",
             m3.uordblks + m3.hblkhd, m4.uordblks + m4.hblkhd);

    v_free(one);
    int r = malloc_trim(0);
    if (r != 0 && r != 1)
        fail("malloc_trim(0) returned %d", r);
    r = malloc_trim(1 << 20);
    if (r != 0 && r != 1)
        fail("malloc_trim(1 MiB) returned %d", r);
    /* the heap still works after a trim */
    for (int i = 0; i < N; i++) {
        ps[i] = v_malloc((size_t)(i % 50) * 300 + 1);
        if (!ps[i])
            fail("malloc after malloc_trim returned NULL");
        pat_fill(ps[i], (size_t)(i % 50) * 300 + 1, (uint64_t)i);
    }
    for (int i = 0; i < N; i++) {
        pat_verify(ps[i], (size_t)(i % 50) * 300 + 1, (uint64_t)i, "block after malloc_trim");
        v_free(ps[i]);
    }
    check_heap();
}

/* ward_live_chunks: the count and bytes of live chunks, for leak checks */
static void test_live_chunks(void)
{
    if (no_ward())
        return;
    size_t (*live)(size_t *) = (size_t(*)(size_t *))dlsym(RTLD_DEFAULT, "ward_live_chunks");
    if (!live)
        fail("ward_live_chunks is not exported");
    static const size_t sizes[] = {1, 24, 1000, 3000, 100000, 600000, 3000000};
    void *p[ARRAY_LEN(sizes)];
    size_t b0, b1, b2, want = 0;
    size_t n0 = live(&b0);
    for (size_t i = 0; i < ARRAY_LEN(sizes); i++) {
        p[i] = malloc(sizes[i]);
        if (!p[i])
            fail("malloc(%zu) failed", sizes[i]);
        want += sizes[i];
    }
    size_t n1 = live(&b1);
    if (n1 != n0 + ARRAY_LEN(sizes) || b1 != b0 + want)
        fail("ward_live_chunks: %zu chunks / %zu bytes with %zu more live, was %zu / %zu", n1, b1,
             ARRAY_LEN(sizes), n0, b0);
    for (size_t i = 0; i < ARRAY_LEN(sizes); i++)
        free(p[i]);
    size_t n2 = live(&b2);
    if (n2 != n0 || b2 != b0)
        fail("ward_live_chunks: %zu chunks / %zu bytes after the frees, was %zu / %zu", n2, b2, n0, b0);
}

int main(void)
{
    ward_loaded();
    page = (size_t)sysconf(_SC_PAGESIZE);
    pat_init();
    check_heap();

    /* first, while the heap holds little free memory, so that allocating
     * 10 MB must grow it */
    test_mallinfo_trim();
    test_aligned();
    test_bad_alignment();
    test_zero_and_null();
    test_realloc_zero();
    test_calloc();
    test_overflow();
    test_sized_free();
    test_live_chunks();

    check_heap();
    return 0;
}
