/* t_oom: out of memory, cleanly.  Each case runs in a child.
 *
 *   rlimit   the child re-executes itself under RLIMIT_AS (ward starts under
 *            the limit), fills the address space with 64-byte blocks (the
 *            size class, then the medium arenas, then one mapping each) until
 *            malloc returns NULL, then: every allocation call (malloc calloc
 *            realloc posix_memalign aligned_alloc memalign valloc pvalloc
 *            reallocarray, operator new(nothrow)) returns NULL with ENOMEM
 *            (posix_memalign returns ENOMEM), the failed realloc leaves its
 *            block intact, ward_check_heap() passes, and once everything is
 *            freed every call succeeds again.  Done with malloc, calloc and
 *            new(nothrow) as the filling call.
 *   late     RLIMIT_AS lowered after start-up: first just above the
 *            address space in use (large chunks fail cleanly), then to
 *            192 MiB above what is used not counting ward's unused
 *            reservation (far below the kernel's count, which includes it):
 *            small and medium chunks stop at the limit too.
 *   first    RLIMIT_AS lowered before the program's first allocation, to
 *            128 MiB above what is mapped: ward has not started then
 *            (nothing of it is mapped: start-up comes at the first call),
 *            so it starts under the limit, malloc(0)'s region included,
 *            and every call works, large ones until the limit.
 *   maps     the child uses up vm.max_map_count with its own mappings: every
 *            call either succeeds or returns NULL with ENOMEM, freeing large
 *            chunks (whose unmapping may need a split) never reports, one
 *            warning names the mapping limit, and after the child unmaps
 *            some of its own, large allocations succeed again.
 * No case may print a report; stderr is checked. */
#include "child_util.h"

#include <sys/resource.h>

#define AS_LIMIT (512 * MiB)
#define LATE_MARGIN (192 * MiB)
#define MAX_BLOCKS (4u << 20)

static void **blocks; /* mmap'd: the pointer list must not need malloc */
static size_t nblocks;

typedef void *(*new_nothrow_fn)(size_t, const void *);
static new_nothrow_fn new_nothrow;
static void *(*volatile xmalloc)(size_t) = malloc;
static void *(*volatile xcalloc)(size_t, size_t) = calloc;
static void *(*volatile xrealloc)(void *, size_t) = realloc;

static void *alloc_with(int how, size_t n)
{
    static const char tag = 0;
    switch (how) {
    case 0: return xmalloc(n);
    case 1: return xcalloc(1, n);
    default: return new_nothrow(n, &tag);
    }
}

static const char *const how_name[] = {"malloc", "calloc", "operator new(nothrow)"};

