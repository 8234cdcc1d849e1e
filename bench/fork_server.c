/* fork_server: what a forking server (or a shell) pays per fork.  The
 * parent builds a heap of 20,000 blocks (85% small, 15% medium up to
 * 64 KiB; about 20 MiB), then serves requests one at a time, each in a
 * child it forks and waits for: the child reads 50 of the inherited blocks,
 * frees 20 of them, allocates and frees 200 blocks of its own and exits.
 * fork copies the parent's page tables, and the child's writes copy the
 * pages they touch: an allocator whose heap is spread out, or whose child
 * rewrites memory at fork, pays for it here.
 * Work: 500 * SCALE children.  THREADS is ignored. */
#include "common.h"

#include <sys/wait.h>
#include <unistd.h>

#define BLOCKS 20000

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: fork_server THREADS SCALE\n");
        return 2;
    }
    long children = (long)(500 * atof(argv[2]));
    if (children < 1)
        children = 1;
    static unsigned char *blk[BLOCKS];
    static size_t len[BLOCKS];
    rng_t r;
    rng_seed(&r, 42);
    for (int i = 0; i < BLOCKS; i++) {
        len[i] = rng_next(&r) % 100 < 85 ? small_size(&r) : rng_logrange(&r, 1025, 64 << 10);
        blk[i] = xmalloc(len[i]);
        memset(blk[i], (int)(i & 0x7f), len[i]);
    }
    uint64_t sum = 0;
    for (long c = 0; c < children; c++) {
        pid_t pid = fork();
        if (pid < 0) {
            perror("fork");
            return 1;
        }
        if (pid == 0) {
            rng_t cr;
            rng_seed(&cr, (uint64_t)c + 1);
            unsigned acc = 0;
            for (int k = 0; k < 50; k++) {
                size_t i = rng_next(&cr) % BLOCKS;
                acc += blk[i][len[i] - 1];
            }
            size_t at = rng_next(&cr) % BLOCKS; /* 20 distinct blocks: 997 is prime to BLOCKS */
            for (int k = 0; k < 20; k++)
                free(blk[(at + (size_t)k * 997) % BLOCKS]);
            void *mine[200];
            for (int k = 0; k < 200; k++) {
                size_t n = small_size(&cr);
                mine[k] = xmalloc(n);
                memset(mine[k], k, n);
            }
            for (int k = 0; k < 200; k++)
                free(mine[k]);
            _exit((int)(acc & 0x7f));
        }
        int st;
        if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st)) {
            fprintf(stderr, "fork_server: child %ld failed\n", c);
            return 1;
        }
        sum += (uint64_t)WEXITSTATUS(st);
    }
    for (int i = 0; i < BLOCKS; i++)
        free(blk[i]);
    printf("fork_server: %ld children, checksum %llu\n", children, (unsigned long long)sum);
    return 0;
}
