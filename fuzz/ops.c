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
#include "oracle.h"

#include <malloc.h>
#include <pthread.h>

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
static int armed;             /* the next allocating call may be sampled */
static const char *child_expects; /* in a forked child: the report it must end with */
static int child_any_call;        /* ... from any call, not only at exit */

/* LeakSanitizer (OSS-Fuzz's AddressSanitizer builds) looks for leaks at
 * exit before ward's exit check runs: not in an exit step's child. */
int __lsan_is_turned_off(void);
int __lsan_is_turned_off(void) { return child_expects != NULL; }

static void on_report(const struct ward_report *r, void *arg)
{
    (void)arg;
    if (child_expects) { /* a forked child (exit_step): the bug it committed, reported at exit */
        if (!strcmp(r->kind, child_expects) &&
            (child_any_call || !strcmp(r->call, "exit") || (opt.exit_check_heap && !strcmp(r->call, "ward_check_heap"))))
            _exit(42);
        fprintf(stderr, "FINDING: in the child: %s\n", r->text);
        _exit(43);
    }
    finding("ward reported a bug in a correct sequence: %s", r->text);
}

/* What ward's statistics said after the last call: its quarantines' bytes
 * and its live large mappings.  An allocating call after which the
 * quarantines hold less has drained them (memory ran short: SECURITY.md),
 * ending their promises; one after which one more large mapping lives was
 * served by the large tier (medium falls back to it when an arena is full). */
static size_t q_seen, l_seen;
static void stats_seen(void)
{
    struct ward_stats st;
    ward_get_stats(&st);
    q_seen = st.quarantined;
    l_seen = st.large_count;
}
/* after an allocating call: 1 if it made a large mapping */
static int stats_after_alloc(void)
{
    struct ward_stats st;
    ward_get_stats(&st);
    if (st.quarantined < q_seen)
        oracle_drained();
    int large = st.large_count > l_seen;
    q_seen = st.quarantined;
    l_seen = st.large_count;
    return large;
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
    oracle_free(b->p, b->n, b->tier, b->sampled);
    b->p = NULL;
    stats_seen();
}

static size_t align_of(struct in *in)
{
    unsigned k = u8(in) & 31;
    if (k <= 20)
        return (size_t)1 << k;
    return k * 24 + 8; /* not a power of two */
}

static int pow2(size_t a) { return a && !(a & (a - 1)); }

/* Records a new block in slot i and checks it: `sampled` when it may be a
 * sampled one (maybe_sampled), tier: its tier (-1: as tier_for says). */
