/* small: malloc/free of small blocks (8..1024 bytes, mostly <= 256) with a
 * live set of 10,000 blocks; each step frees a random live block (checking
 * the stamp it wrote) and allocates a new one in its place, stamping its
 * first bytes.  Usage: small [ops]   (default 20,000,000) */
#include "common.h"

#define LIVE 10000

int main(int argc, char **argv)
{
    long ops = argc > 1 ? atol(argv[1]) : 20000000L;
    static unsigned char *blk[LIVE];
    static uint32_t len[LIVE];
    static uint64_t tag[LIVE];
    rng_t r;
    uint64_t sum = 0;

    rng_seed(&r, 1);
    for (int i = 0; i < LIVE; i++) {
        len[i] = (uint32_t)small_size(&r);
        tag[i] = (uint64_t)i;
        blk[i] = xmalloc(len[i]);
        stamp(blk[i], len[i], tag[i]);
    }
    for (long op = 0; op < ops; op++) {
        uint64_t x = rng_next(&r);
        int i = (int)(x % LIVE);
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
    printf("%016llx\n", (unsigned long long)sum);
    return 0;
}
