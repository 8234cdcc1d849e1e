/* Misuse tests: every bug class in every tier where it applies.  Each case
 * runs in a child process (this program re-executed with the case's name,
 * under LD_PRELOAD=build/libward.so); the parent asserts the first line of
 * the child's stderr and how the child ended.  The cases are one table
 * (struct tcase, after the bugs), one row each.
 *
 *   misuse_runner            run every case (the library is found next to
 *                            this binary: ../libward.so)
 *   misuse_runner CASE       commit one bug (what the children do)
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ward.h"

/* Calls through volatile pointers: the compiler must not see (and warn
 * about, or remove) the bugs we commit on purpose. */
static void *(*volatile xmalloc)(size_t) = malloc;
static void (*volatile xfree)(void *) = free;
static void *(*volatile xrealloc)(void *, size_t) = realloc;
static size_t (*volatile xusable)(void *) = malloc_usable_size;
static void *(*volatile xmemalign)(size_t, size_t) = memalign;

static char *hide(void *p)
{
    __asm__ volatile("" : "+r"(p));
    return p;
}

#define SMALL 24
#define SMALL_FULL 32     /* no slack after the request: the next header is right there */
#define MEDIUM 3000
#define MEDIUM_BIG 100000 /* zeroed and verified only at its ends (poison=partial) */
#define MEDIUM_HUGE 300000 /* past the quarantine's largest chunk */
#define LARGE (1000000 + 5)
#define LARGE_PAGE (1 << 20) /* ends exactly at the guard page */

static char global_buf[256] __attribute__((aligned(16)));

static void churn(size_t n, int count)
{
    for (int i = 0; i < count; i++) {
        char *q = xmalloc(n + (size_t)(i % 3) * 8);
        q[0] = 1;
        xfree(q);
    }
}

static void churn_all(int count)
{
    static const size_t sizes[] = {8, 24, 40, 100, 500, 1000, 2000, 9000, 40000};
    for (int i = 0; i < count; i++) {
        char *q = xmalloc(sizes[i % 9]);
        q[0] = 1;
        xfree(q);
    }
}

/* ---- the bugs ---------------------------------------------------------- */

/* Each bug takes the two numbers of its row in the table: a size n and one
 * more (an offset, a length, a position before the block); a bug that needs
 * fewer ignores the rest. */
#define UNUSED __attribute__((unused))

/* What the misuse fuzz harness found (fuzz/known/): an overflow that zeroes
 * the next header's check word (it must not read as "busy"), and 16 zero
 * bytes over a never-used neighbour's header in the same slab. */
static void busy_header(size_t n, long arg UNUSED)
{
    char *p = xmalloc(n), *q = xmalloc(n);
    memset(hide(p) + n, 'A', 8);
    memset(hide(p) + n + 8, 0, 8);
    xfree(p);
    (void)q;
}
/* Two zero bytes over a never-used neighbour's primed header zero its meta
 * (state and size) but not its check word: not a never-used header. */
static void meta_zeroed_check_heap(size_t n UNUSED, long arg UNUSED)
{
    char *p = xmalloc(1008);
    memset(hide(p) + 1008, 0, 2);
    int (*check)(void) = (int (*)(void))dlsym(RTLD_DEFAULT, "ward_check_heap");
    if (check)
        check();
}
static void zero_header(size_t n UNUSED, long arg UNUSED)
{
    char *p = xmalloc(16);
    memset(hide(p) + 16, 0, 16);
    xfree(p);
}

/* The report callback sees the report (its text is the first line) before
 * the process ends. */
static void on_report(const struct ward_report *r, void *arg)
{
    char line[512];
    int n = snprintf(line, sizeof line, "callback(%s): %s in %s(%p) %s %zu [%s]\n", (const char *)arg, r->kind, r->call,
                     r->ptr, r->tier, r->chunk_size, r->text);
    if (write(2, line, (size_t)n) < 0)
        _exit(3);
}

/* on_error=continue: each misuse is reported, the bad call does nothing,
 * the heap stays sound, and the exit status still says so. */
static void continue_all(size_t n UNUSED, long arg UNUSED)
{
    char *p = xmalloc(SMALL);
    xfree(p);
    xfree(p); /* double free */
    char local[32];
    xfree(hide(local)); /* invalid free */
    char *m = xmalloc(MEDIUM);
    memset(hide(m), 'A', MEDIUM + 8);
    xfree(m); /* overflow, found at free: the chunk is leaked */
    char *l = xmalloc(LARGE);
    xfree(l);
    errno = 0;
    if (xrealloc(l, 10) != NULL || errno != EINVAL) /* use after free */
        _exit(5);
    churn_all(5000); /* the heap still works (the overflowed chunk stays out of it) */
    fprintf(stderr, "continue: survived\n");
}

/* on_error=continue with C++ deletes that do not match the allocation: both
 * reported, both blocks left alone (leaked), the run goes on. */
static void continue_delete(size_t n UNUSED, long arg UNUSED)
{
    void (*sized_delete)(void *, size_t) = (void (*)(void *, size_t))dlsym(RTLD_DEFAULT, "_ZdlPvm");
    void (*aligned_delete)(void *, size_t) =
        (void (*)(void *, size_t))dlsym(RTLD_DEFAULT, "_ZdlPvSt11align_val_t");
    if (!sized_delete || !aligned_delete)
        _exit(4);
    char *p = xmalloc(SMALL);
    sized_delete(p, SMALL + 8); /* sized delete mismatch */
    char *q;
    do /* a block that is 16-aligned but not 256-aligned */
        q = xmalloc(MEDIUM);
    while (((uintptr_t)q & 255) == 0);
    aligned_delete(q, 256); /* aligned delete mismatch */
    churn_all(5000);
    memset(p, 1, SMALL); /* both blocks are still the program's */
    memset(q, 1, MEDIUM);
    xfree(p);
    xfree(q);
    fprintf(stderr, "continue: survived\n");
}

static void callback_double_free(size_t n UNUSED, long arg UNUSED)
{
    void (*set)(void (*)(const struct ward_report *, void *), void *) =
        (void (*)(void (*)(const struct ward_report *, void *), void *))dlsym(RTLD_DEFAULT,
                                                                             "ward_set_report_callback");
    if (!set)
        _exit(4);
    set(on_report, "arg-ok");
    char *p = xmalloc(SMALL);
    xfree(p);
    xfree(p);
}

