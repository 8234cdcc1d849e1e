/* common.h: what ward's fuzz harnesses share: reading the input, decoding
 * sizes that reach every tier, the shadow model of live blocks, and the
 * harness's own options.  Each harness is one .c file defining
 * LLVMFuzzerTestOneInput; fuzz/main.c adds a main() for replaying files
 * and for AFL++'s persistent mode. */
#ifndef WARD_FUZZ_COMMON_H
#define WARD_FUZZ_COMMON_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ward.h"
#include "ward_testing.h"

/* ward's layout, as the harnesses need to know it (src/settings.h) */
#define F_SMALL_MAX 1024u
#define F_MEDIUM_MAX (512u * 1024)
#define F_PAGE 4096u

/* Reports without a backtrace (a stack walk per report would halve the
 * speed of the misuse harness), recorded stacks (a sampled block's) printed
 * unsymbolized (no addr2line started per report), and sampling only where
 * the input asks for it (ward_testing_sample_next); WARD_OPTIONS comes
 * after, so it can set any of them.  Runs before ward's own constructor
 * reads the environment. */
__attribute__((constructor(101))) static void fuzz_options(void)
{
    const char *o = getenv("WARD_OPTIONS");
    char buf[512];
    snprintf(buf, sizeof buf, "backtrace=0:symbolize=0:sample=0%s%s", o && *o ? ":" : "", o ? o : "");
    setenv("WARD_OPTIONS", buf, 1);
}

/* ---- the input ---------------------------------------------------------- */

struct in {
    const uint8_t *p;
    size_t n;
};

static inline unsigned u8(struct in *in)
{
    if (!in->n)
        return 0;
    in->n--;
    return *in->p++;
}

static inline unsigned u16(struct in *in)
{
    unsigned lo = u8(in);
    return lo | u8(in) << 8;
}

static inline uint64_t u64(struct in *in)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v |= (uint64_t)u8(in) << (8 * i);
    return v;
}

/* Sizes: mostly small, some medium, a few large, and the edges of every
 * tier and class. */
static const size_t edge_sizes[] = {
    0, 1, 15, 16, 17, 32, 1008, 1023, 1024, 1025, 1040, 2048, 4080, 4096, 4097, 8192,
    65536, 65537, 262144, F_MEDIUM_MAX - 16, F_MEDIUM_MAX - 1, F_MEDIUM_MAX, F_MEDIUM_MAX + 1,
    F_MEDIUM_MAX + 4096, 1u << 20, (1u << 20) + 1, 3u << 20,
    9u << 20, /* beyond a quarter of large_cache_bytes: not cached, decommitted */
};

static inline size_t size_of(struct in *in)
{
    unsigned sel = u8(in);
    size_t v = u16(in);
    switch (sel >> 5) {
    case 0: case 1: case 2: return v % (F_SMALL_MAX + 1);
    case 3: return edge_sizes[v % (sizeof edge_sizes / sizeof edge_sizes[0])];
    case 4: return F_SMALL_MAX + 1 + v % 8192;
    case 5: return F_SMALL_MAX + 1 + (v * 8) % (F_MEDIUM_MAX - F_SMALL_MAX);
    case 6: return (v * 16) % (F_MEDIUM_MAX + 1);
    default: return F_MEDIUM_MAX + 1 + (v * 64) % (3u << 20);
    }
}

/* ---- the shadow model --------------------------------------------------- */

struct blk {
    unsigned char *p;
    size_t n;       /* bytes asked for (pvalloc: rounded up to pages) */
    size_t align;   /* alignment asked for (16: none) */
    unsigned char fill;
    unsigned char tier; /* misuse: 0 small, 1 medium, 2 large; ops: tier_for() */
    unsigned char sampled; /* ops: the block may be a sampled one */
};

/* The tier ward serves a new request from (api.c): small up to 1 KiB
 * unaligned, medium up to 512 KiB with the alignment's slack, else large.
 * A block keeps its tier when realloc resizes it in place. */
