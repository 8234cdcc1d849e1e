/* churn: random sizes across every tier, the mixed-size case where
 * hardened allocators lose most.  Each thread keeps LIVE blocks and, at
 * each step, frees a random one and allocates a new one: 85% small (8 B to
 * 1 KiB, mostly under 64 B), 14% medium (1 KiB to 512 KiB, log-uniform, so
 * as many of 32-64 KiB as of 256-512 KiB) and 1% large (512 KiB to 4 MiB).
 * A new block gets a stamp at its start and end and one byte written in
 * each of up to 16 of its pages; all of it is verified before its free.
 * Work: THREADS * 800,000 * SCALE steps. */
#include "common.h"

#define LIVE 1000
#define STEPS 800000
#define PROBES 16

static size_t churn_size(rng_t *r)
{
    uint64_t x = rng_next(r) % 100;
    if (x < 85)
        return small_size(r);
    if (x < 99)
        return rng_logrange(r, 1025, 512 << 10);
    return rng_logrange(r, (512 << 10) + 1, 4 << 20);
}

static void touch(unsigned char *p, size_t n, uint64_t tag)
{
    stamp(p, n, tag);
    if (n > 8192)
        for (size_t k = 1; k <= PROBES; k++)
            p[(n / (PROBES + 1)) * k] = (unsigned char)(k + tag);
}

static uint64_t untouch(unsigned char *p, size_t n, uint64_t tag)
{
    if (n > 8192)
        for (size_t k = 1; k <= PROBES; k++)
            if (p[(n / (PROBES + 1)) * k] != (unsigned char)(k + tag)) {
                fprintf(stderr, "churn: block of %zu bytes corrupted inside\n", n);
                exit(3);
            }
    return mix_block(p, n, tag);
}

static void *worker(void *arg)
{
    static const struct replace_ops ops = {700, LIVE, churn_size, touch, untouch};
    replace_blocks(arg, &ops);
    return NULL;
}

int main(int argc, char **argv)
{
    return step_workers_main(argc, argv, "churn", STEPS, worker);
}
