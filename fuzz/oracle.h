/* oracle.h: what the ops harness checks beyond its shadow model of live
 * blocks (fuzz/ops.c): the promises SECURITY.md makes about freed memory,
 * and what happens at exit and in forked children.
 *
 * The reuse oracle.  Every freed block is remembered with the bytes and the
 * number of frees since; a new block that overlaps one of them while the
 * quarantine still promises to hold it is a finding.  The promise, as
 * ward's quarantine keeps it (quarantine.h: a per-thread ring bounded in
 * bytes, quarantine_bytes, and in entries, 4096; a new entry takes the
 * place of a random one of the newer half, which goes to the back): a
 * small or medium chunk leaves only when the ring holds more than
 * quarantine_bytes counting the chunk, the chunks freed after it and
 * chunks freed before it that the trade put behind it (at most what the
 * quarantines held right after it was freed: ward_get_stats), or when 4096
 * entries push it out (the ring then filled up from what it held, at least
 * 32 bytes an entry).  The harness does not know chunk sizes exactly, so it
 * counts upper bounds for the later frees (a small chunk: the request +
 * 96; a medium one: + 4200, a shrink in place keeps up to 4 KiB of tail): a
 * finding is certain to be a broken promise.
 * malloc_trim, and the kernel refusing memory (ward then drains the
 * quarantine), end every promise.  Large blocks: every freed large block
 * must be inaccessible at once (probed with write(2) from it into a pipe:
 * EFAULT, no fault); one too big for the large cache (more than a quarter
 * of large_cache_bytes, 32 MiB: the 9 MiB edge size) is kept inaccessible
 * for the next 32 large frees (quarantine_large), so no new block may
 * overlap it before.  A sampled block's page goes to the back of the
 * sampling pool's FIFO: it may not come back before 16 more sampled
 * blocks are handed out (with sample_slots of 64 pages or more: the
 * harness holds at most 44 blocks).  The options that change the promise
 * are read from WARD_OPTIONS (quarantine_bytes, quarantine_large,
 * large_cache_bytes, sample_slots;
 * sample=N makes every block up to 4080 bytes possibly sampled, so those
 * are not held to the quarantine's promise).
 *
 * The quarantine is per thread: each record names the ring its block went
 * to (ops: all in ring 0, its one thread's), and a free counts only on the
 * rings it pushes on (oracle_count's mask).  The threads harness
 * (fuzz/threads.c) keeps a ring per thread, and its own order and locking
 * around the calls: oracle_count before the free, the record remembered
 * pending (held to nothing) until the free has returned. */
#ifndef WARD_FUZZ_ORACLE_H
#define WARD_FUZZ_ORACLE_H

#include "common.h"

#include <fcntl.h>
#include <sys/wait.h>

#define R_MAX 512
#define Q_ENTRIES 4096

struct freed {
    uintptr_t p;
    size_t n;           /* bytes of the block (at least 1) */
    unsigned char q, s, l; /* held by: the quarantine, the sampling pool, the large quarantine */
    size_t bytes_since, frees_since, large_since, sampled_since;
    size_t held_then;   /* bytes in the quarantines right after it was freed */
    unsigned char ring;    /* the quarantine it went to: ops has one (0); threads one per thread */
    unsigned char pending; /* threads: remembered before its free returned, not yet held to anything */
};

static struct freed rec[R_MAX];
static size_t nrec, rec_next;

struct opts {
    long quarantine_bytes, quarantine_large, large_cache_bytes, sample, sample_slots;
    int quarantine_max_set, exit_check_off, exit_check_heap;
};
static struct opts opt;

static long opt_size(const char *o, const char *key, long def)
{
    long v = def;
    size_t kl = strlen(key);
    for (const char *s = o; s && *s;) {
        if (!strncmp(s, key, kl) && s[kl] == '=') {
            char *e;
            v = strtol(s + kl + 1, &e, 10);
            if (*e == 'k' || *e == 'K')
                v <<= 10;
            else if (*e == 'm' || *e == 'M')
                v <<= 20;
            else if (*e == 'g' || *e == 'G')
                v <<= 30;
        }
        s = strchr(s, ':');
        if (s)
            s++;
    }
    return v;
}

static void oracle_options(void)
{
    const char *o = getenv("WARD_OPTIONS"); /* with the harness's own first (common.h) */
    opt.quarantine_bytes = opt_size(o, "quarantine_bytes", 1 << 20);
    opt.quarantine_large = opt_size(o, "quarantine_large", 32);
    opt.large_cache_bytes = opt_size(o, "large_cache_bytes", 32 << 20);
    opt.sample = opt_size(o, "sample", 0);
    opt.sample_slots = opt_size(o, "sample_slots", 512);
    opt.quarantine_max_set = o && strstr(o, "quarantine_max_chunk=") != NULL;
    opt.exit_check_off = o && (strstr(o, "exit_check=off") || strstr(o, "exit_check=0"));
    opt.exit_check_heap = o && strstr(o, "exit_check=heap"); /* the exit check is then the heap walk */
}

static void oracle_reset(void)
{
    nrec = rec_next = 0;
}

/* Every promise of the quarantines ends (malloc_trim, memory refused);
 * a block that may have been sampled was perhaps quarantined instead: its
 * record goes too. */
__attribute__((unused)) static void oracle_drained(void)
{
    for (size_t i = 0; i < nrec; i++)
        rec[i].p = 0;
}

