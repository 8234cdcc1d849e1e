/* ops: the operation-sequence harness.  The input decodes into steps on
 * ward's prefixed API (ward runs beside the process allocator): malloc,
 * calloc, realloc (grow, shrink, to zero), reallocarray, every aligned call
 * (posix_memalign, aligned_alloc, memalign, valloc, pvalloc), free,
 * free_sized, free_aligned_sized, malloc_usable_size, malloc_trim and the
 * statistics calls, over every tier.  A shadow model keeps each live
 * block's size, alignment and fill pattern; each new block is checked for
 * alignment, exact usable size, non-overlap with every live block and (from
 * calloc) zeroing, realloc for preservation, a block's contents before it
 * is changed or freed, the ends of every live block and ward_check_heap()
 * after every step, and ward_live_chunks() against the shadow's count and
 * bytes.  Two steps change how ward runs rather than call it: one makes the
 * next allocation a sampled guard page (sample.c), one arms the failure
 * injection of the harness build (the kernel refusing mmap, mprotect or
 * munmap with ENOMEM): an allocation may then fail, with ENOMEM and only if
 * a refusal happened during the call, and the block it was to replace must
 * be intact.  Any mismatch, and any report from ward (there is no bug in
 * the sequence), is a finding: abort().
 *
 * Step: [op] [slot] then the op's arguments (sizes: fuzz/common.h). */
#include "common.h"

#include <malloc.h>

#define SLOTS 32
#define MAX_TOTAL (48u << 20)
#define MAX_STEPS 400

/* exported by ward's library, not declared in ward.h (glibc's names) */
struct mallinfo2 ward_mallinfo2(void);
struct mallinfo ward_mallinfo(void);
void ward_malloc_stats(void);
int ward_malloc_info(int options, FILE *fp);
int ward_mallopt(int param, int value);

static struct blk s[SLOTS];
static size_t total;
static unsigned long refused; /* ward_testing_os_failures() when the step began */

static void on_report(const struct ward_report *r, void *arg)
{
    (void)arg;
    finding("ward reported a bug in a correct sequence: %s", r->text);
}

static void drop(size_t i, int how)
{
    struct blk *b = &s[i];
    verify(b, "before free");
    total -= b->n;
    if (how == 1)
        ward_free_sized(b->p, b->n);
    else if (how == 2)
        ward_free_aligned_sized(b->p, b->align, b->n);
    else
        ward_free(b->p);
    b->p = NULL;
}

static size_t align_of(struct in *in)
{
    unsigned k = u8(in) & 31;
    if (k <= 20)
        return (size_t)1 << k;
    return k * 24 + 8; /* not a power of two */
}

static int pow2(size_t a) { return a && !(a & (a - 1)); }

/* Records a new block in slot i and checks it. */
static void take(size_t i, void *p, size_t n, size_t align, int zeroed, unsigned char fill, const char *what)
{
    s[i] = (struct blk){p, n, align, 0, 0};
    if (zeroed && !all_zero(s[i].p, n))
        finding("%s: a %zu-byte block is not zero", what, n);
    check_new(s, SLOTS, i, what);
    total += n;
    stamp(&s[i], fill);
}

/* An allocation that failed: only out of memory, for a big request or
 * where the kernel refused a call during the step. */
static void failed(const char *what, size_t n, int err)
{
    if (err == ENOMEM && ward_testing_os_failures() != refused)
        return;
    if (n < (64u << 20) || err != ENOMEM)
        finding("%s(%zu) failed (errno %d)", what, n, err);
}

