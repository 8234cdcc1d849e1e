/* Shared helpers for ward's standalone tests (tests/t_*.c).
 *
 * Each test is one program run with LD_PRELOAD=build/libward.so.  It first
 * proves ward is the allocator in use (ward_loaded()), calls the integrity
 * walk at sensible points (check_heap()) and reports a failure with fail(),
 * which prints "<test>: FAIL: <what>" to stderr and exits 1.
 *
 * WARD_TEST_NO_WARD=1 runs a test against the C library's allocator: the
 * ward-loaded check and the ward_check_heap calls are skipped, and so are the
 * few checks where ward deliberately differs from glibc (the test says so).
 *
 * ward's own functions are reached through dlsym only: the tests are linked
 * against nothing but libc (and libdl), so they stay standard programs. */
#ifndef WARD_TEST_UTIL_H
#define WARD_TEST_UTIL_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <malloc.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "ward.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define KiB ((size_t)1024)
#define MiB ((size_t)1024 * 1024)

#if defined(__GNUC__) || defined(__clang__)
#define TU_UNUSED __attribute__((unused))
#define TU_PRINTF(a, b) __attribute__((format(printf, a, b)))
#define TU_NORETURN __attribute__((noreturn))
#else
#define TU_UNUSED
#define TU_PRINTF(a, b)
#define TU_NORETURN
#endif

/* ---------------------------------------------------------------- failing */

static TU_UNUSED TU_NORETURN TU_PRINTF(1, 2) void fail(const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    int n = snprintf(buf, sizeof buf, "%s: FAIL: ", program_invocation_short_name);
    if (n < 0 || (size_t)n >= sizeof buf)
        n = 0;
    va_start(ap, fmt);
    vsnprintf(buf + n, sizeof buf - (size_t)n, fmt, ap);
    va_end(ap);
    fflush(stdout);
    /* one write(2): no stdio buffering (a forked child, a thread) and no
     * allocation on the way out of a possibly broken heap */
    size_t len = strlen(buf);
    if (len < sizeof buf - 1) {
        buf[len++] = '\n';
    }
    ssize_t w = write(2, buf, len);
    (void)w;
    _exit(1);
}

