/* t_fork: fork in a threaded program must not deadlock or break the heap.
 *
 * Four threads hammer malloc/free/realloc (every tier) while the main thread
 * forks 500 times (WARD_TEST_FORKS=N: N times).  Each child arms its own alarm (a deadlocked child dies of
 * SIGALRM, which the parent reports), verifies and frees blocks the parent
 * allocated before the fork, mallocs / reallocs / frees across the tiers,
 * runs ward_check_heap and _exits 0.  Every 10th child also starts a thread
 * and forks a grandchild while that thread allocates; the grandchild does
 * the same work.  Two of the hammer threads fork too (every 20,000 of their
 * operations, up to 10 times each), so forks come from several threads at
 * once.  The parent waits for each child under a deadline, so a
 * hang is a failure, not a stuck test; it also has an overall alarm. */
#include "test_util.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/wait.h>

#define HAMMERS 4
#define CHILD_ALARM 20
#define PARENT_BLOCKS 64

static atomic_int stop;
static atomic_ulong hammer_ops, hammer_forks;

static void child_work(unsigned round, bool grandchild);
static void wait_child(pid_t pid, int secs, const char *who, unsigned round);

static size_t tier_size(struct rng *r)
{
    uint64_t x = rng_below(r, 1000);
    if (x < 850)
        return (size_t)rng_log_range(r, 1, 1024);
    if (x < 995)
        return (size_t)rng_log_range(r, 1025, 400 * KiB);
    return (size_t)rng_range(r, 600 * KiB, 3 * MiB);
}

static void *hammer(void *arg)
{
    unsigned id = (unsigned)(uintptr_t)arg;
    struct rng r;
    rng_seed(&r, 0xf0c0 + id);
    enum { N = 128 };
    void *p[N] = { 0 };
    size_t sz[N] = { 0 };
    uint64_t tag[N] = { 0 };
    uint64_t gen = 0;
    unsigned since_fork = 0, my_forks = 0;
    while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
        unsigned i = (unsigned)rng_below(&r, N);
        if (p[i]) {
            pat_verify(p[i], sz[i], tag[i], "hammer thread block");
            if (rng_below(&r, 4) == 0) {
                size_t n = tier_size(&r);
                void *q = realloc(p[i], n);
                if (!q)
                    fail("hammer: realloc to %zu returned NULL", n);
                size_t keep = n < sz[i] ? n : sz[i];
                pat_verify(q, keep, tag[i], "hammer block after realloc");
                if (n > sz[i])
                    pat_fill_range(q, sz[i], n, tag[i]);
                p[i] = q;
                sz[i] = n;
                continue;
            }
            free(p[i]);
            p[i] = NULL;
        } else {
            sz[i] = tier_size(&r);
            tag[i] = ((uint64_t)id << 40) ^ ++gen;
            p[i] = rng_below(&r, 3) ? malloc(sz[i]) : calloc(1, sz[i]);
            if (!p[i])
                fail("hammer: malloc(%zu) returned NULL", sz[i]);
            pat_fill(p[i], sz[i], tag[i]);
        }
        atomic_fetch_add_explicit(&hammer_ops, 1, memory_order_relaxed);
        if (id < 2 && ++since_fork == 20000 && my_forks < 10) {
            since_fork = 0;
            unsigned round = 1000 + id * 100 + my_forks++;
            pid_t pid = fork();
            if (pid < 0)
                fail("fork from a hammer thread: %s", strerror(errno));
            if (pid == 0) {
                alarm(CHILD_ALARM);
                child_work(round, true);
                _exit(0);
            }
            wait_child(pid, CHILD_ALARM + 10, "child of a hammer thread", round);
            atomic_fetch_add(&hammer_forks, 1);
        }
    }
    for (unsigned i = 0; i < N; i++)
        if (p[i]) {
            pat_verify(p[i], sz[i], tag[i], "hammer thread block at exit");
            free(p[i]);
        }
    return NULL;
}

/* the main thread's own blocks, made before each fork; the child checks
 * that it got copies of them and can free them */
static void *pblk[PARENT_BLOCKS];
static size_t psz[PARENT_BLOCKS];

static uint64_t pblk_tag(unsigned round, unsigned i)
{
    return ((uint64_t)round << 16) ^ i ^ 0xabc000000000ULL;
}

/* what a child (and a grandchild) does; returns only on success */
static void child_work(unsigned round, bool grandchild)
{
    struct rng r;
    rng_seed(&r, 0xc41d0000ULL + round * 2 + grandchild);
    if (!grandchild) {
        for (unsigned i = 0; i < PARENT_BLOCKS; i++) {
            pat_verify(pblk[i], psz[i], pblk_tag(round, i), "parent's block in the child");
            if (i % 2) {
                free(pblk[i]);
            } else {
                size_t n = psz[i] * 2 + 1;
                void *q = realloc(pblk[i], n);
                if (!q)
                    fail("child: realloc of a parent block returned NULL");
                pat_verify(q, psz[i], pblk_tag(round, i), "parent's block realloc'd in the child");
                free(q);
            }
        }
    }
    void *p[48];
    size_t sz[48];
    for (unsigned i = 0; i < 48; i++) {
        sz[i] = tier_size(&r);
        p[i] = malloc(sz[i]);
        if (!p[i])
            fail("child: malloc(%zu) returned NULL", sz[i]);
        pat_fill(p[i], sz[i], 77 + i);
    }
    for (unsigned i = 0; i < 48; i++) {
        pat_verify(p[i], sz[i], 77 + i, "child block");
        size_t n = tier_size(&r);
        void *q = realloc(p[i], n);
        if (!q)
            fail("child: realloc to %zu returned NULL", n);
        pat_verify(q, n < sz[i] ? n : sz[i], 77 + i, "child block after realloc");
        p[i] = q;
        sz[i] = n;
        pat_fill(q, n, 177 + i);
    }
    for (unsigned i = 0; i < 48; i++) {
        pat_verify(p[i], sz[i], 177 + i, "child block before free");
        free(p[i]);
    }
    void *a = NULL;
    if (posix_memalign(&a, 4096, 10000) != 0 || !is_aligned(a, 4096))
        fail("child: posix_memalign failed");
    free(a);
    check_heap_at(grandchild ? "in a grandchild" : "in a child");
}

