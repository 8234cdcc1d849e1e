/* misuse: the input decodes into a correct sequence of steps (as in ops,
 * shadow-checked), then one heap bug committed on a block of that sequence
 * or a fresh one, then the call that must find it.  The oracle is
 * SECURITY.md's table: ward must report the bug, with the expected class,
 * through the report callback (which leaves by longjmp; the heap is then
 * discarded with ward_testing_reset()).  Silence, a report of another
 * class, a report before the bug, or a crash anywhere else is a finding:
 * abort().  A fault is accepted only where SECURITY.md names one as the
 * detection: the harness's own write reaching a guard page or an
 * inaccessible freed page.  With fault_handler=1 (the default) such a fault
 * must be ward's report (what its SIGSEGV handler does, asked through
 * ward_testing_fault by the harness's own handler), of the class expected; with fault_handler=0 the fault itself
 * is the detection.
 *
 * One input in four commits its bug on a sampled block (sample.c's guard
 * pages: the bug byte's bits above the bug number are 3): an overflow,
 * underflow, write after free, double, invalid interior or sized free of a
 * block of up to 4080 bytes that ward_testing_sample_next() sent to the
 * sampling pool.
 *
 * Only bugs ward promises to catch are committed:
 *   overflow   1-64 bytes past the request, the first byte changed
 *   underflow  1-16 bytes before the block, the nearest byte changed
 *   waf        a write after free, anywhere in the block, while the chunk
 *              is quarantined
 *   double     a second free / realloc / usable_size of a freed block, with
 *              only frees in between
 *   invalid    free of a stack, global, foreign or interior pointer
 *   sized      free_sized / free_aligned_sized with the wrong size or
 *              alignment ("sized free mismatch", "aligned free mismatch")
 *   plant      a link, header or footer of a free medium chunk overwritten,
 *              or its (fully poisoned) body written
 *   forge      a live chunk's header given another size or state, or copied
 *              from another chunk
 * Input: [bug] [prelude steps] [0xff 0xff] [bug arguments]; see decode(). */
#include "common.h"

#include <setjmp.h>
#include <signal.h>

#define SLOTS 16
#define MAX_TOTAL (24u << 20)
#define MAX_STEPS 64
#define QUARANTINE (1u << 20)  /* quarantine_bytes, the default */

enum { B_OVERFLOW, B_UNDERFLOW, B_WAF, B_DOUBLE, B_INVALID, B_SIZED, B_PLANT, B_FORGE, NBUGS };
static const char *const bug_name[] = {"overflow", "underflow", "write after free", "double free",
                                       "invalid free", "sized free", "planted free-list link",
                                       "forged header"};

/* WARD_FUZZ_SKIP_KNOWN=1: no overflow or underflow byte is zero, which
 * keeps clear of the known miss in fuzz/README.md (a header whose check word
 * an overflow zeroes reads as "busy" and is skipped), so a campaign can look
 * for other bugs. */
static unsigned char skip_known;

static struct blk s[SLOTS];
static size_t total;

#define T_SAMPLED 3          /* struct blk's tier of a sampled block */
static int sample_bug;       /* this input's bug is on a sampled block */
static int ward_faults;      /* ward reports faults (fault_handler=1) */

/* ---- the oracle ----------------------------------------------------------- */

static sigjmp_buf jb;
static volatile int stage; /* 0: the correct prelude; 1: the bug is committed */
static const char *volatile expect[4];
static char got[256];
static const char *volatile what_bug;

/* With WARD_OPTIONS=on_error=continue, a recoverable report inside a call
 * that can give up (free, realloc, malloc_usable_size, sized frees) returns
 * from the callback: ward then makes the call do nothing. */
static int cont_mode;

/* With WARD_OPTIONS=foreign=warn, a pointer outside ward's memory is not a
 * bug ward reports: free ignores it, realloc fails with ENOMEM,
 * malloc_usable_size says 0. */
static int foreign_warn;
static volatile int cont_ok, reported;
#define ARMED(call) do { cont_ok = 1; (void)call; cont_ok = 0; } while (0)

