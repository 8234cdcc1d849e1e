/* t_stale: a fresh block never holds bytes another block held.  For each
 * size, blocks are filled with a marker and freed, then blocks of the same
 * size are allocated (malloc, not calloc) until the freed ones must have
 * come back (through the quarantine, the thread cache, the free lists or
 * the large tier's cache of freed mappings); no byte of any of them may be
 * the marker's.  With the default options, a freed small or medium block
 * also reads back as zero at once (a read after free finds no old data).  Under ward
 * only (glibc hands old bytes out); run.sh runs it again with poison=off,
 * poison=full, sample=1 and the light build. */
#include "test_util.h"

#include <sys/mman.h>

#define MARK 0x5a
#define ROUNDS 64

static void *(*volatile xm)(size_t) = malloc;
static void (*volatile xf)(void *) = free;

/* how many blocks to hold and free per round: enough to go round the
 * per-thread quarantine (1 MiB) for the small and medium sizes */
static void sweep(size_t n, int keep)
{
    /* the list lives outside the heap: its own freed bytes would be stale
     * bytes too */
    size_t list = (size_t)keep * sizeof(char *);
    char **held = mmap(NULL, list, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (held == MAP_FAILED)
        fail("mmap");
    for (int round = 0; round < ROUNDS; round++) {
        for (int i = 0; i < keep; i++) {
            held[i] = xm(n);
            if (!held[i])
                fail("malloc(%zu) failed", n);
            for (size_t j = 0; j < n; j++)
                if (held[i][j] == MARK)
                    fail("malloc(%zu): byte %zu of a fresh block is a freed block's (round %d)", n, j, round);
        }
        for (int i = 0; i < keep; i++) {
            memset(held[i], MARK, n);
            xf(held[i]);
        }
    }
    munmap(held, list);
}

/* a freed block reads as zero: the bug itself, through a pointer the
 * compiler cannot see freed */
static void read_after_free(size_t n)
{
    char *p = xm(n);
    if (!p)
        fail("malloc(%zu) failed", n);
    memset(p, MARK, n);
    xf(p);
    const volatile char *q = p;
    for (size_t j = 0; j < n; j++)
        if (q[j] == MARK)
            fail("free(%zu bytes): byte %zu still holds its data after free", n, j);
}

int main(void)
{
    ward_loaded();
    if (no_ward()) {
        note("glibc hands freed bytes out again: nothing to check");
        return 0;
    }
    static const size_t small[] = {1, 24, 100, 1000};
    for (size_t i = 0; i < ARRAY_LEN(small); i++)
        sweep(small[i], (int)(2 * MiB / (small[i] + 16)) / 16 + 64);
    static const size_t medium[] = {1500, 3000, 4000, 8 * KiB, 64 * KiB + 8, 256 * KiB, 512 * KiB};
    for (size_t i = 0; i < ARRAY_LEN(medium); i++)
        sweep(medium[i], (int)(2 * MiB / medium[i]) + 2);
    /* default options only: poison=off keeps the bytes, and a sampled
     * block faults (the report the sampled tier makes) */
    if (!getenv("WARD_OPTIONS")) {
        for (size_t i = 0; i < ARRAY_LEN(small); i++)
            read_after_free(small[i]);
        for (size_t i = 0; i < ARRAY_LEN(medium); i++)
            read_after_free(medium[i]);
    }
    /* large blocks: freed mappings kept in the cache come back */
    static const size_t large[] = {600 * KiB, 1 * MiB, 1 * MiB + 100};
    for (size_t i = 0; i < ARRAY_LEN(large); i++)
        sweep(large[i], 4);
    printf("t_stale: no fresh block held a freed block's bytes\n");
    return 0;
}
