/* leak.c: leaks=1, the leak check at exit, the way LeakSanitizer does it.
 * The other threads are stopped (a signal whose handler saves their
 * registers and waits), every live chunk of every tier is listed, and
 * every aligned word of the roots (the loaded modules' writable segments,
 * each thread's stack and registers, the main thread's static TLS) and,
 * transitively, of the chunks they reach, that points into a live chunk
 * marks it reachable.  The rest are leaks: indirect when another leaked
 * chunk points to them, direct otherwise.  It runs inside the allocator at
 * exit: every array it needs is mmap'd, nothing is allocated, and no lock
 * of the loader is taken while the world is stopped (docs/leaks.md). */
#include "state.h"
#include "report.h"
#include "suppress.h"
#include "os.h"
#include "chunk.h"
#include "thread.h"
#include "trace.h"
#include "tier.h"
#include "leak.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <linux/futex.h>
#include <signal.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

/* ---- scratch arrays: mmap'd, grown with mremap, never malloc ------------- */

struct vec {
    char *mem;
    size_t len, cap, elem;
    bool failed;
};

static void *vec_push(struct vec *v)
{
    if (v->failed)
        return NULL;
    if (v->len == v->cap) {
        size_t ncap = v->cap ? v->cap * 2 : (65536 + v->elem - 1) / v->elem;
        void *m = v->mem ? mremap(v->mem, v->cap * v->elem, ncap * v->elem, MREMAP_MAYMOVE)
                         : mmap(NULL, ncap * v->elem, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (m == MAP_FAILED) {
            v->failed = true;
            return NULL;
        }
        v->mem = m;
        v->cap = ncap;
    }
    return v->mem + v->len++ * v->elem;
}

static void vec_free(struct vec *v)
{
    if (v->mem)
        munmap(v->mem, v->cap * v->elem);
    v->mem = NULL;
    v->len = v->cap = 0;
}

#define VEC(T) {NULL, 0, 0, sizeof(T), false}

/* An in-place heap sort (qsort may allocate). */
static void hsort(void *base, size_t n, size_t sz, int (*cmp)(const void *, const void *))
{
    char *b = base, tmp[64];
    if (sz > sizeof tmp)
        return;
#define AT(i) (b + (i) * sz)
#define SWAP(i, j) (memcpy(tmp, AT(i), sz), memcpy(AT(i), AT(j), sz), memcpy(AT(j), tmp, sz))
    for (size_t k = n; k-- > 0;) /* heapify, then pop */
        for (size_t r = k, c; (c = 2 * r + 1) < n; r = c) {
            if (c + 1 < n && cmp(AT(c + 1), AT(c)) > 0)
                c++;
            if (cmp(AT(c), AT(r)) <= 0)
                break;
            SWAP(r, c);
        }
    for (size_t end = n; end-- > 1;) {
        SWAP(0, end);
        for (size_t r = 0, c; (c = 2 * r + 1) < end; r = c) {
            if (c + 1 < end && cmp(AT(c + 1), AT(c)) > 0)
                c++;
            if (cmp(AT(c), AT(r)) <= 0)
                break;
            SWAP(r, c);
        }
    }
#undef AT
#undef SWAP
}

/* ---- the main thread's static TLS ------------------------------------------
 * A pthread's static TLS and thread descriptor sit at the top of its stack
 * mapping (scanned with the stack); the main thread's were allocated by the
 * loader elsewhere: found from its thread pointer, noted at start-up. */

static uintptr_t main_tp, main_tls_lo, main_tls_hi;
static size_t pthread_bytes, tls_align; /* the loader's figures (0: unknown) */

static uintptr_t thread_pointer(void)
{
    uintptr_t tp = 0;
#if defined(__x86_64__)
    __asm__("mov %%fs:0, %0" : "=r"(tp));
#elif defined(__aarch64__)
    __asm__("mrs %0, tpidr_el0" : "=r"(tp));
#endif
    return tp;
}

void leak_init(void)
{
    uintptr_t tp = thread_pointer();
    if (os_tid() != (int)getpid() || !tp)
        return;
    main_tp = tp;
    /* the loader's own figures, as LeakSanitizer asks for them: the static
     * TLS size (thread descriptor included) and the descriptor's size;
     * start-up is complete here, so dlsym may allocate */
    void (*info)(size_t *, size_t *) = (void (*)(size_t *, size_t *))dlsym(RTLD_DEFAULT, "_dl_get_tls_static_info");
    const unsigned *pthread_size = dlsym(RTLD_DEFAULT, "_thread_db_sizeof_pthread");
    size_t size = 0, align = 0;
    if (info)
        info(&size, &align);
    if (!size || size > (1u << 20))
        size = 64 * 1024;
    if (pthread_size && align && !(align & (align - 1)))
        pthread_bytes = *pthread_size, tls_align = align;
#if defined(__x86_64__)
    /* the TLS blocks below the thread pointer, the descriptor above it,
     * together `size` bytes */
    if (pthread_size && *pthread_size && *pthread_size < size) {
        main_tls_lo = tp + *pthread_size - size;
        main_tls_hi = tp + *pthread_size;
        return;
    }
#endif
    (void)pthread_size;
    main_tls_lo = tp - size; /* either layout, with some bytes to spare */
    main_tls_hi = tp + size;
}

/* ---- the loaded modules ---------------------------------------------------- */

struct range {
    uintptr_t lo, hi;
};

static struct vec roots = VEC(struct range);
static struct range own_text, loader_text; /* ward's module, ld.so's */

static void add_root(uintptr_t lo, uintptr_t hi)
{
    struct range *r = lo < hi ? vec_push(&roots) : NULL;
    if (r)
        *r = (struct range){lo, hi};
}

/* dl_iterate_phdr takes the loader's lock and allocates nothing; it runs
 * before the world is stopped, so no stopped thread can hold that lock. */
static int module_cb(struct dl_phdr_info *info, size_t size, void *ctx)
{
    (void)size, (void)ctx;
    uintptr_t lo = UINTPTR_MAX, hi = 0, me = (uintptr_t)leak_check;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD)
            continue;
        uintptr_t a = info->dlpi_addr + ph->p_vaddr;
        if (a < lo)
            lo = a;
        if (a + ph->p_memsz > hi)
            hi = a + ph->p_memsz;
    }
    bool own = me >= lo && me < hi && info->dlpi_name && info->dlpi_name[0];
    if (own)
        own_text = (struct range){lo, hi};
    if (info->dlpi_addr && info->dlpi_addr == getauxval(AT_BASE))
        loader_text = (struct range){lo, hi};
    if (own) /* ward's own data holds no program pointers, only freed chunks */
        return 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type == PT_LOAD && (ph->p_flags & PF_W))
            add_root(info->dlpi_addr + ph->p_vaddr, info->dlpi_addr + ph->p_vaddr + ph->p_memsz);
    }
    return 0;
}

