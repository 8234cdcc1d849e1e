/* medium: blocks of 1 KiB..256 KiB (log-uniform: as many 1-2 KiB blocks as
 * 128-256 KiB ones) with a live set of 1,000; each step frees a random live
 * block and allocates a new one, writing its first 32 bytes, its last byte
 * and one byte in every 4 KiB page (so the memory is really committed).
 * Usage: medium [ops]   (default 2,000,000) */
#include "common.h"

#define LIVE 1000

static void touch(unsigned char *p, size_t n, uint64_t tag)
{
    stamp(p, n, tag);
    for (size_t off = 4096; off < n - 1; off += 4096)
        p[off] = (unsigned char)(off >> 12);
}

static uint64_t untouch(unsigned char *p, size_t n, uint64_t tag, uint64_t sum)
{
    for (size_t off = 4096; off < n - 1; off += 4096)
        if (p[off] != (unsigned char)(off >> 12)) {
            fprintf(stderr, "medium: block of %zu bytes corrupted at %zu\n", n, off);
            exit(3);
        }
    return unstamp(p, n, tag, sum);
}

int main(int argc, char **argv)
{
    long ops = argc > 1 ? atol(argv[1]) : 2000000L;
    static unsigned char *blk[LIVE];
    static uint32_t len[LIVE];
    static uint64_t tag[LIVE];
    rng_t r;
    uint64_t sum = 0;

    rng_seed(&r, 2);
    for (int i = 0; i < LIVE; i++) {
        len[i] = (uint32_t)rng_logrange(&r, 1024, 256 * 1024);
        tag[i] = (uint64_t)i;
        blk[i] = xmalloc(len[i]);
        touch(blk[i], len[i], tag[i]);
    }
    for (long op = 0; op < ops; op++) {
        int i = (int)(rng_next(&r) % LIVE);
        sum = untouch(blk[i], len[i], tag[i], sum);
        free(blk[i]);
        len[i] = (uint32_t)rng_logrange(&r, 1024, 256 * 1024);
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
