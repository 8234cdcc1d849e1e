/* t_foreign: pointers ward never handed out.  A program with its own
 * allocator (here: blocks cut from an mmap'd arena) or a library loaded with
 * RTLD_DEEPBIND (which binds malloc to glibc's, not ward's) passes its
 * pointers to free / realloc / malloc_usable_size.
 *   default (foreign=abort): "ward: invalid free" and SIGABRT;
 *   foreign=warn: one warning line per kind of call, the pointer is left
 *   alone (free does nothing, realloc returns NULL with ENOMEM and the block
 *   untouched, malloc_usable_size returns 0), and the program goes on;
 *   bad pointers inside ward's own heap are still reported.
 * Each case runs in a child. */
#include "child_util.h"

#define ARENA_BYTES (1 << 20)

static char *arena;

static void *my_alloc(size_t n) /* the program's own bump allocator */
{
    static size_t used;
    char *p = arena + used;
    used += (n + 15) & ~(size_t)15;
    return p;
}

static void make_arena(void)
{
    arena = mmap(NULL, ARENA_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (arena == MAP_FAILED)
        fail("mmap: %s", strerror(errno));
}

static void *(*volatile xrealloc)(void *, size_t) = realloc;
static void (*volatile xfree)(void *) = free;

/* the library opened with RTLD_DEEPBIND: its malloc is glibc's */
static void *deep_block(size_t n)
{
    char lib[4096];
    ssize_t k = readlink("/proc/self/exe", lib, sizeof lib - 32);
    if (k <= 0)
        fail("readlink");
    lib[k] = 0;
    strcpy(strrchr(lib, '/'), "/libdeep.so");
    void *h = dlopen(lib, RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND);
    if (!h)
        fail("dlopen %s: %s", lib, dlerror());
    void *(*alloc)(size_t) = (void *(*)(size_t))dlsym(h, "deep_alloc");
    if (!alloc)
        fail("no deep_alloc");
    void *p = alloc(n);
    if (!p)
        fail("deep_alloc returned NULL");
    return p;
}

static int run(const char *c)
{
    ward_loaded();
    make_arena();
    if (!strcmp(c, "free")) {
        free(my_alloc(100));
        return 0;
    }
    if (!strcmp(c, "realloc")) {
        (void)xrealloc(my_alloc(100), 200);
        return 0;
    }
    if (!strcmp(c, "usable")) {
        (void)malloc_usable_size(my_alloc(100));
        return 0;
    }
    if (!strcmp(c, "deepbind")) {
        void *p = deep_block(100);
        if (malloc_usable_size(p) == 0) /* foreign=warn: size 0 */
            note("deepbind block is foreign to ward");
        xfree(p);
        return 0;
    }
    if (!strcmp(c, "warn-all")) {
        /* many foreign pointers of every kind of call: all ignored */
        for (int i = 0; i < 50; i++) {
            char *p = my_alloc(64);
            memset(p, 'x', 64);
            xfree(p);
            xfree(p + 3); /* unaligned too */
            errno = 0;
            char *q = xrealloc(p, 1000);
            if (q || errno != ENOMEM)
                fail("realloc of a foreign pointer: %p, errno %d; want NULL, ENOMEM", (void *)q, errno);
            for (int j = 0; j < 64; j++)
                if (p[j] != 'x')
                    fail("realloc changed the foreign block");
            if (malloc_usable_size(p) != 0)
                fail("malloc_usable_size of a foreign pointer is not 0");
            free_sized_fn fs = get_free_sized();
            if (fs)
                fs(p, 64);
            if (xrealloc(p, 0) != NULL)
                fail("realloc(foreign, 0) did not return NULL");
        }
        void *d = deep_block(300);
        xfree(d);
        /* ward's own blocks work as ever */
        void *w[3] = {malloc(50), malloc(5000), malloc(2 * MiB)};
        for (int i = 0; i < 3; i++)
            if (!w[i] || malloc_usable_size(w[i]) == 0)
                fail("ward's own block %d broken", i);
        w[0] = xrealloc(w[0], 70000);
        if (!w[0])
            fail("realloc of ward's block failed");
        for (int i = 0; i < 3; i++)
            free(w[i]);
        check_heap_at("after the foreign pointers");
        return 0;
    }
    if (!strcmp(c, "warn-interior")) { /* inside ward's heap: still a bug */
        char *p = malloc(64);
        xfree(p + 16);
        return 0;
    }
    if (!strcmp(c, "warn-double")) {
        char *p = malloc(64);
        xfree(p);
        xfree(p);
        return 0;
    }
    if (!strcmp(c, "warn-double-large")) {
        char *p = malloc(3 * MiB);
        xfree(p);
        xfree(p);
        return 0;
    }
    if (!strcmp(c, "warn-interior-large")) {
        char *p = malloc(3 * MiB);
        xfree(p + 4096);
        return 0;
    }
    fail("no case %s", c);
}

static void expect_abort(const char *c, const char *opts, const char *first)
{
    struct child_result r;
    run_case(c, opts, 30, &r);
    if (!aborted(&r) || strncmp(r.err, first, strlen(first)) != 0)
        fail("case %s (WARD_OPTIONS=%s): status 0x%x, want SIGABRT and a report starting '%s'; stderr:\n%s", c,
             opts ? opts : "", r.status, first, r.err);
}

int main(int argc, char **argv)
{
    if (argc == 2)
        return run(argv[1]);
    ward_loaded();
    if (no_ward())
        return 0;
    /* the default: a report and the end */
    expect_abort("free", NULL, "ward: invalid free: free(");
    expect_abort("realloc", NULL, "ward: invalid pointer: realloc(");
    expect_abort("usable", NULL, "ward: invalid pointer: malloc_usable_size(");
    expect_abort("deepbind", NULL, "ward: invalid pointer: malloc_usable_size(");
    expect_abort("free", "foreign=abort", "ward: invalid free: free(");

    /* foreign=warn: one line per kind of call, and the program goes on */
    struct child_result r;
    run_case("warn-all", "foreign=warn", 60, &r);
    if (!exited0(&r))
        fail("warn-all: status 0x%x; stderr:\n%s", r.status, r.err);
    int warnings = count_lines(r.err, "ward: warning: foreign pointer: ");
    int wardlines = count_lines(r.err, "ward:");
    if (warnings != 3 || wardlines != 3 || !strstr(r.err, "foreign pointer: free(") ||
        !strstr(r.err, "foreign pointer: realloc(") || !strstr(r.err, "foreign pointer: malloc_usable_size("))
        fail("warn-all: want exactly 3 warnings (free, realloc, malloc_usable_size), got %d of %d ward lines:\n%s",
             warnings, wardlines, r.err);
    run_case("deepbind", "foreign=warn", 30, &r);
    if (!exited0(&r) || !strstr(r.err, "deepbind block is foreign to ward") ||
        count_lines(r.err, "ward: warning: foreign pointer: ") != 2)
        fail("deepbind with foreign=warn: status 0x%x; stderr:\n%s", r.status, r.err);

    /* ward's own memory is never foreign */
    expect_abort("warn-interior", "foreign=warn", "ward: invalid free: free(");
    expect_abort("warn-double", "foreign=warn", "ward: double free: free(");
    expect_abort("warn-double-large", "foreign=warn", "ward: double free: free(");
    expect_abort("warn-interior-large", "foreign=warn", "ward: invalid free: free(");
    note("foreign pointers: reported by default, ignored with one warning per call with foreign=warn");
    return 0;
}
