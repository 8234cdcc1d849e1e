/* t_forkkeys: a forked child keys what it writes with secrets of its own
 * (SECURITY.md, "Forking server"; chunk.h's key ring).
 *
 * 1. Siblings: the parent allocates a small (24 bytes), a medium (3,000)
 *    and a large (600 KiB + 8) block and forks children; each resizes the
 *    inherited block in place to the same size (ward writes its header and
 *    canary again) and reads them back, as a heap reader would.  Same
 *    address, same fields: with the parent's secrets every child would
 *    write the same header check word and canary, and what one child
 *    leaks (or a crash oracle learns in one) would hold in the next.  They
 *    must differ between children, and from the parent's.
 * 2. Written back from an ancestor's days: a child records the inherited
 *    block's header and canary (keyed with the parent's secrets, the
 *    values a crash oracle on inherited chunks can learn), resizes the
 *    block in place and writes the recorded bytes back.  They verify under
 *    the parent's secrets, but the chunk's epoch byte (outside the heap)
 *    says the child's keyed it: free must report it, under both checksums.
 * 3. Generations: a chain of forks deeper than the key ring (70 levels,
 *    64 entries), each level allocating, resizing inherited blocks of every
 *    ancestor in place and freeing some; the deepest frees everything.  No
 *    report, and the integrity walk passes at every level.
 * Under ward only. */
#include "child_util.h"

#define CHILDREN 8
#define NSIZES 3
#define DEPTH 70

static void *(*volatile xm)(size_t) = malloc;
static void *(*volatile xr)(void *, size_t) = realloc;
static void (*volatile xf)(void *) = free;

static const size_t sizes[NSIZES] = {24, 3000, 600 * 1024 + 8};
static const char *const names[NSIZES] = {"small", "medium", "large"};

/* the header's check word (small, medium) and the canary's first word */
struct seen {
    uint64_t check, canary;
};

static struct seen look(const unsigned char *p, size_t n, int s)
{
    struct seen v = {0, 0};
    if (s < 2)
        memcpy(&v.check, p - 8, 8);
    memcpy(&v.canary, p + n, 8); /* n is a multiple of 8: the canary's first word */
    return v;
}

/* in a child: each inherited block resized in place to its size (keyed
 * anew), then looked at */
static void rekey(const void *arg, void *out)
{
    unsigned char *const *blk = arg;
    struct seen *v = out;
    for (int s = 0; s < NSIZES; s++) {
        if (xr(blk[s], sizes[s]) != blk[s])
            _exit(2);
        v[s] = look(blk[s], sizes[s], s);
    }
}

static void siblings(unsigned char *blk[NSIZES])
{
    struct seen parent[NSIZES], got[CHILDREN][NSIZES];
    for (int s = 0; s < NSIZES; s++)
        parent[s] = look(blk[s], sizes[s], s);
    for (int c = 0; c < CHILDREN; c++)
        from_forked(rekey, blk, got[c], sizeof got[c]);
    for (int s = 0; s < NSIZES; s++)
        for (int c = 0; c < CHILDREN; c++) {
            if (got[c][s].canary == parent[s].canary)
                fail("%s block: child %d wrote the parent's canary %016" PRIx64 " (the parent's secrets)",
                     names[s], c, parent[s].canary);
            if (s < 2 && got[c][s].check == parent[s].check)
                fail("%s block: child %d wrote the parent's header check word", names[s], c);
            for (int d = 0; d < c; d++) {
                if (got[c][s].canary == got[d][s].canary)
                    fail("%s block: children %d and %d wrote the same canary %016" PRIx64, names[s], d, c,
                         got[c][s].canary);
                if (s < 2 && got[c][s].check == got[d][s].check)
                    fail("%s block: children %d and %d wrote the same header check word", names[s], d, c);
            }
        }
    note("%d children: every header check word and canary their own, in every tier", CHILDREN);
}

/* In a child: the block of size *arg keyed anew, the parent's header and
 * canary (the values before) written back, then freed. */