static void *child_thread(void *arg)
{
    (void)arg;
    for (int i = 0; i < 2000; i++) {
        void *p = malloc((size_t)(i % 700) * 3 + 1);
        if (!p)
            fail("child thread: malloc returned NULL");
        memset(p, i & 0xff, (size_t)(i % 700) * 3 + 1);
        free(p);
    }
    return NULL;
}

/* wait for pid for at most secs seconds; fail on a hang or a bad end */
static void wait_child(pid_t pid, int secs, const char *who, unsigned round)
{
    double deadline = now_sec() + secs;
    int status;
    for (;;) {
        pid_t w = waitpid(pid, &status, WNOHANG);
        if (w == pid)
            break;
        if (w < 0)
            fail("waitpid(%s of round %u): %s", who, round, strerror(errno));
        if (now_sec() > deadline) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            fail("%s of fork %u still running after %d s: deadlocked", who, round, secs);
        }
        usleep(1000);
    }
    if (WIFSIGNALED(status))
        fail("%s of fork %u killed by signal %d", who, round, WTERMSIG(status));
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fail("%s of fork %u exited with status %d", who, round, WEXITSTATUS(status));
}

static void child_main(unsigned round)
{
    alarm(CHILD_ALARM);
    child_work(round, false);
    if (round % 10 == 0) {
        /* a threaded child forks again */
        pthread_t t;
        if (pthread_create(&t, NULL, child_thread, NULL) != 0)
            fail("child: pthread_create failed");
        pid_t g = fork();
        if (g < 0)
            fail("child: fork: %s", strerror(errno));
        if (g == 0) {
            alarm(CHILD_ALARM);
            child_work(round, true);
            _exit(0);
        }
        pthread_join(t, NULL);
        wait_child(g, CHILD_ALARM + 5, "grandchild", round);
        check_heap_at("in a child after its grandchild");
    }
    _exit(0);
}

static void on_alarm(int sig)
{
    (void)sig;
    static const char msg[] = "t_fork: FAIL: alarm expired: a process is deadlocked\n";
    ssize_t w = write(2, msg, sizeof msg - 1);
    (void)w;
    _exit(1);
}

int main(void)
{
    const char *fe = getenv("WARD_TEST_FORKS");
    unsigned FORKS = fe ? (unsigned)atoi(fe) : 500;
    ward_loaded();
    pat_init();
    check_heap();
    /* the whole test may take this long; then the alarm ends it (children
     * inherit the handler and arm their own alarms) */
    signal(SIGALRM, on_alarm);
    alarm(280);

    pthread_t th[HAMMERS];
    for (unsigned t = 0; t < HAMMERS; t++)
        if (pthread_create(&th[t], NULL, hammer, (void *)(uintptr_t)t) != 0)
            fail("pthread_create failed");

    struct rng r;
    rng_seed(&r, 0xf04c);
    double t0 = now_sec();
    for (unsigned round = 0; round < FORKS; round++) {
        for (unsigned i = 0; i < PARENT_BLOCKS; i++) {
            psz[i] = i < 56 ? (size_t)rng_log_range(&r, 1, 1024)
                            : i < 62 ? (size_t)rng_log_range(&r, 2000, 300 * KiB)
                                     : (size_t)rng_range(&r, 600 * KiB, MiB);
            pblk[i] = malloc(psz[i]);
            if (!pblk[i])
                fail("malloc(%zu) returned NULL", psz[i]);
            pat_fill(pblk[i], psz[i], pblk_tag(round, i));
        }
        /* let the hammers get going again */
        unsigned long before = atomic_load(&hammer_ops);
        while (atomic_load(&hammer_ops) < before + 200)
            sched_yield();

        pid_t pid = fork();
        if (pid < 0)
            fail("fork %u: %s", round, strerror(errno));
        if (pid == 0)
            child_main(round);
        wait_child(pid, CHILD_ALARM + 10, "child", round);

        for (unsigned i = 0; i < PARENT_BLOCKS; i++) {
            pat_verify(pblk[i], psz[i], pblk_tag(round, i), "parent's block after the fork");
            free(pblk[i]);
        }
        if (round % 50 == 49)
            check_heap_at("in the parent while the threads run");
    }
    atomic_store(&stop, 1);
    for (unsigned t = 0; t < HAMMERS; t++)
        pthread_join(th[t], NULL);
    check_heap_at("parent at the end");
    if (atomic_load(&hammer_forks) == 0)
        fail("no hammer thread forked");
    note("%u forks (%u with a grandchild) and %lu from hammer threads, %lu hammer ops meanwhile, %.1f s", FORKS,
         FORKS / 10, atomic_load(&hammer_forks), atomic_load(&hammer_ops), now_sec() - t0);
    return 0;
}
