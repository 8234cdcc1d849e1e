/* api.c: start-up and the allocation API under ward's own names (ward_malloc,
 * ...).  Built with WARD_EXPORT_LIBC, the same functions are also exported
 * under the C library's names (malloc, ...) for LD_PRELOAD or static
 * linking; that happens in one place, at the end of this file. */
#include "state.h"
#include "report.h"
#include "os.h"
#include "chunk.h"
#include "thread.h"
#include "quarantine.h"
#include "trace.h"
#include "tier.h"
#include "api.h"
#include "suppress.h"
#include "leak.h"
#include "../include/ward.h"

#include <errno.h>
#include <setjmp.h>
#include <malloc.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/auxv.h>
#include <sys/resource.h>
#include <unistd.h>
#if defined(WARD_AVX2) && defined(__has_include)
#if __has_include(<sys/platform/x86.h>)
#include <sys/platform/x86.h>
#define WARD_GLIBC_CPU_FEATURES 1
#endif
#endif

#ifdef WARD_AVX2
/* Whether the CPU (and the kernel, for the YMM state) lets ward use AVX2.
 * glibc's loader has asked the CPU already: reading its answer costs no
 * cpuid, where __builtin_cpu_supports runs a dozen of them (about 100 us
 * at each start in a virtual machine, where each one traps). */
static bool cpu_has_avx2(void)
{
#ifdef WARD_GLIBC_CPU_FEATURES
    return CPU_FEATURE_ACTIVE(AVX2);
#else
    __builtin_cpu_init(); /* ward may start before the constructors that would */
    return __builtin_cpu_supports("avx2");
#endif
}
#endif

#define WARD_API __attribute__((visibility("default")))

union ward_ro_page ward_g __attribute__((aligned(4096)));
int ward_ready;

#ifdef WARD_EXPORT_LIBC
/* A static link that takes this object takes static_glibc.o with it (the
 * rest of glibc's malloc names), so glibc's malloc.o is never pulled in. */
extern const int ward_static_glibc INTERNAL;
static const int *const static_glibc_ref __attribute__((used)) = &ward_static_glibc;
#endif

/* ---- start-up --------------------------------------------------------------
 * The first malloc can come before any constructor (from the dynamic loader
 * or another library's constructor), so start-up is lazy, under a lock, and
 * calls nothing that allocates. */

static pthread_mutex_t init_lock = PTHREAD_MUTEX_INITIALIZER;
static __thread int in_init __attribute__((tls_model("initial-exec")));

/* ---- key epochs (chunk.h's key ring) ---------------------------------------
 * Before its first fork a process makes the medium tier's epoch bytes
 * (every chunk's is 0 then: entry 0's; the small tier keeps its in the
 * live bytes); its children inherit them.  A child draws a fresh
 * entry of the ring and keys with it from then on; its own children each
 * draw the next.  Without the mapping (out of memory) or randomness, or past
 * the ring's last entry, a child keys with its parent's entry. */
static bool epochs_made;

/* In the parent, all of ward's locks held: forks on two threads made one
 * after the other. */
static void epochs_prepare(void)
{
    if (epochs_made)
        return;
    size_t m = medium_epoch_bytes();
    uint8_t *map = os_reserve(m);
    if (!map)
        return;
    if (!os_commit(map, m)) {
        os_unmap(map, m);
        return;
    }
    os_name(map, m, "ward key epochs");
    medium_epoch_attach(map);
    epochs_made = true;
}

static void epochs_child(void)
{
    struct ward_keys fresh;
    if (!epochs_made || G.epoch + 1 >= KEY_EPOCHS || !os_random_raw(&fresh, sizeof fresh))
        return;
    /* the ring is read-only from the first child on (the process that
     * loaded ward keys with G.keys alone: no system call at start-up) */
    if (G.epoch && !os_commit(&ward_ring, sizeof ward_ring))
        return;
    if (!os_commit(&ward_g, sizeof ward_g)) {
        os_protect_ro(&ward_ring, sizeof ward_ring);
        return;
    }
    ward_ring.r.k[G.epoch + 1] = fresh;
    G.epoch++;
    small_paths_init();
    os_protect_ro(&ward_g, sizeof ward_g);
    os_protect_ro(&ward_ring, sizeof ward_ring);
    explicit_bzero(&fresh, sizeof fresh);
}

