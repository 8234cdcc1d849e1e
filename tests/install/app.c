/* Built by tests/install.sh against an installed ward, with pkg-config,
 * shared and -static.  `app` proves ward is the allocator in use and exits
 * 0; `app double-free` commits a double free, which ward must report. */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ward.h>

static void *(*volatile xmalloc)(size_t) = malloc;
static void (*volatile xfree)(void *) = free;

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "double-free") == 0) {
        char *p = xmalloc(24);
        xfree(p);
        xfree(p);
        return 0;
    }
    struct ward_stats before, after;
    ward_get_stats(&before);
    char *keep[100];
    for (int i = 0; i < 100; i++) {
        keep[i] = xmalloc((size_t)(i * 97 % 5000) + 1);
        memset(keep[i], 1, 1);
    }
    /* strdup and fopen allocate inside the C library: ward must serve those too */
    char *dup = strdup("allocated by libc");
    FILE *f = fopen("/proc/self/maps", "r");
    ward_get_stats(&after);
    /* ward gives exactly the bytes asked for (glibc rounds up: 24 for 5) */
    char *five = xmalloc(5);
    size_t usable = malloc_usable_size(five);
    int ok = after.in_use > before.in_use + 100 * 2000 && usable == 5 && dup && f &&
             malloc_usable_size(dup) == strlen(dup) + 1 && ward_check_heap() == 0;
    printf("app: bytes in use %zu -> %zu, malloc_usable_size(malloc(5)) = %zu, strdup's %zu: %s\n",
           before.in_use, after.in_use, usable, dup ? malloc_usable_size(dup) : 0,
           ok ? "ward is the allocator" : "NOT ward");
    if (f)
        fclose(f);
    xfree(five);
    xfree(dup);
    for (int i = 0; i < 100; i++)
        xfree(keep[i]);
    return ok ? 0 : 1;
}