static void take_as(size_t i, void *p, size_t n, size_t align, int zeroed, unsigned char fill, const char *what,
                    int sampled, int tier)
{
    int made_large = stats_after_alloc();
    if (tier < 0) {
        tier = tier_for(n, align);
        if (tier == 1 && made_large)
            tier = 2;
    }
    s[i] = (struct blk){p, n, align, 0, (unsigned char)tier, (unsigned char)sampled};
    if (zeroed && !all_zero(s[i].p, n))
        finding("%s: a %zu-byte block is not zero", what, n);
    check_new(s, SLOTS, i, what);
    /* the kernel refused a call during this one: ward gave back what it
     * held (the large quarantine unmapped, the quarantine drained) and
     * tried again, so this block may take a freed one's place at once */
    if (ward_testing_os_failures() != refused) {
        oracle_drained();
        refused = ward_testing_os_failures();
    }
    oracle_alloc(p, n, sampled, what);
    total += n;
    stamp(&s[i], fill);
}
/* from a call that does not sample (aligned ones) */
static void take(size_t i, void *p, size_t n, size_t align, int zeroed, unsigned char fill, const char *what)
{
    take_as(i, p, n, align, zeroed, fill, what, 0, -1);
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

/* ---- edge steps: layouts that aim at ward's edges, exit, fork, threads --- */

#if defined(__SANITIZE_ADDRESS__)
#define FUZZ_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FUZZ_ASAN 1
#endif
#endif
#ifndef FUZZ_ASAN
#define FUZZ_ASAN 0
#endif

/* The sizes where small classes end (a class's slot less its 16-byte
 * header, and one more) and medium meets large, for memalign. */
static const size_t class_edges[] = {
    16, 17, 32, 33, 48, 49, 96, 97, 240, 241, 272, 273, 496, 497, 560, 561, 1008, 1009, 1024, 1025,
    4080, 4096, 65536, F_MEDIUM_MAX - 4096, F_MEDIUM_MAX - 64, F_MEDIUM_MAX - 16, F_MEDIUM_MAX,
};

/* Empties slot j (verifying and freeing what it holds). */
static void vacate(size_t j)
{
    if (s[j].p)
        drop(j, 0);
}

static void *exit_thread(void *arg)
{
    size_t n = (size_t)arg;
    unsigned char *p = ward_malloc(n);
    if (!p)
        return NULL;
    ward_free(p);
    p[n / 2] = 0x5a; /* write after free: the chunk waits in this thread's quarantine */
    return NULL;
}

/* Forks a child that commits a write after free only the exit check can
 * see, and exits; the child must end by ward's report of it at exit. */
static void exit_step(struct in *in, unsigned how)
{
    if (opt.quarantine_bytes <= 0 || opt.exit_check_off || opt.sample)
        return; /* nothing waits in a quarantine; or the block may be sampled (its page faults) */
    size_t n = 16 + (u16(in) % (how == 0 ? 65536 : 1000));
    static const char *const where[] = {"quarantined", "in the thread cache", "an ended thread's quarantine",
                                        "an ended thread's quarantine, then malloc_trim"};
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        return;
    if (pid == 0) {
        child_expects = "write after free";
        ward_testing_quiet(1);
        ward_testing_fail_os(0, 0); /* a refused call would make a small request medium, or drain */
        if (armed) /* the next allocation is to be sampled (its page faults when written after free) */
            ward_free(ward_malloc(1));
        /* a clean slate: nothing of the parent's in the quarantine or the
         * caches, whose chunks leaving later could push ours on to its
         * slab (verified then, before the write), which no exit check sees */
        ward_malloc_trim(0);
        if (how == 0) { /* in this thread's quarantine */
            unsigned char *p = ward_malloc(n);
            if (!p)
                _exit(44);
            ward_free(p);
            p[n - 1] = 0x5a;
        } else if (how == 1) { /* out of the quarantine, in the thread's cache */
            static unsigned char *push[1000];
            unsigned char *p = ward_malloc(n);
            if (!p)
                _exit(44);
            ward_free(p);
            /* another class pushes p out (see fuzz/misuse.c, B_WAF: the
             * quarantine's trades make it certain only after many rings) */
            size_t other = n <= 944 ? 1008 : 496;
            for (int round = 0; round < 48; round++) {
                for (int k = 0; k < 1000; k++)
                    push[k] = ward_malloc(other);
                for (int k = 0; k < 1000; k++)
                    ward_free(push[k]);
            }
            p[0] = 0x5a;
        } else { /* in the quarantine of a thread that has ended */
            pthread_t t;
            if (pthread_create(&t, NULL, exit_thread, (void *)n) || pthread_join(t, NULL))
                _exit(44);
            if (how == 3) { /* malloc_trim drains what ended threads left: it verifies it */
                child_any_call = 1;
                ward_malloc_trim(0);
            }
        }
        /* libFuzzer takes exit() from inside the target for a crash unless
         * the sanitizers' crash state is taken first */
        extern int __sanitizer_acquire_crash_state(void) __attribute__((weak));
        if (__sanitizer_acquire_crash_state)
            __sanitizer_acquire_crash_state();
        exit(0);
    }
    int st;
    pid_t w;
    while ((w = waitpid(pid, &st, 0)) < 0 && errno == EINTR) /* libFuzzer's timer, every second */
        ;
    if (w != pid)
        finding("waitpid");
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 42)
        finding("exit check: a write after free (%s, %zu bytes) left for exit was not reported at exit (status 0x%x)",
                where[how], n, st);
}

/* Two forked children allocate the same blocks: each tier must place them
 * afresh (SECURITY.md: a forked child keys and places what it allocates
 * anew), so the two layouts differ in every tier: 8 small blocks in each
 * of two classes (the thread's cache and the shared caches go back to their
 * slabs in the child, which then takes slots at random), two medium ones
 * (a random offset each), a large one too big for the large cache. */
