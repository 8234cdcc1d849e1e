/* leaks=1: leaks planted with exact counts, and blocks that only a global,
 * another thread's stack or register, thread-local storage or an interior
 * pointer reaches, which are not leaks.  Each case runs in a re-executed
 * child with WARD_OPTIONS=leaks=1 (and more); its stderr must carry the
 * exact summary line, or none, and its exit status exitcode, or 0.
 *
 * `t_leaks CASE` runs one case's program alone (tests/real/leaks-lsan.sh
 * runs some of them under LeakSanitizer too, without ward). */
#include "child_util.h"

#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>

struct node {
    struct node *next;
    char pad[40];
}; /* 48 bytes */

void *volatile leak_global;
static __thread void *volatile tls_slot; /* volatile: stores to it are never removed */
static int ready_pipe[2], block_pipe[2];

/* Each block comes from a function of its own, and the stack below is wiped
 * afterwards: no stale copy of a pointer stays where the scan looks. */
static __attribute__((noinline)) void *plant(size_t n)
{
    char *p = malloc(n);
    if (!p && n)
        fail("malloc(%zu)", n);
    if (n)
        memset(p, 0x5a, n);
    return p;
}

static __attribute__((noinline)) void wipe_stack(void)
{
    volatile char junk[16384];
    memset((char *)junk, 0, sizeof junk);
    __asm__ volatile("" ::"r"(junk) : "memory");
}

static __attribute__((noinline)) void leak_single(void) { (void)plant(100); }

static __attribute__((noinline)) struct node *make_list(int k)
{
    struct node *head = NULL;
    for (int i = 0; i < k; i++) {
        struct node *n = plant(sizeof *n);
        n->next = head;
        head = n;
    }
    return head;
}

static __attribute__((noinline)) void leak_list(int k) { (void)make_list(k); }

static void signal_ready(void)
{
    char c = 1;
    if (write(ready_pipe[1], &c, 1) != 1)
        fail("write: %s", strerror(errno));
}

static void wait_ready(int n)
{
    for (int i = 0; i < n; i++) {
        char c;
        if (read(ready_pipe[0], &c, 1) != 1)
            fail("read: %s", strerror(errno));
    }
}

/* blocks for ever in read(2) */
static void block(void)
{
    char c;
    for (;;)
        if (read(block_pipe[0], &c, 1) < 0 && errno != EINTR)
            fail("read: %s", strerror(errno));
}

/* the block's only pointer is on this thread's stack, while it runs */
static void *stack_thread(void *arg)
{
    (void)arg;
    void *volatile keep[4];
    keep[2] = plant(200);
    wipe_stack();
    signal_ready();
    block();
    __asm__ volatile("" ::"r"(keep) : "memory");
    return NULL;
}

/* ... in this thread's thread-local storage */
static void *tls_thread(void *arg)
{
    (void)arg;
    tls_slot = plant(300);
    wipe_stack();
    signal_ready();
    block();
    return NULL;
}

#if defined(__x86_64__)
#define MASK 0x5a5a000000000000ull
/* ... in one register of this thread (r15), nowhere in memory: the pointer
 * is kept masked until it goes into the register */
static void *reg_thread(void *arg)
{
    (void)arg;
    uintptr_t x = (uintptr_t)plant(400) ^ MASK;
    __asm__ volatile("" : "+r"(x)); /* masked now: no register keeps the pointer across the wipe */
    wipe_stack();
    char c = 1;
    __asm__ volatile("mov %0, %%r15\n\t"
                     "xor %1, %%r15\n\t"
                     "mov %2, %%edi\n\t"
                     "mov %3, %%rsi\n\t"
                     "mov $1, %%edx\n\t"
                     "mov $1, %%eax\n\t" /* write(ready, &c, 1) */
                     "syscall\n\t"
                     "1: pause\n\t"
                     "jmp 1b"
                     :
                     : "r"(x), "r"((uintptr_t)MASK), "r"(ready_pipe[1]), "r"(&c)
                     : "r15", "rax", "rdi", "rsi", "rdx", "rcx", "r11", "memory");
    return NULL;
}
#endif

/* four threads, each leaking a list of 3 nodes (1 direct, 2 indirect) and
 * keeping a 64-byte block on its stack while it runs */
static void *four_thread(void *arg)
{
    (void)arg;
    leak_list(3);
    void *volatile keep[2];
    keep[1] = plant(64);
    wipe_stack();
    signal_ready();
    block();
    __asm__ volatile("" ::"r"(keep) : "memory");
    return NULL;
}

/* a thread with every signal blocked: it cannot be stopped, and its stack
 * is scanned whole */
static void *silent_thread(void *arg)
{
    (void)arg;
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, NULL);
    void *volatile keep[2];
    keep[1] = plant(500);
    wipe_stack();
    signal_ready();
    block();
    __asm__ volatile("" ::"r"(keep) : "memory");
    return NULL;
}

static void *short_thread(void *arg)
{
    tls_slot = arg;
    return NULL;
}