static int recoverable(const char *kind)
{
    static const char *const ok[] = {"double free", "invalid free", "invalid pointer", "use after free",
                                     "sized free mismatch", "aligned free mismatch", "heap buffer overflow"};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        if (!strcmp(kind, ok[i]))
            return 1;
    return 0;
}

static void on_report(const struct ward_report *r, void *arg)
{
    (void)arg;
    if (stage == 0)
        finding("ward reported a bug before one was committed: %s", r->text);
    snprintf(got, sizeof got, "%s", r->text);
    for (int i = 0; i < 4 && expect[i]; i++)
        if (!strcmp(r->kind, expect[i])) {
            if (cont_mode && cont_ok && recoverable(r->kind)) {
                reported = 1;
                cont_ok = 0;
                return;
            }
            siglongjmp(jb, 1);
        }
    finding("%s: expected a report of %s%s%s, got: %s", what_bug, expect[0], expect[1] ? " or " : "",
            expect[1] ? expect[1] : "", r->text);
}

static void want(const char *a, const char *b, const char *c)
{
    expect[0] = a;
    expect[1] = b;
    expect[2] = c;
    expect[3] = NULL;
}

/* Faults are expected only in the harness's own bad writes, [fault_lo,
 * fault_hi): counted as the detection by themselves, or ward's to report
 * (`fault_by_ward`). */
static volatile uintptr_t fault_lo, fault_hi;
static volatile int fault_by_ward;

static int fault_expected(uintptr_t a)
{
    if (a < fault_lo || a >= fault_hi)
        return 0;
    if (fault_by_ward)
        return 1;
    siglongjmp(jb, 2);
}

/* The harness's bad write in [lo, hi) may fault.  For a sampled or large
 * block (`by_ward`) the fault is ward's to report when ward handles faults;
 * otherwise (fault_handler=0, or a small or medium block's overflow reaching
 * memory ward has not committed yet) the fault is accepted as it is. */
static void faults_allowed(uintptr_t lo, uintptr_t hi, int by_ward)
{
    fault_by_ward = ward_faults && by_ward;
    fault_lo = lo;
    fault_hi = hi;
}

static void faults_done(void) { fault_lo = fault_hi = 0; }

/* ---- the prelude: correct steps, shadow-checked ---------------------------- */

static void put(size_t i, void *p, size_t n, size_t align, unsigned char fill, unsigned char tier)
{
    s[i] = (struct blk){p, n, align, 0, tier, 0};
    check_new(s, SLOTS, i, "prelude");
    total += n;
    stamp(&s[i], fill);
}

static void release(size_t i)
{
    verify(&s[i], "prelude free");
    total -= s[i].n;
    ward_free(s[i].p);
    s[i].p = NULL;
}

static void prelude_step(struct in *in)
{
    unsigned op = u8(in) % 8;
    size_t i = u8(in) % SLOTS;
    if (op <= 3 && s[i].p)
        release(i);
    if (op <= 3 && total > MAX_TOTAL)
        op = 4;
    switch (op) {
    case 0: case 1: { /* malloc, calloc */
        size_t n = size_of(in);
        void *p = op ? ward_calloc(1, n) : ward_malloc(n);
        if (p)
            put(i, p, n, 16, (unsigned char)u8(in), tier_for(n, 16));
        break;
    }
    case 2: { /* aligned */
        size_t a = (size_t)16 << (u8(in) % 13), n = size_of(in);
        void *p = ward_aligned_alloc(a, n);
        if (p)
            put(i, p, n, a, (unsigned char)u8(in), tier_for(n, a));
        break;
    }
    case 3: break;
    case 4: /* free */
        if (s[i].p)
            release(i);
        break;
    case 5: { /* realloc */
        if (!s[i].p)
            break;
        size_t n = size_of(in);
        if (n == 0)
            n = 1;
        verify(&s[i], "prelude realloc");
        unsigned char *q = ward_realloc(s[i].p, n);
        if (!q)
            break;
        size_t keep = n < s[i].n ? n : s[i].n;
        size_t bad = pat_bad(q, keep, s[i].fill);
        if (bad != (size_t)-1)
            finding("prelude: realloc lost contents");
        total -= s[i].n;
        unsigned char tier = q == s[i].p ? s[i].tier : tier_for(n, 16);
        s[i].p = NULL;
        put(i, q, n, 16, (unsigned char)u8(in), tier);
        break;
    }
    case 6:
        ward_malloc_trim(0);
        break;
    case 7:
        ward_check_heap();
        break;
    }
}