static void fork_step(void)
{
    enum { NS = 16, NM = 2 };
    uintptr_t got[2][NS + NM + 1];
    fflush(NULL);
    for (int c = 0; c < 2; c++) {
        int fd[2];
        if (pipe(fd))
            return;
        pid_t pid = fork();
        if (pid == 0) {
            ward_testing_fail_os(0, 0); /* the kernel refusing calls would leave blocks NULL, alike */
            if (armed)
                ward_free(ward_malloc(1));
            uintptr_t a[NS + NM + 1];
            for (int k = 0; k < NS; k++) /* 8 of 80-byte slots, 8 of 224 */
                a[k] = (uintptr_t)ward_malloc(k < NS / 2 ? 64 : 200);
            for (int k = 0; k < NM; k++)
                a[NS + k] = (uintptr_t)ward_malloc(20000);
            a[NS + NM] = (uintptr_t)ward_malloc(9u << 20); /* too big for the large cache: mapped anew */
            _exit(write(fd[1], a, sizeof a) == (ssize_t)sizeof a ? 0 : 1);
        }
        close(fd[1]);
        ssize_t r = -1;
        while (pid > 0 && (r = read(fd[0], got[c], sizeof got[c])) < 0 && errno == EINTR)
            ;
        close(fd[0]);
        int st;
        while (pid > 0 && waitpid(pid, &st, 0) < 0 && errno == EINTR)
            ;
        if (r != (ssize_t)sizeof got[c])
            return; /* the child could not allocate (memory refused): nothing to compare */
    }
    for (int k = 0; k < NS + NM + 1; k++)
        if (!got[0][k] || !got[1][k])
            return; /* out of memory in a child: nothing to compare */
    /* 8 slots drawn at random in each child: alike by chance about once
     * in 73^8 (not with sample=N: sampled blocks take the pool's pages in
     * its order, the same in both children, only their side of the page
     * drawn at random) */
    for (int c = 0; c < 2 && !opt.sample; c++)
        if (!memcmp(got[0] + c * NS / 2, got[1] + c * NS / 2, NS / 2 * sizeof(uintptr_t)))
            finding("fork: two children placed %d small blocks of %d bytes at the same addresses", NS / 2,
                    c ? 200 : 64);
    if (!memcmp(got[0] + NS, got[1] + NS, NM * sizeof(uintptr_t)))
        finding("fork: two children placed their medium blocks at the same addresses (%p and %p; their large "
                "blocks at %p and %p)",
                (void *)got[0][NS], (void *)got[0][NS + 1], (void *)got[0][NS + NM], (void *)got[1][NS + NM]);
    /* (not under AddressSanitizer: its shadow takes a quarter of the range
     * ward's random hints fall in, and a hint there leaves the placement
     * to the kernel, alike in both children) */
    if (got[0][NS + NM] == got[1][NS + NM] && (9u << 20) + 2 * F_PAGE > (size_t)opt.large_cache_bytes / 4 &&
        !FUZZ_ASAN)
        finding("fork: two children placed their large block at the same address");
}

struct thread_arg {
    struct blk b; /* a block of the main thread's, freed by the thread (or none) */
    size_t n;
};

static void *ending_thread(void *arg)
{
    struct thread_arg *a = arg;
    if (a->b.p) {
        verify(&a->b, "in another thread");
        ward_free(a->b.p);
    }
    for (int k = 0; k < 4; k++) {
        unsigned char *p = ward_malloc(a->n);
        if (p && a->n)
            memset(p, k, a->n);
        ward_free(p);
    }
    return NULL; /* the thread ends with its quarantine and cache as they are */
}