static void step(struct in *in)
{
    unsigned op = u8(in) % 16;
    size_t i = u8(in) % SLOTS;
    struct blk *b = &s[i];
    if (op <= 8 && b->p) /* allocations go to an empty slot */
        drop(i, 0);
    if (total > MAX_TOTAL && op <= 8)
        op = 9;
    errno = 0;
    refused = ward_testing_os_failures();
    switch (op) {
    case 0: { /* malloc */
        size_t n = size_of(in);
        void *p = ward_malloc(n);
        if (!p)
            failed("malloc", n, errno);
        else
            take(i, p, n, 16, 0, (unsigned char)u8(in), "malloc");
        break;
    }
    case 1: { /* calloc, also an overflowing product */
        unsigned m = u8(in);
        size_t n = size_of(in);
        if (m == 255) {
            if (ward_calloc(SIZE_MAX / 2, 3) || errno != ENOMEM)
                finding("calloc(SIZE_MAX/2, 3) did not fail with ENOMEM");
            break;
        }
        size_t nm = m % 8 + 1, each = n / nm;
        void *p = ward_calloc(nm, each);
        if (!p)
            failed("calloc", nm * each, errno);
        else
            take(i, p, nm * each, 16, 1, (unsigned char)u8(in), "calloc");
        break;
    }
    case 2:   /* realloc: grow, shrink, or of NULL */
    case 14: { /* reallocarray, also an overflowing product */
        size_t n = size_of(in);
        unsigned char *q;
        if (op == 14) {
            unsigned m = u8(in);
            if (m == 255) {
                if (ward_reallocarray(b->p, SIZE_MAX / 2, 3) || errno != ENOMEM)
                    finding("reallocarray(SIZE_MAX/2, 3) did not fail with ENOMEM");
                break;
            }
            size_t nm = m % 4 + 1;
            n /= nm;
            q = ward_reallocarray(b->p, nm, n);
            n *= nm;
        } else {
            q = ward_realloc(b->p, n);
        }
        if (!b->p) {
            if (q)
                take(i, q, n, 16, 0, (unsigned char)u8(in), "realloc(NULL)");
            else if (n)
                failed("realloc", n, errno);
            break;
        }
        if (n == 0) { /* glibc's semantics: freed, NULL */
            if (q)
                finding("realloc(p, 0) returned %p", (void *)q);
            total -= b->n;
            b->p = NULL;
            break;
        }
        if (!q) {
            failed("realloc", n, errno);
            verify(b, "after a failed realloc");
            break;
        }
        size_t keep = n < b->n ? n : b->n;
        size_t bad = pat_bad(q, keep, b->fill);
        if (bad != (size_t)-1)
            finding("realloc(%p, %zu) -> %p lost byte %zu of %zu", (void *)b->p, n, (void *)q, bad, b->n);
        total -= b->n;
        b->p = NULL;
        take(i, q, n, 16, 0, (unsigned char)u8(in), "realloc");
        break;
    }
    case 3: /* realloc to zero */
        if (b->p) {
            verify(b, "before realloc(p, 0)");
            if (ward_realloc(b->p, 0))
                finding("realloc(p, 0) did not return NULL");
            total -= b->n;
            b->p = NULL;
        }
        break;
    case 4: case 5: case 6: { /* posix_memalign, aligned_alloc, memalign */
        size_t a = align_of(in), n = size_of(in);
        void *p = NULL;
        int bad, rc = 0;
        if (op == 4) {
            bad = !pow2(a) || a % sizeof(void *);
            rc = ward_posix_memalign(&p, a, n);
            if (rc)
                p = NULL;
        } else {
            bad = !pow2(a);
            p = op == 5 ? ward_aligned_alloc(a, n) : ward_memalign(a, n);
        }
        if (bad) {
            if (p || (op == 4 ? rc != EINVAL : errno != EINVAL))
                finding("alignment %zu accepted, or refused without EINVAL", a);
            break;
        }
        if (!p)
            failed("aligned allocation", n, op == 4 ? rc : errno);
        else
            take(i, p, n, a, 0, (unsigned char)u8(in), "aligned allocation");
        break;
    }
    case 7: case 8: { /* valloc, pvalloc */
        size_t n = size_of(in);
        void *p = op == 7 ? ward_valloc(n) : ward_pvalloc(n);
        size_t got = op == 7 ? n : (n + F_PAGE - 1) / F_PAGE * F_PAGE;
        if (op == 8 && got == 0)
            got = F_PAGE;
        if (!p)
            failed(op == 7 ? "valloc" : "pvalloc", n, errno);
        else
            take(i, p, got, F_PAGE, 0, (unsigned char)u8(in), op == 7 ? "valloc" : "pvalloc");
        break;
    }
    case 9: case 10: case 11: /* free, free_sized, free_aligned_sized */
        if (b->p)
            drop(i, (int)op - 9);
        break;
    case 12: /* usable size and the whole block */
        if (b->p) {
            verify(b, "usable size step");
            if (ward_malloc_usable_size(b->p) != b->n)
                finding("malloc_usable_size(%p) is not %zu", (void *)b->p, b->n);
        }
        if (ward_malloc_usable_size(NULL) != 0)
            finding("malloc_usable_size(NULL) is not 0");
        ward_free(NULL);
        ward_free_sized(NULL, 0);
        ward_free_aligned_sized(NULL, 64, 0);
        break;
    case 13: { /* malloc_trim, or a burst of short-lived blocks of one size */
        unsigned w = u8(in);
        if (w < 96) {
            ward_malloc_trim(0);
            break;
        }
        if (w < 112) { /* the kernel refuses calls, from the skip-th on */
            unsigned skip = u8(in) % 8;
            ward_testing_fail_os(skip, 1 + u8(in) % 4);
            break;
        }
        if (w < 128) { /* the next malloc or calloc (of up to 4080 bytes) is sampled */
            if (ward_testing_sample_next() != 0)
                finding("the harness build has no sampling pool");
            break;
        }
        size_t n = size_of(in);
        if (n > F_MEDIUM_MAX)
            n %= F_MEDIUM_MAX; /* bursts fill slabs and quarantines, not mappings */
        unsigned char *ring[8] = {0};
        for (unsigned j = 0; j < (w - 127) * 4; j++) {
            unsigned char *p = ward_malloc(n);
            if (!p) {
                failed("burst: malloc", n, errno);
                continue;
            }
            if (n)
                p[0] = p[n - 1] = (unsigned char)j;
            ward_free(ring[j % 8]); /* the block from 8 allocations ago */
            ring[j % 8] = p;
        }
        for (unsigned j = 0; j < 8; j++)
            ward_free(ring[j]);
        break;
    }
    case 15: { /* statistics, and sizes that must fail */
        unsigned w = u8(in) % 6;
        if (w == 0) {
            struct ward_stats st;
            ward_get_stats(&st);
            if (st.requested && st.requested < total)
                finding("stats: %zu bytes requested in live chunks, the shadow holds %zu", st.requested, total);
            size_t bytes = 0, live = ward_live_chunks(&bytes), want = 0;
            for (size_t j = 0; j < SLOTS; j++)
                want += s[j].p != NULL;
            if (live != want || bytes != total)
                finding("ward_live_chunks: %zu chunks of %zu bytes, the shadow holds %zu of %zu", live, bytes, want,
                        total);
        } else if (w == 1) {
            struct mallinfo2 m2 = ward_mallinfo2();
            struct mallinfo m = ward_mallinfo();
            if (m.hblks != (int)m2.hblks)
                finding("mallinfo and mallinfo2 disagree");
        } else if (w == 2) {
            FILE *f = fopen("/dev/null", "w");
            if (f) {
                if (ward_malloc_info(0, f) != 0 || ward_malloc_info(1, f) != -1)
                    finding("malloc_info");
                fclose(f);
            }
            ward_mallopt(M_MMAP_THRESHOLD, 1 << 20);
            ward_mallopt(12345, 1);
        } else if (w == 3) {
            quiet_begin();
            ward_malloc_stats();
            quiet_end();
        } else {
            size_t n = w == 4 ? SIZE_MAX - u8(in) : (size_t)PTRDIFF_MAX + 1 + u8(in);
            if (ward_malloc(n) || errno != ENOMEM)
                finding("malloc(%zu) did not fail with ENOMEM", n);
            if (ward_aligned_alloc(64, n) || errno != ENOMEM)
                finding("aligned_alloc(64, %zu) did not fail with ENOMEM", n);
            if (ward_pvalloc(n))
                finding("pvalloc(%zu) did not fail", n);
            if (b->p) { /* a failed realloc leaves the block as it was */
                errno = 0;
                if (ward_realloc(b->p, n) || errno != ENOMEM)
                    finding("realloc(p, %zu) did not fail with ENOMEM", n);
                verify(b, "after realloc to an impossible size");
            }
        }
        break;
    }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int once;
    if (!once) {
        once = 1;
        fuzz_start(on_report, NULL);
    }
    ward_testing_reset();
    memset(s, 0, sizeof s);
    total = 0;
    struct in in = {data, size};
    for (int n = 0; in.n && n < MAX_STEPS; n++) {
        step(&in);
        for (size_t i = 0; i < SLOTS; i++)
            if (s[i].p)
                verify_edges(&s[i], "after a step");
        ward_check_heap();
    }
    ward_testing_fail_os(0, 0);
    for (size_t i = 0; i < SLOTS; i++)
        if (s[i].p)
            drop(i, (int)(i % 3));
    ward_check_heap();
    return 0;
}
