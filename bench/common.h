/* Shared helpers for ward's allocation microbenchmarks.
 *
 * Every benchmark does a fixed amount of work (never a fixed time), draws
 * its sizes from a seeded PRNG so that every allocator sees the same
 * sequence, and prints one checksum computed from block *contents* (never
 * from addresses), so the output must be identical under every allocator:
 * run.sh flags a differing checksum as BAD-OUTPUT. */
#ifndef WARD_BENCH_COMMON_H
#define WARD_BENCH_COMMON_H

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* xorshift64* : small, fast, deterministic. */
typedef struct { uint64_t s; } rng_t;

static inline void rng_seed(rng_t *r, uint64_t seed)
{
    r->s = seed * 0x9E3779B97F4A7C15ull + 0x632BE59BD9B4E019ull;
    if (r->s == 0)
        r->s = 1;
}

static inline uint64_t rng_next(rng_t *r)
{
    uint64_t x = r->s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    r->s = x;
    return x * 0x2545F4914F6CDD1Dull;
}

/* uniform in [lo, hi] */
static inline size_t rng_range(rng_t *r, size_t lo, size_t hi)
{
    return lo + (size_t)(rng_next(r) % (uint64_t)(hi - lo + 1));
}

/* log-uniform in [lo, hi]: as many blocks of 1-2 KiB as of 128-256 KiB */
static inline size_t rng_logrange(rng_t *r, size_t lo, size_t hi)
{
    /* pick a power-of-two band, then uniform inside it */
    unsigned lo_bit = 63u - (unsigned)__builtin_clzll(lo);
    unsigned hi_bit = 63u - (unsigned)__builtin_clzll(hi);
    unsigned band = lo_bit + (unsigned)(rng_next(r) % (hi_bit - lo_bit + 1));
    size_t b_lo = (size_t)1 << band, b_hi = ((size_t)1 << (band + 1)) - 1;
    if (b_lo < lo) b_lo = lo;
    if (b_hi > hi) b_hi = hi;
    return rng_range(r, b_lo, b_hi);
}

/* Small sizes as programs use them: mostly tiny, a tail up to 1 KiB. */
static inline size_t small_size(rng_t *r)
{
    uint64_t x = rng_next(r);
    switch (x & 3) {
    case 0: case 1: return 8 + (size_t)((x >> 8) % 57);    /* 8..64    */
    case 2:         return 8 + (size_t)((x >> 8) % 249);   /* 8..256   */
    default:        return 8 + (size_t)((x >> 8) % 1017);  /* 8..1024  */
    }
}

static inline void *xmalloc(size_t n)
{
    void *p = malloc(n);
    if (!p) {
        fprintf(stderr, "bench: malloc(%zu) failed\n", n);
        exit(2);
    }
    return p;
}

static inline void *xrealloc(void *old, size_t n)
{
    void *p = realloc(old, n);
    if (!p) {
        fprintf(stderr, "bench: realloc(%zu) failed\n", n);
        exit(2);
    }
    return p;
}

/* Write a recognisable stamp in a block's first bytes (up to 32) and its
 * last byte; the stamp depends only on tag and size. */
static inline void stamp(unsigned char *p, size_t n, uint64_t tag)
{
    size_t k = n < 32 ? n : 32;
    uint64_t v = tag * 0xff51afd7ed558ccdull;
    if (n == 0)
        return;
    for (size_t i = 0; i < k; i++)
        p[i] = (unsigned char)(v >> ((i & 7) * 8)) ^ (unsigned char)i;
    p[n - 1] = (unsigned char)(tag ^ n);
}

/* Check a stamp and fold it into a checksum; exits on a mismatch (an
 * allocator that handed out overlapping blocks or corrupted them). */
static inline uint64_t unstamp(const unsigned char *p, size_t n, uint64_t tag, uint64_t sum)
{
    size_t k = n < 32 ? n : 32;
    uint64_t v = tag * 0xff51afd7ed558ccdull;
    if (n == 0)
        return sum;
    if (p[n - 1] != (unsigned char)(tag ^ n) && n > 32) {
        fprintf(stderr, "bench: block of %zu bytes corrupted (last byte)\n", n);
        exit(3);
    }
    for (size_t i = 0; i < k; i++) {
        unsigned char want = (unsigned char)(v >> ((i & 7) * 8)) ^ (unsigned char)i;
        if (i == n - 1)
            want = (unsigned char)(tag ^ n);
        if (p[i] != want) {
            fprintf(stderr, "bench: block of %zu bytes corrupted at byte %zu\n", n, i);
            exit(3);
        }
    }
    return (sum ^ (tag + n)) * 0x100000001b3ull + p[0];
}

/* Every workload takes "THREADS SCALE": SCALE multiplies its operation
 * count (1 = the full run, 0.01 = the smoke test); work is per thread, so
 * the throughput of T threads is T * work / time. */