static unsigned char **blocks;
static void write_back(const void *arg)
{
    int s = *(const int *)arg;
    unsigned char *p = blocks[s], old[24];
    size_t at = s < 2 ? 16 : 0;
    /* the header (16 bytes before the block) and the canary's first word */
    if (s < 2)
        memcpy(old, p - 16, 16);
    memcpy(old + at, p + sizes[s], 8);
    if (xr(p, sizes[s]) != p)
        _exit(2);
    if (s < 2)
        memcpy(p - 16, old, 16);
    memcpy(p + sizes[s], old + at, 8);
    xf(p);
}

/* The child must die with a report that contains `want`. */
static void expect_report(unsigned char *blk[NSIZES], int s, const char *want)
{
    static struct child_result res;
    blocks = blk;
    run_forked(write_back, &s, &res);
    if (exited0(&res))
        fail("%s block: the parent's header and canary, written back after the child keyed the block anew, "
             "passed free unreported",
             names[s]);
    if (WIFEXITED(res.status) && WEXITSTATUS(res.status) == 2)
        fail("%s block: realloc to the same size moved it", names[s]);
    if (!strstr(res.err, "ward:") || !strstr(res.err, want))
        fail("%s block: the child died (status 0x%x) without the report expected (\"%s\"): %s", names[s],
             res.status, want, res.err);
}

/* One level of the chain: resize every inherited block in place, free one
 * of them, allocate this level's own, fork the next level; the deepest
 * frees everything. */
static unsigned char *chain[DEPTH + 1][NSIZES];

static void level(int d)
{
    for (int a = 0; a < d; a++)
        for (int s = 0; s < NSIZES; s++)
            if (chain[a][s] && (a + s + d) % 3 == 0) {
                if (xr(chain[a][s], sizes[s]) != chain[a][s])
                    fail("level %d: realloc of level %d's %s block in place moved it", d, a, names[s]);
            } else if (chain[a][s] && (a + s + d) % 7 == 1) {
                xf(chain[a][s]);
                chain[a][s] = NULL;
            }
    for (int s = 0; s < NSIZES; s++) {
        chain[d][s] = xm(sizes[s]);
        if (!chain[d][s])
            fail("level %d: malloc", d);
        memset(chain[d][s], 0x40 + d, sizes[s]);
    }
    check_heap();
    if (d == DEPTH) {
        for (int a = 0; a <= d; a++)
            for (int s = 0; s < NSIZES; s++)
                if (chain[a][s])
                    xf(chain[a][s]);
        check_heap();
        _exit(0);
    }
    pid_t pid = fork();
    if (pid < 0)
        fail("fork at level %d", d);
    if (pid == 0) {
        level(d + 1);
        _exit(0);
    }
    int st;
    waitpid(pid, &st, 0);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
        _exit(1); /* the failing level said why */
    for (int s = 0; s < NSIZES; s++)
        if (chain[d][s][sizes[s] - 1] != (unsigned char)(0x40 + d))
            fail("level %d: its own block changed", d);
}

int main(void)
{
    ward_loaded();
    if (no_ward()) {
        note("glibc keys nothing: nothing to check");
        return 0;
    }
    unsigned char *blk[NSIZES];
    for (int s = 0; s < NSIZES; s++) {
        blk[s] = xm(sizes[s]);
        if (!blk[s])
            fail("malloc");
        memset(blk[s], 'x', sizes[s]);
    }
    siblings(blk);
    expect_report(blk, 0, "header");
    expect_report(blk, 1, "header");
    expect_report(blk, 2, "canary");
    note("the parent's header and canary written back over a block the child keyed anew: reported in every tier");
    pid_t pid = fork();
    if (pid < 0)
        fail("fork");
    if (pid == 0) {
        level(0);
        _exit(0);
    }
    int st;
    waitpid(pid, &st, 0);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
        fail("the chain of %d forks failed (status 0x%x)", DEPTH, st);
    note("a chain of %d forks (the key ring has 64 entries): every inherited block resized and freed cleanly",
         DEPTH);
    for (int s = 0; s < NSIZES; s++)
        xf(blk[s]);
    check_heap();
    return 0;
}
