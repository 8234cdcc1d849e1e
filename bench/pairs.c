/* pairs: the fixed single-thread loop whose instructions per malloc/free
 * pair bench/run.py counts under valgrind --tool=callgrind (a figure that,
 * unlike time, does not move with machine noise).
 *
 *   pairs MODE [N]    MODE: empty | pair | ring   (N: 1,000,000)
 *
 * pair: malloc(size) then free() of it at once, N times (each allocator's
 *       fastest path: the block just freed is the next one handed out);
 * ring: a ring of 256 live blocks: free the oldest, malloc a new one, N
 *       times (the free is of a block allocated 256 steps earlier);
 * empty: the same loop with neither call: its cost is subtracted.
 * Sizes come from a fixed table of 256 small sizes (8..1024 bytes, half
 * of them up to 64, seeded), the same for every allocator.  Only run_loop
 * is measured (callgrind --toggle-collect=run_loop), after 10,000 warm-up
 * steps, so start-up and the table are not counted. */
#include "common.h"

#define TABLE 256
#define RING 256

static size_t sizes[TABLE];
static void *ring[RING];
static unsigned char scratch[1024];

static void *fake_malloc(size_t n)
{
    void *p = scratch;
    __asm__ volatile("" : "+r"(p) : "r"(n));
    return p;
}

static void fake_free(void *p)
{
    __asm__ volatile("" : : "r"(p) : "memory");
}

__attribute__((noinline)) static void run_loop(int mode, long n)
{
    switch (mode) {
    case 0:
        for (long i = 0; i < n; i++) {
            unsigned char *p = fake_malloc(sizes[i & (TABLE - 1)]);
            *(volatile unsigned char *)p = 1;
            fake_free(p);
        }
        break;
    case 1:
        for (long i = 0; i < n; i++) {
            unsigned char *p = malloc(sizes[i & (TABLE - 1)]);
            *(volatile unsigned char *)p = 1;
            free(p);
        }
        break;
    default:
        for (long i = 0; i < n; i++) {
            free(ring[i & (RING - 1)]);
            unsigned char *p = malloc(sizes[i & (TABLE - 1)]);
            *(volatile unsigned char *)p = 1;
            ring[i & (RING - 1)] = p;
        }
        break;
    }
}

int main(int argc, char **argv)
{
    const char *m = argc > 1 ? argv[1] : "pair";
    long n = argc > 2 ? atol(argv[2]) : 1000000;
    int mode = strcmp(m, "empty") == 0 ? 0 : strcmp(m, "pair") == 0 ? 1 :
               strcmp(m, "ring") == 0 ? 2 : -1;
    rng_t r;
    if (mode < 0 || n < 1) {
        fprintf(stderr, "usage: pairs empty|pair|ring [N]\n");
        return 2;
    }
    rng_seed(&r, 42);
    for (int i = 0; i < TABLE; i++)
        sizes[i] = small_size(&r);
    for (int i = 0; i < RING; i++)
        ring[i] = xmalloc(sizes[i]);
    /* warm-up: thread caches, slabs and the first pages are set up */
    for (int k = 0; k < 10000; k++) {
        free(ring[k & (RING - 1)]);
        ring[k & (RING - 1)] = xmalloc(sizes[(k * 7) & (TABLE - 1)]);
    }
    run_loop(mode, n);
    for (int i = 0; i < RING; i++)
        free(ring[i]);
    printf("pairs %s %ld\n", m, n);
    return 0;
}
