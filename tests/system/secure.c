/* The program tests/system/setuid.sh makes set-user-ID root and runs as an
 * unprivileged user, with ward linked in (libward.a) or named in
 * /etc/ld.so.preload, to show that such a program ignores WARD_OPTIONS.
 *
 *   secure info          prints "secure=S euid=E ward=W": getauxval(AT_SECURE),
 *                        the effective uid, and 1 when ward is the allocator
 *                        (malloc_usable_size returns exactly the bytes asked
 *                        for, which glibc's never does for 5)
 *   secure double-free   frees a block twice, then prints "survived": ward
 *                        aborts before that unless on_error=continue holds
 * Plain libc calls only: ward comes from the link or the loader. */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <unistd.h>

static void *(*volatile xmalloc)(size_t) = malloc;
static void (*volatile xfree)(void *) = free;

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "info") == 0) {
        void *p = xmalloc(5);
        int ward = p && malloc_usable_size(p) == 5;
        xfree(p);
        printf("secure=%lu euid=%u ward=%d\n", getauxval(AT_SECURE), (unsigned)geteuid(), ward);
        return 0;
    }
    if (argc == 2 && strcmp(argv[1], "double-free") == 0) {
        char *p = xmalloc(32);
        memset(p, 'x', 32);
        xfree(p);
        xfree(p);
        puts("survived");
        return 0;
    }
    fprintf(stderr, "usage: %s info|double-free\n", argv[0]);
    return 2;
}