/* A module with dynamic TLS, dlopened from beside this program: each
 * thread's block of it is the loader's allocation, reached through the
 * thread's DTV (the main thread's the loader made before ward could). */
static void (*tlsmod_set)(void *);
static void *tlsmod_thread(void *arg)
{
    tlsmod_set(plant(77));
    wipe_stack();
    if (arg) {
        signal_ready();
        block();
    }
    return NULL;
}

static void tlsmod_load(void)
{
    char path[4096];
    ssize_t n = readlink("/proc/self/exe", path, sizeof path - 32);
    if (n <= 0)
        fail("readlink /proc/self/exe");
    path[n] = '\0';
    strcpy(strrchr(path, '/') + 1, "libtlsmod.so");
    void *h = dlopen(path, RTLD_NOW);
    if (!h)
        fail("dlopen %s: %s", path, dlerror());
    tlsmod_set = (void (*)(void *))dlsym(h, "tlsmod_set");
    if (!tlsmod_set)
        fail("dlsym tlsmod_set: %s", dlerror());
}

static void start(void *(*fn)(void *), int n)
{
    for (int i = 0; i < n; i++) {
        pthread_t t;
        if (pthread_create(&t, NULL, fn, NULL))
            fail("pthread_create");
        pthread_detach(t);
    }
    wait_ready(n);
}

/* One case's program; returns its exit status. */
static int run_program(const char *c)
{
    if (pipe(ready_pipe) || pipe(block_pipe))
        fail("pipe: %s", strerror(errno));
    if (!strcmp(c, "single")) {
        leak_single();
    } else if (!strcmp(c, "list")) {
        leak_list(10);
    } else if (!strcmp(c, "global")) {
        leak_global = plant(100);
    } else if (!strcmp(c, "global_list")) { /* reachable through 9 chunks */
        leak_global = make_list(10);
    } else if (!strcmp(c, "interior")) {
        leak_global = (char *)plant(100) + 37;
    } else if (!strcmp(c, "tls_main")) {
        tls_slot = plant(100);
    } else if (!strcmp(c, "stack_thread")) {
        start(stack_thread, 1);
    } else if (!strcmp(c, "tls_thread")) {
        start(tls_thread, 1);
    } else if (!strcmp(c, "reg_thread")) {
#if defined(__x86_64__)
        start(reg_thread, 1);
#else
        return 77;
#endif
    } else if (!strcmp(c, "joined_threads")) { /* their stacks and DTVs stay, for the next thread */
        for (int i = 0; i < 3; i++) {
            pthread_t t;
            if (pthread_create(&t, NULL, short_thread, NULL) || pthread_join(t, NULL))
                fail("pthread_create or join");
        }
    } else if (!strcmp(c, "dynamic_tls")) { /* blocks in main's, a live and an ended thread's TLS */
        tlsmod_load();
        tlsmod_set(plant(55));
        pthread_t t;
        if (pthread_create(&t, NULL, tlsmod_thread, NULL) || pthread_join(t, NULL))
            fail("pthread_create or join");
        if (pthread_create(&t, NULL, tlsmod_thread, (void *)1))
            fail("pthread_create");
        wait_ready(1);
    } else if (!strcmp(c, "four_threads")) {
        start(four_thread, 4);
    } else if (!strcmp(c, "silent_thread")) {
        start(silent_thread, 1);
    } else if (!strcmp(c, "tiers")) {
        (void)plant(100);    /* small */
        (void)plant(10000);  /* medium */
        (void)plant(600000); /* large */
        (void)plant(0);      /* malloc(0): a 0-byte block */
    } else if (!strcmp(c, "fork")) { /* the child leaks and exits; the parent does not */
        fflush(NULL);
        pid_t pid = fork();
        if (pid < 0)
            fail("fork: %s", strerror(errno));
        if (pid == 0) {
            leak_single();
            wipe_stack();
            exit(0);
        }
        int st;
        while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
            ;
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 1)
            fail("the leaking child's exit status is 0x%x, not 1 (exitcode)", st);
    } else if (!strcmp(c, "_exit")) { /* no check on _exit, as with LeakSanitizer */
        leak_single();
        _exit(0);
    } else if (!strcmp(c, "status3")) { /* leaks, and exits with a status of its own */
        leak_single();
        wipe_stack();
        return 3;
    } else if (!strcmp(c, "nothing")) {
        free(plant(100));
    } else {
        fail("unknown case %s", c);
    }
    wipe_stack();
    return 0;
}

struct expect {
    const char *name, *opts;
    /* the summary line's figures; all 0: no leak, no summary line */
    size_t dbytes, dobjs, ibytes, iobjs;
    int status; /* exit status */
    const char *also; /* a line stderr must hold too */
};