/* op 3 (realloc to zero) on an empty slot i: one of the edge steps. */
static void edge_step(struct in *in, size_t i)
{
    unsigned w = u8(in) % 10;
    size_t j = (i + 1) % SLOTS, k = (i + 2) % SLOTS, l = (i + 3) % SLOTS;
    switch (w) {
    case 0: case 1: { /* A, B, C in a row; B freed; A grown to what A and B make, +-16 and 32 */
        size_t a = 1040 + 16 * (u8(in) % 64), bn = 1040 + 16 * (u8(in) % 64);
        long delta = 16 * ((long)(u8(in) % 5) - 2);
        vacate(j), vacate(k);
        unsigned char *pa = ward_malloc(a), *pb = ward_malloc(bn), *pc = ward_malloc(a);
        if (!pa || !pb || !pc) {
            ward_free(pa), ward_free(pb), ward_free(pc);
            break;
        }
        take(i, pa, a, 16, 0, (unsigned char)u8(in), "edge: A");
        take(k, pc, a, 16, 0, (unsigned char)u8(in), "edge: C");
        oracle_alloc(pb, bn, 0, "edge: B");
        ward_free(pb);
        oracle_free(pb, bn, 1, 0);
        size_t to = (size_t)((long)(a + bn + 16) + delta);
        verify(&s[i], "before realloc");
        unsigned char *q = ward_realloc(pa, to);
        if (!q) {
            failed("edge: realloc", to, errno);
            break;
        }
        if (pat_bad(q, a, s[i].fill) != (size_t)-1)
            finding("edge: realloc(%p, %zu) -> %p lost the contents", (void *)pa, to, (void *)q);
        total -= a;
        s[i].p = NULL;
        if (q == pa)
            take_as(i, q, to, 16, 0, (unsigned char)u8(in), "edge: realloc in place", 0, 1);
        else {
            take(i, q, to, 16, 0, (unsigned char)u8(in), "edge: realloc");
            oracle_free(pa, a, 1, 0);
        }
        verify(&s[k], "edge: C after A grew"); /* the neighbour after the one absorbed */
        break;
    }
    case 2: { /* X Y Z W in a row; X and Z freed, then Y: it merges on both sides */
        size_t n[4];
        unsigned char *p[4];
        size_t at[4] = {i, j, k, l};
        for (int m = 0; m < 4; m++) {
            vacate(at[m]);
            n[m] = 1040 + 16 * (u8(in) % 256);
        }
        for (int m = 0; m < 4; m++) {
            p[m] = ward_malloc(n[m]);
            if (!p[m]) {
                failed("edge: malloc", n[m], errno);
                return;
            }
            take(at[m], p[m], n[m], 16, 0, (unsigned char)(m * 40 + 1), "edge: row");
        }
        drop(i, 0), drop(k, 0), drop(j, 0);
        /* three chunks less one header: what the merged chunk holds; or 16 more, 16 less */
        size_t all = n[0] + n[1] + n[2] + 32 + 16 * (u8(in) % 3) - 16;
        unsigned char *q = ward_malloc(all);
        if (!q)
            failed("edge: malloc", all, errno);
        else
            take(i, q, all, 16, 0, (unsigned char)u8(in), "edge: after merging");
        break;
    }
    case 3: { /* memalign at every alignment against the class edges */
        size_t n = class_edges[u8(in) % (sizeof class_edges / sizeof class_edges[0])];
        unsigned first = u8(in) % 9;
        for (unsigned e = first; e < 9 && e < first + 3; e++) {
            size_t a = (size_t)16 << e, at = (i + e - first) % SLOTS;
            vacate(at);
            void *p = ward_memalign(a, n);
            int smp = a <= 16 ? maybe_sampled(n, &armed) : 0;
            if (!p)
                failed("edge: memalign", n, errno);
            else
                take_as(at, p, n, a, 0, (unsigned char)u8(in), "edge: memalign", smp, -1);
        }
        break;
    }
    case 4: case 5: case 6:
        exit_step(in, w - 4);
        break;
    case 7:
        fork_step();
        break;
    case 9:
        exit_step(in, 3);
        break;
    default: { /* a thread frees a block of this one's, allocates and frees, and ends */
        struct thread_arg ta = {s[j], size_of(in)};
        if (ta.n > F_MEDIUM_MAX)
            ta.n %= F_MEDIUM_MAX;
        pthread_t t;
        if (pthread_create(&t, NULL, ending_thread, &ta) == 0) {
            if (s[j].p) { /* the thread frees it: its quarantine, not this one's */
                total -= s[j].n;
                s[j].p = NULL;
            }
            pthread_join(t, NULL);
        }
        break;
    }
    }
}

