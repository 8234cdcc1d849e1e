/* large: blocks of 512 KiB..8 MiB (log-uniform) with a live set of 16;
 * each step frees a random live block and allocates a new one, writing its
 * first 32 bytes, its last byte and one byte in each of 8 pages spread over
 * it (writing every page would measure the kernel's page zeroing, not the
 * allocator).  Usage: large [ops]   (default 50,000) */
#include "common.h"

#define LIVE 16
#define PROBES 8

static void touch(unsigned char *p, size_t n, uint64_t tag)
{
    stamp(p, n, tag);
    for (int k = 1; k <= PROBES; k++)
        p[(n / (PROBES + 1)) * k] = (unsigned char)k;
}

static uint64_t untouch(unsigned char *p, size_t n, uint64_t tag, uint64_t sum)
{
    for (int k = 1; k <= PROBES; k++)
        if (p[(n / (PROBES + 1)) * k] != (unsigned char)k) {
            fprintf(stderr, "large: block of %zu bytes corrupted\n", n);
            exit(3);
        }
    return unstamp(p, n, tag, sum);
}

int main(int argc, char **argv)
{
    long ops = argc > 1 ? atol(argv[1]) : 50000L;
    static unsigned char *blk[LIVE];
    static size_t len[LIVE];
    static uint64_t tag[LIVE];
    rng_t r;
    uint64_t sum = 0;

    rng_seed(&r, 3);
    for (int i = 0; i < LIVE; i++) {
        len[i] = rng_logrange(&r, 512 * 1024, 8 * 1024 * 1024);
        tag[i] = (uint64_t)i;
        blk[i] = xmalloc(len[i]);
        touch(blk[i], len[i], tag[i]);
    }
    for (long op = 0; op < ops; op++) {
        int i = (int)(rng_next(&r) % LIVE);
        sum = untouch(blk[i], len[i], tag[i], sum);
        free(blk[i]);
        len[i] = rng_logrange(&r, 512 * 1024, 8 * 1024 * 1024);
        tag[i] = (uint64_t)op + LIVE;
        blk[i] = xmalloc(len[i]);
        touch(blk[i], len[i], tag[i]);
    }
    for (int i = 0; i < LIVE; i++) {
        sum = untouch(blk[i], len[i], tag[i], sum);
        free(blk[i]);
    }
    printf("%016llx\n", (unsigned long long)sum);
    return 0;
}