/* Whether the chunk of r is still held back. */
static int held(const struct freed *r)
{
    if (!r->p || r->pending)
        return 0;
    if (r->q && !(r->frees_since + r->held_then / 32 + 1 < Q_ENTRIES &&
                  r->held_then + r->bytes_since <= (size_t)opt.quarantine_bytes))
        return 0;
    if (r->l && r->large_since >= (size_t)opt.quarantine_large)
        return 0;
    /* the harness holds at most 44 blocks (32 slots, a burst's 8, the edge
     * steps' 4): with 64 pages or more, 16 free ones are ahead of it */
    if (r->s && (r->sampled_since >= 16 || opt.sample_slots < 64))
        return 0;
    return 1;
}

/* Whether a block of n bytes from an allocating call (malloc, calloc,
 * realloc that moves, reallocarray) may be sampled: the harness asked for
 * the next one (*armed, which the call uses up, also with n = 0: api.c's
 * alloc counts every call down before it looks at n), or sample=N. */
static int maybe_sampled(size_t n, int *armed)
{
    int s = (*armed || opt.sample) && n && n <= F_PAGE - 16;
    *armed = 0;
    return s;
}

/* Whether a freed block of this tier goes to its thread's quarantine. */
static int oracle_quarantined(unsigned char tier)
{
    return tier <= 1 && opt.quarantine_bytes > 0;
}

/* A free of n bytes (tier as tier_for()) pushes on the quarantines in
 * `rings` (a bit per ring): the remembered blocks there have that much
 * more freed behind them; and every large free counts for the large
 * quarantine, which is one for the process. */
static void oracle_count(size_t n, unsigned char tier, int sampled, uint32_t rings)
{
    if (tier == T_ZERO)
        return;
    size_t ub = tier == 0 ? n + 96 : n + 4200;
    int quarantined = oracle_quarantined(tier);
    int large = tier == 2 && !sampled;
    for (size_t i = 0; i < nrec; i++) {
        if (quarantined && (rings >> rec[i].ring & 1)) {
            rec[i].bytes_since += ub;
            rec[i].frees_since++;
        }
        rec[i].large_since += large;
    }
}

/* A freed large block must be inaccessible at once (cached or not):
 * probed with write(2) from it into a pipe, EFAULT and no fault. */
static void oracle_probe_large(const void *p, size_t n)
{
    static int fd[2] = {-1, -1};
    if (fd[0] < 0 && (pipe(fd) || fcntl(fd[1], F_SETFL, O_NONBLOCK) || fcntl(fd[0], F_SETFL, O_NONBLOCK)))
        finding("pipe");
    const unsigned char *b = p;
    size_t at[3] = {0, n / 2, n - 1};
    for (int k = 0; k < 3; k++) {
        char c;
        errno = 0;
        if (write(fd[1], b + at[k], 1) == 1 || errno != EFAULT)
            finding("a freed large block (%p, %zu bytes) is still accessible at offset %zu", p, n, at[k]);
        while (read(fd[0], &c, 1) == 1)
            ;
    }
}

/* Remembers the freed block (if anything promises to hold it): ring, the
 * quarantine it went to, held_then, the bytes the quarantines held right
 * after.  The record, or NULL. */
static struct freed *oracle_remember(const void *p, size_t n, unsigned char tier, int sampled, unsigned ring,
                                     size_t held_then, int pending)
{
    if (tier == T_ZERO)
        return NULL;
    int large = tier == 2 && !sampled;
    struct freed r = {(uintptr_t)p, n ? n : 1, 0, 0, 0, 0, 0, 0, 0, held_then, (unsigned char)ring,
                      (unsigned char)pending};
    r.q = oracle_quarantined(tier) && !opt.quarantine_max_set;
    r.s = sampled;
    r.l = large && opt.quarantine_large > 0 && n + 2 * F_PAGE > (size_t)opt.large_cache_bytes / 4;
    if (!(r.q || r.s || r.l))
        return NULL;
    struct freed *at = &rec[rec_next];
    *at = r;
    rec_next = (rec_next + 1) % R_MAX;
    if (nrec < R_MAX)
        nrec++;
    return at;
}

/* Forgets the blocks of the quarantines in `rings`: their promise ended
 * (drained), or may have. */
__attribute__((unused)) static void oracle_forget(uint32_t rings)
{
    for (size_t i = 0; i < nrec; i++)
        if (rings >> rec[i].ring & 1)
            rec[i].p = 0;
}

/* A block of n bytes at p is freed by the one thread (ops); tier as
 * tier_for(). */
__attribute__((unused)) static void oracle_free(const void *p, size_t n, unsigned char tier, int sampled)
{
    if (tier == T_ZERO)
        return;
    oracle_count(n, tier, sampled, 1);
    if (tier == 2 && !sampled && n > F_MEDIUM_MAX)
        oracle_probe_large(p, n);
    struct ward_stats st;
    ward_get_stats(&st);
    oracle_remember(p, n, tier, sampled, 0, st.quarantined, 0);
}

/* A new block: it must not overlap a freed one still held back. */
static void oracle_alloc(const void *p, size_t n, int sampled, const char *what)
{
    uintptr_t a = (uintptr_t)p, e = a + (n ? n : 1);
    if (!p)
        return;
    for (size_t i = 0; i < nrec; i++) {
        struct freed *r = &rec[i];
        if (r->p && a < r->p + r->n && r->p < e && held(r))
            finding("%s: %p (%zu bytes) reuses the freed block %p (%zu bytes) too early: %zu bytes in %zu frees "
                    "(%zu large, %zu sampled blocks) since it was freed; quarantine_bytes %ld",
                    what, p, n, (void *)r->p, r->n, r->bytes_since, r->frees_since, r->large_since,
                    r->sampled_since, opt.quarantine_bytes);
        if (sampled)
            r->sampled_since++;
    }
}

#endif