static void step(struct in *in)
{
    unsigned op = u8(in) % 16;
    size_t i = u8(in) % SLOTS;
    struct blk *b = &s[i];
    /* allocations go to an empty slot (realloc, op 2, and realloc to zero or
     * an edge step, op 3, take the slot as it is: before, they found it
     * emptied too, so realloc never resized a live block here) */
    if (op <= 8 && op != 2 && op != 3 && b->p)
        drop(i, 0);
    if (total > MAX_TOTAL && op <= 8)
        op = 9;
    errno = 0;
    refused = ward_testing_os_failures();
    stats_seen();
    switch (op) {
    case 0: { /* malloc */
        size_t n = size_of(in);
        void *p = ward_malloc(n);
        int smp = maybe_sampled(n, &armed);
        if (!p)
            failed("malloc", n, errno);
        else
            take_as(i, p, n, 16, 0, (unsigned char)u8(in), "malloc", smp, -1);
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
        int smp = maybe_sampled(nm * each, &armed);
        if (!p)
            failed("calloc", nm * each, errno);
        else
            take_as(i, p, nm * each, 16, 1, (unsigned char)u8(in), "calloc", smp, -1);
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
            int smp = maybe_sampled(n, &armed);
            if (q)
                take_as(i, q, n, 16, 0, (unsigned char)u8(in), "realloc(NULL)", smp, -1);
            else if (n)
                failed("realloc", n, errno);
            break;
        }
        if (n == 0) { /* glibc's semantics: freed, NULL */
            if (q)
                finding("realloc(p, 0) returned %p", (void *)q);
            total -= b->n;
            oracle_free(b->p, b->n, b->tier, b->sampled);
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
        struct blk old = *b;
        b->p = NULL;
        if (q == old.p) { /* in place: same tier, and nothing freed */
            take_as(i, q, n, old.align, 0, (unsigned char)u8(in), "realloc in place", old.sampled, old.tier);
            s[i].align = 16;
        } else {
            take_as(i, q, n, 16, 0, (unsigned char)u8(in), "realloc", maybe_sampled(n, &armed), -1);
            oracle_free(old.p, old.n, old.tier, old.sampled);
        }
        break;
    }
    case 3: /* realloc to zero */
        if (b->p) {
            verify(b, "before realloc(p, 0)");
            if (ward_realloc(b->p, 0))
                finding("realloc(p, 0) did not return NULL");
            total -= b->n;
            oracle_free(b->p, b->n, b->tier, b->sampled);
            b->p = NULL;
        } else {
            edge_step(in, i);
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
        int smp = a <= 16 ? maybe_sampled(n, &armed) : 0; /* an alignment of 16 or less is malloc's */
        if (!p)
            failed("aligned allocation", n, op == 4 ? rc : errno);
        else
            take_as(i, p, n, a, 0, (unsigned char)u8(in), "aligned allocation", smp, -1);
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
            oracle_drained();
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
            armed = 1;
            break;
        }
        size_t n = size_of(in);
        if (n > F_MEDIUM_MAX)
            n %= F_MEDIUM_MAX; /* bursts fill slabs and quarantines, not mappings */
        unsigned char *ring[8] = {0};
        unsigned char rs[8] = {0}, rt[8] = {0};
        for (unsigned j = 0; j < (w - 127) * 4; j++) {
            unsigned char *p = ward_malloc(n);
            int smp = maybe_sampled(n, &armed);
            if (!p) {
                failed("burst: malloc", n, errno);
                continue;
            }
            unsigned char t = tier_for(n, 16);
            if (stats_after_alloc() && t == 1)
                t = 2;
            oracle_alloc(p, n, smp, "burst: malloc");
            if (n)
                p[0] = p[n - 1] = (unsigned char)j;
            ward_free(ring[j % 8]); /* the block from 8 allocations ago */
            if (ring[j % 8])
                oracle_free(ring[j % 8], n, rt[j % 8], rs[j % 8]);
            stats_seen();
            ring[j % 8] = p;
            rs[j % 8] = (unsigned char)smp;
            rt[j % 8] = t;
        }
        for (unsigned j = 0; j < 8; j++) {
            ward_free(ring[j]);
            if (ring[j])
                oracle_free(ring[j], n, rt[j], rs[j]);
        }
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
        oracle_options();
    }
    ward_testing_reset();
    memset(s, 0, sizeof s);
    total = 0;
    armed = 0;
    oracle_reset();
    struct in in = {data, size};
    for (int n = 0; in.n && n < MAX_STEPS; n++) {
        step(&in);
        if (ward_testing_os_failures() != refused)
            oracle_drained(); /* ward drained its quarantines to find memory */
        /* the whole heap: every live block's contents every 8 steps (and
         * every block up to 4 KiB after every step), its ends after every
         * step: damage to a neighbour is seen where it happens */
        for (size_t i = 0; i < SLOTS; i++)
            if (s[i].p) {
                if (n % 8 == 7 || s[i].n <= F_PAGE)
                    verify(&s[i], "whole-heap check");
                else
                    verify_edges(&s[i], "after a step");
            }
        ward_check_heap();
    }
    ward_testing_fail_os(0, 0);
    for (size_t i = 0; i < SLOTS; i++)
        if (s[i].p)
            drop(i, (int)(i % 3));
    ward_check_heap();
    return 0;
}
