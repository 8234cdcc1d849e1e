/* benchtime: run a command and report its wall time and peak RSS, for
 * bench/run.py.  A small process of its own forks the command, because a
 * child's peak RSS starts at its parent's at fork (the kernel keeps the
 * high-water mark across exec): forked from the Python runner every
 * command would show at least the runner's 20 MiB.
 *
 *   benchtime -o FILE command [args...]
 *
 * Writes one line "ELAPSED_SECONDS MAXRSS_KB CPU_SECONDS" to FILE (like GNU
 * time's '%e %M', with milliseconds, then user + system time), preceded by a "Command terminated by signal N" or "Command
 * exited with non-zero status N" line as GNU time writes them, and exits
 * with the command's status (128+N if it was killed by signal N).  The peak
 * RSS is getrusage(RUSAGE_CHILDREN)'s ru_maxrss after waitpid: the largest
 * of the command and every descendant it waited for. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    const char *out = NULL;
    int i = 1;
    if (i + 1 < argc && strcmp(argv[i], "-o") == 0) {
        out = argv[i + 1];
        i += 2;
    }
    if (i < argc && strcmp(argv[i], "--") == 0)
        i++;
    if (i >= argc) {
        fprintf(stderr, "usage: benchtime [-o FILE] command [args...]\n");
        return 125;
    }

    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    pid_t pid = fork();
    if (pid < 0) {
        perror("benchtime: fork");
        return 125;
    }
    if (pid == 0) {
        execvp(argv[i], argv + i);
        fprintf(stderr, "benchtime: cannot run %s: %s\n", argv[i], strerror(errno));
        _exit(errno == ENOENT ? 127 : 126);
    }
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) {
            perror("benchtime: waitpid");
            return 125;
        }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    struct rusage ru;
    getrusage(RUSAGE_CHILDREN, &ru);
    double el = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;

    FILE *f = out ? fopen(out, "w") : stderr;
    if (!f) {
        perror("benchtime: cannot open output");
        f = stderr;
    }
    int rc;
    if (WIFSIGNALED(status)) {
        rc = 128 + WTERMSIG(status);
        fprintf(f, "Command terminated by signal %d\n", WTERMSIG(status));
    } else {
        rc = WEXITSTATUS(status);
        if (rc)
            fprintf(f, "Command exited with non-zero status %d\n", rc);
    }
    double cpu = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
                 (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
    fprintf(f, "%.3f %ld %.3f\n", el, ru.ru_maxrss, cpu);
    if (f != stderr)
        fclose(f);
    return rc;
}
