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

static void *worker(void *arg)
{
    struct step_worker *w = arg;
    unsigned char *blk[LIVE];
    size_t len[LIVE];
    uint64_t tag[LIVE], next = (uint64_t)w->id << 40;
    rng_t r;
    rng_seed(&r, 800 + (uint64_t)w->id);
    for (int i = 0; i < LIVE; i++) {
        len[i] = rng_logrange(&r, (512 << 10) + 1, 16 << 20);
        tag[i] = next++;
        blk[i] = xmalloc(len[i]);
        touch(blk[i], len[i], tag[i]);
    }
    for (long s = 0; s < w->steps; s++) {
        int i = (int)(rng_next(&r) % LIVE);
        w->sum += untouch(blk[i], len[i], tag[i]);
        free(blk[i]);
        len[i] = rng_logrange(&r, (512 << 10) + 1, 16 << 20);
        tag[i] = next++;
        blk[i] = xmalloc(len[i]);
        touch(blk[i], len[i], tag[i]);
    }
    for (int i = 0; i < LIVE; i++) {
        w->sum += untouch(blk[i], len[i], tag[i]);
        free(blk[i]);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    return step_workers_main(argc, argv, "large", STEPS, worker);
}
