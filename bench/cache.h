/* cache-scratch and cache-thrash, after the Hoard benchmarks of the same
 * names (as mimalloc-bench runs them): false sharing between threads'
 * small objects.  Included by cache_scratch.c (SCRATCH 1) and
 * cache_thrash.c (SCRATCH 0).
 *
 * cache-thrash (active false sharing): each thread repeatedly allocates an
 * 8-byte object, writes each of its bytes REPS times and frees it; an
 * allocator that gives two threads objects in the same cache line makes
 * those writes bounce the line between cores.
 * cache-scratch (passive false sharing): the main thread first allocates
 * one 8-byte object per thread, back to back (so they share cache lines),
 * and hands one to each thread, which frees it before its loop; an
 * allocator that then gives the thread that freed memory back to it (the
 * main thread's cache line) makes the threads share lines.
 * Every write is read back (the checksum), so nothing is optimised away.
 * Work: THREADS * 4,000 * SCALE objects, each written 8 * 20,000 times. */
#include "common.h"

#define OBJ 8
#define ITER 4000
#define REPS 20000

struct worker {
    unsigned char *given; /* scratch: the main thread's object to free */
    long iter;
    int id;
    uint64_t sum;
    char pad[64];
};

static void *worker(void *arg)
{
    struct worker *w = arg;
    if (w->given) {
        w->sum += mix_block(w->given, OBJ, (uint64_t)w->id);
        free(w->given);
    }
    for (long i = 0; i < w->iter; i++) {
        volatile unsigned char *p = xmalloc(OBJ);
        for (int k = 0; k < OBJ; k++)
            p[k] = (unsigned char)(i + k);
        for (int r = 0; r < REPS; r++)
            for (int k = 0; k < OBJ; k++)
                p[k] = (unsigned char)(p[k] + 1);
        uint64_t v = 0;
        for (int k = 0; k < OBJ; k++)
            v = v * 257 + p[k];
        w->sum += v * (uint64_t)(w->id + 1);
        free((void *)p);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    struct bench_args args = bench_args(argc, argv, 2);
    struct worker *w = calloc((size_t)args.threads, sizeof *w);
    if (!w)
        return 2;
    for (int i = 0; i < args.threads; i++) {
        w[i].id = i;
        w[i].iter = scaled(ITER, args.scale);
        if (SCRATCH) {
            w[i].given = xmalloc(OBJ);
            stamp(w[i].given, OBJ, (uint64_t)i);
        }
    }
    run_threads(args.threads, worker, w, sizeof *w);
    uint64_t sum = 0;
    for (int i = 0; i < args.threads; i++)
        sum += w[i].sum;
    free(w);
    bench_result(SCRATCH ? "cache-scratch" : "cache-thrash", args, sum);
    return 0;
}
