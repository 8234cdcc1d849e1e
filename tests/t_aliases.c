/* t_aliases: glibc's own names for its allocator (__libc_malloc, ...,
 * cfree) reach ward, so nothing lands in glibc's heap.  Each is looked up
 * with dlsym(RTLD_DEFAULT, ...), must resolve into libward.so, and what it
 * returns must be ward's: malloc_usable_size is exactly the request (glibc
 * rounds up), the block shows in ward_get_stats, and a double free through
 * __libc_free (in a child) gives ward's report. */
#include "child_util.h"


typedef void *(*malloc_fn)(size_t);
typedef void (*free_fn)(void *);
typedef void *(*calloc_fn)(size_t, size_t);
typedef void *(*realloc_fn)(void *, size_t);
typedef void *(*reallocarray_fn)(void *, size_t, size_t);
typedef void *(*memalign_fn)(size_t, size_t);
typedef struct mallinfo (*mallinfo_fn)(void);
typedef int (*mallopt_fn)(int, int);

static Dl_info ward_info;

/* the symbol, which must be defined in libward.so */
static void *ward_sym(const char *name)
{
    void *f = dlsym(RTLD_DEFAULT, name);
    Dl_info di;
    if (!f)
        fail("%s is not defined at all", name);
    if (!dladdr(f, &di) || di.dli_fbase != ward_info.dli_fbase)
        fail("%s resolves into %s, not ward", name, di.dli_fname ? di.dli_fname : "?");
    return f;
}

/* p must be a live ward block of exactly n requested bytes */
static void owned(const char *how, void *p, size_t n)
{
    if (!p)
        fail("%s returned NULL", how);
    size_t u = malloc_usable_size(p);
    if (u != n)
        fail("%s: malloc_usable_size %zu, want exactly %zu (ward's)", how, u, n);
}

static int child_double_free(void)
{
    free_fn lfree = (free_fn)dlsym(RTLD_DEFAULT, "__libc_free");
    malloc_fn lmalloc = (malloc_fn)dlsym(RTLD_DEFAULT, "__libc_malloc");
    char *p = lmalloc(40);
    lfree(p);
    lfree(p);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 2 && !strcmp(argv[1], "double-free"))
        return child_double_free();
    ward_loaded();
    if (no_ward())
        return 0;
    if (!dladdr(dlsym(RTLD_DEFAULT, "ward_check_heap"), &ward_info))
        fail("dladdr(ward_check_heap)");

    struct ward_stats s0, s1;
    ward_stats(&s0);

    malloc_fn lmalloc = (malloc_fn)ward_sym("__libc_malloc");
    free_fn lfree = (free_fn)ward_sym("__libc_free");
    free_fn cfree_ = (free_fn)ward_sym("cfree");
    calloc_fn lcalloc = (calloc_fn)ward_sym("__libc_calloc");
    realloc_fn lrealloc = (realloc_fn)ward_sym("__libc_realloc");
    reallocarray_fn lreallocarray = (reallocarray_fn)ward_sym("__libc_reallocarray");
    memalign_fn lmemalign = (memalign_fn)ward_sym("__libc_memalign");
    malloc_fn lvalloc = (malloc_fn)ward_sym("__libc_valloc");
    malloc_fn lpvalloc = (malloc_fn)ward_sym("__libc_pvalloc");
    mallinfo_fn lmallinfo = (mallinfo_fn)ward_sym("__libc_mallinfo");
    mallopt_fn lmallopt = (mallopt_fn)ward_sym("__libc_mallopt");

    char *a = lmalloc(10);
    owned("__libc_malloc(10)", a, 10);
    char *b = lcalloc(7, 3);
    owned("__libc_calloc(7, 3)", b, 21);
    if (find_nonzero(b, 21) >= 0)
        fail("__libc_calloc not zeroed");
    memset(a, 'a', 10);
    a = lrealloc(a, 3000);
    owned("__libc_realloc(a, 3000)", a, 3000);
    for (int i = 0; i < 10; i++)
        if (a[i] != 'a')
            fail("__libc_realloc lost byte %d", i);
    a = lreallocarray(a, 100, 13);
    owned("__libc_reallocarray(a, 100, 13)", a, 1300);
    void *m = lmemalign(256, 77);
    owned("__libc_memalign(256, 77)", m, 77);
    if (!is_aligned(m, 256))
        fail("__libc_memalign not aligned");
    void *v = lvalloc(5);
    owned("__libc_valloc(5)", v, 5);
    void *pv = lpvalloc(5);
    owned("__libc_pvalloc(5)", pv, (size_t)sysconf(_SC_PAGESIZE));
    if (!is_aligned(v, 4096) || !is_aligned(pv, 4096))
        fail("__libc_valloc / __libc_pvalloc not page-aligned");
    void *big = lmalloc(3 * MiB + 1);
    owned("__libc_malloc(3 MiB + 1)", big, 3 * MiB + 1);

    ward_stats(&s1);
    if (s1.large_count != s0.large_count + 1)
        fail("a large __libc_malloc is not in ward's stats (%zu -> %zu)", s0.large_count, s1.large_count);
    struct mallinfo mi = lmallinfo();
    if (mi.hblks < 1)
        fail("__libc_mallinfo does not see the large block (hblks %d)", mi.hblks);
    if (lmallopt(M_MMAP_THRESHOLD, 1 << 20) != 1)
        fail("__libc_mallopt refused a glibc parameter");
    check_heap_at("with blocks from every alias");

    /* each alias's block freed through another name, and the reverse */
    lfree(a);
    free(b);
    cfree_(m);
    lfree(v);
    lfree(pv);
    lfree(big);
    void *c = malloc(33);
    lfree(c);
    check_heap_at("after freeing them");

    /* a double free through __libc_free is ward's report */
    struct child_result res;
    run_case("double-free", getenv("WARD_OPTIONS"), 60, &res);
    if (!aborted(&res))
        fail("double free through __libc_free: child status 0x%x, want SIGABRT; stderr: %s", res.status, res.err);
    if (strncmp(res.err, "ward: double free: free(", 24) != 0)
        fail("double free through __libc_free: report '%.200s'", res.err);
    note("11 aliases resolve to ward and return ward's blocks; __libc_free double free reported");
    return 0;
}