static void setup(void)
{
    blocks = mmap(NULL, MAX_BLOCKS * sizeof(void *), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (blocks == MAP_FAILED)
        fail("mmap of the block list");
    new_nothrow = (new_nothrow_fn)dlsym(RTLD_DEFAULT, "_ZnwmRKSt9nothrow_t");
    if (!new_nothrow)
        fail("no operator new(nothrow) exported");
}

static void free_all(void)
{
    for (size_t i = 0; i < nblocks; i++)
        free(blocks[i]);
    nblocks = 0;
}

/* fills with n-byte blocks until the call fails; the failure must be ENOMEM */
static size_t fill(int how, size_t n)
{
    size_t start = nblocks;
    for (;;) {
        if (nblocks == MAX_BLOCKS)
            fail("%s(%zu) never failed after %u blocks", how_name[how], n, MAX_BLOCKS);
        errno = 0;
        void *p = alloc_with(how, n);
        if (!p) {
            if (how != 2 && errno != ENOMEM)
                fail("%s(%zu) returned NULL with errno %d, want ENOMEM", how_name[how], n, errno);
            break;
        }
        ((char *)p)[0] = 1;
        ((char *)p)[n - 1] = 2;
        blocks[nblocks++] = p;
    }
    return nblocks - start;
}

#define EXPECT_ENOMEM(call, what)                                                              \
    do {                                                                                       \
        errno = 0;                                                                             \
        void *q_ = (call);                                                                     \
        if (q_ != NULL || errno != ENOMEM)                                                     \
            fail("%s with memory exhausted: %p, errno %d; want NULL, ENOMEM", what, q_, errno); \
    } while (0)

/* every call, with memory exhausted, at a size that cannot fit anywhere */
static void all_fail(size_t n)
{
    static const char tag = 0;
    EXPECT_ENOMEM(xmalloc(n), "malloc");
    EXPECT_ENOMEM(xcalloc(n / 8, 8), "calloc");
    EXPECT_ENOMEM(aligned_alloc(4096, n), "aligned_alloc");
    EXPECT_ENOMEM(memalign(65536, n), "memalign");
    EXPECT_ENOMEM(valloc(n), "valloc");
    EXPECT_ENOMEM(pvalloc(n), "pvalloc");
    void *m = (void *)0x1234;
    int rc = posix_memalign(&m, 256, n);
    if (rc != ENOMEM || m != (void *)0x1234)
        fail("posix_memalign with memory exhausted returned %d, want ENOMEM and *memptr untouched", rc);
    if (new_nothrow(n, &tag) != NULL)
        fail("operator new(nothrow) with memory exhausted did not return NULL");
    /* a realloc that must move: NULL, and the block as it was */
    char *b = blocks[0], before = b[0];
    EXPECT_ENOMEM(xrealloc(b, n), "realloc");
    EXPECT_ENOMEM(reallocarray(b, n / 4, 4), "reallocarray");
    if (b[0] != before)
        fail("a failed realloc changed its block");
}

/* and every call works again */
static void all_work(size_t n)
{
    static const char tag = 0;
    void *p[9] = {xmalloc(n), xcalloc(n, 1), aligned_alloc(4096, n), memalign(65536, n), valloc(n), pvalloc(n),
                  NULL, new_nothrow(n, &tag), xrealloc(xmalloc(10), n)};
    if (posix_memalign(&p[6], 256, n) != 0)
        p[6] = NULL;
    for (int i = 0; i < 9; i++) {
        if (!p[i])
            fail("after freeing, call %d of size %zu still fails", i, n);
        memset(p[i], 7, n);
    }
    for (int i = 0; i < 9; i++)
        free(p[i]);
}

static bool as_limited(void)
{
    struct rlimit rl;
    return getrlimit(RLIMIT_AS, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY;
}

static int case_rlimit(char **argv)
{
    if (!as_limited()) { /* start again under the limit, so ward starts under it */
        struct rlimit rl = {AS_LIMIT, AS_LIMIT};
        if (setrlimit(RLIMIT_AS, &rl))
            fail("setrlimit: %s", strerror(errno));
        execl("/proc/self/exe", argv[0], argv[1], (char *)NULL);
        fail("exec: %s", strerror(errno));
    }
    ward_loaded();
    setup();
    for (int how = 0; how < 3; how++) {
        size_t got = fill(how, 64);
        all_fail(200 * KiB);
        all_fail(8 * MiB);
        check_heap_at("with the address space exhausted");
        free_all();
        check_heap_at("after freeing everything");
        all_work(64);
        all_work(200 * KiB);
        all_work(8 * MiB);
        note("%s(64) failed cleanly after %zu blocks; every call failed with ENOMEM, then worked again",
             how_name[how], got);
    }
    size_t got = fill(0, 4 * MiB);
    all_fail(8 * MiB);
    free_all();
    all_work(8 * MiB);
    check_heap_at("at the end");
    note("malloc(4 MiB) failed cleanly after %zu blocks", got);
    return 0;
}

/* address space mapped but unused: PROT_NONE anonymous mappings of 16 MiB
 * or more (ward's heap reservation, less what it committed) */
static size_t unused_reserved(void)
{
    FILE *f = fopen("/proc/self/maps", "r");
    if (!f)
        fail("open /proc/self/maps");
    char line[512];
    size_t sum = 0;
    while (fgets(line, sizeof line, f)) {
        unsigned long lo, hi, inode;
        char perms[8];
        if (sscanf(line, "%lx-%lx %7s %*s %*s %lu", &lo, &hi, perms, &inode) == 4 && !strcmp(perms, "---p") &&
            inode == 0 && hi - lo >= 16 * MiB)
            sum += hi - lo;
    }
    fclose(f);
    return sum;
}

static int case_late(void)
{
    ward_loaded();
    setup();
    void *volatile keep = malloc(100); /* a small block before the limit: start-up */
    struct rlimit rl;
    long vm_kb = proc_status_kb("VmSize");
    rl.rlim_cur = rl.rlim_max = (rlim_t)vm_kb * 1024 + 64 * MiB;
    if (setrlimit(RLIMIT_AS, &rl))
        fail("setrlimit: %s", strerror(errno));
    size_t got = fill(0, 4 * MiB);
    if (got > 16)
        fail("%zu blocks of 4 MiB under a 64 MiB margin", got);
    check_heap_at("with the limit reached");
    free_all();
    all_work(4 * MiB);
    /* below what the process has mapped (ward's unused reservation counts
     * for the kernel): small and medium chunks stop at the limit too */
    size_t base = (size_t)proc_status_kb("VmSize") * 1024 - unused_reserved();
    size_t limit = base + LATE_MARGIN;
    rl.rlim_cur = rl.rlim_max = limit;
    if (setrlimit(RLIMIT_AS, &rl))
        fail("setrlimit: %s", strerror(errno));
    size_t small = fill(0, 64);
    long rss = rss_kb();
    if ((size_t)rss * 1024 > limit)
        fail("RSS %ld KiB past the %zu MiB limit", rss, limit / MiB);
    if (!small)
        fail("not one small block under a limit %zu MiB above what is used", LATE_MARGIN / MiB);
    all_fail(200 * KiB);
    check_heap_at("with the lower limit reached");
    free_all();
    all_work(64);
    all_work(200 * KiB);
    free(keep);
    check_heap_at("at the end");
    note("limit lowered after start-up: malloc(4 MiB) failed cleanly after %zu blocks; with the limit %zu MiB "
         "above what is used (%zu MiB), malloc(64) after %zu blocks (RSS %ld MiB)", got, LATE_MARGIN / MiB,
         limit / MiB, small, rss / 1024);
    return 0;
}

#define MY_MAPS 70000
static void *mine[MY_MAPS];

static int case_maps(void)
{
    ward_loaded();
    setup();
    /* large blocks made before, freed while the mappings are exhausted */
    void *early[8];
    for (int i = 0; i < 8; i++)
        if (!(early[i] = malloc(600 * KiB + (size_t)i * 70 * KiB)))
            fail("early malloc");
    size_t page = (size_t)sysconf(_SC_PAGESIZE), n = 0;
    for (; n < MY_MAPS; n++) {
        /* alternate protections so that neighbours never merge */
        mine[n] = mmap(NULL, page, n % 2 ? PROT_READ : PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (mine[n] == MAP_FAILED) {
            if (errno != ENOMEM)
                fail("mmap: %s", strerror(errno));
            break;
        }
    }
    if (n == MY_MAPS)
        fail("%d mappings and mmap still works: vm.max_map_count is not the limit here", MY_MAPS);
    struct rng r;
    rng_seed(&r, 77);
    size_t ok = 0, failed = 0;
    for (int i = 0; i < 3000; i++) {
        size_t sz = i % 3 == 0 ? (size_t)rng_log_range(&r, 1, 1024)
                    : i % 3 == 1 ? (size_t)rng_log_range(&r, 1025, 500 * KiB)
                                 : (size_t)rng_range(&r, 600 * KiB, 4 * MiB);
        errno = 0;
        char *p = i % 2 ? xmalloc(sz) : xcalloc(1, sz);
        if (!p) {
            if (errno != ENOMEM)
                fail("malloc(%zu) with no mappings left: NULL with errno %d", sz, errno);
            failed++;
            continue;
        }
        memset(p, 5, sz);
        blocks[nblocks++] = p;
        ok++;
    }
    if (!failed)
        fail("no allocation failed with vm.max_map_count reached");
    all_fail(8 * MiB);
    for (int i = 0; i < 8; i++)
        free(early[i]);
    free_all();
    check_heap_at("with no mappings left");
    for (size_t i = 0; i < 2000 && i < n; i++)
        munmap(mine[n - 1 - i], page);
    all_work(8 * MiB);
    all_work(700 * KiB);
    check_heap_at("after unmapping some");
    note("%zu own mappings; then %zu allocations succeeded and %zu failed cleanly; all work again after unmapping",
         n, ok, failed);
    return 0;
}

/* VmSize from /proc/self/status, read without allocating */
static long vmsize_raw_kb(void)
{
    char buf[4096];
    int fd = open("/proc/self/status", O_RDONLY);
    ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof buf - 1);
    if (fd >= 0)
        close(fd);
    if (n <= 0)
        fail("cannot read /proc/self/status");
    buf[n] = '\0';
    const char *s = strstr(buf, "VmSize:");
    if (!s)
        fail("no VmSize in /proc/self/status");
    return atol(s + 7);
}

static int case_first(void)
{
    long vm_kb = vmsize_raw_kb();
    if (vm_kb > 1024 * 1024)
        fail("%ld KiB mapped before the first allocation: ward started before it was called", vm_kb);
    struct rlimit rl;
    rl.rlim_cur = rl.rlim_max = (rlim_t)vm_kb * 1024 + 128 * MiB;
    if (setrlimit(RLIMIT_AS, &rl))
        fail("setrlimit: %s", strerror(errno));
    ward_loaded();
    setup();
    all_work(64);
    void *z = malloc(0);
    if (!z)
        fail("malloc(0) returned NULL under the limit");
    free(z);
    all_work(200 * KiB);
    size_t got = fill(0, 4 * MiB);
    if (!got)
        fail("not one 4 MiB block under a limit 128 MiB above what was mapped");
    check_heap_at("with the limit reached");
    free_all();
    all_work(4 * MiB);
    check_heap_at("at the end");
    note("limit lowered before the first allocation (%ld MiB mapped then): ward started under it; "
         "malloc(4 MiB) failed cleanly after %zu blocks", vm_kb / 1024, got);
    return 0;
}

static void expect_clean(const char *c, int warnings)
{
    struct child_result r;
    run_case(c, NULL, 200, &r);
    int w = count_lines(r.err, "ward: warning: ");
    if (!exited0(&r) || count_lines(r.err, "ward:") != w || w != warnings)
        fail("case %s: status 0x%x, %d warnings (want %d), stderr:\n%s", c, r.status, w, warnings, r.err);
    if (warnings && !strstr(r.err, "vm.max_map_count"))
        fail("case %s: the warning does not name vm.max_map_count:\n%s", c, r.err);
    fputs(r.err, stderr);
}

int main(int argc, char **argv)
{
    if (argc == 2 && !strcmp(argv[1], "rlimit"))
        return case_rlimit(argv);
    if (argc == 2 && !strcmp(argv[1], "late"))
        return case_late();
    if (argc == 2 && !strcmp(argv[1], "first"))
        return case_first();
    if (argc == 2 && !strcmp(argv[1], "maps"))
        return case_maps();
    ward_loaded();
    if (no_ward())
        return 0;
    expect_clean("rlimit", 0);
    expect_clean("late", 0);
    expect_clean("first", 0);
    FILE *f = fopen("/proc/sys/vm/max_map_count", "r");
    long max = 0;
    if (!f || fscanf(f, "%ld", &max) != 1)
        fail("cannot read /proc/sys/vm/max_map_count");
    fclose(f);
    if (max < MY_MAPS - 1000)
        expect_clean("maps", 1);
    else
        note("vm.max_map_count is %ld here: the mapping-exhaustion case is not run", max);
    return 0;
}