static void double_free(size_t n, long arg UNUSED) { char *p = xmalloc(n); xfree(p); xfree(p); }
static void double_free_delayed(size_t n, long arg UNUSED) { char *p = xmalloc(n); xfree(p); churn(n, 20000); churn_all(20000); xfree(p); }
static void double_free_calloc(size_t n, long arg UNUSED) { char *p = calloc(1, n); xfree(p); xfree(p); }
static void double_free_aligned(size_t n, long arg UNUSED) { char *p = xmemalign(256, n); xfree(p); xfree(p); }
static void overflow(size_t n, long by) { char *p = xmalloc(n); memset(hide(p), 'A', n + (size_t)by); xfree(p); }
static void overflow_nul(size_t n, long arg UNUSED) { char *p = xmalloc(n); hide(p)[n] = 0; xfree(p); }
static void overflow_realloc(size_t n, long arg UNUSED) { char *p = xmalloc(n); hide(p)[n] = 'x'; p = xrealloc(p, n * 2); xfree(p); }
static void underflow(size_t n, long at) { char *p = xmalloc(n); hide(p)[at] ^= 0x41; xfree(p); }
static void size_grow(size_t n, long arg UNUSED)
{
    /* a bigger size written into the header, the rest left alone */
    char *p = xmalloc(n);
    uint32_t *size16 = (uint32_t *)(void *)(hide(p) - 16);
    *size16 += 64;
    xfree(p);
}
static void size_grow_realloc(size_t n, long arg UNUSED)
{
    char *p = xmalloc(n);
    uint32_t *size16 = (uint32_t *)(void *)(hide(p) - 16);
    *size16 *= 4;
    p = xrealloc(p, n + 1);
    xfree(p);
}
static void header_copy(size_t n, long arg UNUSED)
{
    /* a valid header copied from another chunk of the same size */
    char *a = xmalloc(n), *b = xmalloc(n);
    memcpy(hide(b) - 16, hide(a) - 16, 16);
    xfree(b);
}
/* A live chunk's header and canary, recorded and written back once the
 * chunk is freed: the header verifies (it is the chunk's own, at its own
 * address), but the chunk is not live.  The second free must be reported,
 * not let through to hand the chunk out twice. */
static void replay_header(size_t n, long arg UNUSED)
{
    char *p = xmalloc(n);
    unsigned char rec[16 + 1024 + 64];
    size_t len = 16 + n + 64;
    memcpy(rec, hide(p) - 16, len);
    xfree(p);
    memcpy(hide(p) - 16, rec, len);
    xfree(p);
}
/* A 64 KiB chunk's header, recorded, written back at the same address once
 * the chunk was freed and split: the first piece's header now claims the
 * pieces after it.  Its free must be reported (it would otherwise put a
 * 64 KiB free chunk over the live second piece). */
static void replay_split(size_t n UNUSED, long arg UNUSED)
{
    char *big = xmalloc(65536), *after = xmalloc(4000); /* a chunk still starts at big's end */
    unsigned char rec[16];
    memcpy(rec, hide(big) - 16, 16);
    xfree(big);
    char *a = xmalloc(20000), *b = xmalloc(20000);
    if (a != big || b < a || b >= big + 65536) {
        fprintf(stderr, "replay_split: setup: the freed chunk was not split at its start (%p %p %p)\n",
                (void *)big, (void *)a, (void *)b);
        return;
    }
    memcpy(hide(a) - 16, rec, 16);
    xfree(a);
    (void)after;
}
/* A header's check word read while its owner rewrites it is the busy mark.
 * An attacker who can read heap memory samples one chunk's check word
 * while another thread frees and reallocates it, and guesses, for each
 * value seen, the secret a busy mark linear in one secret would give; a
 * forged busy mark over the next chunk's header then hides an overflow
 * into it (free waits for the "busy" neighbour and lets it be).  Each
 * guess runs in a forked child (same secrets); each must be reported. */
static char *volatile churn_slot;
static volatile int churn_stop;
static void *churn_one(void *arg UNUSED)
{
    char *p = xmalloc(SMALL_FULL);
    churn_slot = p;
    while (!churn_stop) {
        xfree(p);
        p = xmalloc(SMALL_FULL);
    }
    xfree(p);
    return NULL;
}
/* Two live SMALL_FULL chunks out of a run of 256, *x in the slot right
 * after *w; false when the run has no such pair. */
static bool adjacent_live(char **w, char **x)
{
    char *live[256];
    for (int i = 0; i < 256; i++)
        live[i] = xmalloc(SMALL_FULL);
    for (int i = 0; i < 256; i++)
        for (int j = 0; j < 256; j++)
            if (live[j] == live[i] + 48) {
                *w = live[i], *x = live[j];
                return true;
            }
    return false;
}
/* In a forked child, a SMALL_FULL chunk w overflows into the next slot's
 * header with {meta, check} and is freed: true when the child lived (the
 * overflow went unreported). */
static bool overflow_hidden(char *w, uint64_t meta, uint64_t check)
{
    pid_t pid = fork();
    if (pid == 0) {
        uint64_t forged[2] = {meta, check};
        memcpy(hide(w) + 32, forged, 16); /* a 32-byte request fills its slot */
        xfree(w);
        _exit(0);
    }
    int st;
    waitpid(pid, &st, 0);
    return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}
static void busy_forgery(size_t n UNUSED, long arg UNUSED)
{
    /* w: a live chunk whose next slot is live too */
    char *w = NULL, *x;
    if (!adjacent_live(&w, &x))
        w = NULL;
    pthread_t t;
    pthread_create(&t, NULL, churn_one, NULL);
    while (!churn_slot)
        ;
    uintptr_t at = (uintptr_t)churn_slot - 16;
    time_t t0 = time(NULL);
    volatile uint64_t *check = (volatile uint64_t *)(at + 8);
    uint64_t seen[16];
    int nseen = 0;
    /* until the three check words of its cycle (live, free, busy) were
     * seen, or ten seconds passed */
    for (long i = 0; nseen < 3 && i < (1L << 36); i++) {
        if ((i & 0xffffff) == 0xffffff && time(NULL) - t0 > 10)
            break;
        uint64_t v = *check;
        int j = 0;
        while (j < nseen && seen[j] != v)
            j++;
        if (j == nseen)
            seen[nseen++] = v;
    }
    churn_stop = 1;
    pthread_join(t, NULL);
    if (!w || nseen < 3) {
        fprintf(stderr, "busy_forgery: setup: %s\n", w ? "no transition seen" : "no adjacent live chunks");
        return;
    }
    uintptr_t next = (uintptr_t)w + 32; /* the next slot's header */
    for (int j = 0; j < nseen; j++) {
        uint64_t key = seen[j] ^ ((uint64_t)at * 0x9e3779b97f4a7c15ull);
        if (overflow_hidden(w, 0, ((uint64_t)next * 0x9e3779b97f4a7c15ull) ^ key)) {
            fprintf(stderr, "busy_forgery: guess %d of %d hid an overflow\n", j, nseen);
            return;
        }
    }
    abort(); /* every guess was reported (by the children, above) */
}
/* The busy mark itself, read at one address while its chunk is rewritten,
 * and written back there later by an overflow from the chunk before: a
 * header that stays busy while no call is rewriting it.  Each value seen
 * is tried in a forked child; each must be reported. */