/* ---- the bug ---------------------------------------------------------------- */

static size_t tier_of(size_t n) { return tier_for(n, 16); }

/* A block for the bug: the prelude's block in the chosen slot, or a fresh
 * one.  `fresh_only`: the bug needs to know the chunk exactly as made.
 * `no_large`: the bug needs a chunk header (small or medium). */
static struct blk *target(struct in *in, int fresh_only, int no_large)
{
    size_t i = u8(in) % SLOTS;
    int sampled = sample_bug && !no_large;
    if ((fresh_only || sampled) && s[i].p)
        release(i);
    if (s[i].p && !(no_large && (s[i].tier == 2 || s[i].tier == T_ZERO)))
        return &s[i];
    if (s[i].p)
        release(i);
    size_t n = size_of(in);
    if (no_large && tier_of(n) == 2)
        n %= F_MEDIUM_MAX + 1;
    if (no_large && n == 0) /* a 0-byte block has no header either */
        n = 1;
    if (sampled) {
        n %= F_PAGE - 16 + 1;
        if (ward_testing_sample_next() != 0)
            finding("the harness build has no sampling pool");
    }
    void *p = ward_malloc(n);
    if (!p)
        finding("malloc(%zu) failed", n);
    put(i, p, n, 16, (unsigned char)u8(in), sampled ? T_SAMPLED : tier_for(n, 16));
    return &s[i];
}

/* The call that finds a bug in a live block: free and the calls that verify
 * as much (realloc, free_sized, ward_check_heap; malloc_usable_size only
 * where the header is the whole check). */
static void trigger(struct in *in, struct blk *b, int header_only)
{
    unsigned t = u8(in) % (header_only ? 5 : 4);
    switch (t) {
    case 0: ARMED(ward_free(b->p)); break;
    case 1: ARMED(ward_realloc(b->p, b->n + 1 + u8(in))); break;
    case 2: ARMED(ward_free_sized(b->p, b->n)); break;
    case 3: ward_check_heap(); break;
    case 4: ARMED(ward_malloc_usable_size(b->p)); break;
    }
}

/* Room for one more chunk in the quarantine: nothing is evicted by the
 * free that follows, so the chunk stays quarantined. */
static void quarantine_room(size_t n)
{
    struct ward_stats st;
    ward_get_stats(&st);
    if (st.quarantined + n + 256 > QUARANTINE)
        ward_malloc_trim(0);
}

/* A medium chunk's size as ward makes it from a request (need_of). */
static size_t need_of(size_t n)
{
    size_t need = (n + 16 + 15) & ~(size_t)15;
    return need < 48 ? 48 : need;
}

static unsigned char sink_global[256] __attribute__((aligned(64)));

