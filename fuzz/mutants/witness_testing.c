/* witness_testing.c: the witnesses that need the harness build of ward
 * (libward-prefixed.a, ward_testing.h): linked with the original and with
 * the mutated library by fuzz/mutants.sh, `witness_testing NAME`. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ward.h"
#include "ward_testing.h"

static void on_fault(int sig)
{
    printf("fault %d\n", sig);
    fflush(stdout);
    _exit(0);
}

int main(int argc, char **argv)
{
    const char *w = argc > 1 ? argv[1] : "";
    signal(SIGSEGV, on_fault);
    signal(SIGBUS, on_fault);
    if (!strcmp(w, "commit_refused")) { /* the kernel refuses every call: a slab cannot be committed */
        ward_testing_fail_os(0, 1u << 30);
        int failed = 0;
        for (int i = 0; i < 20000; i++) {
            char *p = ward_malloc(512);
            if (!p) {
                failed = errno == ENOMEM;
                break;
            }
            memset(p, 1, 512);
        }
        ward_testing_fail_os(0, 0);
        printf("failed %d\n", failed);
    } else {
        fprintf(stderr, "witness_testing: no scenario %s\n", w);
        return 2;
    }
    return 0;
}