static volatile uint64_t *spy_at;
static volatile int spy_n, spy_stop;
static uint64_t spy_seen[16];
static void *spy(void *arg UNUSED)
{
    while (!spy_stop && spy_n < 3) {
        uint64_t v = *spy_at;
        int j = 0;
        while (j < spy_n && spy_seen[j] != v)
            j++;
        if (j == spy_n)
            spy_seen[spy_n++] = v;
    }
    return NULL;
}
static void busy_replay(size_t n UNUSED, long arg UNUSED)
{
    /* w and x: two live chunks, x in the slot right after w */
    char *w, *x;
    if (!adjacent_live(&w, &x)) {
        fprintf(stderr, "busy_replay: setup: no adjacent live chunks\n");
        return;
    }
    /* x freed and taken again (the same slot: no quarantine, the cache is
     * last in, first out) while another thread reads its check word */
    spy_at = (volatile uint64_t *)(x - 8);
    pthread_t t;
    pthread_create(&t, NULL, spy, NULL);
    time_t t0 = time(NULL);
    for (long i = 0; spy_n < 3; i++) {
        xfree(x);
        char *again = xmalloc(SMALL_FULL);
        if (again != x) {
            fprintf(stderr, "busy_replay: setup: the slot did not come back (%ld: %p, %p)\n", i, (void *)x, (void *)again);
            spy_stop = 1;
            pthread_join(t, NULL);
            return;
        }
        if ((i & 0xffff) == 0xffff && time(NULL) - t0 > 10)
            break;
    }
    spy_stop = 1;
    pthread_join(t, NULL);
    if (spy_n < 3) {
        fprintf(stderr, "busy_replay: setup: no transition seen\n");
        return;
    }
    uint64_t meta = *(volatile uint64_t *)(x - 16), now = *spy_at;
    for (int j = 0; j < spy_n; j++) {
        if (spy_seen[j] == now)
            continue; /* the header as it is: writing it back changes nothing */
        if (overflow_hidden(w, meta, spy_seen[j])) {
            fprintf(stderr, "busy_replay: value %d of %d hid an overflow\n", j, spy_n);
            return;
        }
    }
    abort(); /* every value was reported (by the children, above) */
}
/* malloc(0) and calloc(0, n): a unique pointer that faults on any access
 * (arg: the byte offset touched; n: 1 to free it first, 2 for calloc) */
static void zero_access(size_t n, long off)
{
    char *p = n == 2 ? calloc(0, 8) : xmalloc(0);
    if (n == 1)
        xfree(p);
    hide(p)[off] = 1;
}
static void zero_read(size_t n UNUSED, long off)
{
    volatile char *p = xmalloc(0);
    printf("%d\n", hide((void *)p)[off]);
}
/* every malloc(0) address live (4,194,304 of them): the next malloc(0) is
 * a small chunk of 0 bytes instead, whose canary a write changes */
static void zero_full_write(size_t n UNUSED, long arg UNUSED)
{
    for (long i = 0; i < (1L << 22); i++)
        (void)hide(xmalloc(0));
    char *p = xmalloc(0);
    hide(p)[0] = 'X';
    xfree(p);
}
static void write_after_free(size_t n, long off)
{
    char *p = xmalloc(n);
    xfree(p);
    hide(p)[off] = 'X';
    for (int i = 0; i < 200000; i++) { /* reuse until the chunk comes back */
        char *q = xmalloc(n);
        xfree(q);
    }
    churn_all(20000);
}
static void write_after_free_exit(size_t n, long arg UNUSED)
{
    /* the bug right before the end: the chunk is still in quarantine */
    char *p = xmalloc(n);
    xfree(p);
    hide(p)[n / 3] = 'X';
}
static void write_after_free_exit_cached(size_t n, long arg UNUSED)
{
    /* the bug while the chunk is in quarantine; frees of another size then
     * push it out into the thread's cache, where it waits unverified until
     * it is reused: the exit check still finds it */
    char *p = xmalloc(n);
    xfree(p);
    hide(p)[n / 3] = 'X';
    for (int i = 0; i < 10000; i++)
        xfree(xmalloc(200));
}
/* frees of another size that push every small chunk out of the quarantine
 * (1000-byte chunks: a thousand of them fill it) */
static void push_out_of_quarantine(void)
{
    for (int i = 0; i < 20000; i++)
        xfree(xmalloc(1000));
}
static void write_after_free_drained(size_t n, long arg UNUSED)
{
    /* the same chunk, but its class's cache then overflows while the
     * class's shared cache is full: the chunk goes back to its slab (whose
     * pages could go back to the OS), verified first */
    static char *fill[1000];
    char *keep[64];
    for (int i = 0; i < 1000; i++)
        fill[i] = xmalloc(n);
    for (int i = 0; i < 64; i++)
        keep[i] = xmalloc(n);
    char *p = xmalloc(n);
    for (int i = 0; i < 1000; i++)
        xfree(fill[i]);
    push_out_of_quarantine(); /* the shared cache fills up */
    xfree(p);
    hide(p)[n / 3] = 'X';
    push_out_of_quarantine();
    for (int i = 0; i < 64; i++)
        xfree(keep[i]);
    push_out_of_quarantine();
}
/* The chunk, out of the quarantine, waits in the thread's cache; freed
 * chunks of its class then overflow that cache and it passes, with the
 * oldest, to the class's shared cache, unverified. */
static char *waf_to_shared(size_t n)
{
    char *keep[64];
    for (int i = 0; i < 64; i++)
        keep[i] = xmalloc(n);
    char *p = xmalloc(n);
    xfree(p);
    hide(p)[n / 3] = 'X';
    push_out_of_quarantine();
    for (int i = 0; i < 64; i++)
        xfree(keep[i]);
    push_out_of_quarantine();
    return p;
}
/* a malloc of its class takes it from there, verified */
static void write_after_free_shared(size_t n, long arg UNUSED)
{
    waf_to_shared(n);
    for (int i = 0; i < 200; i++)
        (void)xmalloc(n);
}
/* nothing takes it: the exit check finds it */
static void write_after_free_shared_exit(size_t n, long arg UNUSED) { waf_to_shared(n); }
/* malloc_trim gives it back to its slab, verified */
static void write_after_free_shared_trim(size_t n, long arg UNUSED)
{
    waf_to_shared(n);
    malloc_trim(0);
}
static void overflow_no_free(size_t n, long arg UNUSED) { char *p = xmalloc(n); memset(hide(p), 'A', n + 1); }
static void write_after_free_check(size_t n, long arg UNUSED)
{
    char *p = xmalloc(n);
    xfree(p);
    hide(p)[n / 2] = 'X';
    int (*check)(void) = (int (*)(void))dlsym(RTLD_DEFAULT, "ward_check_heap");
    check();
}
/* A freed medium block out of the quarantine (quarantine_bytes=0: at
 * once), written, then its pages given back: by malloc_trim (arg 0), or by
 * the purge a free makes purge_after (1 s) later (arg 1: four 512 KiB
 * blocks written and freed, so the arena holds more than the 1 MiB it
 * keeps; the bug is in the last, the trigger is cut from the first). */