static void fork_prepare(void)
{
    ward_lock_all();
    epochs_prepare();
}
static void fork_parent(void) { ward_unlock_all(); }
static void fork_child(void)
{
    epochs_child();
    ward_reinit_locks_child();
}

static bool reserve_heap(size_t class_region, size_t arena_region)
{
    size_t total = NCLASSES * class_region + NARENAS * arena_region;
    void *heap = os_reserve_try(total);
    if (!heap)
        return false;
    G.heap_lo = (uintptr_t)heap;
    G.heap_hi = G.heap_lo + total;
    G.class_region = class_region;
    G.class_shift = (unsigned)__builtin_ctzll(class_region);
    G.arena_shift = (unsigned)__builtin_ctzll(arena_region);
    G.arena_region = arena_region;
    G.small_base = G.heap_lo;
    G.small_end = G.small_base + NCLASSES * class_region;
    G.medium_base = G.small_end;
    G.medium_end = G.medium_base + NARENAS * arena_region;
    os_name(heap, total, "ward heap");
    return true;
}

void ward_init_slow(void)
{
    if (in_init)
        ward_die("malloc called during ward's own start-up");
    in_init = 1;
    int e = errno;
    pthread_mutex_lock(&init_lock);
    if (__atomic_load_n(&ward_ready, __ATOMIC_ACQUIRE) == 2) {
        pthread_mutex_unlock(&init_lock);
        in_init = 0;
        return;
    }
    G.page = getauxval(AT_PAGESZ);
    if (!G.page)
        G.page = 4096;
    ward_options_init(&G.opt);
    /* a suppressed report goes on as on_error=continue does */
    G.recover = G.opt.on_error == ON_ERROR_CONTINUE || suppress_active();
    G.free_direct = !G.opt.stacks && !G.recover;
#ifdef WARD_AVX2
    G.avx2 = cpu_has_avx2();
#endif
    /* SipHash and the random bytes need no set-up; sodium_init's CPU
     * probing (cpuid, a trap to the hypervisor in a virtual machine) is
     * paid only where its other functions could be used */
    if (G.opt.checksum == CHECKSUM_SIPHASH && sodium_init() < 0)
        ward_die("libsodium failed to start");
    struct {
        struct ward_keys keys;
        uint64_t guard;
    } seed; /* one draw, one system call */
    os_random(&seed, sizeof seed);
    G.keys = seed.keys;
    G.guard0 = seed.guard;
    explicit_bzero(&seed, sizeof seed);
    G.guard1 = ~G.guard0;
    /* 2 GiB of address space per size class and 4 GiB per arena (80 GiB,
     * PROT_NONE until used).  Under an address-space limit (ulimit -v,
     * RLIMIT_AS) the reservation counts against it: then it takes at most
     * half of the limit, so large chunks and the program's own mappings keep
     * the rest; halved again while the kernel refuses it.  A full size class
     * or arena spills into the next tier. */
    struct rlimit rl;
    size_t cap = SIZE_MAX;
    if (getrlimit(RLIMIT_AS, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
        cap = (size_t)rl.rlim_cur / 2;
    size_t cr = 2ull << 30;
    for (; cr >= (1u << 20); cr /= 2)
        if (NCLASSES * cr + NARENAS * 2 * cr <= cap && reserve_heap(cr, 2 * cr))
            break;
    if (cr < (1u << 20))
        ward_die("cannot reserve address space for the heap (%zu bytes at least)",
                 (size_t)(NCLASSES + 2 * NARENAS) << 20);
    small_init();
    medium_init();
    large_init();
    os_name_heap();
    thread_init();
    trace_init();
    sample_init();
    zero_init();
    fault_init();
    /* secrets and options are read-only from here on */
    os_protect_ro(&ward_g, sizeof ward_g);
    __atomic_store_n(&ward_ready, 2, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&init_lock);
    in_init = 0;
    /* may allocate: start-up is complete */
    pthread_atfork(fork_prepare, fork_parent, fork_child);
    errno = e;
}

/* Start-up waits for the first call into the allocator: a program that
 * never allocates (true, test, many a shell helper) pays for loading ward
 * and nothing else; no mapping, key or signal handler is made for it.
 * WARD_OPTIONS may ask for work that cannot be done inside an allocation
 * (stacks=1 looks libunwind up with dlsym, leaks=1 asks the loader for its
 * TLS figures): when it is set, start-up happens here, as the library is
 * loaded. */
__attribute__((constructor)) static void ward_constructor(void)
{
    if (__atomic_load_n(&ward_ready, __ATOMIC_ACQUIRE) != 2 && !getenv("WARD_OPTIONS"))
        return;
    ward_ensure_init();
    if (G.opt.stacks)
        os_fast_stacks();
    if (G.opt.leaks)
        leak_init();
}

/* At exit (after main returns or exit(3)): chunks freed just before the end
 * never left the quarantine, so a write after free there would go unseen.
 * A destructor of ward's own runs after the program's atexit handlers and
 * static destructors (exit runs those first, then the modules' destructors,
 * ward's after those of the modules loaded after it): the latest point at
 * which the leak check (leaks=1) can run before stdio's buffers are
 * flushed, which it does itself before ending with exitcode. */
__attribute__((destructor)) static void ward_destructor(void)
{
    if (__atomic_load_n(&ward_ready, __ATOMIC_ACQUIRE) != 2)
        return;
    int e = errno;
    if (G.opt.exit_check == EXIT_CHECK_HEAP) {
        ward_check_heap();
    } else if (G.opt.exit_check == EXIT_CHECK_QUARANTINE) {
        struct tcache *tc = ward_tls;
        if (tc > TC_DEAD)
            quarantine_check(tc, CALL_EXIT);
        thread_exit_check(CALL_EXIT);
        small_check_shared(CALL_EXIT);
    }
    bool leaked = G.opt.leaks && leak_check();
    if (G.opt.verbosity >= 1)
        suppress_summary();
    /* on_error=continue: the run went on after its reports, but must not
     * look clean. */
    unsigned long nrep = __atomic_load_n(&ward_reports, __ATOMIC_RELAXED);
    if (nrep) {
        ward_printf("ward: %lu heap error%s reported (on_error=continue): exit status %ld\n", nrep,
                    nrep == 1 ? " was" : "s were", G.opt.exitcode);
        fflush(NULL); /* what the program wrote still goes out */
        _exit((int)G.opt.exitcode);
    }
    /* exitcode=0: the process keeps its own status, as LeakSanitizer's */
    if (leaked && G.opt.exitcode) {
        ward_printf("ward: leaks found (leaks=1): exit status %ld\n", G.opt.exitcode);
        fflush(NULL);
        _exit((int)G.opt.exitcode);
    }
    errno = e;
}

/* ---- allocation -------------------------------------------------------- */

static inline bool size_ok(size_t n, size_t align)
{
    return n <= (size_t)PTRDIFF_MAX - 4 * 65536 - align;
}

/* Out of memory or address space: what ward holds back for checking gives
 * way — the freed large mappings kept inaccessible or cached (they count
 * against RLIMIT_AS and vm.max_map_count), the quarantines and caches of
 * exited threads, and this thread's quarantine.
 * True when something was given back. */
static COLD bool give_back(void)
{
    bool any = large_tier.trim() != 0;
    any |= thread_trim();
    struct tcache *tc = ward_tls;
    if (tc > TC_DEAD && tc->qlen) {
        quarantine_drain(tc);
        any = true;
    }
    return any;
}

static COLD void *alloc_slow(size_t n, size_t align, bool zero)
{
    if (n == 0 && align <= ALIGN) { /* an address that faults on any access, or, when none is left, a chunk */
        void *p = zero_alloc();
        return p ? p : small_alloc(0, small_class(0), zero);
    }
    if (!size_ok(n, align)) {
        errno = ENOMEM;
        return NULL;
    }
    for (int again = 0; again < 2; again++) {
        void *p = NULL;
        if (n + (align > ALIGN ? align : 0) <= MEDIUM_MAX)
            p = medium_alloc(n, align, zero);
        if (!p)
            p = large_alloc(n, align, zero);
        if (p)
            return p;
        if (again || !give_back())
            break;
    }
    errno = ENOMEM;
    return NULL;
}

/* `zero`: calloc's request; each tier knows whether its memory is already
 * zero (verified poison, fresh pages) or must be cleared. */
static inline void *alloc(size_t n, bool zero)
{
    ward_ensure_init();
    if (unlikely(ward_sample_left-- == 0) && n && sample_due()) {
        void *p = sample_alloc(n);
        if (p)
            return p;
    }
    if (likely(n - 1 < SMALL_MAX)) { /* 1 to SMALL_MAX: malloc(0) takes the slow path */
        void *p = small_alloc(n, small_class(n), zero);
        if (likely(p != NULL))
            return p;
    }
    return alloc_slow(n, ALIGN, zero);
}

WARD_API void *ward_malloc(size_t n) { return alloc(n, false); }

static void *aligned(size_t align, size_t n)
{
    ward_ensure_init();
    if (align <= ALIGN)
        return ward_malloc(n);
    return alloc_slow(n, align, false);
}

static COLD _Noreturn void bad_pointer(uintptr_t p, enum ward_call op)
{
    ward_fatal(invalid_class(op), op, (void *)p, TIER_NONE, 0, "unaligned pointer: ward never returns one");
}

/* ---- foreign pointers -------------------------------------------------
 * Ownership is decided from ward's own records before any header is read:
 * the small tier by region bounds, slot arithmetic and the slabs made so
 * far, the medium tier by arena bounds and the chunk-start bitmap, the large
 * tier by its hash table.  A pointer outside the heap reservation that the
 * large tier does not know either is foreign: by default an invalid free
 * (reported by the large tier); with foreign=warn it is ignored, with one
 * warning per kind of call.  Pointers inside ward's heap are never foreign:
 * a bad one there is a bug in the program, always reported. */

static inline bool in_heap(uintptr_t p) { return p - G.heap_lo < G.heap_hi - G.heap_lo; }

static int foreign_warned[FWARN_KINDS]; /* one warning per kind of call */

static COLD bool foreign_check(uintptr_t p, enum ward_call op)
{
    if (in_heap(p) || in_pool(p) || in_zero(p) || large_knows(p))
        return false;
    enum ward_foreign_warning kind = ward_calls[op].foreign;
    if (!__atomic_exchange_n(&foreign_warned[kind], 1, __ATOMIC_RELAXED))
        ward_printf("ward: warning: foreign pointer: %s(%p): not allocated by ward; ignored (foreign=warn%s); "
                    "further ones in %s are ignored silently\n",
                    ward_calls[op].name, (void *)p,
                    kind == FWARN_REALLOC ? ": realloc returns NULL, ENOMEM" :
                    kind == FWARN_USABLE_SIZE ? ": size 0" : "",
                    kind == FWARN_FREE ? "free" : ward_calls[op].name);
    return true;
}

/* true when p is foreign and foreign=warn: the caller leaves it alone */
static inline bool foreign_ignored(uintptr_t p, enum ward_call op)
{
    return unlikely(G.opt.foreign == FOREIGN_WARN) && foreign_check(p, op);
}

static inline void free_with(void *ptr, enum ward_call op)
{
    uintptr_t p = (uintptr_t)ptr;
    if (unlikely(p & 15)) {
        if (foreign_ignored(p, op))
            return;
        bad_pointer(p, op);
    }
    switch (tier_of(p)) {
    case TIER_SMALL: small_free(p, op); break;
    case TIER_MEDIUM: medium_free(p, op); break;
    case TIER_SAMPLED: sample_free(p, op); break;
    case TIER_ZERO: zero_free(p, op); break;
    default:
        if (!foreign_ignored(p, op))
            large_free(p, op);
    }
}

static size_t live_size(uintptr_t p, enum ward_call op);

/* ---- on_error=continue ------------------------------------------------------
 * The calls that can find a misuse (free, realloc, malloc_usable_size, sized
 * and C++ frees) run under a recovery point: after a report of a bug that
 * left the heap as it was (double free, invalid free, overflow found at
 * free, ...), the call does nothing and returns; see report.c. */

enum { R_FREE, R_SIZED, R_REALLOC, R_USABLE };

static void *realloc_impl(void *ptr, size_t n);

static COLD __attribute__((noinline)) uintptr_t recovering(int what, void *ptr, size_t size, size_t align,
                                                           enum ward_call op)
{
    jmp_buf jb;
    void *prev = ward_recover;
    if (setjmp(jb)) {
        ward_recover = prev;
        errno = EINVAL; /* realloc: the call failed, the block is left alone */
        return 0;
    }
    ward_recover = &jb;
    uintptr_t r = 0;
    switch (what) {
    case R_FREE:
        free_with(ptr, op);
        break;
    case R_SIZED:
        ward_free_sized_checked(ptr, size, align, op);
        break;
    case R_REALLOC:
        r = (uintptr_t)realloc_impl(ptr, size);
        break;
    case R_USABLE:
        r = live_size((uintptr_t)ptr, op);
        break;
    }
    ward_recover = prev;
    return r;
}

static inline bool continuing(void) { return unlikely(G.recover) && !ward_recover; }

WARD_API void ward_free(void *ptr)
{
    uintptr_t p = (uintptr_t)ptr;
    /* A small chunk means start-up is done (the region is empty before).
     * Its free makes no system call that can fail quietly (only one that
     * fails fatally), so errno needs no saving there, unless trace=1 (it
     * unwinds) or on_error=continue (it needs a recovery point). */
    if (likely(in_small(p) && !(p & 15) && G.free_direct)) {
        small_free(p, CALL_FREE);
        return;
    }
    if (!ptr)
        return;
    SAVE_ERRNO;
    ward_ensure_init();
    if (continuing())
        recovering(R_FREE, ptr, 0, 0, CALL_FREE);
    else
        free_with(ptr, CALL_FREE);
    RESTORE_ERRNO;
}

/* The live request size of a pointer: ownership and header verified (free
 * verifies the canary and neighbour). */
static size_t live_size(uintptr_t p, enum ward_call op)
{
    if (unlikely(p & 15))
        bad_pointer(p, op);
    switch (tier_of(p)) {
    case TIER_SMALL: return small_live(p, op);
    case TIER_MEDIUM: return medium_live(p, op);
    case TIER_SAMPLED: return sample_live(p, op);
    case TIER_ZERO: return zero_live(p, op);
    default: return large_live(p, op);
    }
}

WARD_API void *ward_calloc(size_t a, size_t b)
{
    size_t n;
    if (__builtin_mul_overflow(a, b, &n)) {
        errno = ENOMEM;
        return NULL;
    }
    return alloc(n, true);
}

WARD_API void *ward_realloc(void *ptr, size_t n)
{
    if (!ptr)
        return ward_malloc(n);
    if (n == 0) { /* glibc: frees, returns NULL */
        ward_free(ptr);
        return NULL;
    }
    ward_ensure_init();
    if (continuing())
        return (void *)recovering(R_REALLOC, ptr, n, 0, CALL_REALLOC);
    return realloc_impl(ptr, n);
}

static void *realloc_impl(void *ptr, size_t n)
{
    uintptr_t p = (uintptr_t)ptr;
    if (unlikely(!in_heap(p)) && foreign_ignored(p, CALL_REALLOC)) {
        /* its size is unknown, so it cannot be moved: the caller keeps it */
        errno = ENOMEM;
        return NULL;
    }
    if (unlikely(p & 15))
        bad_pointer(p, CALL_REALLOC);
    size_t old;
    void *q;
    /* each tier verifies the chunk (header, canary, neighbour) first */
    switch (tier_of(p)) {
    case TIER_SMALL: q = small_realloc(p, n, &old); break;
    case TIER_MEDIUM: q = medium_realloc(p, n, &old); break;
    case TIER_SAMPLED: q = NULL, old = sample_live(p, CALL_REALLOC); break; /* always moves */
    case TIER_ZERO: q = NULL, old = zero_live(p, CALL_REALLOC); break;
    default: q = large_realloc(p, n, &old) ? ptr : NULL;
    }
    if (q)
        return q;
    if (!size_ok(n, ALIGN)) {
        errno = ENOMEM;
        return NULL;
    }
    q = ward_malloc(n);
    if (!q)
        return NULL; /* the old block is left as it was */
    memcpy(q, ptr, old < n ? old : n);
    SAVE_ERRNO;
    free_with(ptr, CALL_REALLOC);
    RESTORE_ERRNO;
    return q;
}

WARD_API void *ward_reallocarray(void *ptr, size_t a, size_t b)
{
    size_t n;
    if (__builtin_mul_overflow(a, b, &n)) {
        errno = ENOMEM;
        return NULL;
    }
    return ward_realloc(ptr, n);
}

static inline bool pow2(size_t a) { return a && !(a & (a - 1)); }

WARD_API int ward_posix_memalign(void **memptr, size_t align, size_t n)
{
    if (!pow2(align) || align % sizeof(void *))
        return EINVAL;
    int e = errno;
    void *p = aligned(align, n);
    if (!p) {
        errno = e;
        return ENOMEM;
    }
    *memptr = p;
    return 0;
}

WARD_API void *ward_aligned_alloc(size_t align, size_t n)
{
    if (!pow2(align)) {
        errno = EINVAL;
        return NULL;
    }
    return aligned(align, n);
}

WARD_API void *ward_memalign(size_t align, size_t n)
{
    return ward_aligned_alloc(align, n);
}

WARD_API void *ward_valloc(size_t n)
{
    ward_ensure_init();
    return aligned(G.page, n);
}

WARD_API void *ward_pvalloc(size_t n)
{
    ward_ensure_init();
    size_t r;
    if (__builtin_add_overflow(n, G.page - 1, &r)) {
        errno = ENOMEM;
        return NULL;
    }
    r &= ~(G.page - 1);
    return aligned(G.page, r ? r : G.page);
}

WARD_API size_t ward_malloc_usable_size(void *ptr)
{
    if (!ptr)
        return 0;
    ward_ensure_init();
    if (foreign_ignored((uintptr_t)ptr, CALL_MALLOC_USABLE_SIZE))
        return 0;
    if (continuing())
        return recovering(R_USABLE, ptr, 0, 0, CALL_MALLOC_USABLE_SIZE);
    return live_size((uintptr_t)ptr, CALL_MALLOC_USABLE_SIZE);
}

/* C++'s sized and aligned operator delete ("operator delete...") or C23's
 * free_sized / free_aligned_sized: the report names the call's figure and
 * the chunk's. */
static COLD _Noreturn void size_mismatch(void *ptr, enum ward_call op, size_t given, size_t real)
{
    ward_fatal(ward_calls[op].deletes ? BUG_SIZED_DELETE_MISMATCH : BUG_SIZED_FREE_MISMATCH, op, ptr,
               tier_of((uintptr_t)ptr), 0, "size %zu given, but the chunk holds %zu requested bytes",
               given, real);
}

static COLD _Noreturn void align_mismatch(void *ptr, enum ward_call op, size_t align)
{
    uintptr_t p = (uintptr_t)ptr;
    enum ward_bug bug = ward_calls[op].deletes ? BUG_ALIGNED_DELETE_MISMATCH : BUG_ALIGNED_FREE_MISMATCH;
    if (!pow2(align))
        ward_fatal(bug, op, ptr, TIER_NONE, 0, "alignment %zu given: not a power of two", align);
    ward_fatal(bug, op, ptr, TIER_NONE, 0, "alignment %zu given, but the pointer is only %zu-byte aligned",
               align, (size_t)(p & -p));
}

void ward_free_checked(void *ptr, enum ward_call op)
{
    ward_ensure_init();
    if (continuing())
        recovering(R_FREE, ptr, 0, 0, op);
    else
        free_with(ptr, op);
}

/* A free that states the size (SIZE_MAX: not stated) and alignment (0: not
 * stated) the caller believes the block has: a mismatch is a report. */
void ward_free_sized_checked(void *ptr, size_t size, size_t align, enum ward_call op)
{
    ward_ensure_init();
    if (foreign_ignored((uintptr_t)ptr, op))
        return;
    if (continuing()) {
        recovering(R_SIZED, ptr, size, align, op);
        return;
    }
    if (align && (!pow2(align) || ((uintptr_t)ptr & (align - 1))))
        align_mismatch(ptr, op, align);
    if (size != SIZE_MAX) {
        size_t real = live_size((uintptr_t)ptr, op);
        if (size != real)
            size_mismatch(ptr, op, size, real);
    }
    free_with(ptr, op);
}

WARD_API void ward_free_sized(void *ptr, size_t size)
{
    if (!ptr)
        return;
    SAVE_ERRNO;
    ward_free_sized_checked(ptr, size, 0, CALL_FREE_SIZED);
    RESTORE_ERRNO;
}

WARD_API void ward_free_aligned_sized(void *ptr, size_t align, size_t size)
{
    if (!ptr)
        return;
    SAVE_ERRNO;
    ward_free_sized_checked(ptr, size, align, CALL_FREE_ALIGNED_SIZED);
    RESTORE_ERRNO;
}

/* ---- introspection ------------------------------------------------------- */

WARD_API int ward_check_heap(void)
{
    ward_ensure_init();
    if (G.guard0 != ~G.guard1)
        ward_fatal(BUG_STATE_CORRUPTED, CALL_CHECK_HEAP, &ward_g, TIER_NONE, 0,
                   "ward's read-only state was changed");
    for (size_t i = 0; i < NTIERS; i++)
        if (tiers[i]->check)
            tiers[i]->check();
    return 0;
}

WARD_API void ward_get_stats(struct ward_stats *s)
{
    ward_ensure_init();
    memset(s, 0, sizeof *s);
    for (size_t i = 0; i < NTIERS; i++)
        if (tiers[i]->stats)
            tiers[i]->stats(s);
    s->quarantined = ward_quarantined_bytes();
}

WARD_API size_t ward_live_chunks(size_t *bytes)
{
    ward_ensure_init();
    size_t n = 0, b = 0;
    for (size_t i = 0; i < NTIERS; i++)
        tiers[i]->count_live(&n, &b);
    if (bytes)
        *bytes = b;
    return n;
}

WARD_API int ward_malloc_trim(size_t pad)
{
    (void)pad;
    ward_ensure_init();
    SAVE_ERRNO;
    struct tcache *tc = tcache_get();
    if (tc) {
        quarantine_drain(tc);
        small_drain_cache(tc);
    }
    thread_trim();
    size_t r = 0;
    for (size_t i = 0; i < NTIERS; i++)
        if (tiers[i]->trim)
            r += tiers[i]->trim();
    RESTORE_ERRNO;
    return r != 0;
}

static size_t clamp_int(size_t v) { return v > 0x7fffffff ? 0x7fffffff : v; }

WARD_API struct mallinfo2 ward_mallinfo2(void)
{
    struct ward_stats s;
    ward_get_stats(&s);
    struct mallinfo2 m = {0};
    m.arena = s.mapped - s.large_bytes;
    m.ordblks = s.medium_free_chunks;
    m.hblks = s.large_count;
    m.hblkhd = s.large_bytes;
    m.uordblks = s.in_use;
    m.fordblks = s.free_bytes;
    m.keepcost = s.releasable;
    return m;
}

WARD_API struct mallinfo ward_mallinfo(void)
{
    struct mallinfo2 m2 = ward_mallinfo2();
    struct mallinfo m = {0};
    m.arena = (int)clamp_int(m2.arena);
    m.ordblks = (int)clamp_int(m2.ordblks);
    m.hblks = (int)clamp_int(m2.hblks);
    m.hblkhd = (int)clamp_int(m2.hblkhd);
    m.uordblks = (int)clamp_int(m2.uordblks);
    m.fordblks = (int)clamp_int(m2.fordblks);
    m.keepcost = (int)clamp_int(m2.keepcost);
    return m;
}

WARD_API void ward_malloc_stats(void)
{
    struct ward_stats s;
    ward_get_stats(&s);
    ward_printf("ward heap:\nsystem bytes     = %zu\nin use bytes     = %zu\nfree bytes       = %zu\n"
                "quarantined      = %zu\nreleasable       = %zu\nlarge mappings   = %zu (%zu bytes)\n",
                s.mapped, s.in_use + s.large_bytes, s.free_bytes, s.quarantined, s.releasable,
                s.large_count, s.large_bytes);
}

WARD_API int ward_malloc_info(int options, FILE *fp)
{
    if (options != 0) {
        errno = EINVAL;
        return -1;
    }
    struct ward_stats s;
    ward_get_stats(&s); /* before any stdio call, which may itself allocate */
    fprintf(fp,
            "<malloc version=\"ward-1\">\n"
            "<total type=\"mapped\" size=\"%zu\"/>\n<total type=\"in_use\" size=\"%zu\"/>\n"
            "<total type=\"free\" size=\"%zu\"/>\n<total type=\"quarantined\" size=\"%zu\"/>\n"
            "<total type=\"releasable\" size=\"%zu\"/>\n<total type=\"mmap\" count=\"%zu\" size=\"%zu\"/>\n"
            "</malloc>\n",
            s.mapped, s.in_use, s.free_bytes, s.quarantined, s.releasable, s.large_count, s.large_bytes);
    return 0;
}

WARD_API int ward_mallopt(int param, int value)
{
    (void)value;
    /* glibc's tuning knobs are accepted and have no effect: ward is tuned
     * through WARD_OPTIONS. */
    switch (param) {
    case M_MXFAST: case M_TRIM_THRESHOLD: case M_TOP_PAD: case M_MMAP_THRESHOLD:
    case M_MMAP_MAX: case M_CHECK_ACTION: case M_PERTURB: case M_ARENA_TEST: case M_ARENA_MAX:
        return 1;
    default:
        return 0;
    }
}

/* ---- the C library's names --------------------------------------------- */
#ifdef WARD_EXPORT_LIBC
#define EXPORT(name, target) extern __typeof(target) name WARD_API __attribute__((alias(#target)))
EXPORT(malloc, ward_malloc);
EXPORT(free, ward_free);
EXPORT(calloc, ward_calloc);
EXPORT(realloc, ward_realloc);
EXPORT(reallocarray, ward_reallocarray);
EXPORT(posix_memalign, ward_posix_memalign);
EXPORT(aligned_alloc, ward_aligned_alloc);
EXPORT(memalign, ward_memalign);
EXPORT(valloc, ward_valloc);
EXPORT(pvalloc, ward_pvalloc);
EXPORT(malloc_usable_size, ward_malloc_usable_size);
EXPORT(free_sized, ward_free_sized);
EXPORT(free_aligned_sized, ward_free_aligned_sized);
EXPORT(malloc_trim, ward_malloc_trim);
EXPORT(mallinfo, ward_mallinfo);
EXPORT(mallinfo2, ward_mallinfo2);
EXPORT(malloc_stats, ward_malloc_stats);
EXPORT(malloc_info, ward_malloc_info);
EXPORT(mallopt, ward_mallopt);
EXPORT(cfree, ward_free);
/* glibc's own names for its allocator (nm -D libc.so.6, glibc 2.36): a
 * program or a wrapping library that calls these directly must reach ward
 * too, or its blocks would live in glibc's heap and their free through
 * free() would be a foreign pointer.  glibc 2.36 has no __posix_memalign and
 * no malloc_get_state / malloc_set_state any more. */
EXPORT(__libc_malloc, ward_malloc);
EXPORT(__libc_free, ward_free);
EXPORT(__libc_calloc, ward_calloc);
EXPORT(__libc_realloc, ward_realloc);
EXPORT(__libc_reallocarray, ward_reallocarray);
EXPORT(__libc_memalign, ward_memalign);
EXPORT(__libc_valloc, ward_valloc);
EXPORT(__libc_pvalloc, ward_pvalloc);
EXPORT(__libc_mallinfo, ward_mallinfo);
EXPORT(__libc_mallopt, ward_mallopt);
#endif

WARD_API void ward_set_report_callback(void (*fn)(const struct ward_report *, void *), void *arg)
{
    static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    ward_ensure_init();
    pthread_mutex_lock(&lock);
    os_commit(&ward_g, sizeof ward_g);
    G.report_fn = fn;
    G.report_arg = arg;
    os_protect_ro(&ward_g, sizeof ward_g);
    pthread_mutex_unlock(&lock);
}
