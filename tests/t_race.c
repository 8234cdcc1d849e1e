/* t_race: two threads misusing one chunk at the same moment.  Each attempt
 * lines both threads up on a barrier, then both act on the same chunk: two
 * frees, or a free and a realloc that stays in place.  Of two such calls
 * exactly one may win; the other must be reported at the call, every time
 * (SECURITY.md, "racing threads").
 *
 * The program re-runs itself under ward with on_error=continue (the losing
 * call does nothing, the run goes on) and a report callback that counts the
 * reports by kind and call; the parent checks the counts and how the child
 * ended.
 *
 *   t_race                     every scenario, as children
 *   t_race SCENARIO ATTEMPTS   one scenario (what the children run)
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ward.h"

static void *(*volatile xmalloc)(size_t) = malloc;
static void (*volatile xfree)(void *) = free;
static void *(*volatile xrealloc)(void *, size_t) = realloc;

/* reports seen by the callback, by kind and call */
static atomic_long n_double_free_free, n_uaf_realloc, n_other;

static void on_report(const struct ward_report *r, void *arg)
{
    (void)arg;
    if (!strcmp(r->kind, "double free") && !strcmp(r->call, "free"))
        atomic_fetch_add(&n_double_free_free, 1);
    else if (!strcmp(r->kind, "use after free") && !strcmp(r->call, "realloc"))
        atomic_fetch_add(&n_uaf_realloc, 1);
    else
        atomic_fetch_add(&n_other, 1);
}

/* Both threads spin (a sleeping barrier wakes them microseconds apart, and
 * a free takes tens of nanoseconds): the main thread publishes attempt i by
 * storing i + 1 in `go` and acts at once; the second thread acts as soon as
 * it sees it, then says so in `done`. */
static atomic_long go, done;
static char *volatile shared;
static size_t size;
static long attempts;
static atomic_long realloc_failed;
static int mode; /* 0: free and free; 1: free and realloc in place */

/* free, or (mode 1) a realloc that stays in place */
static void act(bool do_free)
{
    if (do_free) {
        xfree(shared);
        return;
    }
    void *q = xrealloc(shared, size + 4);
    if (!q) {
        atomic_fetch_add(&realloc_failed, 1);
    } else if (q != shared) {
        fprintf(stderr, "t_race: realloc moved a chunk that fits its slot\n");
        exit(3);
    }
}

/* In mode 1 the two threads swap roles every attempt: the one that goes
 * first is the main thread, so each call gets to win and to lose. */
static void *second(void *arg)
{
    (void)arg;
    for (long i = 0; i < attempts; i++) {
        while (atomic_load_explicit(&go, memory_order_acquire) != i + 1)
            ;
        act(mode == 0 || (i & 1));
        atomic_store_explicit(&done, i + 1, memory_order_release);
    }
    return NULL;
}

static int child(const char *scenario, long n)
{
    void (*set_cb)(void (*)(const struct ward_report *, void *), void *) =
        (void (*)(void (*)(const struct ward_report *, void *), void *))dlsym(RTLD_DEFAULT,
                                                                            "ward_set_report_callback");
    int (*check)(void) = (int (*)(void))dlsym(RTLD_DEFAULT, "ward_check_heap");
    if (!set_cb || !check) {
        fprintf(stderr, "t_race: not running under ward\n");
        return 2;
    }
    set_cb(on_report, NULL);
    attempts = n;
    if (!strcmp(scenario, "double_free_small")) {
        mode = 0, size = 24;
    } else if (!strcmp(scenario, "double_free_medium")) {
        mode = 0, size = 3000;
    } else if (!strcmp(scenario, "free_realloc_small")) {
        mode = 1, size = 24;
    } else {
        fprintf(stderr, "t_race: no scenario %s\n", scenario);
        return 2;
    }
    pthread_t t;
    pthread_create(&t, NULL, second, NULL);
    for (long i = 0; i < attempts; i++) {
        shared = xmalloc(size);
        memset(shared, 'x', size);
        atomic_store_explicit(&go, i + 1, memory_order_release);
        /* a varying head start for the other thread, so that either call
         * may come first, and often both at once */
        for (volatile long d = (i * 7919) % 97; d > 0; d--)
            ;
        act(mode == 0 || !(i & 1));
        while (atomic_load_explicit(&done, memory_order_acquire) != i + 1)
            ;
    }
    pthread_join(t, NULL);
    /* nothing may be left half-done: the heap walk, and every quarantined
     * chunk handed out again (verified on the way) */
    check();
    for (int i = 0; i < 100000; i++) {
        char *p = xmalloc(size);
        p[0] = 1;
        xfree(p);
    }
    check();
    long df = atomic_load(&n_double_free_free), uaf = atomic_load(&n_uaf_realloc), other = atomic_load(&n_other);
    printf("%ld %ld %ld %ld\n", df, uaf, other, atomic_load(&realloc_failed));
    return 0;
}