static void write_after_free_purged(size_t n, long arg)
{
    char *p[4];
    int k = arg ? 4 : 1;
    for (int i = 0; i < k; i++)
        memset(p[i] = xmalloc(n), 7, n);
    for (int i = 0; i < k; i++)
        xfree(p[i]);
    hide(p[k - 1])[n / 2] = 'X';
    if (!arg) {
        malloc_trim(0);
        return;
    }
    usleep(1100 * 1000);
    xfree(xmalloc(8192));
}
static void link_poison(size_t n, long arg UNUSED)
{
    /* free-list poisoning: plant an address in a freed chunk's link words */
    char *keep = xmalloc(n);
    char *p = xmalloc(n);
    char *guard = xmalloc(n);
    xfree(p);
    uintptr_t target = (uintptr_t)global_buf;
    memcpy(hide(p), &target, sizeof target);
    memcpy(hide(p) + 8, &target, sizeof target);
    for (int i = 0; i < 200000; i++) { /* until the chunk leaves quarantine */
        char *q = xmalloc(n);
        if (q <= global_buf + sizeof global_buf && q + n > global_buf) {
            fprintf(stderr, "FAIL: malloc returned the planted address\n");
            _exit(3);
        }
        xfree(q);
    }
    (void)keep, (void)guard;
}
static void fake_chunk(size_t n, long arg UNUSED)
{
    /* a header copied into the caller's own buffer, then freed */
    char *real = xmalloc(n);
    char *buf = xmalloc(4096);
    memcpy(hide(buf) + 64, hide(real) - 16, 16);
    xfree(buf + 80);
}
static void fake_chunk_global(size_t n UNUSED, long arg UNUSED)
{
    char *real = xmalloc(SMALL);
    memcpy(global_buf, hide(real) - 16, 16);
    xfree(global_buf + 16);
}
static void invalid_stack(size_t n UNUSED, long arg UNUSED) { char buf[64] __attribute__((aligned(16))); xfree(hide(buf) + 16); }
static void invalid_global(size_t n UNUSED, long arg UNUSED) { xfree(hide(global_buf) + 32); }
static void invalid_mmap(size_t n UNUSED, long arg UNUSED)
{
    char *m = mmap(NULL, 65536, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    xfree(m + 64);
}
static void invalid_interior(size_t n, long off) { char *p = xmalloc(n); xfree(hide(p) + off); }
static void invalid_unused_slot(size_t n UNUSED, long arg UNUSED)
{
    /* a slot-aligned pointer far into the class's slab, never handed out */
    char *p = xmalloc(SMALL);
    xfree(hide(p) + 48 * 700);
}
static void invalid_unaligned(size_t n, long arg UNUSED) { char *p = xmalloc(n); xfree(hide(p) + 1); }
static void realloc_freed(size_t n, long arg UNUSED) { char *p = xmalloc(n); xfree(p); p = xrealloc(p, n + 100); xfree(p); }
static void realloc_invalid(size_t n UNUSED, long arg UNUSED) { char buf[64] __attribute__((aligned(16))); xrealloc(hide(buf), 100); }
static void usable_freed(size_t n, long arg UNUSED) { char *p = xmalloc(n); xfree(p); printf("%zu\n", xusable(p)); }
static void usable_invalid(size_t n UNUSED, long arg UNUSED) { printf("%zu\n", xusable(hide(global_buf) + 16)); }
static void sized_mismatch(size_t n, long arg UNUSED)
{
    void (*fs)(void *, size_t) = (void (*)(void *, size_t))dlsym(RTLD_DEFAULT, "free_sized");
    char *p = xmalloc(n);
    fs(p, n + 1);
}
static void large_uaf(size_t n UNUSED, long arg UNUSED) { char *p = xmalloc(LARGE); xfree(p); hide(p)[100] = 1; }
static void large_guard_after(size_t n UNUSED, long arg UNUSED) { char *p = xmalloc(LARGE_PAGE); hide(p)[LARGE_PAGE] = 1; }
static void large_guard_before(size_t n UNUSED, long arg UNUSED) { char *p = xmalloc(LARGE_PAGE); hide(p)[-1] = 1; }
/* A thread that exits leaves its quarantine and cache to the next thread
 * that starts (a few are kept; past that, and at malloc_trim, they are
 * drained).  The bug in such a thread's quarantine is found wherever the
 * chunk goes next. */
static void *waf_in_thread(void *arg)
{
    size_t n = (size_t)(uintptr_t)arg;
    char *p = xmalloc(n);
    xfree(p);
    hide(p)[n / 3] = 'X';
    return NULL;
}
static void run_thread(void *(*fn)(void *), size_t n)
{
    pthread_t t;
    if (pthread_create(&t, NULL, fn, (void *)(uintptr_t)n) == 0)
        pthread_join(t, NULL);
}
/* no thread takes the cache over: the exit check finds it */
static void waf_thread_exit(size_t n, long arg UNUSED) { run_thread(waf_in_thread, n); }
/* malloc_trim drains the exited thread's quarantine */
static void waf_thread_trim(size_t n, long arg UNUSED)
{
    run_thread(waf_in_thread, n);
    malloc_trim(0);
}
/* the next thread takes the cache over: its frees push the chunk out of
 * the quarantine; a small chunk then waits in the cache, on top of its
 * class, and is verified when that thread's malloc takes it */
static void *push_out(void *arg)
{
    size_t n = (size_t)(uintptr_t)arg;
    for (int i = 0; i < 10000; i++)
        xfree(xmalloc(200));
    if (n <= 1024)
        xfree(xmalloc(n));
    return NULL;
}
static void waf_thread_handoff(size_t n, long arg UNUSED)
{
    run_thread(waf_in_thread, n);
    run_thread(push_out, n);
}
/* more threads exit at once than the pool keeps stocked: the last ones to
 * exit drain their own, verified then */
#define WAF_THREADS 8
static pthread_barrier_t waf_barrier;
static void *waf_in_thread_wait(void *arg)
{
    waf_in_thread(arg);
    pthread_barrier_wait(&waf_barrier);
    return NULL;
}
static void waf_threads_exit(size_t n, long arg UNUSED)
{
    pthread_t t[WAF_THREADS];
    pthread_barrier_init(&waf_barrier, NULL, WAF_THREADS);
    for (int i = 0; i < WAF_THREADS; i++)
        pthread_create(&t[i], NULL, waf_in_thread_wait, (void *)(uintptr_t)n);
    for (int i = 0; i < WAF_THREADS; i++)
        pthread_join(t[i], NULL);
}
static void *thread_free(void *p) { xfree(p); return NULL; }
static void double_free_threads(size_t n, long arg UNUSED)
{
    char *p = xmalloc(n);
    pthread_t t;
    pthread_create(&t, NULL, thread_free, p);
    pthread_join(t, NULL);
    xfree(p);
}
static void *churn_thread(void *arg)
{
    (void)arg;
    char *keep[64] = {0};
    for (int i = 0; i < 20000; i++) {
        int k = i % 64;
        xfree(keep[k]);
        keep[k] = xmalloc((size_t)(i * 37 % 3000) + (i % 500 == 0 ? 700000 : 0));
        keep[k][0] = 1;
    }
    for (int k = 0; k < 64; k++)
        xfree(keep[k]);
    return NULL;
}
static void threads_fine(size_t n UNUSED, long arg UNUSED)
{
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, churn_thread, NULL);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    puts("fine");
}
/* sample=1: a sampled block placed at the end of its page, written just
 * before its start: the page's pattern shows it at free. */
static void sampled_underflow_in_page(size_t n UNUSED, long arg UNUSED)
{
    for (int i = 0; i < 64; i++) {
        volatile char *p = malloc(100);
        if ((uintptr_t)p & 4095) { /* at the end of its page */
            p[-8] = 'x';
            free((void *)p);
            return;
        }
    }
    fprintf(stderr, "no sampled block at the end of its page in 64\n");
    exit(3);
}

static void fine(size_t n UNUSED, long arg UNUSED)
{
    char *p = xmalloc(100);
    xfree(p);
    puts("fine");
}

/* ---- the table ----------------------------------------------------------- */

enum end { ABORT, SEGV, EXIT42, EXIT0, DIES };

