/* large: large allocations only.  Each thread keeps 16 blocks of 512 KiB
 * to 16 MiB (log-uniform) and, at each step, frees a random one and
 * allocates a new one, writing its first 32 bytes, its last byte and one
 * byte in each of 8 places spread over it (writing every page would
 * measure the kernel's page zeroing more than the allocator); all verified
 * before the free.  Models programs that allocate and drop big buffers
 * (decompression, image and matrix code).
 * Work: THREADS * 40,000 * SCALE steps. */
#include "common.h"

#define LIVE 16
#define STEPS 40000
#define PROBES 8

static void touch(unsigned char *p, size_t n, uint64_t tag)
{
    stamp(p, n, tag);
    for (size_t k = 1; k <= PROBES; k++)
        p[(n / (PROBES + 1)) * k] = (unsigned char)(k ^ tag);
}

static uint64_t untouch(unsigned char *p, size_t n, uint64_t tag)
{
    for (size_t k = 1; k <= PROBES; k++)
        if (p[(n / (PROBES + 1)) * k] != (unsigned char)(k ^ tag)) {
            fprintf(stderr, "large: block of %zu bytes corrupted inside\n", n);
            exit(3);
        }
    return mix_block(p, n, tag);
}

static size_t large_size(rng_t *r) { return rng_logrange(r, (512 << 10) + 1, 16 << 20); }

static void *worker(void *arg)
{
    static const struct replace_ops ops = {800, LIVE, large_size, touch, untouch};
    replace_blocks(arg, &ops);
    return NULL;
}

int main(int argc, char **argv)
{
    return step_workers_main(argc, argv, "large", STEPS, worker);
}
