/* xmalloc: producer/consumer after Lever and Boreham's xmalloc-test, as
 * mimalloc-bench describes it: threads allocate objects and pass them
 * through a shared queue to threads that free them.
 *
 * Each thread, BATCHES times: allocates a batch of BATCH small objects
 * (8..1024 bytes, mostly under 64), stamps them and appends the batch to a
 * shared FIFO queue (a mutex per batch, not per object); then takes the
 * oldest batch from the queue, verifies and frees its objects.  The queue
 * starts with one batch per thread, so with two or more threads the batch a
 * thread frees is almost always another thread's; with one thread it is its
 * own (the single-thread baseline of the scaling figure).  The checksum is
 * a sum over all objects, whatever thread freed them.
 * Work: THREADS * 80,000 * SCALE batches of 100 objects. */
#include "common.h"

#define BATCH 100
#define BATCHES 80000

struct batch {
    struct batch *next;
    unsigned char *p[BATCH];
    uint32_t len[BATCH];
    uint64_t tag[BATCH];
};

struct worker {
    int id;
    long batches;
    uint64_t sum;
    char pad[64];
};

static pthread_mutex_t qlock = PTHREAD_MUTEX_INITIALIZER;
static struct batch *qhead, *qtail;

static void push(struct batch *b)
{
    b->next = NULL;
    pthread_mutex_lock(&qlock);
    if (qtail)
        qtail->next = b;
    else
        qhead = b;
    qtail = b;
    pthread_mutex_unlock(&qlock);
}

static struct batch *pop(void)
{
    pthread_mutex_lock(&qlock);
    struct batch *b = qhead;
    if (b) {
        qhead = b->next;
        if (!qhead)
            qtail = NULL;
    }
    pthread_mutex_unlock(&qlock);
    return b;
}

static struct batch *produce(rng_t *r, uint64_t tag0)
{
    struct batch *b = xmalloc(sizeof *b);
    for (int i = 0; i < BATCH; i++) {
        b->len[i] = (uint32_t)small_size(r);
        b->tag[i] = tag0 + (uint64_t)i;
        b->p[i] = xmalloc(b->len[i]);
        stamp(b->p[i], b->len[i], b->tag[i]);
    }
    return b;
}

static uint64_t consume(struct batch *b)
{
    uint64_t s = 0;
    for (int i = 0; i < BATCH; i++) {
        s += mix_block(b->p[i], b->len[i], b->tag[i]);
        free(b->p[i]);
    }
    free(b);
    return s;
}

static void *worker(void *arg)
{
    struct worker *w = arg;
    rng_t r;
    rng_seed(&r, 500 + (uint64_t)w->id);
    for (long n = 0; n < w->batches; n++) {
        push(produce(&r, ((uint64_t)w->id << 48) + (uint64_t)n * BATCH));
        struct batch *b = pop();
        if (b) /* never empty: each thread pushes before it pops */
            w->sum += consume(b);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    struct bench_args args = bench_args(argc, argv, 2);
    struct worker *w = calloc((size_t)args.threads, sizeof *w);
    rng_t r;
    if (!w)
        return 2;
    rng_seed(&r, 499);
    for (int i = 0; i < args.threads; i++) {
        w[i].id = i;
        w[i].batches = scaled(BATCHES, args.scale);
        push(produce(&r, ((uint64_t)0xffff << 48) + (uint64_t)i * BATCH));
    }
    run_threads(args.threads, worker, w, sizeof *w);
    uint64_t sum = 0;
    long left = 0;
    for (struct batch *b; (b = pop()) != NULL; left++)
        sum += consume(b);
    for (int i = 0; i < args.threads; i++)
        sum += w[i].sum;
    free(w);
    if (left != args.threads) {
        fprintf(stderr, "xmalloc: %ld batches left in the queue, want %d\n", left, args.threads);
        return 3;
    }
    bench_result("xmalloc", args, sum);
    return 0;
}