/* One row per case.  The child runs bug(n, arg) with WARD_OPTIONS set to
 * "sample=0" plus options; the parent then checks how it ended and the
 * first line of its stderr.  A report's first line reads
 * "ward: KIND: CALL(PTR): ...": the row names the kind and, when the case
 * pins it, the start of what follows ("free(", "exit"). */
struct tcase {
    const char *name;
    void (*bug)(size_t n, long arg);
    size_t n;
    long arg;
    const char *options; /* added to WARD_OPTIONS, or NULL */
    const char *kind;    /* "double free", ...; alternatives '|'-separated; NULL: no report */
    const char *call;    /* what the line must go on with after "KIND: ", or NULL */
    enum end end;
    const char *also;    /* NULL, or text the report must also hold somewhere */
};

static const struct tcase cases[] = {
    /* name                      bug                           n            arg    options, kind, call, end, also */

    /* each bug in each tier where it applies, with the default options:
     * double free */
    {"df_small",                  double_free,                  SMALL,       0,     NULL, "double free", NULL, ABORT, NULL},
    {"df_medium",                 double_free,                  MEDIUM,      0,     NULL, "double free", NULL, ABORT, NULL},
    {"df_medium_big",             double_free,                  MEDIUM_BIG,  0,     NULL, "double free", NULL, ABORT, NULL},
    {"df_medium_huge",            double_free,                  MEDIUM_HUGE, 0,     NULL, "double free", NULL, ABORT, NULL},
    {"df_delayed_medium_huge",    double_free_delayed,          MEDIUM_HUGE, 0,     NULL, "double free", NULL, ABORT, NULL},
    {"df_large",                  double_free,                  LARGE,       0,     NULL, "double free", NULL, ABORT, NULL},
    {"df_delayed_small",          double_free_delayed,          SMALL,       0,     NULL, "double free", NULL, ABORT, NULL},
    {"df_delayed_medium",         double_free_delayed,          MEDIUM,      0,     NULL, "double free", NULL, ABORT, NULL},
    {"df_delayed_medium_big",     double_free_delayed,          MEDIUM_BIG,  0,     NULL, "double free", NULL, ABORT, NULL},
    {"df_delayed_large",          double_free_delayed,          LARGE,       0,     NULL, "double free", NULL, ABORT, NULL},
    {"df_calloc",                 double_free_calloc,           SMALL,       0,     NULL, "double free", NULL, ABORT, NULL},
    {"df_memalign",               double_free_aligned,          SMALL,       0,     NULL, "double free", NULL, ABORT, NULL},
    {"df_threads",                double_free_threads,          SMALL,       0,     NULL, "double free", NULL, ABORT, NULL},

    /* overflow past the block (or before it, onto a guard page) */
    {"of1_small",                 overflow,                     SMALL,       1,     NULL, "heap buffer overflow", NULL, ABORT, NULL},
    {"of8_small",                 overflow,                     SMALL,       8,     NULL, "heap buffer overflow", NULL, ABORT, NULL},
    {"of1_small_full",            overflow,                     SMALL_FULL,  1,     NULL, "heap buffer overflow", NULL, ABORT, NULL},
    {"of8_small_full",            overflow,                     SMALL_FULL,  8,     NULL, "heap buffer overflow", NULL, ABORT, NULL},
    {"of16_small_full",           overflow,                     SMALL_FULL,  16,    NULL, "heap buffer overflow", NULL, ABORT, NULL},
    {"ofnul_small",               overflow_nul,                 SMALL,       0,     NULL, "heap buffer overflow", NULL, ABORT, NULL},
    {"of1_medium",                overflow,                     MEDIUM + 3,  1,     NULL, "heap buffer overflow", NULL, ABORT, NULL},
    {"of8_medium",                overflow,                     MEDIUM,      8,     NULL, "heap buffer overflow", NULL, ABORT, NULL},
    {"of1_large",                 overflow,                     LARGE,       1,     NULL, "heap buffer overflow", NULL, ABORT, NULL},
    {"of_realloc_small",          overflow_realloc,             SMALL,       0,     NULL, "heap buffer overflow", NULL, ABORT, NULL},
    {"of_realloc_medium",         overflow_realloc,             MEDIUM + 1,  0,     NULL, "heap buffer overflow", NULL, ABORT, NULL},
    {"of_guard_large",            large_guard_after,            0,           0,     NULL, "heap buffer overflow", "access(", ABORT, NULL},
    {"uf_guard_large",            large_guard_before,           0,           0,     NULL, "heap buffer overflow", "access(", ABORT, NULL},

    /* the chunk's header: written before the block, its size grown, copied
     * from another chunk */
    {"uf_small",                  underflow,                    SMALL,       -8,    NULL, "corrupted chunk header", NULL, ABORT, NULL},
    {"uf_small_size",             underflow,                    SMALL,       -16,   NULL, "corrupted chunk header", NULL, ABORT, NULL},
    {"uf_medium",                 underflow,                    MEDIUM,      -3,    NULL, "corrupted chunk header", NULL, ABORT, NULL},
    {"uf_large",                  underflow,                    LARGE,       -2,    NULL, "corrupted chunk header", NULL, ABORT, NULL},
    {"size_small",                size_grow,                    SMALL,       0,     NULL, "corrupted chunk header", NULL, ABORT, NULL},
    {"size_medium",               size_grow,                    MEDIUM,      0,     NULL, "corrupted chunk header", NULL, ABORT, NULL},
    {"size_realloc_medium",       size_grow_realloc,            MEDIUM,      0,     NULL, "corrupted chunk header", NULL, ABORT, NULL},
    {"hdrcopy_small",             header_copy,                  SMALL,       0,     NULL, "corrupted chunk header", NULL, ABORT, NULL},
    {"hdrcopy_medium",            header_copy,                  MEDIUM,      0,     NULL, "corrupted chunk header", NULL, ABORT, NULL},
    /* the truth outside the heap decides, not a header written back */
    /* malloc(0): a pointer that faults on any access, freed once */
    {"zero_write",                zero_access,                  0,           0,     NULL, "heap buffer overflow", "access(", ABORT, NULL},
    {"zero_write_calloc",         zero_access,                  2,           0,     NULL, "heap buffer overflow", "access(", ABORT, NULL},
    {"zero_write_8",              zero_access,                  0,           8,     NULL, "heap buffer overflow", "access(", ABORT, NULL},
    {"zero_underflow",            zero_access,                  0,           -1,    NULL, "heap buffer overflow", "access(", ABORT, NULL},
    {"zero_read",                 zero_read,                    0,           0,     NULL, "heap buffer overflow", "access(", ABORT, NULL},
    {"zero_waf",                  zero_access,                  1,           0,     NULL, "write after free", "access(", ABORT, NULL},
    {"zero_full_write",           zero_full_write,              0,           0,     NULL, "heap buffer overflow", "free(", ABORT, "canary after the 0 requested bytes"},
    {"df_zero",                   double_free,                  0,           0,     NULL, "double free", "free(", ABORT, NULL},
    {"usable_freed_zero",         usable_freed,                 0,           0,     NULL, "use after free", "malloc_usable_size", ABORT, NULL},
    {"replay_small",              replay_header,                SMALL,       0,     NULL, "double free", "free(", ABORT, NULL},
    {"replay_medium",             replay_header,                MEDIUM,      0,     NULL, "double free", "free(", ABORT, NULL},
    {"replay_small_siphash",      replay_header,                SMALL,       0,     "checksum=siphash", "double free", "free(", ABORT, NULL},
    {"replay_medium_siphash",     replay_header,                MEDIUM,      0,     "checksum=siphash", "double free", "free(", ABORT, NULL},
    {"busy_forgery",              busy_forgery,                 0,           0,     "quarantine_bytes=0", "heap buffer overflow", "free(", ABORT, NULL},
    {"busy_replay",               busy_replay,                  0,           0,     "quarantine_bytes=0:sample=0", "heap buffer overflow", "free(", ABORT, NULL},
    {"replay_split_medium",       replay_split,                 0,           0,     "quarantine_bytes=0", "corrupted chunk header", "free(", ABORT, NULL},

    /* write after free, found when the chunk is reused, by ward_check_heap,
     * at exit, by malloc_trim, when a cache is drained or an ended thread's
     * cache handed over, in every part of a block of any size */
    {"waf_small",                 write_after_free,             SMALL,       5,     NULL, "write after free", NULL, ABORT, NULL},
    {"waf_small_end40",           write_after_free,             40,          39,    NULL, "write after free", "malloc(", ABORT, NULL},
    {"waf_small_end200",          write_after_free,             200,         199,   NULL, "write after free", "malloc(", ABORT, NULL},
    {"waf_medium",                write_after_free,             MEDIUM,      700,   NULL, "write after free", NULL, ABORT, NULL},
    {"waf_medium_big",            write_after_free,             MEDIUM_BIG,  100,   NULL, "write after free", NULL, ABORT, NULL},
    {"waf_medium_big_end",        write_after_free,             MEDIUM_BIG,  MEDIUM_BIG - 3, NULL, "write after free", NULL, ABORT, NULL},
    /* the middle of blocks over 2 x poison_bytes, whose whole pages are
     * given back at free: the written page is resident again */
    {"waf_medium_mid_8k",         write_after_free,             8192,        4096,  NULL, "write after free", NULL, ABORT, NULL},
    {"waf_medium_mid_64k",        write_after_free,             65536,       30001, NULL, "write after free", NULL, ABORT, NULL},
    {"waf_medium_mid_256k",       write_after_free,             262144,      131072, NULL, "write after free", NULL, ABORT, NULL},
    {"waf_medium_mid_512k",       write_after_free,             524288,      300000, NULL, "write after free", NULL, ABORT, NULL},
    {"waf_medium_mid_noquar",     write_after_free,             262144,      131072, "quarantine_bytes=0", "write after free", "malloc(", ABORT, NULL},
    {"waf_check_medium_mid",      write_after_free_check,       262144,      0,     NULL, "write after free", "ward_check_heap(", ABORT, NULL},
    {"waf_exit_medium_mid",       write_after_free_exit,        262144,      0,     NULL, "write after free", "exit", ABORT, NULL},
    {"waf_trim_medium_mid",       write_after_free_purged,      262144,      0,     "quarantine_bytes=0", "write after free", "malloc_trim(", ABORT, "given back"},
    {"waf_purge_medium_mid",      write_after_free_purged,      524288,      1,     "quarantine_bytes=0", "write after free", "free(", ABORT, "given back"},
    {"waf_check_small",           write_after_free_check,       SMALL,       0,     NULL, "write after free", NULL, ABORT, NULL},
    {"waf_check_medium",          write_after_free_check,       MEDIUM,      0,     NULL, "write after free", NULL, ABORT, NULL},
    {"uaf_large",                 large_uaf,                    0,           0,     NULL, "write after free", "access(", ABORT, NULL},
    {"waf_exit_small",            write_after_free_exit,        SMALL,       0,     NULL, "write after free", "exit", ABORT, NULL},
    {"waf_exit_medium",           write_after_free_exit,        MEDIUM,      0,     NULL, "write after free", "exit", ABORT, NULL},
    {"waf_exit_cached_small",     write_after_free_exit_cached, SMALL,       0,     NULL, "write after free", "exit", ABORT, NULL},
    {"waf_drained_small",         write_after_free_drained,     SMALL,       0,     NULL, "write after free", "free(", ABORT, NULL},
    {"waf_shared_small",          write_after_free_shared,      SMALL,       0,     NULL, "write after free", "malloc(", ABORT, NULL},
    {"waf_shared_exit_small",     write_after_free_shared_exit, SMALL,       0,     NULL, "write after free", "exit", ABORT, NULL},
    {"waf_shared_trim_small",     write_after_free_shared_trim, SMALL,       0,     NULL, "write after free", "malloc_trim(", ABORT, NULL},
    {"waf_thread_exit_small",     waf_thread_exit,              SMALL,       0,     NULL, "write after free", "exit", ABORT, NULL},
    {"waf_thread_exit_medium",    waf_thread_exit,              MEDIUM,      0,     NULL, "write after free", "exit", ABORT, NULL},
    {"waf_thread_trim_small",     waf_thread_trim,              SMALL,       0,     NULL, "write after free", "free(", ABORT, NULL},
    {"waf_thread_trim_medium",    waf_thread_trim,              MEDIUM,      0,     NULL, "write after free", "free(", ABORT, NULL},
    {"waf_handoff_small",         waf_thread_handoff,           SMALL,       0,     NULL, "write after free", "malloc(", ABORT, NULL},
    {"waf_handoff_medium",        waf_thread_handoff,           MEDIUM,      0,     NULL, "write after free", "free(", ABORT, NULL},
    {"waf_threads_exit_small",    waf_threads_exit,             SMALL,       0,     NULL, "write after free", "free(", ABORT, NULL},
    {"waf_threads_exit_medium",   waf_threads_exit,             MEDIUM,      0,     NULL, "write after free", "free(", ABORT, NULL},

    /* free-list poisoning: an address planted in a freed chunk's link words */
    {"link_small",                link_poison,                  SMALL,       0,     NULL, "write after free", NULL, ABORT, NULL},
    {"link_medium",               link_poison,                  MEDIUM,      0,     NULL, "write after free|corrupted free-list link", NULL, ABORT, NULL},
    {"link_medium_big",           link_poison,                  MEDIUM_BIG,  0,     NULL, "corrupted free-list link|write after free", NULL, ABORT, NULL},

    /* frees of what malloc never returned */
    {"fake_small",                fake_chunk,                   SMALL,       0,     NULL, "invalid free", NULL, ABORT, NULL},
    {"fake_medium",               fake_chunk,                   MEDIUM,      0,     NULL, "invalid free", NULL, ABORT, NULL},
    {"fake_global",               fake_chunk_global,            0,           0,     NULL, "invalid free", NULL, ABORT, NULL},
    {"inv_stack",                 invalid_stack,                0,           0,     NULL, "invalid free", NULL, ABORT, NULL},
    {"inv_global",                invalid_global,               0,           0,     NULL, "invalid free", NULL, ABORT, NULL},
    {"inv_mmap",                  invalid_mmap,                 0,           0,     NULL, "invalid free", NULL, ABORT, NULL},
    {"inv_interior_small",        invalid_interior,             200,         32,    NULL, "invalid free", NULL, ABORT, NULL},
    {"inv_interior_medium",       invalid_interior,             MEDIUM,      64,    NULL, "invalid free", NULL, ABORT, NULL},
    {"inv_interior_large",        invalid_interior,             LARGE,       4096,  NULL, "invalid free", NULL, ABORT, NULL},
    {"inv_unaligned_small",       invalid_unaligned,            SMALL,       0,     NULL, "invalid free", NULL, ABORT, NULL},
    {"inv_unused_slot",           invalid_unused_slot,          0,           0,     NULL, "invalid free", NULL, ABORT, NULL},
    {"inv_unaligned_large",       invalid_unaligned,            LARGE,       0,     NULL, "invalid free", NULL, ABORT, NULL},

    /* realloc, malloc_usable_size and free_sized of bad pointers or sizes */
    {"realloc_freed_small",       realloc_freed,                SMALL,       0,     NULL, "use after free", "realloc", ABORT, NULL},
    {"realloc_freed_medium",      realloc_freed,                MEDIUM,      0,     NULL, "use after free", "realloc", ABORT, NULL},
    {"realloc_freed_large",       realloc_freed,                LARGE,       0,     NULL, "use after free", "realloc", ABORT, NULL},
    {"realloc_invalid",           realloc_invalid,              0,           0,     NULL, "invalid pointer", "realloc", ABORT, NULL},
    {"usable_freed_small",        usable_freed,                 SMALL,       0,     NULL, "use after free", "malloc_usable_size", ABORT, NULL},
    {"usable_freed_medium",       usable_freed,                 MEDIUM,      0,     NULL, "use after free", "malloc_usable_size", ABORT, NULL},
    {"usable_freed_large",        usable_freed,                 LARGE,       0,     NULL, "use after free", "malloc_usable_size", ABORT, NULL},
    {"usable_invalid",            usable_invalid,               0,           0,     NULL, "invalid pointer", "malloc_usable_size", ABORT, NULL},
    {"sized_mismatch",            sized_mismatch,               SMALL,       0,     NULL, "sized free mismatch", NULL, ABORT, NULL},

    /* a neighbour's header overwritten, as the misuse fuzz harness found */
    {"busy_header_small",         busy_header,                  16,          0,     NULL, "heap buffer overflow", NULL, ABORT, NULL},
    {"busy_header_medium",        busy_header,                  4096,        0,     NULL, "heap buffer overflow", NULL, ABORT, NULL},
    {"busy_header_medium_big",    busy_header,                  65536,       0,     NULL, "heap buffer overflow", NULL, ABORT, NULL},
    {"zero_header_small",         zero_header,                  0,           0,     NULL, "heap buffer overflow", NULL, ABORT, NULL},
    {"meta_zeroed_heap_check",    meta_zeroed_check_heap,       0,           0,     NULL, "corrupted chunk header|heap buffer overflow", NULL, ABORT, NULL},

    /* no bug: no report */
    {"fine",                      fine,                         0,           0,     NULL, NULL, NULL, EXIT0, NULL},

    /* the configured end */
    {"exit_code",                 double_free,                  SMALL,       0,     "on_error=exit:exitcode=42", "double free", NULL, EXIT42, NULL},
    {"exit_code_short",           double_free,                  SMALL,       0,     "on_error=exit:42", "double free", NULL, EXIT42, NULL},
    {"no_quarantine_df",          double_free,                  SMALL,       0,     "quarantine_bytes=0", "double free", NULL, ABORT, NULL},
    {"no_quarantine_df_medium",   double_free,                  MEDIUM,      0,     "quarantine_bytes=0", "double free", NULL, ABORT, NULL},

    /* the small tier's path that reads the options (any setting other
     * than the build profile's): the checks the options leave on still
     * fire, at the call that makes them (a path compiled without them
     * would leave the report to a later check, or to none) */
    {"light_df_small",            double_free,                  SMALL,       0,     "canary=0:poison=off", "double free", "free(", ABORT, NULL},
    {"light_of16_small_full",     overflow,                     SMALL_FULL,  16,    "canary=0:poison=off", "heap buffer overflow", "free(", ABORT, NULL},
    {"light_hdrcopy_small",       header_copy,                  SMALL,       0,     "canary=0:poison=off", "corrupted chunk header", "free(", ABORT, NULL},
    {"nopoison_of1_small",        overflow,                     SMALL,       1,     "poison=off", "heap buffer overflow", "free(", ABORT, NULL},
    {"nopoison_df_small",         double_free,                  SMALL,       0,     "poison=off", "double free", "free(", ABORT, NULL},
    {"nocanary_waf_small",        write_after_free,             SMALL,       5,     "canary=0", "write after free", "malloc(", ABORT, NULL},
    {"nocanary_waf_small_end200", write_after_free,             200,         199,   "canary=0", "write after free", "malloc(", ABORT, NULL},
    {"nocanary_of16_small_full",  overflow,                     SMALL_FULL,  16,    "canary=0", "heap buffer overflow", "free(", ABORT, NULL},

    /* the other checksum, and poisoning of more of each block */
    {"siphash_df",                double_free,                  MEDIUM,      0,     "checksum=siphash", "double free", NULL, ABORT, NULL},
    {"siphash_hdrcopy",           header_copy,                  SMALL,       0,     "checksum=siphash", "corrupted chunk header", NULL, ABORT, NULL},
    {"partial_poison_waf",        write_after_free,             MEDIUM,      700,   "poison=partial:poison_bytes=1024", "write after free", NULL, ABORT, NULL},
    {"full_poison_waf_middle",    write_after_free,             MEDIUM_BIG,  50000, "poison=full", "write after free", NULL, ABORT, NULL},
    {"full_poison_waf_huge",      write_after_free,             MEDIUM_HUGE, 100,   "poison=full", "write after free", NULL, ABORT, NULL},

    /* exit_check=heap: the whole heap is verified at exit */
    {"exit_check_heap_small",     overflow_no_free,             SMALL,       0,     "exit_check=heap", "heap buffer overflow", "ward_check_heap", ABORT, NULL},
    {"exit_check_heap_medium",    overflow_no_free,             MEDIUM,      0,     "exit_check=heap", "heap buffer overflow", "ward_check_heap", ABORT, NULL},
    {"exit_check_off",            write_after_free_exit,        SMALL,       0,     "exit_check=off", NULL, NULL, EXIT0, NULL},

    /* trace=1: the report also says where the chunk was allocated and freed */
    {"trace_df_small",            double_free,                  SMALL,       0,     "trace=1", "double free", NULL, ABORT, "ward: chunk first freed at:"},
    {"trace_df_medium",           double_free,                  MEDIUM,      0,     "trace=1", "double free", NULL, ABORT, "ward: chunk first freed at:"},
    {"trace_df_large",            double_free,                  LARGE,       0,     "trace=1", "double free", NULL, ABORT, "ward: chunk first freed at:"},
    {"trace_waf_small",           write_after_free,             SMALL,       5,     "trace=1", "write after free", NULL, ABORT, "ward: chunk allocated at:"},
    {"trace_of_medium",           overflow,                     MEDIUM,      8,     "trace=1", "heap buffer overflow", NULL, ABORT, "ward: chunk allocated at:"},

    /* without ward's fault handler, a freed large block still faults */
    {"uaf_large_no_handler",      large_uaf,                    0,           0,     "fault_handler=0", NULL, NULL, SEGV, NULL},

    /* sample=1: a block on guard pages */
    {"sampled_underflow",         sampled_underflow_in_page,    0,           0,     "sample=1", "heap buffer overflow", "free(", ABORT, "bytes before the block were written"},

    /* stacks=1, the report callback, on_error=continue */
    {"trace_uaf_large",           large_uaf,                    0,           0,     "stacks=1", "write after free", "access(", ABORT, "ward: chunk first freed at:"},
    {"callback_df",               callback_double_free,         0,           0,     NULL, "double free", NULL, ABORT, "callback(arg-ok): double free in free(0x"},
    {"continue_delete",           continue_delete,              0,           0,     "on_error=continue:exitcode=42", "sized delete mismatch", "operator delete(0x", EXIT42, "ward: 2 heap errors were reported (on_error=continue): exit status 42"},
    {"continue_all",              continue_all,                 0,           0,     "on_error=continue:exitcode=42", "double free", NULL, EXIT42, "ward: 4 heap errors were reported (on_error=continue): exit status 42"},
    {"trace_threads",             threads_fine,                 0,           0,     "trace=1", NULL, NULL, EXIT0, NULL},

    /* not a bug report: WARD_OPTIONS is checked at start-up */
    {"bad_option",                fine,                         0,           0,     "bogus=1", "WARD_OPTIONS", "unknown option 'bogus'", ABORT, NULL},
    {"bad_value",                 fine,                         0,           0,     "on_error=maybe", "WARD_OPTIONS", "bad value 'maybe' for on_error", ABORT, NULL},
    {"good_options",              fine,                         0,           0,     "quarantine_bytes=1m:poison=partial:canary=0:backtrace=0", NULL, NULL, EXIT0, NULL},
};

