/* A sweep of heap bugs over every small size, a ladder of medium sizes and
 * a few large ones: a 1- and 8-byte overflow (and a NUL off-by-one), an
 * underflow 1, 8 and 16 bytes before the block, a double free, a write after
 * free at the first and last byte followed by reuse, and the same write just
 * before exit.  Each bug runs in a forked child; the child must die with
 * the report's class on its first line (large blocks may fault instead:
 * guard pages).  A probe that comes back silent is a failure. */
#include "test_util.h"

#include <signal.h>
#include <sys/wait.h>

static void *(*volatile xm)(size_t) = malloc;
static void (*volatile xf)(void *) = free;

static char *hide(void *p)
{
    __asm__ volatile("" : "+r"(p));
    return p;
}

enum { OVERFLOW, NUL, UNDERFLOW, DOUBLE_FREE, WAF_REUSE, WAF_EXIT, NBUGS };
static const char *const bug_name[] = {"overflow", "NUL off-by-one", "underflow", "double free",
                                       "write after free", "write after free at exit"};
static const char *const bug_report[] = {"ward: heap buffer overflow:", "ward: heap buffer overflow:",
                                         "ward: corrupted chunk header:", "ward: double free:",
                                         "ward: write after free:", "ward: write after free:"};

static void commit_bug(int bug, size_t n, size_t off)
{
    char *p = xm(n);
    switch (bug) {
    case OVERFLOW: memset(hide(p), 'A', n + off); xf(p); break;
    case NUL: hide(p)[n] = 0; xf(p); break;
    case UNDERFLOW: hide(p)[-(long)off] ^= 0x5a; xf(p); break;
    case DOUBLE_FREE: xf(p); xf(p); break;
    case WAF_REUSE:
        xf(p);
        hide(p)[off] = 'X';
        for (int i = 0; i < 30000; i++)
            xf(xm(n));
        break;
    case WAF_EXIT: xf(p); hide(p)[off] = 'X'; break;
    }
    exit(0); /* destructors run: the exit check too */
}

/* 1: the child was stopped with the expected report (or a fault, where
 * faulting is the detection) */
static int probe(int bug, size_t n, size_t off, bool fault_ok)
{
    int pfd[2];
    fflush(stdout);
    if (pipe(pfd))
        fail("pipe");
    pid_t pid = fork();
    if (pid == 0) {
        dup2(pfd[1], 2);
        close(pfd[0]);
        commit_bug(bug, n, off);
    }
    close(pfd[1]);
    char out[2048];
    size_t len = 0;
    ssize_t r;
    while ((r = read(pfd[0], out + len, sizeof out - 1 - len)) > 0)
        len += (size_t)r;
    out[len] = '\0';
    close(pfd[0]);
    int st;
    waitpid(pid, &st, 0);
    if (!WIFSIGNALED(st))
        return 0;
    if (fault_ok && (WTERMSIG(st) == SIGSEGV || WTERMSIG(st) == SIGBUS))
        return 1;
    /* a fault reported by ward's fault handler (a guard page) */
    if (fault_ok && WTERMSIG(st) == SIGABRT && strncmp(out, "ward: ", 6) == 0 && strstr(out, ": access(0x"))
        return 1;
    return WTERMSIG(st) == SIGABRT && strncmp(out, bug_report[bug], strlen(bug_report[bug])) == 0;
}

int main(int argc, char **argv)
{
    (void)argc;
    ward_loaded();
    if (no_ward()) {
        note("nothing to sweep without ward");
        return 0;
    }
    if (!getenv("WARD_OPTIONS")) { /* reports without backtraces: faster; no sampling: each probe tests its tier */
        setenv("WARD_OPTIONS", "backtrace=0:sample=0", 1);
        execv("/proc/self/exe", argv);
        fail("cannot re-execute myself");
    }
    size_t sizes[1400];
    int ns = 0;
    for (size_t n = 0; n <= 1100; n++)
        sizes[ns++] = n;
    for (size_t n = 1100; n < 520000; n = n * 11 / 10 + 1)
        sizes[ns++] = n;
    static const size_t extra[] = {4096, 8192, 65536, 65536 + 16, 262144, 262144 + 5, 524288,
                                   524288 + 1, 1048576, 1048576 + 3, 3000000};
    for (size_t i = 0; i < ARRAY_LEN(extra); i++)
        sizes[ns++] = extra[i];
    int total = 0, missed = 0;
    for (int bug = 0; bug < NBUGS; bug++)
        for (int i = 0; i < ns; i++) {
            size_t n = sizes[i], offs[3];
            int no = 0;
            if (bug == OVERFLOW) {
                offs[no++] = 1;
                offs[no++] = 8;
            } else if (bug == UNDERFLOW) {
                offs[no++] = 1;
                offs[no++] = 8;
                offs[no++] = 16;
            } else if (bug == WAF_REUSE || bug == WAF_EXIT) {
                if (!n)
                    continue;
                offs[no++] = 0;
                offs[no++] = n - 1;
            } else {
                offs[no++] = 0;
            }
            for (int o = 0; o < no; o++) {
                total++;
                /* large blocks may fault on a guard page; every access to a
                 * 0-byte block faults */
                if (!probe(bug, n, offs[o], n > 512 * KiB || n == 0)) {
                    if (++missed <= 20)
                        fprintf(stderr, "t_sweep: missed: %s, %zu-byte block, offset %zu\n", bug_name[bug], n,
                                offs[o]);
                }
            }
        }
    if (missed)
        fail("%d of %d probes came back without the expected report", missed, total);
    note("%d probes over %d sizes, every one reported", total, ns);
    return 0;
}