static TU_UNUSED TU_PRINTF(1, 2) void note(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s: ", program_invocation_short_name);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

/* ------------------------------------------------------------ ward or not */

typedef int (*ward_check_heap_fn)(void);
typedef void (*ward_get_stats_fn)(struct ward_stats *);
typedef void (*free_sized_fn)(void *, size_t);
typedef void (*free_aligned_sized_fn)(void *, size_t, size_t);

static int tu_no_ward = -1;
static ward_check_heap_fn tu_check_heap;

/* true when WARD_TEST_NO_WARD=1: run against the C library's allocator */
static TU_UNUSED bool no_ward(void)
{
    if (tu_no_ward < 0) {
        const char *e = getenv("WARD_TEST_NO_WARD");
        tu_no_ward = (e && strcmp(e, "1") == 0) ? 1 : 0;
    }
    return tu_no_ward == 1;
}

/* Proves ward is the allocator in use: ward_check_heap is exported, and
 * malloc/free resolve into the same object as it.  Call first thing. */
static TU_UNUSED void ward_loaded(void)
{
    if (no_ward()) {
        note("WARD_TEST_NO_WARD=1: running against the C library's allocator");
        return;
    }
    void *chk = dlsym(RTLD_DEFAULT, "ward_check_heap");
    if (!chk)
        fail("ward not loaded (no ward_check_heap symbol; run with LD_PRELOAD=build/libward.so)");
    Dl_info wi, mi;
    static const char *const api[] = { "malloc", "free", "calloc", "realloc" };
    if (!dladdr(chk, &wi) || !wi.dli_fname)
        fail("ward not loaded (dladdr(ward_check_heap) failed)");
    for (size_t i = 0; i < ARRAY_LEN(api); i++) {
        void *f = dlsym(RTLD_DEFAULT, api[i]);
        if (!f || !dladdr(f, &mi) || !mi.dli_fname)
            fail("ward not loaded (cannot resolve %s)", api[i]);
        if (mi.dli_fbase != wi.dli_fbase)
            fail("ward not loaded: %s comes from %s, ward_check_heap from %s", api[i],
                 mi.dli_fname, wi.dli_fname);
    }
    tu_check_heap = (ward_check_heap_fn)chk;
}

/* The integrity walk; where says which point of the test it is. */
static TU_UNUSED void check_heap_at(const char *where)
{
    if (no_ward())
        return;
    if (!tu_check_heap) {
        tu_check_heap = (ward_check_heap_fn)dlsym(RTLD_DEFAULT, "ward_check_heap");
        if (!tu_check_heap)
            fail("ward not loaded (no ward_check_heap symbol)");
    }
    int r = tu_check_heap();
    if (r != 0)
        fail("ward_check_heap() returned %d (%s)", r, where ? where : "");
}

#define check_heap() check_heap_at(__func__)

/* ward_get_stats if ward is loaded; false otherwise */
static TU_UNUSED bool ward_stats(struct ward_stats *out)
{
    if (no_ward())
        return false;
    ward_get_stats_fn f = (ward_get_stats_fn)dlsym(RTLD_DEFAULT, "ward_get_stats");
    if (!f)
        return false;
    memset(out, 0, sizeof *out);
    f(out);
    return true;
}

/* free_sized / free_aligned_sized: glibc 2.36 has neither, so dlsym. */
static TU_UNUSED free_sized_fn get_free_sized(void)
{
    return (free_sized_fn)dlsym(RTLD_DEFAULT, "free_sized");
}

static TU_UNUSED free_aligned_sized_fn get_free_aligned_sized(void)
{
    return (free_aligned_sized_fn)dlsym(RTLD_DEFAULT, "free_aligned_sized");
}

/* ------------------------------------------------------------ measuring */

/* the value (kB) of a "Key:   N kB" line of /proc/self/status; read with
 * open/read into a stack buffer so that measuring does not allocate */
static TU_UNUSED long proc_status_kb(const char *key)
{
    char buf[8192];
    int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        fail("open /proc/self/status: %s", strerror(errno));
    size_t len = 0;
    for (;;) {
        ssize_t r = read(fd, buf + len, sizeof buf - 1 - len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        len += (size_t)r;
        if (len == sizeof buf - 1)
            break;
    }
    close(fd);
    buf[len] = 0;
    size_t klen = strlen(key);
    for (char *line = buf; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
        if (strncmp(line, key, klen) == 0 && line[klen] == ':')
            return strtol(line + klen + 1, NULL, 10);
    }
    fail("no %s in /proc/self/status", key);
}

static TU_UNUSED long rss_kb(void)
{
    return proc_status_kb("VmRSS");
}

static TU_UNUSED double now_sec(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ------------------------------------------------------------ PRNG */

/* xorshift64*, seeded through splitmix64; one per thread */
struct rng {
    uint64_t s;
};

static TU_UNUSED uint64_t splitmix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

static TU_UNUSED void rng_seed(struct rng *r, uint64_t seed)
{
    r->s = splitmix64(seed);
    if (r->s == 0)
        r->s = 0x2545f4914f6cdd1dULL;
}

static TU_UNUSED uint64_t rng_next(struct rng *r)
{
    uint64_t x = r->s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    r->s = x;
    return x * 0x2545f4914f6cdd1dULL;
}

/* uniform in [0, n), n > 0 */
static TU_UNUSED uint64_t rng_below(struct rng *r, uint64_t n)
{
    return (uint64_t)(((unsigned __int128)rng_next(r) * n) >> 64);
}

/* uniform in [lo, hi] */
static TU_UNUSED uint64_t rng_range(struct rng *r, uint64_t lo, uint64_t hi)
{
    return lo + rng_below(r, hi - lo + 1);
}

/* roughly log-uniform in [lo, hi]: as many sizes near lo as near hi per octave */
static TU_UNUSED uint64_t rng_log_range(struct rng *r, uint64_t lo, uint64_t hi)
{
    int lb = 63 - __builtin_clzll(lo | 1), hb = 63 - __builtin_clzll(hi | 1);
    int b = (int)rng_range(r, (uint64_t)lb, (uint64_t)hb);
    uint64_t a = (uint64_t)1 << b, z = a * 2 - 1;
    if (a < lo)
        a = lo;
    if (z > hi)
        z = hi;
    return rng_range(r, a, z);
}

/* seed from argv[1] (decimal or 0x...), else WARD_TEST_SEED, else def */
static TU_UNUSED uint64_t test_seed(int argc, char **argv, uint64_t def)
{
    const char *s = argc > 1 ? argv[1] : getenv("WARD_TEST_SEED");
    if (s && *s)
        return strtoull(s, NULL, 0);
    return def;
}

/* ------------------------------------------------------------ patterns */

/* Block contents are a position-dependent pattern chosen by a 64-bit tag
 * (slot, generation, thread...): byte i of a block tagged t is byte i%8 of
 * ref[off(t) + i/8] ^ t, with ref a random table kept outside the heap.  A
 * block keeps its pattern across realloc (same positions, same tag), two
 * blocks with different tags differ almost everywhere, so an overlap or a
 * stray write shows up as a mismatch. */
#define PAT_MAX_BYTES (16 * MiB)
#define PAT_OFF_WORDS (64 * 1024)

static uint64_t *pat_ref;

static TU_UNUSED void pat_init(void)
{
    if (pat_ref)
        return;
    size_t words = PAT_MAX_BYTES / 8 + PAT_OFF_WORDS + 1;
    void *m = mmap(NULL, words * 8, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED)
        fail("mmap pattern table: %s", strerror(errno));
    uint64_t *w = m;
    for (size_t i = 0; i < words; i++)
        w[i] = splitmix64(i * 0x632be59bd9b4e019ULL + 77);
    pat_ref = w;
}

static inline const uint64_t *pat_base(uint64_t tag)
{
    return pat_ref + (splitmix64(tag) % PAT_OFF_WORDS);
}

static inline unsigned char pat_byte(const uint64_t *base, uint64_t tag, size_t i)
{
    return (unsigned char)((base[i / 8] ^ tag) >> (8 * (i % 8)));
}

/* fill bytes [from, to) of block p with tag's pattern */
static TU_UNUSED void pat_fill_range(void *p, size_t from, size_t to, uint64_t tag)
{
    unsigned char *b = p;
    const uint64_t *base = pat_base(tag);
    if (to > PAT_MAX_BYTES)
        fail("pat_fill_range: block of %zu bytes exceeds the pattern table", to);
    size_t i = from;
    while (i < to && i % 8)
        b[i] = pat_byte(base, tag, i), i++;
    for (; i + 8 <= to; i += 8) {
        uint64_t w = base[i / 8] ^ tag;
        memcpy(b + i, &w, 8);
    }
    for (; i < to; i++)
        b[i] = pat_byte(base, tag, i);
}

static TU_UNUSED void pat_fill(void *p, size_t n, uint64_t tag)
{
    pat_fill_range(p, 0, n, tag);
}

/* offset of the first byte in [from, to) that does not hold tag's
 * pattern, or -1 */
static TU_UNUSED long pat_find_bad(const void *p, size_t from, size_t to, uint64_t tag)
{
    const unsigned char *b = p;
    const uint64_t *base = pat_base(tag);
    if (to > PAT_MAX_BYTES)
        fail("pat_find_bad: block of %zu bytes exceeds the pattern table", to);
    size_t i = from;
    while (i < to && i % 8) {
        if (b[i] != pat_byte(base, tag, i))
            return (long)i;
        i++;
    }
    for (; i + 8 <= to; i += 8) {
        uint64_t w;
        memcpy(&w, b + i, 8);
        if (w != (base[i / 8] ^ tag))
            break;
    }
    for (; i < to; i++)
        if (b[i] != pat_byte(base, tag, i))
            return (long)i;
    return -1;
}

/* fail if [from, to) of p does not hold tag's pattern; what names the block */
static TU_UNUSED void pat_verify_range(const void *p, size_t from, size_t to, uint64_t tag,
                                       const char *what)
{
    long bad = pat_find_bad(p, from, to, tag);
    if (bad >= 0) {
        const unsigned char *b = p;
        fail("%s: block %p (checked bytes %zu..%zu) corrupted at offset %ld: "
             "found 0x%02x, expected 0x%02x",
             what, p, from, to, bad, b[bad], pat_byte(pat_base(tag), tag, (size_t)bad));
    }
}

static TU_UNUSED void pat_verify(const void *p, size_t n, uint64_t tag, const char *what)
{
    pat_verify_range(p, 0, n, tag, what);
}

/* offset of the first non-zero byte of [p, p+n), or -1 */
static TU_UNUSED long find_nonzero(const void *p, size_t n)
{
    const unsigned char *b = p;
    size_t i = 0;
    for (; i < n && ((uintptr_t)(b + i) % 8); i++)
        if (b[i])
            return (long)i;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, b + i, 8);
        if (w)
            break;
    }
    for (; i < n; i++)
        if (b[i])
            return (long)i;
    return -1;
}

static TU_UNUSED bool is_aligned(const void *p, size_t align)
{
    return ((uintptr_t)p & (align - 1)) == 0;
}

#endif
