/* realloc: strings grown by appending, the two ways programs do it.
 *  1. "+1": 256 strings grown one byte at a time, round-robin (so that
 *     neighbours get in the way of growing in place), each realloc'd to
 *     exactly len+1 bytes; a string that reaches its target length (1 byte
 *     .. 4 KiB) is checked whole, freed and started again;
 *  2. "doubling": 64 buffers that append 1..256-byte pieces and double their
 *     capacity with realloc when full (starting at 16 bytes), up to a target
 *     of 1 KiB .. 4 MiB (log-uniform); then checked (every 64th byte and the
 *     last 8), freed and started again.
 * Every byte written is a function of its position and the string's id, so
 * a realloc that loses or moves data wrongly is caught (exit 3).
 * Usage: realloc [appends]   (default 30,000,000 for "+1"; a third as many
 * pieces for "doubling") */
#include "common.h"

#define NPLUS 256
#define NDBL 64

static inline unsigned char byte_at(size_t i, uint64_t id)
{
    return (unsigned char)(i * 31u + id * 7u + (i >> 8));
}

static uint64_t check(const unsigned char *s, size_t len, uint64_t id, size_t step, uint64_t sum)
{
    for (size_t i = 0; i < len; i += step)
        if (s[i] != byte_at(i, id))
            goto bad;
    for (size_t i = len > 8 ? len - 8 : 0; i < len; i++)
        if (s[i] != byte_at(i, id))
            goto bad;
    return (sum ^ (len * 0x9E3779B97F4A7C15ull + id)) * 0x100000001b3ull;
bad:
    fprintf(stderr, "realloc: string %llu of %zu bytes has wrong contents\n",
            (unsigned long long)id, len);
    exit(3);
}

int main(int argc, char **argv)
{
    long appends = argc > 1 ? atol(argv[1]) : 30000000L;
    rng_t r;
    uint64_t sum = 0, next_id = 0;

    /* phase 1: +1 byte growth */
    {
        static unsigned char *s[NPLUS];
        static size_t len[NPLUS], target[NPLUS];
        static uint64_t id[NPLUS];
        rng_seed(&r, 4);
        for (int i = 0; i < NPLUS; i++) {
            s[i] = NULL;
            len[i] = 0;
            target[i] = rng_range(&r, 1, 4096);
            id[i] = next_id++;
        }
        for (long n = 0; n < appends; n++) {
            int i = (int)(n % NPLUS);
            s[i] = xrealloc(s[i], len[i] + 1);
            s[i][len[i]] = byte_at(len[i], id[i]);
            len[i]++;
            if (len[i] == target[i]) {
                sum = check(s[i], len[i], id[i], 1, sum);
                free(s[i]);
                s[i] = NULL;
                len[i] = 0;
                target[i] = rng_range(&r, 1, 4096);
                id[i] = next_id++;
            }
        }
        for (int i = 0; i < NPLUS; i++) {
            if (s[i])
                sum = check(s[i], len[i], id[i], 1, sum);
            free(s[i]);
        }
    }

    /* phase 2: capacity doubling */
    {
        static unsigned char *s[NDBL];
        static size_t len[NDBL], cap[NDBL], target[NDBL];
        static uint64_t id[NDBL];
        long pieces = appends / 3;
        rng_seed(&r, 5);
        for (int i = 0; i < NDBL; i++) {
            cap[i] = 16;
            s[i] = xmalloc(cap[i]);
            len[i] = 0;
            target[i] = rng_logrange(&r, 1024, 4 << 20);
            id[i] = next_id++;
        }
        for (long n = 0; n < pieces; n++) {
            int i = (int)(rng_next(&r) % NDBL);
            size_t k = rng_range(&r, 1, 256);
            if (len[i] + k > cap[i]) {
                while (len[i] + k > cap[i])
                    cap[i] *= 2;
                s[i] = xrealloc(s[i], cap[i]);
            }
            for (size_t j = 0; j < k; j++)
                s[i][len[i] + j] = byte_at(len[i] + j, id[i]);
            len[i] += k;
            if (len[i] >= target[i]) {
                sum = check(s[i], len[i], id[i], 64, sum);
                cap[i] = 16;
                free(s[i]);
                s[i] = xmalloc(cap[i]);
                len[i] = 0;
                target[i] = rng_logrange(&r, 1024, 4 << 20);
                id[i] = next_id++;
            }
        }
        for (int i = 0; i < NDBL; i++) {
            sum = check(s[i], len[i], id[i], 64, sum);
            free(s[i]);
        }
    }
    printf("%016llx\n", (unsigned long long)sum);
    return 0;
}