/* ---- /proc/self/maps: what is readable, which mapping holds a stack ------- */

struct lmap {
    uintptr_t lo, hi;
    bool readable, writable, anon;
};

static struct vec maps = VEC(struct lmap);

static uintptr_t parse_hex(const char **s)
{
    uintptr_t v = 0;
    for (;; (*s)++) {
        char c = **s;
        unsigned d = c >= '0' && c <= '9' ? (unsigned)(c - '0') : c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10) : 16;
        if (d == 16)
            return v;
        v = v * 16 + d;
    }
}

static bool read_maps(void)
{
    struct vec text = VEC(char);
    int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    for (;;) {
        char buf[4096];
        ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        for (ssize_t i = 0; i < n; i++) {
            char *c = vec_push(&text);
            if (c)
                *c = buf[i];
        }
    }
    close(fd);
    char *nul = vec_push(&text);
    if (!nul) {
        vec_free(&text);
        return false;
    }
    *nul = '\0';
    for (const char *s = text.mem; *s;) {
        struct lmap m = {0};
        m.lo = parse_hex(&s);
        if (*s == '-')
            s++;
        m.hi = parse_hex(&s);
        if (*s == ' ')
            s++;
        m.readable = *s == 'r';
        m.writable = s[0] && s[1] == 'w';
        /* the path is the sixth field: none, or a bracketed name */
        const char *e = s;
        int field = 1;
        while (*e && *e != '\n') {
            if (*e == ' ' && e[1] != ' ') {
                field++;
                if (field == 5) {
                    const char *p = e + 1;
                    while (*p && *p != ' ' && *p != '\n')
                        p++;
                    while (*p == ' ')
                        p++;
                    m.anon = *p == '\n' || *p == '\0' || *p == '[';
                    break;
                }
            }
            e++;
        }
        struct lmap *slot = vec_push(&maps);
        if (slot)
            *slot = m;
        while (*s && *s != '\n')
            s++;
        if (*s)
            s++;
    }
    vec_free(&text);
    return !maps.failed;
}

static const struct lmap *map_of(uintptr_t a)
{
    const struct lmap *m = (const struct lmap *)maps.mem;
    size_t l = 0, h = maps.len;
    while (l < h) {
        size_t mid = (l + h) / 2;
        if (m[mid].hi <= a)
            l = mid + 1;
        else
            h = mid;
    }
    return l < maps.len && m[l].lo <= a ? &m[l] : NULL;
}

/* ---- stopping the other threads --------------------------------------------
 * Each thread listed in /proc/self/task gets a signal; its handler saves
 * the registers it was interrupted with and its stack pointer in its slot,
 * then waits on a futex until the scan is over.  A thread that does not
 * answer in time (the signal blocked) is scanned whole: its stack pointer
 * from /proc/self/task/TID/syscall, or else every anonymous writable
 * mapping that could be a stack. */

#define MAX_THREADS 16384
#define STOP_WAIT_MS 1000
enum { TH_ASKED = 1, TH_STOPPED, TH_GONE, TH_SILENT };

struct lthread {
    int tid;
    int state; /* a futex word */
    uintptr_t sp;
    bool parked; /* silent, waiting for one of ward's locks (held for the scan) */
    uintptr_t regs[64];
};

