/* threads: two phases, each on 2 threads.
 *  1. "local": each thread runs the small benchmark on its own live set of
 *     10,000 blocks (8..1024 bytes), ops/2 steps each, concurrently;
 *  2. "cross": each thread is a producer for the other: it allocates small
 *     blocks, stamps them and sends them through a lock-free single-producer
 *     single-consumer ring; the other thread checks and frees them, so every
 *     block of this phase is freed by a thread other than the one that
 *     allocated it (the path that per-thread caches find hardest).
 * Usage: threads [ops]   (default 16,000,000: 8M local steps per thread,
 * then 4M blocks sent each way) */
#include "common.h"
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>

#define LIVE 10000
#define RING 4096 /* power of two */

struct msg { unsigned char *p; uint32_t len; uint64_t tag; };

struct ring {
    _Alignas(64) _Atomic size_t head; /* written by the consumer */
    _Alignas(64) _Atomic size_t tail; /* written by the producer */
    _Alignas(64) struct msg slot[RING];
};

struct worker {
    int id;
    long local_ops, cross_ops;
    struct ring *out, *in;
    uint64_t sum;
    pthread_barrier_t *bar;
};

static int ring_pop(struct ring *q, struct msg *m)
{
    size_t h = atomic_load_explicit(&q->head, memory_order_relaxed);
    if (h == atomic_load_explicit(&q->tail, memory_order_acquire))
        return 0;
    *m = q->slot[h & (RING - 1)];
    atomic_store_explicit(&q->head, h + 1, memory_order_release);
    return 1;
}

/* Free up to max blocks the peer sent us; returns how many. */
static int drain(struct worker *w, long *got, uint64_t *acc, int max)
{
    struct msg in;
    int n = 0;
    while (n < max && ring_pop(w->in, &in)) {
        *acc += unstamp(in.p, in.len, in.tag, 0);
        free(in.p);
        n++;
    }
    *got += n;
    return n;
}

/* Send one block; while our ring is full keep draining the peer's, so two
 * threads blocked on each other's full rings cannot deadlock. */
static void send_block(struct worker *w, struct msg m, long *got, uint64_t *acc)
{
    struct ring *q = w->out;
    size_t t = atomic_load_explicit(&q->tail, memory_order_relaxed);
    while (t - atomic_load_explicit(&q->head, memory_order_acquire) == RING)
        if (drain(w, got, acc, 256) == 0)
            sched_yield();
    q->slot[t & (RING - 1)] = m;
    atomic_store_explicit(&q->tail, t + 1, memory_order_release);
}

static void *work(void *arg)
{
    struct worker *w = arg;
    unsigned char **blk = xmalloc(LIVE * sizeof *blk);
    uint32_t *len = xmalloc(LIVE * sizeof *len);
    uint64_t *tag = xmalloc(LIVE * sizeof *tag);
    uint64_t sum = 0, ordered = 0;
    rng_t r;

    /* phase 1: thread-local churn */
    rng_seed(&r, 100 + (uint64_t)w->id);
    for (int i = 0; i < LIVE; i++) {
        len[i] = (uint32_t)small_size(&r);
        tag[i] = (uint64_t)i;
        blk[i] = xmalloc(len[i]);
        stamp(blk[i], len[i], tag[i]);
    }
    for (long op = 0; op < w->local_ops; op++) {
        int i = (int)(rng_next(&r) % LIVE);
        sum = unstamp(blk[i], len[i], tag[i], sum);
        free(blk[i]);
        len[i] = (uint32_t)small_size(&r);
        tag[i] = (uint64_t)op + LIVE;
        blk[i] = xmalloc(len[i]);
        stamp(blk[i], len[i], tag[i]);
    }
    for (int i = 0; i < LIVE; i++) {
        sum = unstamp(blk[i], len[i], tag[i], sum);
        free(blk[i]);
    }

    pthread_barrier_wait(w->bar);

    /* phase 2: send cross_ops blocks to the other thread, free what it
     * sends us.  The receive-side checksum is order-independent (a sum),
     * since it interleaves with our own sends. */
    rng_seed(&r, 200 + (uint64_t)w->id);
    long sent = 0, got = 0;
    struct msg m;
    while (sent < w->cross_ops || got < w->cross_ops) {
        for (int burst = 0; burst < 64 && sent < w->cross_ops; burst++, sent++) {
            m.len = (uint32_t)small_size(&r);
            m.tag = ((uint64_t)w->id << 40) + (uint64_t)sent;
            m.p = xmalloc(m.len);
            stamp(m.p, m.len, m.tag);
            send_block(w, m, &got, &ordered);
        }
        if (drain(w, &got, &ordered, 256) == 0 && sent >= w->cross_ops)
            sched_yield();
    }
    w->sum = sum + ordered;
    free(blk);
    free(len);
    free(tag);
    return NULL;
}

int main(int argc, char **argv)
{
    long ops = argc > 1 ? atol(argv[1]) : 16000000L;
    static struct ring q[2];
    pthread_barrier_t bar;
    struct worker w[2];
    pthread_t t[2];

    pthread_barrier_init(&bar, NULL, 2);
    for (int i = 0; i < 2; i++) {
        w[i] = (struct worker){ .id = i, .local_ops = ops / 2, .cross_ops = ops / 4,
                                .out = &q[i], .in = &q[1 - i], .bar = &bar };
        if (pthread_create(&t[i], NULL, work, &w[i]) != 0) {
            fprintf(stderr, "threads: pthread_create failed\n");
            return 2;
        }
    }
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    printf("%016llx\n", (unsigned long long)(w[0].sum ^ (w[1].sum * 3)));
    return 0;
}
