/* startup: what every exec pays.  Runs a program again and again, each
 * run waited for: /bin/true (2,000 * SCALE runs: a trivial program, nearly
 * all of its time the loader's and the allocator's start-up), or the
 * command after the two numbers (100 * SCALE runs: `startup 1 1 python3 -c
 * pass`).  The allocator under test reaches every run through LD_PRELOAD
 * in the environment the runs inherit.  Prints the number of runs, the
 * same under every allocator.
 * Usage: startup THREADS SCALE [COMMAND...] (THREADS is ignored). */
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>

extern char **environ;

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: startup THREADS SCALE [COMMAND...]\n");
        return 2;
    }
    double scale = atof(argv[2]);
    char *truth[] = {"/bin/true", NULL};
    char **cmd = argc > 3 ? argv + 3 : truth;
    long runs = (long)((argc > 3 ? 100 : 2000) * scale);
    if (runs < 1)
        runs = 1;
    for (long i = 0; i < runs; i++) {
        pid_t pid;
        int st;
        if (posix_spawnp(&pid, cmd[0], NULL, NULL, cmd, environ) != 0) {
            perror("posix_spawnp");
            return 1;
        }
        if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
            fprintf(stderr, "startup: %s failed\n", cmd[0]);
            return 1;
        }
    }
    printf("startup: %ld runs of %s\n", runs, cmd[0]);
    return 0;
}