static struct lthread *threads;
static int nthreads;
static int world;  /* a futex word: 1 while the world is stopped */
static int inside; /* threads inside the handler */
static int stop_sig;
static struct sigaction old_action;

static long futex(int *uaddr, int op, int val, const struct timespec *ts)
{
    return syscall(SYS_futex, uaddr, op, val, ts, NULL, 0);
}

static void stop_handler(int sig, siginfo_t *si, void *ucv)
{
    (void)sig, (void)si;
    int e = errno;
    __atomic_fetch_add(&inside, 1, __ATOMIC_SEQ_CST);
    int tid = os_tid(), n = __atomic_load_n(&nthreads, __ATOMIC_ACQUIRE);
    struct lthread *t = NULL;
    for (int i = 0; i < n; i++)
        if (threads[i].tid == tid)
            t = &threads[i];
    const ucontext_t *uc = ucv;
    if (t && __atomic_load_n(&t->state, __ATOMIC_ACQUIRE) == TH_ASKED) {
        size_t bytes = sizeof uc->uc_mcontext < sizeof t->regs ? sizeof uc->uc_mcontext : sizeof t->regs;
        memcpy(t->regs, &uc->uc_mcontext, bytes);
#if defined(__x86_64__)
        t->sp = (uintptr_t)uc->uc_mcontext.gregs[REG_RSP];
#elif defined(__aarch64__)
        t->sp = (uintptr_t)uc->uc_mcontext.sp;
#else
        t->sp = (uintptr_t)&e; /* the handler's frame: the stack above it is the thread's */
#endif
        int asked = TH_ASKED;
        if (__atomic_compare_exchange_n(&t->state, &asked, TH_STOPPED, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
            futex(&t->state, FUTEX_WAKE_PRIVATE, 1, NULL);
            while (__atomic_load_n(&world, __ATOMIC_ACQUIRE) == 1)
                futex(&world, FUTEX_WAIT_PRIVATE, 1, NULL);
        }
    }
    __atomic_fetch_sub(&inside, 1, __ATOMIC_SEQ_CST);
    errno = e;
}

struct dirent64_raw {
    uint64_t d_ino;
    int64_t d_off;
    unsigned short d_reclen;
    unsigned char d_type;
    char d_name[];
};

static uintptr_t silent_sp(int tid, uintptr_t *futex_word);

/* Whether thread tid blocks signal sig now (/proc's SigBlk mask): such a
 * thread will not stop (one that blocks signals, or one that is ending:
 * glibc blocks them all there, and it may be waiting for one of ward's
 * locks, held for the scan). */
static bool blocks_signal(int tid, int sig)
{
    char path[64], buf[2048];
    ward_snprintf(path, sizeof path, "/proc/self/task/%d/status", tid);
    if (os_read_file(path, buf, sizeof buf) <= 0)
        return false;
    const char *s = strstr(buf, "\nSigBlk:");
    if (!s)
        return false;
    s += 9;
    while (*s == ' ' || *s == '\t')
        s++;
    uintptr_t mask = parse_hex(&s);
    return sig <= 64 && ((mask >> (sig - 1)) & 1);
}

/* One pass over /proc/self/task: a signal to each thread not asked yet.
 * The number of threads newly asked (-1: the directory cannot be read). */
static int ask_threads(int self)
{
    int fd = open("/proc/self/task", O_RDONLY | O_DIRECTORY | O_CLOEXEC), added = 0;
    if (fd < 0)
        return -1;
    for (;;) {
        char buf[4096] __attribute__((aligned(8)));
        long n = syscall(SYS_getdents64, fd, buf, sizeof buf);
        if (n <= 0)
            break;
        for (long off = 0; off < n;) {
            const struct dirent64_raw *d = (const struct dirent64_raw *)(void *)(buf + off);
            off += d->d_reclen;
            int tid = 0;
            for (const char *c = d->d_name; *c >= '0' && *c <= '9'; c++)
                tid = tid * 10 + (*c - '0');
            bool known = tid <= 0 || tid == self;
            for (int i = 0; i < nthreads && !known; i++)
                known = threads[i].tid == tid;
            if (known || nthreads == MAX_THREADS)
                continue;
            struct lthread *t = &threads[nthreads];
            t->tid = tid;
            t->state = TH_ASKED;
            t->sp = 0;
            t->parked = false;
            __atomic_store_n(&nthreads, nthreads + 1, __ATOMIC_RELEASE);
            if (syscall(SYS_tgkill, getpid(), tid, stop_sig) != 0)
                t->state = TH_GONE;
            added++;
        }
    }
    close(fd);
    return added;
}

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A silent thread's stack pointer, from the kernel: "nr args... sp pc", or
 * "-1 sp pc" when it is not in a system call (0: not known). */
static uintptr_t silent_sp(int tid, uintptr_t *futex_word)
{
    *futex_word = 0;
    char path[64], buf[256];
    ward_snprintf(path, sizeof path, "/proc/self/task/%d/syscall", tid);
    if (os_read_file(path, buf, sizeof buf) <= 0)
        return 0;
    char *fields[16];
    int nf = 0;
    for (char *s = buf; *s && nf < 16;) {
        while (*s == ' ' || *s == '\n')
            s++;
        if (!*s)
            break;
        fields[nf++] = s;
        while (*s && *s != ' ' && *s != '\n')
            s++;
    }
    if (nf < 3 || fields[0][0] == 'r') /* "running": no figure */
        return 0;
    for (int i = 0; i < nf; i++) /* each field ends at the next blank */
        fields[i][strcspn(fields[i], " \n")] = '\0';
    if (nf == 9 && !strcmp(fields[0], "202") && fields[1][0] == '0' && fields[1][1] == 'x') { /* futex(word, ...) */
        const char *w = fields[1] + 2;
        *futex_word = parse_hex(&w);
    }
    const char *s = fields[nf - 2];
    if (s[0] == '0' && s[1] == 'x')
        s += 2;
    return parse_hex(&s);
}

/* A thread that has ended, or is ending (glibc blocks every signal in
 * an ending thread): gone from /proc, a zombie, or dead. */
static bool thread_ended(int tid)
{
    char path[64], buf[512];
    ward_snprintf(path, sizeof path, "/proc/self/task/%d/stat", tid);
    if (os_read_file(path, buf, sizeof buf) <= 0)
        return true;
    const char *paren = NULL; /* "tid (name) S ...": the name may hold ')' */
    for (const char *s = buf; *s; s++)
        if (*s == ')')
            paren = s;
    return !paren || paren[1] != ' ' || paren[2] == 'Z' || paren[2] == 'X' || paren[2] == 'x';
}

static int stop_world(void)
{
    threads = mmap(NULL, MAX_THREADS * sizeof *threads, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (threads == MAP_FAILED) {
        threads = NULL;
        return -1;
    }
    stop_sig = SIGRTMAX - 3;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = stop_handler;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigfillset(&sa.sa_mask);
    __atomic_store_n(&world, 1, __ATOMIC_RELEASE);
    if (sigaction(stop_sig, &sa, &old_action) != 0)
        return -1;
    int self = os_tid();
    /* threads may start threads until they are stopped: again until a pass
     * finds none new */
    for (int round = 0; round < 32; round++) {
        int added = ask_threads(self);
        if (added < 0)
            return -1;
        long deadline = now_ms() + STOP_WAIT_MS;
        for (int i = 0; i < nthreads; i++) {
            struct lthread *t = &threads[i];
            while (__atomic_load_n(&t->state, __ATOMIC_ACQUIRE) == TH_ASKED) {
                long left = deadline - now_ms();
                int asked = TH_ASKED;
                if (left <= 0) {
                    uintptr_t word;
                    if (__atomic_compare_exchange_n(&t->state, &asked, TH_SILENT, false, __ATOMIC_ACQ_REL,
                                                    __ATOMIC_ACQUIRE))
                        t->sp = silent_sp(t->tid, &word);
                    break;
                }
                /* a few milliseconds at a time: a thread that ends meanwhile
                 * will never answer */
                struct timespec ts = {0, (left < 5 ? left : 5) * 1000000};
                futex(&t->state, FUTEX_WAIT_PRIVATE, TH_ASKED, &ts);
                if (__atomic_load_n(&t->state, __ATOMIC_ACQUIRE) != TH_ASKED)
                    break;
                if (thread_ended(t->tid)) {
                    if (__atomic_compare_exchange_n(&t->state, &asked, TH_GONE, false, __ATOMIC_ACQ_REL,
                                                    __ATOMIC_ACQUIRE))
                        break;
                    continue;
                }
                /* asleep in a system call with the signal blocked: it will
                 * not answer (it may wait for a lock of ward's, held for the
                 * scan); the kernel gives its stack pointer */
                uintptr_t sp, word;
                if (blocks_signal(t->tid, stop_sig) && (sp = silent_sp(t->tid, &word)) != 0 &&
                    __atomic_compare_exchange_n(&t->state, &asked, TH_SILENT, false, __ATOMIC_ACQ_REL,
                                                __ATOMIC_ACQUIRE)) {
                    t->sp = sp;
                    t->parked = word >= own_text.lo && word < own_text.hi;
                    break;
                }
            }
        }
        if (!added)
            break;
    }
    return 0;
}

static void resume_world(void)
{
    if (!threads)
        return;
    __atomic_store_n(&world, 0, __ATOMIC_RELEASE);
    futex(&world, FUTEX_WAKE_PRIVATE, INT32_MAX, NULL);
    bool silent = false;
    for (int i = 0; i < nthreads; i++)
        silent |= threads[i].state == TH_SILENT;
    /* A silent thread's signal is still pending: the handler stays (it
     * returns at once now), or the default action would end the process. */
    long deadline = now_ms() + STOP_WAIT_MS;
    while (__atomic_load_n(&inside, __ATOMIC_SEQ_CST) && now_ms() < deadline)
        sched_yield();
    if (!silent && !__atomic_load_n(&inside, __ATOMIC_SEQ_CST))
        sigaction(stop_sig, &old_action, NULL);
}

/* ---- the live chunks and the scan ------------------------------------------ */

enum { TAG_UNREACHED, TAG_REACHABLE, TAG_INDIRECT };

struct lchunk {
    uintptr_t p;
    size_t n;
    uint8_t tag, tier;
};

static struct vec chunks = VEC(struct lchunk);
static struct vec work = VEC(size_t);
static uintptr_t chunks_lo, chunks_hi;

static void collect(void *ctx, uintptr_t p, size_t n, int tier)
{
    (void)ctx;
    struct lchunk *c = vec_push(&chunks);
    if (c)
        *c = (struct lchunk){p, n, TAG_UNREACHED, (uint8_t)tier};
}

static int by_address(const void *a, const void *b)
{
    uintptr_t x = ((const struct lchunk *)a)->p, y = ((const struct lchunk *)b)->p;
    return x < y ? -1 : x > y;
}

#define NONE SIZE_MAX

/* The live chunk v points into (anywhere in its requested bytes, or at a
 * 0-byte block), as LeakSanitizer counts it. */
static size_t chunk_at(uintptr_t v)
{
    if (v < chunks_lo || v >= chunks_hi)
        return NONE;
    const struct lchunk *c = (const struct lchunk *)chunks.mem;
    size_t l = 0, h = chunks.len;
    while (l < h) {
        size_t mid = (l + h) / 2;
        if (c[mid].p <= v)
            l = mid + 1;
        else
            h = mid;
    }
    if (!l)
        return NONE;
    l--;
    return v < c[l].p + c[l].n || v == c[l].p ? l : NONE;
}

/* Every aligned word of [lo, hi): a pointer into a live chunk other than
 * `self` tags it reachable (and queues it) or, from a leaked chunk,
 * indirectly leaked. */
static void scan_words(uintptr_t lo, uintptr_t hi, size_t self, int tag)
{
    struct lchunk *c = (struct lchunk *)chunks.mem;
    for (uintptr_t a = (lo + 7) & ~(uintptr_t)7; a + 8 <= hi && a >= lo; a += 8) {
        uintptr_t v = *(const volatile uintptr_t *)a;
        size_t i = chunk_at(v);
        if (i == NONE || i == self)
            continue;
        if (tag == TAG_REACHABLE) {
            if (c[i].tag != TAG_REACHABLE) {
                c[i].tag = TAG_REACHABLE;
                size_t *w = vec_push(&work);
                if (w)
                    *w = i;
            }
        } else if (c[i].tag == TAG_UNREACHED) {
            c[i].tag = TAG_INDIRECT;
        }
    }
}

/* A root range, clipped to readable mappings. */
static void scan_root(uintptr_t lo, uintptr_t hi)
{
    while (lo < hi) {
        const struct lmap *m = map_of(lo);
        if (!m) { /* not mapped: on to the next mapping */
            const struct lmap *ms = (const struct lmap *)maps.mem;
            size_t i = 0;
            while (i < maps.len && ms[i].lo <= lo)
                i++;
            if (i == maps.len)
                return;
            lo = ms[i].lo;
            continue;
        }
        uintptr_t end = m->hi < hi ? m->hi : hi;
        if (m->readable)
            scan_words(lo, end, NONE, TAG_REACHABLE);
        lo = end;
    }
}

static void flood(void)
{
    const struct lchunk *c = (const struct lchunk *)chunks.mem;
    while (work.len) {
        size_t i = ((size_t *)work.mem)[--work.len];
        scan_words(c[i].p, c[i].p + c[i].n, i, TAG_REACHABLE);
    }
}

static bool in_ward_mapping(uintptr_t a) { return (a >= G.heap_lo && a < G.heap_hi) || in_pool(a) || in_zero(a); }

/* A thread's stack from sp up (the red zone below it too) to the end of the
 * mapping that holds it (a pthread's static TLS and descriptor included);
 * a stack inside a live chunk (a coroutine's): to the chunk's end. */
static void scan_stack(uintptr_t sp)
{
    uintptr_t lo = sp > 128 ? sp - 128 : 0;
    size_t i = chunk_at(sp);
    if (i != NONE) {
        const struct lchunk *c = (const struct lchunk *)chunks.mem + i;
        scan_root(lo > c->p ? lo : c->p, c->p + c->n);
        return;
    }
    if (in_ward_mapping(sp))
        return;
    const struct lmap *m = map_of(sp);
    if (m)
        scan_root(lo > m->lo ? lo : m->lo, m->hi);
}

/* The thread descriptors in stacks no running thread uses (glibc keeps an
 * ended thread's stack for the next one, its DTV still allocated): the
 * descriptor sits at the top of the stack mapping and points to itself;
 * its DTV (the loader's allocation, and the dynamic TLS blocks it holds)
 * stays reachable through it, as LeakSanitizer's rule for the loader's
 * allocations has it. */
static void scan_cached_descriptors(void)
{
    const struct lmap *m = (const struct lmap *)maps.mem;
    for (size_t i = 0; pthread_bytes && i < maps.len; i++) {
        if (!m[i].anon || !m[i].writable || !m[i].readable || in_ward_mapping(m[i].lo) ||
            m[i].hi - m[i].lo < pthread_bytes + 64)
            continue;
        uintptr_t tp = (m[i].hi - pthread_bytes) & ~(uintptr_t)(tls_align - 1);
        const uintptr_t *tcb = (const uintptr_t *)tp;
        if (tp >= m[i].lo && tcb[0] == tp && tcb[2] == tp) /* tcbhead_t: tcb, dtv, self */
            scan_words(tp + sizeof(uintptr_t), tp + 2 * sizeof(uintptr_t), NONE, TAG_REACHABLE);
    }
}

/* The main thread's DTV: the loader allocated it at start-up, before ward
 * could (and again with ward when it grows): the blocks of the dynamically
 * loaded modules' TLS it points to are reachable through it.  tcbhead_t
 * holds it at tp + 8 (as &dtv[1]); dtv[0] holds the number of slots, each
 * slot two words (the block, the pointer to free). */
static void scan_main_dtv(void)
{
    const struct lmap *m = map_of(main_tp + 8);
    if (!main_tp || !m || !m->readable)
        return;
    uintptr_t d = *(const uintptr_t *)(main_tp + 8);
    m = map_of(d - 16);
    if (!d || (d & 7) || !m || !m->readable || d - 16 < m->lo)
        return;
    size_t slots = *(const size_t *)(d - 16);
    if (slots > (1u << 20))
        return;
    scan_root(d - 16, d + 16 * (slots + 1));
}

/* No stack pointer for a silent thread: every anonymous writable mapping
 * outside ward's own that holds no live chunk could be its stack. */
static void scan_anonymous(void)
{
    const struct lmap *m = (const struct lmap *)maps.mem;
    for (size_t i = 0; i < maps.len; i++) {
        if (!m[i].anon || !m[i].writable || in_ward_mapping(m[i].lo))
            continue;
        const struct lchunk *ch = (const struct lchunk *)chunks.mem;
        size_t l = 0, h = chunks.len; /* the first chunk at or above the mapping */
        while (l < h) {
            size_t mid = (l + h) / 2;
            if (ch[mid].p < m[i].lo)
                l = mid + 1;
            else
                h = mid;
        }
        bool holds = l < chunks.len && ch[l].p < m[i].hi;
        if (!holds)
            scan_root(m[i].lo, m[i].hi);
    }
}

/* A chunk's allocation stack, when recorded (stacks=1; sampled blocks
 * always). */
static int alloc_stack(const struct lchunk *c, const uintptr_t **pcs)
{
    if (c->tier == TIER_SAMPLED)
        return sample_alloc_stack(c->p, pcs);
    return trace_alloc_stack(c->p, c->tier, pcs);
}

/* Allocated by the dynamic loader itself (its first frame outside ward is
 * in ld.so): thread descriptors' DTVs, dynamic TLS blocks, a dlopen'd
 * module's link map.  The loader keeps them where no scan finds them (a
 * cached stack of an ended thread), so, as LeakSanitizer does, they count
 * as reachable.  Known only where the stack was recorded. */
static bool loader_allocated(const struct lchunk *c)
{
    const uintptr_t *pcs;
    int n = alloc_stack(c, &pcs);
    if (!loader_text.hi)
        return false;
    for (int i = 0; i < n; i++) {
        uintptr_t pc = pcs[i] - 1;
        if (pc >= own_text.lo && pc < own_text.hi)
            continue;
        return pc >= loader_text.lo && pc < loader_text.hi;
    }
    return false;
}

/* ---- the report ------------------------------------------------------------ */

struct group {
    const uintptr_t *pcs;
    int npcs;
    bool indirect;
    bool suppressed; /* a `leak:` suppression matched its stack */
    size_t size;     /* without stacks: the objects' size */
    size_t bytes, count;
};

static struct vec groups = VEC(struct group);

static bool same_group(const struct group *g, bool indirect, const uintptr_t *pcs, int n, size_t size)
{
    if (g->indirect != indirect)
        return false;
    if (!G.opt.stacks)
        return g->size == size;
    return g->npcs == n && (n == 0 || !memcmp(g->pcs, pcs, (size_t)n * sizeof *pcs));
}

static uint64_t group_hash(bool indirect, const uintptr_t *pcs, int n, size_t size)
{
    uint64_t h = indirect ? 0x9e3779b97f4a7c15ull : 0x2545f4914f6cdd1dull;
    if (!G.opt.stacks)
        return wmix(h ^ size, 0xff51afd7ed558ccdull);
    for (int i = 0; i < n; i++)
        h = wmix(h ^ pcs[i], 0xff51afd7ed558ccdull);
    return h;
}

static int by_bytes(const void *a, const void *b)
{
    const struct group *x = a, *y = b;
    if (x->indirect != y->indirect) /* direct leaks first */
        return x->indirect ? 1 : -1;
    if (x->bytes != y->bytes)
        return x->bytes > y->bytes ? -1 : 1;
    return x->count > y->count ? -1 : x->count < y->count;
}

#define GROUPS_SHOWN 100

static const char *plural(size_t n, const char *one, const char *many) { return n == 1 ? one : many; }

/* Groups the leaked chunks (by allocation stack, or by size without
 * stacks=1), largest first, and prints them; the world runs again, so
 * dladdr and addr2line are safe.  True when a leak is left to report. */
static bool report(void)
{
    size_t leaked = 0, cap = 1;
    const struct lchunk *c = (const struct lchunk *)chunks.mem;
    for (size_t i = 0; i < chunks.len; i++)
        leaked += c[i].tag != TAG_REACHABLE;
    while (cap < 2 * leaked)
        cap *= 2;
    size_t *slot = mmap(NULL, cap * sizeof(size_t), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (slot == MAP_FAILED)
        return false;
    memset(slot, 0xff, cap * sizeof(size_t));
    for (size_t i = 0; i < chunks.len; i++) {
        if (c[i].tag == TAG_REACHABLE)
            continue;
        bool ind = c[i].tag == TAG_INDIRECT;
        const uintptr_t *pcs = NULL;
        int n = G.opt.stacks ? alloc_stack(&c[i], &pcs) : 0;
        size_t h = (size_t)group_hash(ind, pcs, n, c[i].n) & (cap - 1);
        struct group *g = NULL;
        for (; slot[h] != SIZE_MAX; h = (h + 1) & (cap - 1))
            if (same_group((struct group *)groups.mem + slot[h], ind, pcs, n, c[i].n)) {
                g = (struct group *)groups.mem + slot[h];
                break;
            }
        if (!g) {
            g = vec_push(&groups);
            if (!g)
                break;
            *g = (struct group){pcs, n, ind, false, c[i].n, 0, 0};
            slot[h] = groups.len - 1;
        }
        g->bytes += c[i].n;
        g->count++;
    }
    munmap(slot, cap * sizeof(size_t));
    if (groups.failed) {
        ward_printf("ward: leaks=1: out of memory while grouping %zu leaked objects\n", leaked);
        vec_free(&groups);
        return leaked != 0;
    }
    struct group *g = (struct group *)groups.mem;
    size_t bytes[2] = {0, 0}, objs[2] = {0, 0}, sup_bytes = 0, sup_objs = 0;
    bool leak_rules = suppress_has_kind(SUPPRESS_LEAK);
    for (size_t i = 0; i < groups.len; i++) {
        /* A `leak:` (or `*:`) line of the suppressions file that matches a
         * frame of the group's allocation stack (none without stacks=1):
         * the group is counted apart, not printed, and does not change the
         * exit status. */
        if (leak_rules && g[i].npcs) {
            const uintptr_t *st[1] = {g[i].pcs};
            int ns[1] = {g[i].npcs};
            g[i].suppressed = ward_suppressed("leak", st, ns, 1) >= 0;
        }
        if (g[i].suppressed) {
            sup_bytes += g[i].bytes, sup_objs += g[i].count;
            continue;
        }
        bytes[g[i].indirect] += g[i].bytes;
        objs[g[i].indirect] += g[i].count;
    }
    if (sup_objs)
        ward_printf("ward: leaks=1: %zu bytes in %zu leaked object%s suppressed\n", sup_bytes, sup_objs,
                    plural(sup_objs, "", "s"));
    leaked = objs[0] + objs[1];
    if (!leaked) {
        vec_free(&groups);
        return false;
    }
    ward_printf("ward: memory leaks: %zu bytes in %zu object%s (direct: %zu bytes in %zu object%s, indirect: "
                "%zu bytes in %zu object%s)\n",
                bytes[0] + bytes[1], leaked, plural(leaked, "", "s"), bytes[0], objs[0], plural(objs[0], "", "s"),
                bytes[1], objs[1], plural(objs[1], "", "s"));
    hsort(groups.mem, groups.len, sizeof(struct group), by_bytes);
    size_t shown = 0, more = 0, more_bytes = 0, more_objs = 0;
    for (size_t i = 0; i < groups.len; i++) {
        if (g[i].suppressed)
            continue;
        if (shown == GROUPS_SHOWN) {
            more++, more_bytes += g[i].bytes, more_objs += g[i].count;
            continue;
        }
        shown++;
        const char *kind = g[i].indirect ? "Indirect" : "Direct";
        if (G.opt.report_format == REPORT_JSON) {
            struct ward_named_stack st = {"allocated from", {g[i].pcs, g[i].npcs, 0}, false, true};
            sym_acquire();
            if (g[i].npcs)
                sym_load(&st, 1, G.opt.symbolize);
            ward_emit_leak(g[i].indirect, g[i].bytes, g[i].count, G.opt.stacks ? 0 : g[i].size, g[i].npcs > 0);
            sym_release();
            continue;
        }
        if (!G.opt.stacks) {
            ward_printf("ward: %s leak of %zu bytes in %zu object%s of %zu bytes\n", kind, g[i].bytes, g[i].count,
                        plural(g[i].count, "", "s"), g[i].size);
            continue;
        }
        char title[160];
        ward_snprintf(title, sizeof title, "%s leak of %zu bytes in %zu object%s allocated from", kind, g[i].bytes,
                      g[i].count, plural(g[i].count, "", "s"));
        if (g[i].npcs) {
            struct ward_named_stack st = {title, {g[i].pcs, g[i].npcs, 0}, false, true};
            sym_acquire();
            sym_load(&st, 1, G.opt.symbolize);
            sym_print_text();
            sym_release();
        } else
            ward_printf("ward: %s: (no stack: a 0-byte block, or the stack depot was full)\n", title);
    }
    if (more)
        ward_printf("ward: ... and %zu more leak groups (%zu bytes in %zu objects)\n", more, more_bytes, more_objs);
    if (!G.opt.stacks)
        ward_printf("ward: run with stacks=1 to see where each leaked object was allocated\n");
    vec_free(&groups);
    return true;
}

/* ---- the check ------------------------------------------------------------- */

static __attribute__((noinline)) bool check(uintptr_t self_sp, const ucontext_t *self_regs)
{
    dl_iterate_phdr(module_cb, NULL);
    add_root(main_tls_lo, main_tls_hi); /* the main thread's static TLS and descriptor */
    /* nothing changes hands from here: the tiers' locks (fork's order),
     * then the other threads stopped, none of them in a tier's lock */
    ward_lock_all();
    int stopped = stop_world();
    bool ok = stopped == 0 && read_maps();
    int silent = 0;
    bool unknown_sp = false;
    if (ok) {
        for (size_t t = 0; t < NTIERS; t++)
            if (tiers[t]->for_each_live)
                tiers[t]->for_each_live(collect, NULL);
        hsort(chunks.mem, chunks.len, sizeof(struct lchunk), by_address);
        if (chunks.len) {
            const struct lchunk *c = (const struct lchunk *)chunks.mem;
            chunks_lo = c[0].p;
            chunks_hi = c[chunks.len - 1].p + c[chunks.len - 1].n + 1;
        }
        /* the worklist holds each chunk once at most */
        ok = !chunks.failed;
    }
    if (ok) {
        const struct range *r = (const struct range *)roots.mem;
        for (size_t i = 0; i < roots.len; i++)
            scan_root(r[i].lo, r[i].hi);
        scan_words((uintptr_t)self_regs, (uintptr_t)(self_regs + 1), NONE, TAG_REACHABLE);
        scan_stack(self_sp);
        for (int i = 0; i < nthreads; i++) {
            struct lthread *t = &threads[i];
            if (t->state == TH_STOPPED) {
                scan_words((uintptr_t)t->regs, (uintptr_t)(t->regs + 64), NONE, TAG_REACHABLE);
                scan_stack(t->sp);
            } else if (t->state == TH_SILENT) {
                silent += !t->parked; /* a thread parked on ward's lock cannot run: not worth a word */
                if (t->sp)
                    scan_stack(t->sp);
                else
                    unknown_sp = true;
            }
        }
        if (unknown_sp)
            scan_anonymous();
#if defined(__x86_64__)
        scan_main_dtv();
        scan_cached_descriptors();
#endif
        flood();
        struct lchunk *c = (struct lchunk *)chunks.mem;
        for (size_t i = 0; i < chunks.len; i++)
            if (c[i].tag == TAG_UNREACHED && loader_allocated(&c[i])) {
                c[i].tag = TAG_REACHABLE;
                size_t *w = vec_push(&work);
                if (w)
                    *w = i;
            }
        flood();
        /* what a leaked chunk points to is an indirect leak (LeakSanitizer's
         * rule: a cycle of leaked chunks is all indirect) */
        for (size_t i = 0; i < chunks.len; i++)
            if (c[i].tag != TAG_REACHABLE)
                scan_words(c[i].p, c[i].p + c[i].n, i, TAG_INDIRECT);
        ok = !work.failed && !roots.failed;
    }
    resume_world();
    ward_unlock_all();
    if (!ok)
        ward_printf("ward: leaks=1: the leak check could not run (%s)\n",
                    stopped ? "the other threads could not be stopped" : "out of memory or /proc unreadable");
    if (silent)
        ward_printf("ward: leaks=1: %d thread%s did not stop for the scan (the signal blocked: a thread that "
                    "blocks signals, or one ending): scanned whole, while running\n",
                    silent, plural((size_t)silent, "", "s"));
    bool leaked = ok && report();
    vec_free(&chunks);
    vec_free(&work);
    vec_free(&roots);
    vec_free(&maps);
    return leaked;
}

bool leak_check(void)
{
    static int once;
    if (__atomic_exchange_n(&once, 1, __ATOMIC_ACQ_REL))
        return false;
    /* the scan stops threads with a signal and reads /proc: calls a seccomp
     * filter may kill on */
    if (os_is_sandboxed()) {
        ward_printf("ward: leaks=1: not checked: the process is under a seccomp filter\n");
        return false;
    }
    /* this thread's registers, and its stack from here up: the scan's own
     * frames below stay out of it */
    ucontext_t regs;
    getcontext(&regs);
    uintptr_t sp = (uintptr_t)__builtin_frame_address(0);
    return check(sp, &regs);
}
