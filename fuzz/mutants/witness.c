/* witness.c: the directed programs that prove each mutation of
 * fuzz/mutants/list changes what ward does.  `witness NAME` runs one
 * scenario with plain libc calls (fuzz/mutants.sh runs it under
 * LD_PRELOAD of the original and of the mutated libward.so); what it
 * prints, how it ends and the class of ward's first report are the
 * outcome, and a witness holds when the two outcomes differ.  Every
 * scenario is correct C under the original (or commits exactly the bug
 * its name says), prints only what does not depend on addresses, and
 * ends with exit 0 unless ward stops it; those named bug_* commit the
 * bug their name says, which ward reports. */
#define _GNU_SOURCE
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void *(*volatile xmalloc)(size_t) = malloc;
static void (*volatile xfree)(void *) = free;
static void *(*volatile xrealloc)(void *, size_t) = realloc;

static char *hide(void *p)
{
    __asm__ volatile("" : "+r"(p));
    return p;
}

/* a freed block of n bytes comes back (the same address; with `page`, the
 * same page) during `between` allocations and frees of its size, or within
 * the next `tries` allocations */
static void reuse(size_t n, int between, int tries, int page)
{
    char *p = xmalloc(n), *keep[4096];
    int nk = 0, back = 0;
    xfree(p);
#define SAME(q) (page ? (uintptr_t)(q) >> 12 == (uintptr_t)p >> 12 : (q) == p)
    for (int i = 0; i < between; i++) {
        char *q = xmalloc(n);
        back |= SAME(q);
        xfree(q);
    }
    for (int i = 0; i < tries && nk < 4096; i++) {
        char *q = xmalloc(n);
        back |= SAME(q);
        keep[nk++] = q;
    }
    printf("reused %d\n", back);
    while (nk)
        xfree(keep[--nk]);
}

/* a block grown by realloc: moved or not, and its neighbour intact */
static void grow(size_t n, size_t to)
{
    char *p = xmalloc(n), *guard = xmalloc(n);
    memset(guard, 'g', n);
    char *q = xrealloc(p, to);
    memset(q, 'q', to);
    int ok = 1;
    for (size_t i = 0; i < n; i++)
        ok &= guard[i] == 'g';
    printf("moved %d neighbour %d\n", q != p, ok);
    xfree(q);
    xfree(guard);
}

/* the address a forked child's first allocation of n bytes gets, twice:
 * children of one parent must place blocks afresh */
static void fork_place(size_t n)
{
    uintptr_t got[2];
    xfree(xmalloc(n)); /* the parent has a thread cache and has used the tier */
    for (int c = 0; c < 2; c++) {
        int fd[2];
        if (pipe(fd))
            exit(2);
        pid_t pid = fork();
        if (pid == 0) {
            uintptr_t a = (uintptr_t)xmalloc(n);
            if (write(fd[1], &a, sizeof a) != sizeof a)
                _exit(2);
            _exit(0);
        }
        if (read(fd[0], &got[c], sizeof got[c]) != sizeof got[c])
            exit(2);
        waitpid(pid, NULL, 0);
        close(fd[0]);
        close(fd[1]);
    }
    printf("same %d\n", got[0] == got[1]);
}

static void *thread_frees(void *arg)
{
    char **v = arg;
    for (int i = 0; i < 64; i++)
        xfree(v[i]);
    return NULL;
}

/* A thread frees a block of n bytes and ends, leaving its quarantine to
 * the next thread that starts; whether the block comes back within the
 * next `tries` allocations of its size, made by that next thread
 * (`by_next`) or by this one. */
