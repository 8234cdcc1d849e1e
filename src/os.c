/* os.c: every system call the allocator makes about memory.  A failure other
 * than ENOMEM means something else in the process broke ward's view of its
 * own mappings: that is corruption, and it is fatal. */
#include "state.h"
#include "report.h"
#include "os.h"
#include "tier.h"

#include <errno.h>
#include <time.h>
#include <unwind.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <limits.h>
#include <sodium.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <string.h>
#include <unistd.h>

#ifndef PR_SET_VMA
#define PR_SET_VMA 0x53564d41
#define PR_SET_VMA_ANON_NAME 0
#endif

#ifdef WARD_TESTING
/* The harness build's failure injection (ward_testing_fail_os): after
 * `fail_skip` more calls that the kernel may refuse with ENOMEM once
 * start-up is over, the next `fail_left` are refused. */
static unsigned fail_skip, fail_left;
static unsigned long fail_count;

__attribute__((visibility("default"))) void ward_testing_fail_os(unsigned skip, unsigned count)
{
    __atomic_store_n(&fail_skip, skip, __ATOMIC_RELAXED);
    __atomic_store_n(&fail_left, count, __ATOMIC_RELAXED);
}

__attribute__((visibility("default"))) unsigned long ward_testing_os_failures(void) { return __atomic_load_n(&fail_count, __ATOMIC_RELAXED); }