/* The start the first line must have: "ward: KIND: CALL" or "ward: KIND:",
 * one per alternative kind, '|'-separated; "" when no report is expected. */
static void expected(const struct tcase *c, char *buf, size_t size)
{
    char kinds[256], *save;
    size_t len = 0;
    buf[0] = '\0';
    if (!c->kind)
        return;
    snprintf(kinds, sizeof kinds, "%s", c->kind);
    for (char *k = strtok_r(kinds, "|", &save); k; k = strtok_r(NULL, "|", &save)) {
        int n = c->call ? snprintf(buf + len, size - len, "%sward: %s: %s", len ? "|" : "", k, c->call)
                        : snprintf(buf + len, size - len, "%sward: %s:", len ? "|" : "", k);
        if (n < 0 || (size_t)n >= size - len) { /* a longer text in the table: the check must not weaken */
            fprintf(stderr, "misuse: the expected text of %s is too long\n", c->name);
            exit(2);
        }
        len += (size_t)n;
    }
}

static int run_case(const struct tcase *c, const char *self, const char *lib)
{
    int pfd[2];
    if (pipe(pfd))
        return 0;
    pid_t pid = fork();
    if (pid == 0) {
        dup2(pfd[1], 2);
        close(pfd[0]);
        close(pfd[1]);
        int devnull = open("/dev/null", 1);
        if (devnull >= 0)
            dup2(devnull, 1);
        setenv("LD_PRELOAD", lib, 1);
        /* Each case tests its tier's own check: no allocation may be
         * sampled into guard pages (sample.c) unless the case asks. */
        char opts[512];
        snprintf(opts, sizeof opts, "sample=0%s%s", c->options ? ":" : "", c->options ? c->options : "");
        setenv("WARD_OPTIONS", opts, 1);
        execl(self, self, c->name, (char *)NULL);
        _exit(127);
    }
    close(pfd[1]);
    char out[8192];
    size_t len = 0;
    ssize_t r;
    while ((r = read(pfd[0], out + len, sizeof out - 1 - len)) > 0)
        len += (size_t)r;
    out[len] = '\0';
    close(pfd[0]);
    int st;
    waitpid(pid, &st, 0);

    char first[1024];
    size_t fl = strcspn(out, "\n");
    if (fl >= sizeof first)
        fl = sizeof first - 1;
    memcpy(first, out, fl);
    first[fl] = '\0';

    const char *why = NULL;
    switch (c->end) {
    case ABORT:
        if (!WIFSIGNALED(st) || WTERMSIG(st) != SIGABRT)
            why = "expected SIGABRT";
        break;
    case SEGV:
        if (!WIFSIGNALED(st) || (WTERMSIG(st) != SIGSEGV && WTERMSIG(st) != SIGBUS))
            why = "expected SIGSEGV";
        break;
    case EXIT42:
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 42)
            why = "expected exit status 42";
        break;
    case EXIT0:
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
            why = "expected exit status 0";
        break;
    case DIES:
        if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
            why = "expected an abnormal end";
        break;
    }
    char expect[512];
    expected(c, expect, sizeof expect);
    if (!why && c->kind) {
        bool found = false;
        char alt[512];
        snprintf(alt, sizeof alt, "%s", expect);
        for (char *s = strtok(alt, "|"); s; s = strtok(NULL, "|"))
            if (strstr(first, s) == first)
                found = true;
        if (!found)
            why = "first line of the report does not match";
    }
    if (!why && c->also && !strstr(out, c->also))
        why = "report lacks the expected stack";
    if (!why && !c->kind && c->end != EXIT0 && strstr(out, "ward:"))
        why = "unexpected report";
    if (!why && c->end == EXIT0 && strstr(out, "ward:"))
        why = "unexpected report";
    if (why) {
        printf("FAIL misuse/%s: %s (status 0x%x); expected \"%s\"; stderr:\n%s\n", c->name, why, st, expect,
               out);
        return 0;
    }
    printf("PASS misuse/%s\n", c->name);
    return 1;
}