static char *ended_block;
static size_t ended_n;
static void *frees_and_ends(void *arg)
{
    (void)arg;
    ended_block = xmalloc(ended_n);
    xfree(ended_block);
    return NULL;
}
static void *takes_back(void *arg)
{
    int tries = (int)(intptr_t)arg, back = 0;
    char *keep[4096];
    for (int i = 0; i < tries && i < 4096; i++)
        back |= (keep[i] = xmalloc(ended_n)) == ended_block;
    for (int i = 0; i < tries && i < 4096; i++)
        xfree(keep[i]);
    return (void *)(intptr_t)back;
}
static void ended_reuse(size_t n, int tries, int by_next)
{
    pthread_t t;
    void *back = 0;
    ended_n = n;
    if (pthread_create(&t, NULL, frees_and_ends, NULL) || pthread_join(t, NULL))
        exit(2);
    if (by_next) {
        if (pthread_create(&t, NULL, takes_back, (void *)(intptr_t)tries) || pthread_join(t, &back))
            exit(2);
    } else {
        back = takes_back((void *)(intptr_t)tries);
    }
    printf("reused %d\n", back != 0);
}

int main(int argc, char **argv)
{
    const char *w = argc > 1 ? argv[1] : "";
    if (!strcmp(w, "reuse_small")) /* freed, then taken back at once */
        reuse(64, 0, 64, 0);
    else if (!strcmp(w, "reuse_small_after")) /* 300 frees of 80 bytes: far below 1 MiB */
        reuse(64, 300, 400, 0);
    else if (!strcmp(w, "reuse_medium"))
        reuse(20000, 0, 4, 0);
    else if (!strcmp(w, "reuse_large")) /* 9 MiB: never cached, kept inaccessible */
        reuse(9u << 20, 0, 1, 0);
    else if (!strcmp(w, "grow_small")) /* out of its class: must move */
        grow(16, 500);
    else if (!strcmp(w, "grow_medium_exact")) { /* into the free rest of the arena, no slack */
        char *p = xmalloc(3000);
        memset(p, 1, 3000);
        p = xrealloc(p, 4992);
        memset(p, 2, 4992);
        char *q = xmalloc(3000);
        printf("ok\n");
        xfree(q);
        xfree(p);
    } else if (!strcmp(w, "grow_medium_neighbour")) { /* quarantine_bytes=0: b's 3024 bytes are free */
        char *a = xmalloc(3008), *b = xmalloc(3008), *c = xmalloc(3008);
        memset(c, 'c', 3008);
        xfree(b);
        char *q = xrealloc(a, 6048); /* needs 6064: 16 more than a and b make */
        memset(q, 'q', 6048);
        int ok = 1;
        for (int i = 0; i < 3008; i++)
            ok &= c[i] == 'c';
        printf("moved %d neighbour %d\n", q != a, ok);
        xfree(q);
        xfree(c);
    } else if (!strcmp(w, "bug_link_medium")) { /* quarantine_bytes=0: a link planted in a free chunk */
        char *a = xmalloc(3000), *b = xmalloc(3000), *c = xmalloc(3000);
        xfree(b);
        memset(hide(b), 0x41, 8);
        char *d = xmalloc(3000);
        printf("not reported\n");
        xfree(a);
        xfree(c);
        xfree(d);
    } else if (!strcmp(w, "bug_overflow_small_far")) { /* 513 bytes in a 560-byte body: 47 of canary */
        char *p = xmalloc(513);
        hide(p)[545] ^= 1;
        xfree(p);
        printf("not reported\n");
    } else if (!strcmp(w, "bug_overflow_medium_header")) { /* no slack: the next header */
        char *p = xmalloc(3008), *q = xmalloc(3008);
        memset(hide(p) + 3008, 'A', 16);
        xfree(p);
        printf("not reported\n");
        xfree(q);
    } else if (!strcmp(w, "shrink_medium")) {
        char *p = xmalloc(20000);
        memset(p, 1, 20000);
        p = xrealloc(p, 3000);
        char *q = xmalloc(10000);
        memset(q, 2, 10000);
        xfree(p);
        xfree(q);
        printf("ok\n");
    } else if (!strcmp(w, "grow_large")) { /* 600000 bytes end exactly at the guard page */
        char *p = xmalloc(600000);
        char *q = xrealloc(p, 600100);
        memset(q, 1, 600100);
        printf("moved %d\n", q != p);
        xfree(q);
    } else if (!strcmp(w, "realloc_copy")) {
        char *p = xmalloc(100);
        for (int i = 0; i < 100; i++)
            p[i] = (char)i;
        char *q = xrealloc(p, 3000);
        int ok = 1;
        for (int i = 0; i < 100; i++)
            ok &= q[i] == (char)i;
        printf("kept %d\n", ok);
        xfree(q);
    } else if (!strcmp(w, "exact_fit_medium")) { /* a hole of 3040 bytes, a request that needs 3040 */
        char *a = xmalloc(3008), *b = xmalloc(3008), *c = xmalloc(3008);
        xfree(b);
        char *d = xmalloc(3024);
        memset(d, 'd', 3024);
        memset(a, 'a', 3008);
        memset(c, 'c', 3008);
        int ok = 1;
        for (int i = 0; i < 3024; i++)
            ok &= d[i] == 'd';
        printf("intact %d\n", ok);
        xfree(a);
        xfree(c);
        xfree(d);
    } else if (!strcmp(w, "bug_coalesce_prev_waf")) { /* quarantine_bytes=0: b is free at once */
        char *a = xmalloc(3000), *b = xmalloc(3000), *c = xmalloc(3000), *d = xmalloc(3000);
        xfree(b);
        hide(b)[16] = 1; /* the free chunk's first poisoned bytes */
        xfree(c);        /* merges with b */
        printf("not reported\n");
        xfree(a);
        xfree(d);
    } else if (!strcmp(w, "fork_small"))
        fork_place(64);
    else if (!strcmp(w, "fork_medium"))
        fork_place(20000);
    else if (!strcmp(w, "fork_large"))
        fork_place(2u << 20);
    else if (!strcmp(w, "shared_cache")) { /* quarantine_bytes=0: through the classes' shared caches */
        static char *v[64];
        for (int r = 0; r < 20; r++) {
            for (int i = 0; i < 64; i++)
                v[i] = xmalloc(48);
            pthread_t t;
            pthread_create(&t, NULL, thread_frees, v);
            pthread_join(t, NULL);
        }
        printf("ok\n");
    } else if (!strcmp(w, "large_free")) {
        char *p = xmalloc(1000005);
        memset(p, 1, 1000005);
        xfree(p);
        printf("ok\n");
    } else if (!strcmp(w, "sample_fill")) { /* sample=1 */
        for (int i = 0; i < 40; i++) {
            char *p = xmalloc(24);
            memset(p, 1, 24);
            xfree(p);
        }
        printf("ok\n");
    } else if (!strcmp(w, "bug_sample_underflow")) { /* sample=1: a block not at its page's start */
        for (int i = 0; i < 40; i++) {
            char *p = xmalloc(24);
            if ((uintptr_t)p & 4095) {
                hide(p)[-1] = 1;
                xfree(p);
                break;
            }
            xfree(p);
        }
        printf("not reported\n");
    } else if (!strcmp(w, "ended_thread_reuse_next")) /* the next thread takes the ended one's quarantine over */
        ended_reuse(64, 64, 1);
    else if (!strcmp(w, "ended_thread_reuse")) /* this thread, which keeps its own quarantine */
        ended_reuse(64, 1024, 0);
    else if (!strcmp(w, "sample_reuse")) /* sample=1 */
        reuse(64, 0, 1, 1);
    else if (!strcmp(w, "churn")) { /* every tier, nothing wrong */
        static const size_t sz[] = {16, 48, 200, 1024, 3000, 20000, 300000, 1000005};
        for (int r = 0; r < 200; r++) {
            char *p[8];
            for (int i = 0; i < 8; i++) {
                p[i] = xmalloc(sz[i]);
                memset(p[i], r, sz[i]);
            }
            for (int i = 0; i < 8; i++) {
                p[i] = xrealloc(p[i], sz[(i + r) % 8]);
                xfree(p[i]);
            }
        }
        printf("ok\n");
    } else {
        fprintf(stderr, "witness: no scenario %s\n", w);
        return 2;
    }
    return 0;
}
