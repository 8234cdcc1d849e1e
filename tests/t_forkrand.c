/* t_forkrand: children of one parent place what they allocate afresh.
 * Each child allocates one block of each of a few sizes and sends the
 * addresses back; were they the same in every child (the parent's cache
 * and generator state, inherited), a crash oracle across children could
 * probe one chunk, and its canary, over and over (SECURITY.md, "Forking
 * server").  Under ward only (glibc's placement is deterministic). */
#include "child_util.h"

#define CHILDREN 48
#define NSIZES 3

static void *(*volatile xm)(size_t) = malloc;
static void (*volatile xf)(void *) = free;

static const size_t sizes[NSIZES] = {24, 200, 1000};

/* in a child: a block of each size, their addresses sent back */
static void allocate(const void *arg, void *out)
{
    (void)arg;
    uintptr_t *a = out;
    for (int s = 0; s < NSIZES; s++)
        a[s] = (uintptr_t)xm(sizes[s]);
}

int main(void)
{
    ward_loaded();
    if (no_ward()) {
        note("glibc places deterministically: nothing to check");
        return 0;
    }
    /* the parent's caches hold chunks of each size */
    for (int s = 0; s < NSIZES; s++) {
        void *keep[40];
        for (int i = 0; i < 40; i++)
            keep[i] = xm(sizes[s]);
        for (int i = 0; i < 40; i++)
            xf(keep[i]);
    }
    uintptr_t got[CHILDREN][NSIZES];
    for (int c = 0; c < CHILDREN; c++)
        from_forked(allocate, NULL, got[c], sizeof got[c]);
    for (int s = 0; s < NSIZES; s++) {
        int distinct = 0;
        for (int c = 0; c < CHILDREN; c++) {
            int seen = 0;
            for (int d = 0; d < c && !seen; d++)
                seen = got[d][s] == got[c][s];
            distinct += !seen;
        }
        printf("t_forkrand: %zu-byte blocks: %d distinct addresses in %d children\n", sizes[s], distinct, CHILDREN);
        /* inherited placement gives 1; a slot at random among a slab's
         * free ones (15 or more per slab here) gives many */
        if (distinct < 6)
            fail("%zu-byte blocks: %d distinct addresses in %d children: placement is inherited", sizes[s], distinct,
                 CHILDREN);
    }
    return 0;
}
