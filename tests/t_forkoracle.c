/* t_forkoracle: the crash oracle of a forking server, run as an attack.
 *
 * A server forks a child per request; each child allocates a block and
 * the attacker's request overflows it.  The attacker sees only whether the
 * child died (ward's report at free) or lived.  With the parent's
 * placement inherited, every child's block is the same chunk with the same
 * canary, and the attacker learns the canary a byte at a time: 256 children
 * at most per byte, then an overflow that rewrites the whole canary goes
 * through unreported.  ward places what a child allocates afresh, in every
 * tier (SECURITY.md, "Forking server"), so what one child teaches is about
 * a chunk the next child rarely gets.
 *
 * The attack, on a small (24 bytes), a medium (3,000) and a large
 * (600 KiB + 8) block: for each of the 8 canary bytes after the request,
 * try every value in children, the bytes learned so far written before it,
 * until a child lives; a byte no value of which survives is tried again,
 * within a budget of BUDGET children in all.  Then FINAL children write
 * the 8 bytes learned.  The attack succeeds when at least half of those
 * live: for no size may it.  Under ward only (glibc has no canary).
 * Before fresh placement, each size fell in about 1,400-1,500 children,
 * 16 of 16 overflows unreported (small: 39d3c10; medium, large: 8674e6b). */
#include "test_util.h"

#include <fcntl.h>
#include <sys/wait.h>

#define SPAN 8       /* bytes of canary after the request that the attack learns */
#define BUDGET 4096  /* children for the learning */
#define FINAL 16

static void *(*volatile xm)(size_t) = malloc;
static void (*volatile xf)(void *) = free;

static size_t N; /* the victim block's request */
static void *keep[64];

/* One request: a child allocates the victim, the attacker's overflow
 * writes bytes [N, N+len) with v, the child frees it.  True when the child
 * lived (no report). */
static bool child_lives(const unsigned char *v, size_t len)
{
    pid_t pid = fork();
    if (pid < 0)
        fail("fork");
    if (pid == 0) {
        int dn = open("/dev/null", O_WRONLY);
        if (dn >= 0)
            dup2(dn, 2); /* the report: the attacker sees only the death */
        unsigned char *p = xm(N);
        memcpy(p + N, v, len);
        xf(p);
        _exit(0);
    }
    int st;
    if (waitpid(pid, &st, 0) != pid)
        fail("waitpid");
    return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

/* The attack on blocks of n bytes; 1 when it succeeded. */
static int attack(size_t n)
{
    N = n;
    /* the server's state before it forks: chunks of the victim's size
     * freed into its caches, some still live */
    for (int i = 0; i < 64; i++)
        keep[i] = xm(N);
    for (int i = 0; i < 64; i += 2)
        xf(keep[i]);

    /* the honest request: no overflow, the child lives */
    if (!child_lives(NULL, 0))
        fail("a child that does nothing wrong died");

    unsigned char learned[SPAN] = {0};
    int children = 0, known = 0;
    while (known < SPAN && children < BUDGET) {
        bool found = false;
        for (int g = 0; g < 256 && children < BUDGET && !found; g++) {
            learned[known] = (unsigned char)g;
            children++;
            found = child_lives(learned, (size_t)known + 1);
        }
        known += found;
    }
    int lived = 0;
    for (int i = 0; i < FINAL; i++)
        lived += child_lives(learned, SPAN);
    printf("t_forkoracle: %zu-byte blocks: %d children learned %d of %d bytes; an overflow of them went unreported in %d of %d "
           "children\n",
           N, children, known, SPAN, lived, FINAL);
    return lived * 2 >= FINAL;
}

int main(int argc, char **argv)
{
    (void)argc;
    /* a report without a backtrace: 4,000 of them take a second, not
     * minutes (the options are read at start-up: run again with them) */
    const char *o = getenv("WARD_OPTIONS");
    if (!o || !strstr(o, "backtrace=0")) {
        char opts[1024];
        snprintf(opts, sizeof opts, "%s%sbacktrace=0:symbolize=0", o ? o : "", o && *o ? ":" : "");
        setenv("WARD_OPTIONS", opts, 1);
        execv("/proc/self/exe", argv);
        fail("execv");
    }
    ward_loaded();
    if (no_ward()) {
        note("no canary under glibc: nothing to attack");
        return 0;
    }
    /* a small, a medium and a large block, each with 8 bytes of canary
     * after its request */
    static const size_t sizes[] = {24, 3000, 600 * 1024 + 8};
    int broken = 0;
    for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++)
        broken += attack(sizes[si]);
    if (broken)
        fail("the crash oracle across children learned the canary of %d of 3 block sizes", broken);
    return 0;
}