static bool injected(void)
{
    if (!__atomic_load_n(&fail_left, __ATOMIC_RELAXED) || __atomic_load_n(&ward_ready, __ATOMIC_ACQUIRE) != 2)
        return false;
    unsigned k = __atomic_load_n(&fail_skip, __ATOMIC_RELAXED);
    while (k && !__atomic_compare_exchange_n(&fail_skip, &k, k - 1, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
        ;
    if (k)
        return false;
    unsigned n = __atomic_load_n(&fail_left, __ATOMIC_RELAXED);
    while (n && !__atomic_compare_exchange_n(&fail_left, &n, n - 1, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
        ;
    if (!n)
        return false;
    __atomic_add_fetch(&fail_count, 1, __ATOMIC_RELAXED);
    errno = ENOMEM;
    return true;
}
#define INJECTED() injected()
#else
#define INJECTED() false
#endif

static COLD _Noreturn void os_fail(enum ward_call call, void *p, size_t size, int err)
{
    ward_fatal(BUG_STATE_CORRUPTED, call, p, TIER_NONE, size, "system call failed unexpectedly (errno %d)", err);
}

/* An anonymous private mapping at `hint` when that range is free, else
 * where the kernel chooses (no MAP_FIXED: nothing mapped is ever
 * replaced); NULL on ENOMEM. */
static void *map_anon(size_t size, int prot, int flags, uintptr_t hint)
{
    void *p = INJECTED() ? MAP_FAILED : mmap((void *)hint, size, prot, MAP_PRIVATE | MAP_ANONYMOUS | flags, -1, 0);
    if (p == MAP_FAILED) {
        if (errno == ENOMEM) {
            os_enomem("mmap", size);
            return NULL;
        }
        os_fail(CALL_MMAP, NULL, size, errno);
    }
    return p;
}

static void *reserve(size_t size, int flags, uintptr_t hint) { return map_anon(size, PROT_NONE, flags, hint); }

void *os_reserve(size_t size) { return reserve(size, MAP_NORESERVE, 0); }

/* Read-write but not charged to the commit limit: metadata laid out for
 * the whole heap, of which a process touches a few pages (one system call,
 * where os_reserve and os_commit take two). */
void *os_map_sparse(size_t size) { return map_anon(size, PROT_READ | PROT_WRITE, MAP_NORESERVE, 0); }

/* A large block's mapping.  Without MAP_NORESERVE the kernel charges the
 * data pages to the commit limit when they become writable and marks them
 * (VM_ACCOUNT), which its guard pages, never writable, are not: so the
 * three parts never merge into one mapping when a freed block's pages
 * become PROT_NONE, nor split again when they are reused.  That merge and
 * split took about 40% of each free/reuse cycle (two mprotect calls: 13 ->
 * 7 us on one thread, 31 -> 15-23 us on two).  Under strict overcommit
 * (vm.overcommit_memory=2) a block the commit limit cannot hold then fails
 * with ENOMEM at its allocation, not with a fault at first touch. */
void *os_reserve_block(size_t size) { return reserve(size, 0, 0); }
void *os_reserve_block_at(size_t size, uintptr_t hint) { return reserve(size, 0, hint); }

/* RLIMIT_AS counts the whole heap reservation, used or not, and mprotect
 * never checks it: a limit set after start-up (setrlimit in a forked child)
 * would bind only new mappings, and small and medium chunks would grow past
 * it.  So a commit inside the reservation checks the limit itself, counting
 * what the kernel counts less the reservation's unused part:
 * VmSize - reservation + committed + size <= limit.  Small and medium
 * commits only grow (purging gives pages back but keeps them committed). */
static size_t heap_committed;

ssize_t os_read_file(const char *path, char *buf, size_t cap)
{
    int e = errno;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t got = -1;
    if (fd >= 0) {
        size_t n = 0;
        ssize_t r;
        while (n < cap - 1 && ((r = read(fd, buf + n, cap - 1 - n)) > 0 || (r < 0 && errno == EINTR)))
            if (r > 0)
                n += (size_t)r;
        close(fd);
        got = (ssize_t)n;
        buf[n] = '\0';
    }
    errno = e;
    return got;
}

/* The leading decimal number of a small /proc file (no allocation). */
static long read_long_file(const char *path)
{
    char buf[32];
    ssize_t n = os_read_file(path, buf, sizeof buf);
    if (n <= 0)
        return -1;
    long v = 0;
    for (ssize_t i = 0; i < n && buf[i] >= '0' && buf[i] <= '9'; i++)
        v = v * 10 + (buf[i] - '0');
    return v;
}

/* The first field of /proc/self/statm: the address space in pages. */
static long statm_pages(void) { return read_long_file("/proc/self/statm"); }

static bool heap_commit_allowed(uintptr_t p, size_t size)
{
    if (p - G.heap_lo >= G.heap_hi - G.heap_lo)
        return true; /* outside the reservation: the kernel counts it */
    /* under a seccomp filter getrlimit (prlimit64) may be what kills:
     * the limit read before it went on, if any */
    static long cached = -1; /* -1: none read; LONG_MAX: no limit */
    struct rlimit rl;
    if (os_is_sandboxed()) {
        long c = __atomic_load_n(&cached, __ATOMIC_RELAXED);
        if (c < 0 || c == LONG_MAX)
            return true;
        rl.rlim_cur = (rlim_t)c;
    } else {
        if (getrlimit(RLIMIT_AS, &rl) != 0)
            return true;
        __atomic_store_n(&cached, rl.rlim_cur == RLIM_INFINITY ? LONG_MAX : (long)rl.rlim_cur, __ATOMIC_RELAXED);
        if (rl.rlim_cur == RLIM_INFINITY)
            return true;
    }
    long pages = statm_pages();
    if (pages < 0)
        return true;
    size_t vm = (size_t)pages * G.page, res = G.heap_hi - G.heap_lo;
    size_t used = (vm > res ? vm - res : 0) + __atomic_load_n(&heap_committed, __ATOMIC_RELAXED);
    return used + size <= (size_t)rl.rlim_cur;
}

/* The heap's one big reservation: NULL on any failure, so that start-up can
 * try a smaller one (valgrind, for one, refuses tens of GiB with EINVAL). */
void *os_reserve_try(size_t size)
{
    void *p = mmap(NULL, size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

bool os_commit(void *p, size_t size)
{
    bool in_heap = (uintptr_t)p - G.heap_lo < G.heap_hi - G.heap_lo;
    if (in_heap && !heap_commit_allowed((uintptr_t)p, size)) {
        errno = ENOMEM;
        return false;
    }
    if (in_heap)
        __atomic_add_fetch(&heap_committed, size, __ATOMIC_RELAXED);
    if (INJECTED() || mprotect(p, size, PROT_READ | PROT_WRITE) != 0) {
        if (in_heap)
            __atomic_sub_fetch(&heap_committed, size, __ATOMIC_RELAXED);
        if (errno == ENOMEM) {
            os_enomem("mprotect", size);
            return false;
        }
        os_fail(CALL_MPROTECT, p, size, errno);
    }
    return true;
}

void os_decommit(void *p, size_t size)
{
    /* Replacing the range frees its memory and leaves it inaccessible in one call. */
    void *q = INJECTED() ? MAP_FAILED : mmap(p, size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1, 0);
    if (q == MAP_FAILED) {
        if (errno == ENOMEM) { /* cannot split the mapping: free the pages, make it fault */
            os_enomem("mmap(MAP_FIXED)", size);
            if (madvise(p, size, MADV_DONTNEED) == 0 &&
                (mprotect(p, size, PROT_NONE) == 0 || errno == ENOMEM))
                return;
        }
        os_fail(CALL_MMAP_FIXED, p, size, errno);
    }
}

void os_release(void *p, size_t size)
{
    if (size == 0)
        return;
    if (madvise(p, size, MADV_DONTNEED) != 0)
        os_fail(CALL_MADVISE, p, size, errno);
}

/* ---- processes under a seccomp filter (sandbox.c) ----
 * 0: not known yet, 1: no filter, 2: a filter (or it cannot be told):
 * mincore and prctl(PR_SET_VMA) are not called. */
static int sandbox_state;

void os_sandboxed(void) { __atomic_store_n(&sandbox_state, 2, __ATOMIC_RELEASE); }

/* "Seccomp:\t0" in /proc/self/status: no filter.  Read with open/read into a
 * stack buffer (no allocation); a file that cannot be read (a sandbox that
 * denies open) counts as a filter. */
static COLD bool probe_sandbox(void)
{
    char buf[4096];
    int st = 2;
    if (os_read_file("/proc/self/status", buf, sizeof buf) > 0) {
        const char *s = strstr(buf, "\nSeccomp:");
        if (s) {
            s += 10;
            while (*s == ' ' || *s == '\t')
                s++;
            if (*s == '0')
                st = 1;
        }
    }
    int zero = 0; /* a mark made meanwhile (sandbox.c) wins */
    __atomic_compare_exchange_n(&sandbox_state, &zero, st, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
    return __atomic_load_n(&sandbox_state, __ATOMIC_ACQUIRE) == 2;
}

static inline bool sandboxed(void)
{
    int st = __atomic_load_n(&sandbox_state, __ATOMIC_ACQUIRE);
    return st == 2 || (st == 0 && probe_sandbox());
}

/* Stacks come from the C compiler's own unwinder (libgcc's, linked into
 * libward.so from libgcc_eh.a, its symbols hidden): it reads the .eh_frame
 * tables each module carries, finds a module with _dl_find_object, and
 * makes no system call and no allocation on the way (it allocates only
 * for frames registered with __register_frame_info, which nothing does
 * with ward's private copy).  glibc's backtrace(3) would load libgcc_s
 * with dlopen on first use, which allocates; libunwind, which ward used
 * before, cost every exec about 170 us to load (with liblzma) and called
 * mincore, which seccomp filters kill on. */
struct bt {
    void **pcs;
    int n, cap, skip;
};

static _Unwind_Reason_Code bt_frame(struct _Unwind_Context *ctx, void *arg)
{
    struct bt *b = arg;
    uintptr_t ip = _Unwind_GetIP(ctx);
    if (!ip || b->n == b->cap)
        return _URC_END_OF_STACK;
    if (b->skip > 0)
        b->skip--;
    else
        b->pcs[b->n++] = (void *)ip;
    return _URC_NO_REASON;
}

/* With stacks=1 a stack is taken at every malloc and free, and libgcc's
 * unwinder, which interprets each frame's unwind table every time, takes
 * about 3 us for one (bench/pairs ring under stacks=1: 12 times the time
 * with libunwind, whose backtrace keeps a cache).  So when libunwind is
 * already in the process at start-up (the launcher preloads it with
 * --stacks=1; or the program links it), ward's constructor looks it up
 * and stacks come from it.  Never loaded with dlopen here: a library
 * loaded later has its thread-local storage allocated with malloc at each
 * thread's first use, which would re-enter ward inside its own locks.
 * Never under a seccomp filter: libunwind calls mincore. */
static int (*unw_bt)(void **pcs, int cap);

void os_fast_stacks(void)
{
    if (sandboxed())
        return;
    void *f = dlsym(RTLD_DEFAULT, "unw_backtrace"); /* start-up is over: may allocate */
    if (f)
        __atomic_store_n(&unw_bt, (int (*)(void **, int))f, __ATOMIC_RELEASE);
}

/* The first frame is the caller's. */
__attribute__((noinline)) int os_backtrace(void **pcs, int cap)
{
    int (*fast)(void **, int) = __atomic_load_n(&unw_bt, __ATOMIC_ACQUIRE);
    if (fast && cap > 0 && !sandboxed()) {
        void *tmp[65]; /* its first frame is this function's: one more, dropped */
        int n = fast(tmp, cap < 64 ? cap + 1 : 65);
        if (n <= 1)
            return 0;
        memcpy(pcs, tmp + 1, (size_t)(n - 1) * sizeof *pcs);
        return n - 1;
    }
    struct bt b = {pcs, 0, cap, 1};
    if (cap > 0)
        _Unwind_Backtrace(bt_frame, &b);
    return b.n;
}

bool os_is_sandboxed(void) { return sandboxed(); }

/* A forked child keeps its parent's filters and state; nothing to do. */

/* Which pages of [p, p+size) are resident (vec[i] & 1), page-aligned p;
 * false when the kernel cannot say. */
bool os_resident(void *p, size_t size, unsigned char *vec)
{
    return !sandboxed() && mincore(p, size, vec) == 0;
}

void *os_map(size_t size) { return map_anon(size, PROT_READ | PROT_WRITE, 0, 0); }

void os_unmap(void *p, size_t size)
{
    bool injected_here = INJECTED();
    if (!injected_here && munmap(p, size) == 0)
        return;
    /* ENOMEM: the range shares a mapping with a neighbour (the kernel merges
     * alike neighbours) and splitting it would pass vm.max_map_count.  Give
     * the memory back and leave the range inaccessible instead: neither
     * call needs a new mapping. */
    if (errno != ENOMEM || madvise(p, size, MADV_DONTNEED) != 0)
        os_fail(CALL_MUNMAP, p, size, errno);
    os_enomem("munmap", size);
    (void)mprotect(p, size, PROT_NONE);
    if (injected_here) /* the harness's process lives long: it leaks no mapping */
        (void)munmap(p, size);
}

void os_protect_none(void *p, size_t size)
{
    if (mprotect(p, size, PROT_NONE) != 0 && errno != ENOMEM)
        os_fail(CALL_MPROTECT, p, size, errno);
}

void os_protect_ro(void *p, size_t size)
{
    if (mprotect(p, size, PROT_READ) != 0 && errno != ENOMEM)
        os_fail(CALL_MPROTECT, p, size, errno);
}

static int naming_unsupported;

/* prefix then the decimal number; no allocation, no stdio */
static size_t name_part(char *buf, size_t cap, const char *prefix, unsigned long v)
{
    size_t n = 0;
    while (*prefix && n + 1 < cap)
        buf[n++] = *prefix++;
    char d[24];
    int k = 0;
    do
        d[k++] = (char)('0' + v % 10);
    while ((v /= 10) != 0);
    while (k && n + 1 < cap)
        buf[n++] = d[--k];
    buf[n] = '\0';
    return n;
}

void os_name(void *p, size_t size, const char *name)
{
    /* Shows "[anon:ward ...]" in /proc/PID/maps; kernels before 5.17 (or
     * built without CONFIG_ANON_VMA_NAME) say EINVAL, and then we stop
     * asking.  The kernel copies the name. */
    if (__atomic_load_n(&naming_unsupported, __ATOMIC_RELAXED) || sandboxed())
        return;
    int e = errno;
    if (prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME, (unsigned long)p, size, (unsigned long)name) != 0 &&
        errno == EINVAL)
        __atomic_store_n(&naming_unsupported, 1, __ATOMIC_RELAXED);
    errno = e;
}

/* Names each size class's region "ward small N" (N: the slot size, header
 * included) and each medium arena "ward arena N", so an address in a crash
 * report reads as a place in ward's heap.  The names survive mprotect and
 * madvise; VMAs of different names do not merge, which costs at most one
 * more mapping per region. */
void os_name_heap(void)
{
    if (__atomic_load_n(&naming_unsupported, __ATOMIC_RELAXED))
        return;
    char name[32];
    for (unsigned c = 0; c < NCLASSES; c++) {
        name_part(name, sizeof name, "ward small ", G.slot_size[c]);
        os_name((void *)(G.small_base + c * G.class_region), G.class_region, name);
    }
    for (unsigned a = 0; a < NARENAS; a++) {
        name_part(name, sizeof name, "ward arena ", a);
        os_name((void *)(G.medium_base + a * G.arena_region), G.arena_region, name);
    }
}

int os_tid(void) { return (int)syscall(SYS_gettid); }

/* Milliseconds of CLOCK_MONOTONIC_COARSE (the vDSO: no system call), never
 * 0; 0 when the clock cannot be read. */
uint64_t os_coarse_ms(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC_COARSE, &ts) != 0)
        return 0;
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000 + 1;
}

/* Fresh random bytes from getrandom(2) itself, with nothing else on the
 * way (safe in a forked child before it calls exec); false when the kernel
 * gave fewer than asked. */
bool os_random_raw(void *buf, size_t n)
{
    long got = syscall(SYS_getrandom, buf, n, 0x0001 /* GRND_NONBLOCK */);
    return got == (long)n;
}

void os_random(void *buf, size_t n)
{
    /* getrandom(2) itself: one system call (libsodium's first call makes
     * one more, to see whether the kernel has it); libsodium, which reads
     * /dev/urandom and never calls malloc, where it has not */
    if (!os_random_raw(buf, n))
        randombytes_buf(buf, n);
}

/* ---- why an mmap failed ----------------------------------------------------
 * ENOMEM from mmap or mprotect means no memory, no address space (RLIMIT_AS)
 * or no more mappings (vm.max_map_count): the last looks like out of memory
 * and is not, so it is named.  /proc is read with read(2) into a stack
 * buffer: nothing here allocates.  The count is taken on the first failure
 * and then on every 256th, and the warning is printed once. */


static long count_mappings(void)
{
    char buf[4096];
    int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    long lines = 0;
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR))
        for (ssize_t i = 0; i < n; i++)
            lines += buf[i] == '\n';
    close(fd);
    return lines;
}

static unsigned long enomem_count;
static int enomem_warned;

void os_enomem(const char *call, size_t size)
{
    unsigned long k = __atomic_fetch_add(&enomem_count, 1, __ATOMIC_RELAXED);
    if (k % 256 || __atomic_load_n(&enomem_warned, __ATOMIC_RELAXED))
        return;
    int e = errno;
    long max = read_long_file("/proc/sys/vm/max_map_count");
    long have = max > 0 ? count_mappings() : -1;
    /* a failing call may need up to two new mappings (a split in the middle) */
    if (max > 0 && have >= max - 2 && !__atomic_exchange_n(&enomem_warned, 1, __ATOMIC_RELAXED))
        ward_printf("ward: warning: %s of %zu bytes failed: out of memory mappings, not of memory "
                    "(the process has %ld mappings, vm.max_map_count is %ld); allocations that need a "
                    "new mapping return NULL (ENOMEM) until some are unmapped\n",
                    call, size, have, max);
    errno = e;
}
