/* Running one case of a test in a child: this program re-executed (so that
 * WARD_OPTIONS, read at ward's start-up, can differ) with the case's name as
 * its argument, stderr captured, under a deadline; or a function in a
 * forked child, which keeps this process's heap (its stderr captured, or
 * what it computes sent back). */
#ifndef WARD_CHILD_UTIL_H
#define WARD_CHILD_UTIL_H

#include "test_util.h"

#include <signal.h>
#include <sys/wait.h>

struct child_result {
    int status;      /* as waitpid says */
    char err[16384]; /* stderr */
};

/* The parent's side: the child's stderr (the read end of pfd) into
 * res->err, then its status. */
static TU_UNUSED void child_collect(pid_t pid, const int pfd[2], struct child_result *res)
{
    close(pfd[1]);
    size_t len = 0;
    ssize_t r;
    while ((r = read(pfd[0], res->err + len, sizeof res->err - 1 - len)) > 0 ||
           (r < 0 && errno == EINTR))
        if (r > 0)
            len += (size_t)r;
    res->err[len] = 0;
    close(pfd[0]);
    while (waitpid(pid, &res->status, 0) < 0 && errno == EINTR)
        ;
}

/* Forks with the child's stderr going into a new pipe (pfd); the parent
 * collects it with child_collect. */
static TU_UNUSED pid_t fork_capturing(int pfd[2])
{
    if (pipe(pfd))
        fail("pipe: %s", strerror(errno));
    pid_t pid = fork();
    if (pid < 0)
        fail("fork: %s", strerror(errno));
    if (pid == 0) {
        dup2(pfd[1], 2);
        close(pfd[0]);
        close(pfd[1]);
    }
    return pid;
}

/* Runs `self CASE` with WARD_OPTIONS=opts (unset when NULL); kills it after
 * secs seconds (a hang is a failure). */
static TU_UNUSED void run_case(const char *case_name, const char *opts, int secs, struct child_result *res)
{
    int pfd[2];
    pid_t pid = fork_capturing(pfd);
    if (pid == 0) {
        if (opts)
            setenv("WARD_OPTIONS", opts, 1);
        else
            unsetenv("WARD_OPTIONS");
        alarm((unsigned)secs);
        execl("/proc/self/exe", program_invocation_name, case_name, (char *)NULL);
        _exit(127);
    }
    child_collect(pid, pfd, res);
    if (WIFSIGNALED(res->status) && WTERMSIG(res->status) == SIGALRM)
        fail("case %s (WARD_OPTIONS=%s) still running after %d s: hung; stderr:\n%s", case_name,
             opts ? opts : "", secs, res->err);
}

/* Runs fn(arg) in a forked child, its stderr captured; the child exits 0
 * when fn returns. */
static TU_UNUSED void run_forked(void (*fn)(const void *), const void *arg, struct child_result *res)
{
    int pfd[2];
    pid_t pid = fork_capturing(pfd);
    if (pid == 0) {
        fn(arg);
        _exit(0);
    }
    child_collect(pid, pfd, res);
}

/* Runs fn(arg, out) in a forked child, which sends the len bytes of out
 * back; fails unless they all come and the child exits 0 (fn may _exit
 * with another status to say what went wrong). */
static TU_UNUSED void from_forked(void (*fn)(const void *, void *), const void *arg, void *out, size_t len)
{
    int pfd[2];
    if (pipe(pfd))
        fail("pipe: %s", strerror(errno));
    pid_t pid = fork();
    if (pid < 0)
        fail("fork: %s", strerror(errno));
    if (pid == 0) {
        close(pfd[0]);
        fn(arg, out);
        _exit(write(pfd[1], out, len) == (ssize_t)len ? 0 : 1);
    }
    close(pfd[1]);
    size_t got = 0;
    ssize_t r;
    while (got < len && ((r = read(pfd[0], (char *)out + got, len - got)) > 0 || (r < 0 && errno == EINTR)))
        if (r > 0)
            got += (size_t)r;
    close(pfd[0]);
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
        fail("a forked child ended with status 0x%x", st);
    if (got != len)
        fail("a forked child sent %zu of %zu bytes", got, len);
}

static TU_UNUSED bool exited0(const struct child_result *r)
{
    return WIFEXITED(r->status) && WEXITSTATUS(r->status) == 0;
}

static TU_UNUSED bool aborted(const struct child_result *r)
{
    return WIFSIGNALED(r->status) && WTERMSIG(r->status) == SIGABRT;
}

/* lines of s that start with prefix */
static TU_UNUSED int count_lines(const char *s, const char *prefix)
{
    int n = 0;
    size_t pl = strlen(prefix);
    for (const char *l = s; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
        n += strncmp(l, prefix, pl) == 0;
    return n;
}

#endif
