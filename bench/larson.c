/* larson: a server simulation after Larson and Krishnan's benchmark, as
 * mimalloc-bench describes it: worker threads replace random objects in
 * arrays of live objects (free one, allocate another of a random size), and
 * the arrays move between threads, so most objects are freed by a thread
 * other than the one that allocated them.
 *
 * There are 2*THREADS arrays of LIVE objects (8..1000 bytes) in a FIFO
 * queue; a worker takes the oldest array, makes STEPS replacements in it and
 * puts it back at the end, so the next round on it is usually another
 * thread's.  Each array carries its own PRNG and runs a fixed number of
 * rounds, so what each array does (and the checksum) does not depend on
 * which thread runs it.  Every freed object's contents are verified.
 * Work: THREADS * 720 * SCALE rounds of 5,000 replacements. */
#include "common.h"

#define LIVE 5000
#define STEPS 5000
#define ROUNDS 720 /* per thread at scale 1 */

struct arr {
    rng_t r;
    unsigned char *blk[LIVE];
    uint32_t len[LIVE];
    uint64_t tag[LIVE];
    uint64_t next_tag, sum;
    long rounds_left;
    struct arr *next;
};

static pthread_mutex_t qlock = PTHREAD_MUTEX_INITIALIZER;
static struct arr *qhead, *qtail;

static size_t larson_size(rng_t *r)
{
    return 8 + (size_t)(rng_next(r) % 993); /* 8..1000, as larson 8 1000 */
}

static void round_on(struct arr *a)
{
    if (a->blk[0] == NULL) /* first round: fill it */
        for (int i = 0; i < LIVE; i++) {
            a->len[i] = (uint32_t)larson_size(&a->r);
            a->tag[i] = a->next_tag++;
            a->blk[i] = xmalloc(a->len[i]);
            stamp(a->blk[i], a->len[i], a->tag[i]);
        }
    for (int s = 0; s < STEPS; s++) {
        int i = (int)(rng_next(&a->r) % LIVE);
        a->sum += mix_block(a->blk[i], a->len[i], a->tag[i]);
        free(a->blk[i]);
        a->len[i] = (uint32_t)larson_size(&a->r);
        a->tag[i] = a->next_tag++;
        a->blk[i] = xmalloc(a->len[i]);
        stamp(a->blk[i], a->len[i], a->tag[i]);
    }
    a->rounds_left--;
}

/* Appends an array to the run queue (qlock held, or one thread only). */
static void enqueue(struct arr *a)
{
    a->next = NULL;
    if (qtail)
        qtail->next = a;
    else
        qhead = a;
    qtail = a;
}

static void *worker(void *unused)
{
    (void)unused;
    for (;;) {
        pthread_mutex_lock(&qlock);
        struct arr *a = qhead;
        if (a) {
            qhead = a->next;
            if (!qhead)
                qtail = NULL;
        }
        pthread_mutex_unlock(&qlock);
        if (!a) /* the others hold the arrays still running: they finish them */
            return NULL;
        round_on(a);
        if (a->rounds_left > 0) {
            pthread_mutex_lock(&qlock);
            enqueue(a);
            pthread_mutex_unlock(&qlock);
        }
    }
}

int main(int argc, char **argv)
{
    struct bench_args args = bench_args(argc, argv, 2);
    int na = 2 * args.threads;
    long rounds = scaled(ROUNDS, args.scale); /* per thread = per 2 arrays */
    struct arr **all = xmalloc((size_t)na * sizeof *all);

    for (int k = 0; k < na; k++) {
        struct arr *a = calloc(1, sizeof *a);
        if (!a) {
            fprintf(stderr, "larson: out of memory\n");
            return 2;
        }
        rng_seed(&a->r, 1000 + (uint64_t)k);
        a->next_tag = (uint64_t)k << 40;
        a->rounds_left = (rounds + 1 - (k & 1)) / 2; /* pairs sum to rounds */
        if (a->rounds_left == 0)
            a->rounds_left = 1;
        all[k] = a;
        enqueue(a);
    }
    run_threads(args.threads, worker, NULL, 0);

    uint64_t sum = 0;
    for (int k = 0; k < na; k++) {
        struct arr *a = all[k];
        if (a->rounds_left != 0) {
            fprintf(stderr, "larson: array %d has %ld rounds left\n", k, a->rounds_left);
            return 3;
        }
        for (int i = 0; i < LIVE; i++) {
            a->sum += mix_block(a->blk[i], a->len[i], a->tag[i]);
            free(a->blk[i]);
        }
        sum += a->sum * (uint64_t)(2 * k + 1);
        free(a);
    }
    free(all);
    bench_result("larson", args, sum);
    return 0;
}