struct bench_args { int threads; double scale; };

static inline struct bench_args bench_args(int argc, char **argv, int def_threads)
{
    struct bench_args a = { def_threads, 1.0 };
    if (argc > 1)
        a.threads = atoi(argv[1]);
    if (argc > 2)
        a.scale = atof(argv[2]);
    if (argc > 3 || a.threads < 1 || a.threads > 256 || !(a.scale > 0) || a.scale > 1000) {
        fprintf(stderr, "usage: %s [THREADS (1..256)] [SCALE (>0, 1 = full run)]\n", argv[0]);
        exit(2);
    }
    return a;
}

/* n * scale, at least 1 */
static inline long scaled(long n, double scale)
{
    double v = (double)n * scale;
    return v < 1 ? 1 : (long)v;
}

/* Run fn(arg + i * size) on n threads and wait for all of them. */
static inline void run_threads(int n, void *(*fn)(void *), void *arg, size_t size)
{
    pthread_t *t = xmalloc((size_t)n * sizeof *t);
    for (int i = 0; i < n; i++)
        if (pthread_create(&t[i], NULL, fn, (char *)arg + (size_t)i * size) != 0) {
            fprintf(stderr, "bench: pthread_create failed\n");
            exit(2);
        }
    for (int i = 0; i < n; i++)
        pthread_join(t[i], NULL);
    free(t);
}

/* The workloads whose threads each run `steps` steps of their own (churn,
 * large, realloc): one padded struct per thread (no false sharing between
 * the counters), the checksum combining the threads' sums in thread order. */
struct step_worker {
    int id;
    long steps;
    uint64_t sum;
    char pad[64];
};

static inline void bench_result(const char *name, struct bench_args a, uint64_t sum);

static inline int step_workers_main(int argc, char **argv, const char *name, long steps, void *(*fn)(void *))
{
    struct bench_args args = bench_args(argc, argv, 2);
    struct step_worker *w = calloc((size_t)args.threads, sizeof *w);
    if (!w)
        return 2;
    for (int i = 0; i < args.threads; i++) {
        w[i].id = i;
        w[i].steps = scaled(steps, args.scale);
    }
    run_threads(args.threads, fn, w, sizeof *w);
    uint64_t sum = 0;
    for (int i = 0; i < args.threads; i++)
        sum += w[i].sum * (uint64_t)(2 * i + 1);
    free(w);
    bench_result(name, args, sum);
    return 0;
}

/* The body of churn and large: `live` blocks from size(); each of the
 * worker's steps verifies and frees a random one and puts a new one of
 * size() in its place; at the end every block is verified and freed.
 * touch() stamps a block, untouch() verifies it and returns its mix. */
struct replace_ops {
    uint64_t seed;
    int live;
    size_t (*size)(rng_t *r);
    void (*touch)(unsigned char *p, size_t n, uint64_t tag);
    uint64_t (*untouch)(unsigned char *p, size_t n, uint64_t tag);
};

static inline void replace_blocks(struct step_worker *w, const struct replace_ops *o)
{
    unsigned char **blk = xmalloc((size_t)o->live * sizeof *blk);
    size_t *len = xmalloc((size_t)o->live * sizeof *len);
    uint64_t *tag = xmalloc((size_t)o->live * sizeof *tag), next = (uint64_t)w->id << 40;
    rng_t r;
    rng_seed(&r, o->seed + (uint64_t)w->id);
    for (long s = 0; s < o->live + w->steps; s++) {
        int i = (int)s; /* the first `live` steps fill the array in order */
        if (s >= o->live) {
            i = (int)(rng_next(&r) % (uint64_t)o->live);
            w->sum += o->untouch(blk[i], len[i], tag[i]);
            free(blk[i]);
        }
        len[i] = o->size(&r);
        tag[i] = next++;
        blk[i] = xmalloc(len[i]);
        o->touch(blk[i], len[i], tag[i]);
    }
    for (int i = 0; i < o->live; i++) {
        w->sum += o->untouch(blk[i], len[i], tag[i]);
        free(blk[i]);
    }
    free(blk);
    free(len);
    free(tag);
}

/* Order-independent mix of one verified block, for sums over blocks that
 * threads free in an order that depends on scheduling. */
static inline uint64_t mix_block(const unsigned char *p, size_t n, uint64_t tag)
{
    return unstamp(p, n, tag, 0) * 0x9E3779B97F4A7C15ull + (tag ^ (uint64_t)n);
}

/* The one output line: the same under every allocator, or the run fails. */
static inline void bench_result(const char *name, struct bench_args a, uint64_t sum)
{
    printf("%s threads=%d scale=%g checksum=%016llx\n", name, a.threads, a.scale,
           (unsigned long long)sum);
}

#endif