#define T_ZERO 4 /* malloc(0): an address that faults on any access (zero.c) */
static inline unsigned char tier_for(size_t n, size_t align)
{
    if (align <= 16 && n == 0)
        return T_ZERO;
    if (align <= 16 && n <= F_SMALL_MAX)
        return 0;
    return n + (align > 16 ? align : 0) <= F_MEDIUM_MAX ? 1 : 2;
}

/* Byte k of a block stamped with `fill`: a pattern of period 251 (prime, so
 * a copy shifted by a power of two never matches), laid down and compared
 * with memcpy / memcmp a template at a time: a byte loop under libFuzzer's
 * instrumentation would cost a traced comparison per byte. */
#define PAT_PERIOD 251u
#define PAT_TPL (PAT_PERIOD * 16)
static inline unsigned char pat(unsigned char fill, size_t k)
{
    return (unsigned char)(fill + (k % PAT_PERIOD) * 7 + 1);
}

static inline const unsigned char *pat_tpl(unsigned char fill)
{
    static unsigned char tpl[256][PAT_TPL];
    static unsigned char made[256];
    if (!made[fill]) {
        for (size_t k = 0; k < PAT_TPL; k++)
            tpl[fill][k] = pat(fill, k);
        made[fill] = 1;
    }
    return tpl[fill];
}

__attribute__((noreturn, format(printf, 1, 2))) static void finding(const char *fmt, ...);

static inline void stamp(struct blk *b, unsigned char fill)
{
    const unsigned char *t = pat_tpl(fill);
    b->fill = fill;
    for (size_t k = 0; k < b->n; k += PAT_TPL)
        memcpy(b->p + k, t, b->n - k < PAT_TPL ? b->n - k : PAT_TPL);
}

/* The first `n` bytes of p hold the pattern of `fill`; else the offset of
 * the first that does not, or (size_t)-1. */
static inline size_t pat_bad(const unsigned char *p, size_t n, unsigned char fill)
{
    const unsigned char *t = pat_tpl(fill);
    for (size_t k = 0; k < n; k += PAT_TPL) {
        size_t c = n - k < PAT_TPL ? n - k : PAT_TPL;
        if (memcmp(p + k, t, c))
            for (size_t j = 0; j < c; j++)
                if (p[k + j] != t[j])
                    return k + j;
    }
    return (size_t)-1;
}

/* Whether n bytes at p are all zero (a memcmp at a time). */
static inline int all_zero(const unsigned char *p, size_t n)
{
    static const unsigned char zero[4096];
    for (size_t k = 0; k < n; k += sizeof zero)
        if (memcmp(p + k, zero, n - k < sizeof zero ? n - k : sizeof zero))
            return 0;
    return 1;
}

static inline void verify(const struct blk *b, const char *what)
{
    size_t k = pat_bad(b->p, b->n, b->fill);
    if (k != (size_t)-1)
        finding("%s: block %p (%zu bytes) changed at offset %zu", what, (void *)b->p, b->n, k);
}

/* The ends of a block: cheap enough to look at after every step. */
static inline void verify_edges(const struct blk *b, const char *what)
{
    size_t e = b->n < 16 ? b->n : 16, tail = b->n - e, t = tail % PAT_TPL;
    const unsigned char *tpl = pat_tpl(b->fill);
    int bad = memcmp(b->p, tpl, e) != 0;
    if (t + e <= PAT_TPL)
        bad |= memcmp(b->p + tail, tpl + t, e) != 0;
    else
        bad |= pat_bad(b->p, b->n, b->fill) != (size_t)-1;
    if (bad)
        finding("%s: block %p (%zu bytes) changed near an end", what, (void *)b->p, b->n);
}

