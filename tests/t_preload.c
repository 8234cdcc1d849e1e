/* t_preload: another preloaded library beside ward, in both orders
 * (LD_PRELOAD="libward.so libother.so" and "libother.so libward.so"), whose
 * constructor allocates, calls dlsym / dlerror / dlopen (which allocate),
 * starts a thread and makes a key; and the same with a library that wraps
 * malloc through dlsym(RTLD_NEXT).  Each run is a child under a deadline:
 * no deadlock, no recursion, no report, and the other library's blocks are
 * ward's (malloc_usable_size exactly the request). */
#include "child_util.h"

static int child(void)
{
    char **blocks = dlsym(RTLD_DEFAULT, "other_blocks");
    int *ok = dlsym(RTLD_DEFAULT, "other_ok");
    if (!blocks || !ok)
        fail("the other library is not loaded");
    if (!*ok)
        fail("the other library's constructor failed");
    if (!dlsym(RTLD_DEFAULT, "ward_check_heap"))
        fail("ward is not loaded");
    static const size_t want[4] = {20000, 200, 48, 300};
    for (int i = 0; i < 4; i++)
        if (malloc_usable_size(blocks[i]) != want[i])
            fail("block %d of the other library: usable size %zu, want %zu (ward's)", i,
                 malloc_usable_size(blocks[i]), want[i]);
    for (int i = 0; i < 4; i++)
        free(blocks[i]);
    char *p = malloc(5000);
    if (!p || malloc_usable_size(p) != 5000)
        fail("main's malloc is not ward's");
    free(p);
    check_heap_at("after the other library's blocks");
    unsigned long *calls = dlsym(RTLD_DEFAULT, "other_calls");
    note("ok%s", calls && *calls ? " (through the wrapper)" : "");
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 2 && !strcmp(argv[1], "child"))
        return child();
    ward_loaded();
    if (no_ward())
        return 0;
    const char *ward = getenv("LD_PRELOAD");
    char dir[4096];
    ssize_t k = readlink("/proc/self/exe", dir, sizeof dir - 1);
    if (!ward || k <= 0)
        fail("no LD_PRELOAD / readlink");
    dir[k] = 0;
    *strrchr(dir, '/') = 0;
    static const char *const libs[] = {"libother.so", "libwrap.so"};
    for (int l = 0; l < 2; l++)
        for (int order = 0; order < 2; order++) {
            char pre[9000];
            if (order == 0)
                snprintf(pre, sizeof pre, "%s %s/%s", ward, dir, libs[l]);
            else
                snprintf(pre, sizeof pre, "%s/%s %s", dir, libs[l], ward);
            setenv("LD_PRELOAD", pre, 1);
            struct child_result r;
            run_case("child", NULL, 30, &r);
            if (!exited0(&r) || strstr(r.err, "ward:"))
                fail("LD_PRELOAD=\"%s\": status 0x%x; stderr:\n%s", pre, r.status, r.err);
            if (l == 1 && order == 1 && !strstr(r.err, "through the wrapper"))
                fail("LD_PRELOAD=\"%s\": the wrapper was not used", pre);
            note("LD_PRELOAD=\"%s\": %s", pre, r.err);
        }
    setenv("LD_PRELOAD", ward, 1);
    return 0;
}
