/* realloc: buffers grown by realloc, as string builders and vectors grow.
 * Each thread runs two phases:
 *  1. 64 strings grown one byte at a time (realloc(len + 1)) to a random
 *     length of 1..4096 bytes, then verified, freed and restarted;
 *  2. 16 buffers grown by capacity doubling while 1..256 bytes are appended
 *     at a time, to a random length of 1 KiB..4 MiB (log-uniform), so the
 *     reallocations cross from small to medium to large blocks.
 * Every byte written is a function of its position and the string's id;
 * each string is verified before it is freed.
 * Work: THREADS * (6M one-byte appends + 2M appends) * SCALE. */
#include "common.h"

#define NPLUS 64
#define NDBL 16
#define APPENDS 6000000L

static inline unsigned char byte_at(size_t i, uint64_t id)
{
    return (unsigned char)(i * 31u + id * 7u + (i >> 8));
}

static uint64_t check(const unsigned char *s, size_t len, uint64_t id, size_t step)
{
    for (size_t i = 0; i < len; i += step)
        if (s[i] != byte_at(i, id))
            goto bad;
    for (size_t i = len > 8 ? len - 8 : 0; i < len; i++)
        if (s[i] != byte_at(i, id))
            goto bad;
    return (len * 0x9E3779B97F4A7C15ull + id) * 0x100000001b3ull;
bad:
    fprintf(stderr, "realloc: string %llu of %zu bytes has wrong contents\n",
            (unsigned long long)id, len);
    exit(3);
}

static void *worker(void *arg)
{
    struct step_worker *w = arg;
    uint64_t next_id = (uint64_t)w->id << 40;
    rng_t r;
    rng_seed(&r, 900 + (uint64_t)w->id);
    {
        unsigned char *s[NPLUS];
        size_t len[NPLUS], target[NPLUS];
        uint64_t id[NPLUS];
        for (int i = 0; i < NPLUS; i++) {
            s[i] = NULL;
            len[i] = 0;
            target[i] = rng_range(&r, 1, 4096);
            id[i] = next_id++;
        }
        for (long n = 0; n < w->steps; n++) {
            int i = (int)(n % NPLUS);
            s[i] = xrealloc(s[i], len[i] + 1);
            s[i][len[i]] = byte_at(len[i], id[i]);
            len[i]++;
            if (len[i] == target[i]) {
                w->sum += check(s[i], len[i], id[i], 1);
                free(s[i]);
                s[i] = NULL;
                len[i] = 0;
                target[i] = rng_range(&r, 1, 4096);
                id[i] = next_id++;
            }
        }
        for (int i = 0; i < NPLUS; i++) {
            if (s[i])
                w->sum += check(s[i], len[i], id[i], 1);
            free(s[i]);
        }
    }
    {
        unsigned char *s[NDBL];
        size_t len[NDBL], cap[NDBL], target[NDBL];
        uint64_t id[NDBL];
        long pieces = w->steps / 3;
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
                w->sum += check(s[i], len[i], id[i], 64);
                cap[i] = 16;
                free(s[i]);
                s[i] = xmalloc(cap[i]);
                len[i] = 0;
                target[i] = rng_logrange(&r, 1024, 4 << 20);
                id[i] = next_id++;
            }
        }
        for (int i = 0; i < NDBL; i++) {
            w->sum += check(s[i], len[i], id[i], 64);
            free(s[i]);
        }
    }
    return NULL;
}

int main(int argc, char **argv)
{
    return step_workers_main(argc, argv, "realloc", APPENDS, worker);
}