static inline void check_new(struct blk *s, size_t nslots, size_t i, const char *what)
{
    struct blk *b = &s[i];
    size_t a = b->align < 16 ? 16 : b->align;
    if ((uintptr_t)b->p % a)
        finding("%s: %p is not aligned to %zu", what, (void *)b->p, a);
    size_t u = ward_malloc_usable_size(b->p);
    if (u != b->n)
        finding("%s: malloc_usable_size(%p) is %zu, %zu were asked for", what, (void *)b->p, u, b->n);
    size_t bn = b->n ? b->n : 1;
    for (size_t j = 0; j < nslots; j++) {
        if (j == i || !s[j].p)
            continue;
        size_t cn = s[j].n ? s[j].n : 1;
        if (b->p < s[j].p + cn && s[j].p < b->p + bn)
            finding("%s: %p (%zu bytes) overlaps the live block %p (%zu bytes)", what, (void *)b->p, b->n,
                    (void *)s[j].p, s[j].n);
    }
}

/* ---- faults ---------------------------------------------------------------- */

/* Every fault in a harness is a finding, except the misuse harness's own
 * bad writes (`fuzz_fault_expected`: 0 a finding, 1 ward's to report; a
 * fault the harness counts as the detection by itself leaves the hook by
 * siglongjmp).  The harness's handler goes in front of everything and asks
 * ward directly (ward_testing_fault) rather than chaining to the handlers
 * installed before it: libFuzzer calls the handler it found installed
 * (ward's), which passes on to what was there before it, so chains loop or
 * end in a plain crash that saves nothing.  A fault ward recognises is its
 * report (a finding in ops and threads through their callbacks); any other
 * is a finding here, printed, then abort(), which the fuzzer catches and
 * saves the input. */
static int (*fuzz_fault_expected)(uintptr_t addr);

static void quiet_end(void);

static void fuzz_on_fault(int sig, siginfo_t *si, void *uc)
{
    uintptr_t a = (uintptr_t)si->si_addr;
    if (fuzz_fault_expected && fuzz_fault_expected(a) == 1) {
        ward_testing_fault(si, uc); /* ward reports it; the callback leaves by siglongjmp */
        quiet_end();
        finding("ward did not report the fault at %p (signal %d)", (void *)a, sig);
    }
    quiet_end();
    ward_testing_fault(si, uc);
    finding("fault at %p (signal %d, code %d): not a bad write of the harness's", (void *)a, sig, si->si_code);
}

/* The harness's once-per-process set-up: ward's report callback, and the
 * fault handler above.  Returns 1 if ward reports faults on its memory
 * (fault_handler=1). */
static int fuzz_start(void (*on_report)(const struct ward_report *, void *), int (*expected)(uintptr_t))
{
    ward_set_report_callback(on_report, NULL);
    static stack_t alt;
    if (!alt.ss_sp) { /* a fault from an overflowing stack still gets here */
        alt.ss_size = 1 << 16;
        alt.ss_sp = malloc(alt.ss_size);
        sigaltstack(&alt, NULL);
    }
    fuzz_fault_expected = expected;
    int ward_reports_faults = ward_testing_fault_handler(); /* ward has started: ours goes over its handler */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = fuzz_on_fault;
    sa.sa_flags = SA_SIGINFO | SA_NODEFER | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGSEGV, &sa, NULL);
    sigaction(SIGBUS, &sa, NULL);
    return ward_reports_faults;
}

/* ---- findings ------------------------------------------------------------- */

/* Reports of expected bugs are not written (ward_testing_quiet;
 * WARD_FUZZ_VERBOSE=1 keeps them); stderr itself stays open for the fuzzer
 * and the sanitizers, whose reports must not be lost. */
static inline void quiet_begin(void)
{
    static int verbose = -1;
    if (verbose < 0) {
        const char *v = getenv("WARD_FUZZ_VERBOSE");
        verbose = v && *v == '1';
    }
    if (!verbose)
        ward_testing_quiet(1);
}

static void quiet_end(void) { ward_testing_quiet(0); }

static void finding(const char *fmt, ...)
{
    /* one finding per process: a second thread finding the same waits for
     * the first one's abort, so the fuzzer saves the input once */
    static int first;
    if (__atomic_exchange_n(&first, 1, __ATOMIC_ACQ_REL))
        for (;;)
            pause();
    quiet_end();
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "FINDING: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    abort();
}

#endif