static const struct expect cases[] = {
    {"single", "leaks=1", 100, 1, 0, 0, 1, "ward: Direct leak of 100 bytes in 1 object of 100 bytes"},
    {"single", "leaks=1:stacks=1", 100, 1, 0, 0, 1, " in leak_single "},
    {"single", "leaks=1:exitcode=7", 100, 1, 0, 0, 7, "ward: leaks found (leaks=1): exit status 7"},
    {"single", "leaks=0", 0, 0, 0, 0, 0, NULL},
    {"status3", "leaks=1", 100, 1, 0, 0, 1, NULL},
    {"status3", "leaks=1:exitcode=0", 100, 1, 0, 0, 3, NULL}, /* the program's own status */
    {"list", "leaks=1", 48, 1, 432, 9, 1, "ward: Indirect leak of 432 bytes in 9 objects of 48 bytes"},
    {"list", "leaks=1:stacks=1", 48, 1, 432, 9, 1, "ward: Indirect leak of 432 bytes in 9 objects allocated from:"},
    {"global", "leaks=1", 0, 0, 0, 0, 0, NULL},
    {"global_list", "leaks=1", 0, 0, 0, 0, 0, NULL},
    {"interior", "leaks=1", 0, 0, 0, 0, 0, NULL},
    {"tls_main", "leaks=1", 0, 0, 0, 0, 0, NULL},
    {"stack_thread", "leaks=1", 0, 0, 0, 0, 0, NULL},
    {"tls_thread", "leaks=1", 0, 0, 0, 0, 0, NULL},
    {"reg_thread", "leaks=1", 0, 0, 0, 0, 0, NULL},
    {"joined_threads", "leaks=1", 0, 0, 0, 0, 0, NULL},
    {"joined_threads", "leaks=1:stacks=1", 0, 0, 0, 0, 0, NULL},
    /* the ended thread's block went with its TLS: a leak, as LeakSanitizer says */
    {"dynamic_tls", "leaks=1", 77, 1, 0, 0, 1, NULL},
    {"dynamic_tls", "leaks=1:stacks=1", 77, 1, 0, 0, 1, NULL},
    {"four_threads", "leaks=1", 4 * 48, 4, 8 * 48, 8, 1, NULL},
    {"four_threads", "leaks=1:stacks=1", 4 * 48, 4, 8 * 48, 8, 1, " in leak_list "},
    {"silent_thread", "leaks=1", 0, 0, 0, 0, 0, "ward: leaks=1: 1 thread did not stop for the scan (the signal blocked"},
    {"tiers", "leaks=1", 610100, 4, 0, 0, 1, "ward: Direct leak of 0 bytes in 1 object of 0 bytes"},
    {"tiers", "leaks=1:sample=1", 610100, 4, 0, 0, 1, NULL},
    {"fork", "leaks=1", 100, 1, 0, 0, 0, NULL},
    {"_exit", "leaks=1", 0, 0, 0, 0, 0, NULL},
    {"nothing", "leaks=1", 0, 0, 0, 0, 0, NULL},
};

static const char *plural(size_t n) { return n == 1 ? "" : "s"; }

int main(int argc, char **argv)
{
    if (argc > 1)
        return run_program(argv[1]);
    ward_loaded();
    int bad = 0;
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        const struct expect *e = &cases[i];
        static struct child_result r;
        run_case(e->name, e->opts, 60, &r);
        char want[256];
        size_t b = e->dbytes + e->ibytes, o = e->dobjs + e->iobjs;
        snprintf(want, sizeof want,
                 "ward: memory leaks: %zu bytes in %zu object%s (direct: %zu bytes in %zu object%s, indirect: %zu "
                 "bytes in %zu object%s)\n",
                 b, o, plural(o), e->dbytes, e->dobjs, plural(e->dobjs), e->ibytes, e->iobjs, plural(e->iobjs));
        const char *why = NULL;
        if (WIFEXITED(r.status) && WEXITSTATUS(r.status) == 77 && !strcmp(e->name, "reg_thread"))
            continue; /* not on this architecture */
        if (!WIFEXITED(r.status) || WEXITSTATUS(r.status) != e->status)
            why = "exit status";
        else if (o && !strstr(r.err, want))
            why = "summary line";
        else if (!o && strstr(r.err, "memory leaks:"))
            why = "a leak reported where there is none";
        else if (count_lines(r.err, "ward: memory leaks:") > 1)
            why = "more than one summary";
        else if (e->also && !strstr(r.err, e->also))
            why = "a line of the report";
        else if (strstr(r.err, "FAIL"))
            why = "the program failed";
        if (why) {
            fprintf(stderr, "FAIL %s (WARD_OPTIONS=%s): %s; expected status %d%s%s%s%s, got 0x%x; stderr:\n%s\n",
                    e->name, e->opts, why, e->status, o ? " and\n  " : "", o ? want : "",
                    e->also ? " and a line with\n  " : "", e->also ? e->also : "", r.status, r.err);
            bad++;
        } else {
            fprintf(stderr, "ok %s (WARD_OPTIONS=%s)\n", e->name, e->opts);
        }
    }
    if (bad)
        fail("%d case%s failed", bad, plural((size_t)bad));
    return 0;
}
