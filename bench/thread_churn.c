/* thread-churn: many short-lived threads, as a server that starts a thread
 * per request (mimalloc-bench's glibc-thread and alloc-test runs stress
 * the same per-thread set-up and tear-down).  In each of WAVES waves the
 * main thread starts THREADS threads at once; each allocates 2,000 small
 * blocks, frees the first half itself and leaves the other half, which the
 * main thread verifies and frees after joining it (memory freed after its
 * allocating thread has exited).
 * Work: THREADS * 2,000 * SCALE threads. */
#include "common.h"

#define WAVES 2000
#define NBLK 2000

struct worker {
    int id;
    long wave;
    unsigned char *blk[NBLK];
    uint32_t len[NBLK];
    uint64_t sum;
};

static void *worker(void *arg)
{
    struct worker *w = arg;
    rng_t r;
    rng_seed(&r, ((uint64_t)w->wave << 16) + (uint64_t)w->id);
    for (int i = 0; i < NBLK; i++) {
        w->len[i] = (uint32_t)small_size(&r);
        w->blk[i] = xmalloc(w->len[i]);
        stamp(w->blk[i], w->len[i], (uint64_t)i);
    }
    for (int i = 0; i < NBLK / 2; i++) {
        w->sum += mix_block(w->blk[i], w->len[i], (uint64_t)i);
        free(w->blk[i]);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    struct bench_args args = bench_args(argc, argv, 2);
    struct worker *w = calloc((size_t)args.threads, sizeof *w);
    long waves = scaled(WAVES, args.scale);
    uint64_t sum = 0;
    if (!w)
        return 2;
    for (long v = 0; v < waves; v++) {
        for (int i = 0; i < args.threads; i++) {
            w[i].id = i;
            w[i].wave = v;
            w[i].sum = 0;
        }
        run_threads(args.threads, worker, w, sizeof *w);
        for (int i = 0; i < args.threads; i++) {
            for (int k = NBLK / 2; k < NBLK; k++) {
                w[i].sum += mix_block(w[i].blk[k], w[i].len[k], (uint64_t)k);
                free(w[i].blk[k]);
            }
            sum += w[i].sum * (uint64_t)(2 * i + 1);
        }
    }
    free(w);
    bench_result("thread-churn", args, sum);
    return 0;
}
