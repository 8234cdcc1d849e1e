/* t_maps: how many memory mappings (lines of /proc/self/maps) ward adds per
 * GiB of heap.  vm.max_map_count (65530 by default) caps them per process.
 *
 *   t_maps               the test (tiers with sample=0, in a child; then
 *                        small objects with the default sampling, whose
 *                        pages are bounded by sample_slots): small objects
 *                        (every size class) at
 *                        32 MiB and at 128 MiB, medium objects at 128 MiB,
 *                        and 200 large chunks.  Small and medium mappings
 *                        must stay bounded (at most 2 per size class / arena
 *                        and a few of ward's own), and not grow between the
 *                        two small heap sizes; large chunks at most 3 each.
 *   t_maps small|medium GIB...   measure only: prints the mapping count
 *                        after filling each size (cumulative).
 *
 * By design a small size class is one contiguous region of the heap
 * reservation, committed from its start in 1 MiB steps by mprotect: each step
 * extends the one read-write mapping (the kernel merges it), so a class costs
 * at most 2 mappings (read-write part, rest) whatever its size; the same for
 * an arena.  Only large chunks cost mappings each. */
#include "child_util.h"

#define NCLASSES 32
#define NARENAS 4
#define SAMPLE_SLOTS 512 /* the sample_slots default: pages of sampled allocations */

static long count_maps(void)
{
    char buf[8192];
    int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        fail("open /proc/self/maps");
    long n = 0;
    ssize_t r;
    while ((r = read(fd, buf, sizeof buf)) > 0)
        for (ssize_t i = 0; i < r; i++)
            n += buf[i] == '\n';
    close(fd);
    return n;
}

static void **ptrs;
static size_t nptrs, cap;

static void keep(void *p)
{
    if (nptrs == cap) {
        size_t ncap = cap ? cap * 2 : 1 << 16;
        void **n = mmap(NULL, ncap * sizeof *n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (n == MAP_FAILED)
            fail("mmap");
        if (ptrs) {
            memcpy(n, ptrs, nptrs * sizeof *n);
            munmap(ptrs, cap * sizeof *n);
        }
        ptrs = n;
        cap = ncap;
    }
    ptrs[nptrs++] = p;
}

static void release_all(void)
{
    for (size_t i = 0; i < nptrs; i++)
        free(ptrs[i]);
    nptrs = 0;
    malloc_trim(0);
}

/* allocates until `total` bytes are live (counting what earlier calls made) */
static size_t live;
static void fill_to(size_t total, size_t lo, size_t hi, struct rng *r)
{
    while (live < total) {
        size_t n = (size_t)rng_range(r, lo, hi);
        char *p = malloc(n);
        if (!p)
            fail("malloc(%zu) returned NULL at %zu MiB", n, live / MiB);
        p[0] = 1; /* touch */
        keep(p);
        live += n;
    }
}

static int measure(const char *kind, int argc, char **argv)
{
    struct rng r;
    rng_seed(&r, 1);
    bool small = !strcmp(kind, "small");
    long base = count_maps();
    for (int i = 0; i < argc; i++) {
        double gib = atof(argv[i]);
        double t0 = now_sec();
        fill_to((size_t)(gib * 1024) * MiB, small ? 1 : 1025, small ? 1024 : 512 * KiB, &r);
        printf("%s objects, %.2f GiB live: %ld mappings (%+ld over the %ld before), RSS %ld MiB, %.1f s\n", kind,
               (double)live / (1024.0 * MiB), count_maps(), count_maps() - base, base, rss_kb() / 1024,
               now_sec() - t0);
        fflush(stdout);
    }
    release_all();
    return 0;
}

static int tiers(void);

int main(int argc, char **argv)
{
    if (argc > 2)
        return measure(argv[1], argc - 2, argv + 2);
    if (argc == 2 && !strcmp(argv[1], "tiers"))
        return tiers();
    ward_loaded();
    if (no_ward())
        return 0;
    /* the tiers, without sampling (each sampled allocation's page is a
     * mapping of its own, up to sample_slots of them) */
    struct child_result cr;
    run_case("tiers", "sample=0", 120, &cr);
    fputs(cr.err, stderr);
    if (!exited0(&cr))
        fail("tiers: status 0x%x", cr.status);
    /* as configured by default, sampling on: bounded by the pool */
    struct rng r;
    rng_seed(&r, 3);
    long base = count_maps();
    fill_to(128 * MiB, 1, 1024, &r);
    long all = count_maps() - base;
    note("small objects with the default sampling: +%ld mappings at 128 MiB", all);
    if (all > 2 * NCLASSES + 2 * SAMPLE_SLOTS + 8)
        fail("%ld mappings for 128 MiB of small objects with sampling, want at most %d", all,
             2 * NCLASSES + 2 * SAMPLE_SLOTS + 8);
    release_all();
    return 0;
}

static int tiers(void)
{
    ward_loaded();
    struct rng r;
    rng_seed(&r, 2);
    long base = count_maps();

    fill_to(32 * MiB, 1, 1024, &r);
    long small32 = count_maps() - base;
    fill_to(128 * MiB, 1, 1024, &r);
    long small128 = count_maps() - base;
    note("small objects: +%ld mappings at 32 MiB, +%ld at 128 MiB (%zu objects)", small32, small128, nptrs);
    if (small128 > 2 * NCLASSES + 8)
        fail("small objects: %ld mappings for 128 MiB, want at most %d", small128, 2 * NCLASSES + 8);
    if (small128 > small32 + 2)
        fail("small objects: mappings grew with the heap (%ld at 32 MiB, %ld at 128 MiB)", small32, small128);
    release_all();
    live = 0;

    base = count_maps();
    fill_to(128 * MiB, 1025, 512 * KiB, &r);
    long medium = count_maps() - base;
    note("medium objects: +%ld mappings at 128 MiB (%zu objects)", medium, nptrs);
    if (medium > 2 * NARENAS + 8)
        fail("medium objects: %ld mappings for 128 MiB, want at most %d", medium, 2 * NARENAS + 8);
    release_all();
    live = 0;

    base = count_maps();
    for (int i = 0; i < 200; i++) {
        char *p = malloc(MiB + (size_t)i * 4096);
        if (!p)
            fail("large malloc");
        p[0] = 1;
        keep(p);
    }
    long large = count_maps() - base;
    note("large chunks: +%ld mappings for 200 chunks (%.2f each)", large, large / 200.0);
    if (large > 3 * 200 + 8)
        fail("large chunks: %ld mappings for 200, want at most 3 each", large);
    release_all();
    check_heap_at("at the end");
    return 0;
}