/* On failure, the reports that are not the expected kinds (the first few),
 * then the log goes. */
static void show_reports(const char *path, bool show)
{
    FILE *f = fopen(path, "r");
    char line[512];
    int shown = 0;
    while (show && f && shown < 5 && fgets(line, sizeof line, f))
        if (!strstr(line, "ward: double free: free(") && !strstr(line, "ward: use after free: realloc(") &&
            !strstr(line, "ward: continuing")) {
            printf("    %s", line);
            shown++;
        }
    if (f)
        fclose(f);
    unlink(path);
}

/* Runs one scenario in a child; returns 1 when it held. */
static int run(const char *self, const char *scenario, long n)
{
    char count[32], out[256] = {0}, errlog[64];
    snprintf(errlog, sizeof errlog, "/tmp/t_race.%d.err", (int)getpid());
    snprintf(count, sizeof count, "%ld", n);
    int pfd[2];
    if (pipe(pfd))
        return 0;
    pid_t pid = fork();
    if (pid == 0) {
        dup2(pfd[1], 1);
        close(pfd[0]);
        close(pfd[1]);
        setenv("WARD_OPTIONS", "on_error=continue:exitcode=42:backtrace=0:sample=0", 1);
        if (!freopen(errlog, "w", stderr))
            _exit(127);
        execl(self, self, scenario, count, (char *)NULL);
        _exit(127);
    }
    close(pfd[1]);
    size_t len = 0;
    ssize_t r;
    while (len < sizeof out - 1 && (r = read(pfd[0], out + len, sizeof out - 1 - len)) > 0)
        len += (size_t)r;
    close(pfd[0]);
    int st;
    waitpid(pid, &st, 0);
    long df = -1, uaf = -1, other = -1, rfail = -1;
    if (sscanf(out, "%ld %ld %ld %ld", &df, &uaf, &other, &rfail) != 4) {
        printf("FAIL t_race/%s: the child did not finish (status 0x%x)\n", scenario, st);
        show_reports(errlog, true);
        return 0;
    }
    long reports = df + uaf + other;
    int want_status = reports ? 42 : 0;
    const char *why = NULL;
    if (!WIFEXITED(st) || WEXITSTATUS(st) != want_status)
        why = "exit status is not the reports' (a report that ended the run, or a crash)";
    else if (other)
        why = "reports other than the losing call's";
    else if (!strncmp(scenario, "double_free", 11) && df != n)
        why = "a double free went unreported at the call";
    else if (!strncmp(scenario, "free_realloc", 12) && (df + uaf > n || uaf != rfail))
        why = "a report that no losing call explains";
    printf("%s t_race/%s: %ld attempts, %ld double free at free, %ld use after free at realloc, %ld other%s%s\n",
           why ? "FAIL" : "PASS", scenario, n, df, uaf, other, why ? ": " : "", why ? why : "");
    show_reports(errlog, why != NULL);
    return !why;
}

int main(int argc, char **argv)
{
    if (argc == 3)
        return child(argv[1], atol(argv[2]));
    char self[4096];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0)
        return 2;
    self[n] = '\0';
    int ok = 1;
    ok &= run(self, "double_free_small", 3000);
    ok &= run(self, "double_free_medium", 3000);
    ok &= run(self, "free_realloc_small", 3000);
    return ok ? 0 : 1;
}