static void commit(struct in *in, int bug)
{
    what_bug = bug_name[bug];
    switch (bug) {
    case B_OVERFLOW: {
        struct blk *b = target(in, 0, 0);
        size_t k = 1 + u8(in) % 64;
        unsigned char bytes[64];
        for (size_t j = 0; j < k; j++)
            bytes[j] = (unsigned char)(u8(in) | skip_known);
        want("heap buffer overflow", "corrupted chunk header", NULL);
        stage = 1;
        faults_allowed((uintptr_t)b->p + b->n, (uintptr_t)b->p + b->n + k, b->tier >= 2);
        if (b->p[b->n] == bytes[0]) /* the first byte past the request changes */
            bytes[0] ^= 0x20;
        memcpy(b->p + b->n, bytes, k);
        faults_done();
        trigger(in, b, 0);
        break;
    }
    case B_UNDERFLOW: {
        struct blk *b = target(in, 0, 0);
        size_t k = 1 + u8(in) % 16;
        unsigned char x = (unsigned char)(u8(in) | 1);
        /* a sampled block has no header: its page's pattern or the guard
         * page before it; a large block's guard page may come first */
        if (b->tier == T_SAMPLED || b->tier == T_ZERO) /* no header: a guard page or the pattern */
            want("heap buffer overflow", NULL, NULL);
        else if (b->tier == 2 && ward_faults)
            want("corrupted chunk header", "heap buffer overflow", NULL);
        else
            want("corrupted chunk header", NULL, NULL);
        stage = 1;
        faults_allowed((uintptr_t)b->p - k, (uintptr_t)b->p, b->tier >= 2);
        for (size_t j = 1; j <= k; j++) { /* nearest first: a guard page faults at once */
            unsigned char o = b->p[-(long)j], nb = (unsigned char)(o ^ (j == 1 ? x : u8(in)));
            if (skip_known && nb == 0)
                nb = o == 0xff ? 0xfe : 0xff;
            b->p[-(long)j] = nb;
        }
        faults_done();
        trigger(in, b, b->tier < 2);
        break;
    }
    case B_WAF: {
        size_t i = u8(in) % SLOTS;
        if (s[i].p)
            release(i);
        size_t n = size_of(in);
        if (n == 0)
            n = 1;
        if (tier_of(n) == 1 && n > F_MEDIUM_MAX - 64)
            n -= 64; /* its chunk stays within quarantine_max_chunk */
        int faults = tier_of(n) == 2; /* a freed large mapping is inaccessible */
        if (sample_bug) {                /* and so is a freed sampled page */
            n = 1 + n % (F_PAGE - 16);
            faults = 1;
            if (ward_testing_sample_next() != 0)
                finding("the harness build has no sampling pool");
        }
        quarantine_room(n);
        unsigned char *p = ward_malloc(n);
        if (!p)
            finding("malloc(%zu) failed", n);
        /* anywhere in the block: 16 bits, stretched over blocks bigger
         * than 64 KiB */
        size_t off = (size_t)u16(in) * ((n >> 16) + 1) % n, len = 1 + u8(in) % 8;
        if (off + len > n)
            len = n - off;
        ward_free(p);
        want("write after free", NULL, NULL);
        stage = 1;
        faults_allowed(faults ? (uintptr_t)p : 0, faults ? (uintptr_t)p + n : 0, 1);
        for (size_t j = 0; j < len; j++)
            p[off + j] = (unsigned char)(u8(in) | (j == 0));
        faults_done();
        if (faults)
            finding("write after free of a %s block did not fault", sample_bug ? "sampled" : "large");
        unsigned d = u8(in);
        if (d & 1) {
            ward_check_heap();
        } else if ((d & 2) && tier_of(n) == 0) {
            /* at reuse: frees of another class push the chunk out of the
             * quarantine into the thread's cache.  A new entry takes the
             * place of a random one of the ring's newer half (which goes to
             * the back), so the chunk leaves only once it is in the older
             * half: 48 rounds of 1000 x 1 KiB make that certain but for
             * about 1 in 10^9 (each ring's worth of frees sends it back with
             * a chance of 1 - 1/e).  It waits with a few others of its class
             * (those the trades put behind it): allocations of its size
             * take it within a few dozen, and must verify it first. */
            static unsigned char *push[1000];
            size_t other = n <= 944 ? 1008 : 496;
            for (int round = 0; round < 48; round++) {
                for (int k = 0; k < 1000; k++)
                    if (!(push[k] = ward_malloc(other)))
                        finding("malloc(%zu) failed", other);
                for (int k = 0; k < 1000; k++)
                    ward_free(push[k]);
            }
            for (int k = 0; k < 2400; k++) { /* the cache, then the shared cache it may have passed p to */
                cont_ok = 1;
                unsigned char *q = ward_malloc(n);
                cont_ok = 0;
                if (q == p)
                    break;
            }
        } else {
            ward_malloc_trim(0);
        }
        break;
    }
    case B_DOUBLE: {
        struct blk *b = target(in, 0, 0);
        unsigned char *p = b->p;
        size_t n = b->n, align = b->align;
        total -= b->n;
        ward_free(p);
        b->p = NULL;
        for (unsigned m = u8(in) % 4; m; m--) { /* other frees in between */
            size_t j = u8(in) % SLOTS;
            if (s[j].p)
                release(j);
        }
        /* After a trim, a small chunk's slab may have been given back: the
         * pointer then reads as one ward never handed out */
        int trim = u8(in) & 1;
        if (trim)
            ward_malloc_trim(0);
        const char *alt_free = trim ? "invalid free" : NULL, *alt_ptr = trim ? "invalid pointer" : NULL;
        stage = 1;
        switch (u8(in) % 5) {
        case 0: want("double free", alt_free, NULL); ARMED(ward_free(p)); break;
        case 1: want("double free", alt_free, NULL); ARMED(ward_free_sized(p, n)); break;
        case 2: want("double free", alt_free, NULL); ARMED(ward_free_aligned_sized(p, align, n)); break;
        case 3: want("use after free", alt_ptr, NULL); ARMED(ward_realloc(p, 1 + u8(in))); break;
        case 4: want("use after free", alt_ptr, NULL); ARMED(ward_malloc_usable_size(p)); break;
        }
        break;
    }
    case B_INVALID: {
        unsigned char local[64] __attribute__((aligned(16)));
        unsigned char *bad;
        unsigned v = u8(in) % 6;
        if (sample_bug)
            v = 3; /* an interior pointer of a sampled block */
        struct blk *b = v == 3 || v == 5 ? target(in, 0, v == 5) : NULL;
        if (v == 0) {
            bad = local + (u8(in) % 4) * 16;
            __asm__ volatile("" : : "r"(local) : "memory");
        } else if (v == 1) {
            bad = sink_global + (u8(in) % 8) * 16;
        } else if (v == 2) {
            static unsigned char *foreign;
            if (!foreign)
                foreign = malloc(64); /* the process allocator's */
            bad = foreign;
        } else if (v == 3) { /* interior or unaligned */
            if (b->tier == T_SAMPLED && (u8(in) & 3) == 0) { /* into a guard page of the pool */
                uintptr_t page = (uintptr_t)b->p & ~(uintptr_t)(F_PAGE - 1);
                bad = (unsigned char *)(u8(in) & 1 ? page - F_PAGE : page + F_PAGE) + (u8(in) % 8) * 16;
            } else if (b->n < 2) {
                bad = b->p + 1;
            } else {
                size_t off = 1 + u16(in) % (b->n - 1);
                bad = b->p + (u8(in) & 1 ? off & ~(size_t)15 : off);
                if (bad == b->p)
                    bad += 16 < b->n ? 16 : 1;
            }
        } else if (v == 4) { /* nowhere near anything ward maps */
            bad = (unsigned char *)(uintptr_t)(0x10000 + (u8(in) % 16) * 16);
        } else { /* a copy of a real header in front of a global */
            memcpy(sink_global + 64, b->p - 16, 16);
            bad = sink_global + 80;
        }
        stage = 1;
        if (foreign_warn && v != 3) { /* outside ward's memory: ignored */
            want(NULL, NULL, NULL);
            ward_free(bad);
            ward_free_sized(bad, 16);
            errno = 0;
            if (ward_realloc(bad, 1 + u8(in)) || errno != ENOMEM)
                finding("foreign=warn: realloc of a foreign pointer did not fail with ENOMEM");
            if (ward_malloc_usable_size(bad) != 0)
                finding("foreign=warn: malloc_usable_size of a foreign pointer is not 0");
            reported = 1;
            break;
        }
        switch (u8(in) % 4) {
        case 0: want("invalid free", NULL, NULL); ARMED(ward_free(bad)); break;
        case 1: want("invalid free", NULL, NULL); ARMED(ward_free_sized(bad, 16)); break;
        case 2: want("invalid pointer", NULL, NULL); ARMED(ward_realloc(bad, 1 + u8(in))); break;
        case 3: want("invalid pointer", NULL, NULL); ARMED(ward_malloc_usable_size(bad)); break;
        }
        break;
    }
    case B_SIZED: {
        struct blk *b = target(in, 0, 0);
        unsigned d = u8(in);
        size_t wrong = d & 1 ? b->n + 1 + d / 2 : (b->n > d / 2 ? b->n - 1 - d / 2 : b->n + 1);
        stage = 1;
        if (u8(in) & 1) {
            want("sized free mismatch", NULL, NULL);
            ARMED(ward_free_sized(b->p, wrong));
        } else {
            size_t a = (size_t)1 << (u8(in) % 24), sz = u8(in) & 1 ? wrong : b->n;
            if ((uintptr_t)b->p & (a - 1))
                want("aligned free mismatch", NULL, NULL);
            else if (sz != b->n)
                want("sized free mismatch", NULL, NULL);
            else
                sz = wrong, want("sized free mismatch", NULL, NULL);
            ARMED(ward_free_aligned_sized(b->p, a, sz));
        }
        break;
    }
    case B_PLANT: {
        /* A, V, B side by side from a fresh run of the arena: with A and B
         * live, V freed and drained stays one free chunk on a list. */
        size_t na = F_SMALL_MAX + 1 + u16(in) % 16384, nv = F_SMALL_MAX + 1 + u16(in) % 16384,
               nb = F_SMALL_MAX + 1 + u16(in) % 16384;
        unsigned char *a = ward_malloc(na), *v = ward_malloc(nv), *b = ward_malloc(nb);
        if (!a || !v || !b)
            finding("medium malloc failed");
        if (!(a < v && v < b && (size_t)(v - a) <= need_of(na) + 47 && (size_t)(b - v) <= need_of(nv) + 47)) {
            /* not neighbours (the arena had holes): a double free instead */
            what_bug = bug_name[B_DOUBLE];
            ward_free(v);
            want("double free", NULL, NULL);
            stage = 1;
            ARMED(ward_free(v));
            break;
        }
        ward_free(v);
        ward_malloc_trim(0);
        uint64_t *h = (uint64_t *)(v - 16);
        if ((h[0] & 0xff) != 0xF3)
            finding("plant: the drained chunk at %p is not free (header %#lx)", (void *)v, (unsigned long)h[0]);
        size_t csize = (size_t)((h[0] >> 8) & 0xffffffffu) << 4;
        unsigned field = u8(in) % 5, how = u8(in) % 6;
        if (field == 4 && csize <= 4096 + 16) {
            /* a write after free into the body of a free chunk, fully
             * poisoned (its body is at most 4 KiB): the heap walk, or A
             * growing in place over it, must see it */
            size_t off = 32 + u16(in) % (csize - 160);
            v[off - 16] = (unsigned char)(u8(in) | 1);
            stage = 1;
            want("write after free", NULL, NULL);
            unsigned d = u8(in);
            /* where a merge looks (the first and last 256 bytes of its
             * body: check_edges in medium.c) */
            int edge = off < 32 + 256 || off >= csize - 16 - 256;
            if (d & 1) {
                ward_check_heap();
            } else if ((d & 2) && edge) { /* B freed and drained merges V from behind */
                ARMED(ward_free(b));
                ward_malloc_trim(0);
            } else {
                ARMED(ward_realloc(a, na + csize - 64));
            }
            break;
        }
        field %= 4;
        uint64_t *at = field == 0 ? (uint64_t *)v : field == 1 ? (uint64_t *)(v + 8)
                     : field == 2 ? h : (uint64_t *)(v - 16 + csize - 16 + 8 * (u8(in) & 1));
        uint64_t val = how == 0 ? (uint64_t)(uintptr_t)(a - 16) : how == 1 ? (uint64_t)(uintptr_t)(b - 16)
                     : how == 2 ? (uint64_t)(uintptr_t)(v - 16) : how == 3 ? 0
                     : how == 4 ? (uint64_t)(uintptr_t)sink_global : u64(in);
        if (val == *at)
            val ^= 0x10;
        *at = val;
        stage = 1;
        unsigned t = u8(in) % 3;
        if (field == 3)
            t = 0; /* a footer is read only where a neighbour merges backwards: the walk checks it */
        if (t == 0) {
            want("corrupted free-list link", "corrupted chunk header", NULL);
            ward_check_heap();
        } else {
            /* a neighbour freed and drained merges with V */
            want("corrupted free-list link", "corrupted chunk header", "heap buffer overflow");
            ARMED(ward_free(t == 1 ? a : b));
            ward_malloc_trim(0);
        }
        break;
    }
    case B_FORGE: {
        struct blk *b = target(in, 0, 1);
        uint64_t *h = (uint64_t *)(b->p - 16);
        unsigned how = u8(in) % 4;
        uint64_t old0 = h[0], old1 = h[1];
        unsigned x = how == 1 ? u8(in) : 0;
        if (how == 0) { /* a bigger size */
            h[0] += (uint64_t)(1 + u8(in)) << 8;
        } else if (how == 1 && x >= 0x80 && b->tier == 1 && b->n >= 8192) {
            /* the header the chunk had before realloc shrank it in place
             * (its tail given back), written back: it verifies, but its
             * size disagrees with where the chunks begin */
            size_t n = b->n - 4096 - 16 * (x & 7);
            if (pat_bad(b->p, n, b->fill) != (size_t)-1 || ward_realloc(b->p, n) != b->p)
                finding("forge: realloc(%p, %zu) did not shrink in place", (void *)b->p, n);
            h[0] = old0, h[1] = old1; /* b->n stays what the header says */
            old1 = ~old1; /* the same bytes, on purpose */
        } else if (how == 1) { /* a smaller one */
            h[0] -= (uint64_t)(1 + x % 2) << 8;
        } else if (how == 2) { /* another state */
            static const unsigned char st[] = {0x9E, 0xF3, 0xE5, 0x00};
            h[0] = (h[0] & ~0xffull) | st[u8(in) % 4];
        } else { /* a copy of another live chunk's header */
            struct blk *o = NULL;
            for (size_t j = 0; j < SLOTS; j++)
                if (s[j].p && s[j].p != b->p && s[j].tier < 2)
                    o = &s[j];
            if (o)
                memcpy(h, o->p - 16, 16);
            else
                h[1] ^= 1;
        }
        if (h[0] == old0 && h[1] == old1)
            h[1] ^= 2;
        /* the heap walk reads a written-back header's size first, and then
         * the canary where that size puts it */
        if (how == 1 && x >= 0x80 && old1 != h[1])
            want("corrupted chunk header", "heap buffer overflow", "allocator state corrupted");
        else
            want("corrupted chunk header", NULL, NULL);
        stage = 1;
        trigger(in, b, 1);
        break;
    }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int once;
    if (!once) {
        once = 1;
        ward_faults = fuzz_start(on_report, fault_expected);
        const char *k = getenv("WARD_FUZZ_SKIP_KNOWN");
        skip_known = k && *k == '1';
        const char *o = getenv("WARD_OPTIONS");
        cont_mode = o && strstr(o, "on_error=continue");
        foreign_warn = o && strstr(o, "foreign=warn");
    }
    if (size < 2)
        return 0;
    ward_testing_reset();
    memset(s, 0, sizeof s);
    total = 0;
    stage = 0;
    reported = 0;
    struct in in = {data, size};
    unsigned b0 = u8(&in);
    int bug = (int)(b0 % NBUGS);
    sample_bug = (b0 / NBUGS) % 4 == 3 && bug != B_PLANT && bug != B_FORGE;
    /* the prelude runs to the marker 0xff 0xff (or MAX_STEPS steps) */
    const uint8_t *end = memmem(in.p, in.n, "\xff\xff", 2);
    struct in pre = {in.p, end ? (size_t)(end - in.p) : 0};
    for (int n = 0; pre.n && n < MAX_STEPS; n++)
        prelude_step(&pre);
    if (end) {
        in.n -= (size_t)(end + 2 - in.p);
        in.p = end + 2;
    }
    quiet_begin();
    if (sigsetjmp(jb, 1) == 0) {
        commit(&in, bug);
        if (!reported)
            finding("%s: ward did not report it", what_bug);
    }
    /* reported (or faulted where a fault is the detection) */
    faults_done();
    quiet_end();
    stage = 0;
    ward_testing_reset();
    return 0;
}