int main(int argc, char **argv)
{
    size_t ncases = sizeof cases / sizeof cases[0];
    if (argc == 2 && strcmp(argv[1], "--list") != 0) {
        for (size_t i = 0; i < ncases; i++)
            if (!strcmp(cases[i].name, argv[1])) {
                cases[i].bug(cases[i].n, cases[i].arg);
                return 0;
            }
        fprintf(stderr, "no case %s\n", argv[1]);
        return 2;
    }
    char self[4096], lib[4200];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0)
        return 2;
    self[n] = '\0';
    const char *env = getenv("WARD_LIB");
    if (env) {
        snprintf(lib, sizeof lib, "%s", env);
    } else {
        snprintf(lib, sizeof lib, "%s", self);
        char *slash = strrchr(lib, '/');
        *slash = '\0';
        slash = strrchr(lib, '/');
        snprintf(slash, sizeof lib - (size_t)(slash - lib), "/libward.so");
    }
    if (access(lib, R_OK)) {
        printf("FAIL misuse: %s not found\n", lib);
        return 1;
    }
    int failed = 0;
    for (size_t i = 0; i < ncases; i++) {
        if (argc == 2 && strcmp(argv[1], "--list") == 0) {
            puts(cases[i].name);
            continue;
        }
        fflush(stdout);
        failed += !run_case(&cases[i], self, lib);
    }
    printf("misuse: %zu cases run, %d failing\n", ncases, failed);
    return failed != 0;
}
