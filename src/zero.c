/* zero.c: malloc(0).  Each malloc(0) (and calloc of zero bytes) gets an
 * address of its own in a region that is never accessible, so any read or
 * write through it faults at once (the fault handler reports it), as in
 * OpenBSD's malloc and hardened_malloc.  Which addresses are handed out is
 * kept outside the region, in a live bitmap (and a freed one, to tell a
 * double free from an invalid one); both change in one atomic step.
 * Addresses are handed out round the region in order, so a freed one comes
 * back only after all the others: a double free is a report until then. */
#include "state.h"
#include "report.h"
#include "os.h"
#include "tier.h"

#define ZERO_SLOTS (1u << 22) /* addresses 16 bytes apart: 64 MiB, never accessible */

static struct {
    uint64_t *live;  /* 1 bit an address: handed out, not freed */
    uint64_t *freed; /* 1 bit an address: freed since it was last handed out */
    uint64_t next;   /* the next address to try, counted round the region */
} zero;

/* The region has a page on each side that is never handed out: an
 * underflow from the first address or an overflow from the last one
 * faults in ward's memory too. */
void zero_init(void)
{
    size_t bytes = ZERO_SLOTS / 8, span = ZERO_SLOTS * 16ull + 2 * G.page;
    char *region = os_reserve(span);
    uint64_t *bits = region ? os_map(2 * bytes) : NULL;
    if (!bits) {
        /* under a tight RLIMIT_AS (start-up comes at the first allocation,
         * which may follow a setrlimit): malloc(0) takes a real chunk */
        if (region)
            os_unmap(region, span);
        return;
    }
    os_name(region, span, "ward malloc(0)");
    os_name(bits, 2 * bytes, "ward malloc(0) bitmaps");
    zero.live = bits;
    zero.freed = bits + bytes / 8;
    G.zero_lo = (uintptr_t)region + G.page;
    G.zero_hi = G.zero_lo + ZERO_SLOTS * 16ull;
}

static inline uint64_t bit_of(size_t i) { return 1ull << (i % 64); }

/* NULL when the region is full (the caller falls back to a real chunk) */
void *zero_alloc(void)
{
    if (!zero.live)
        return NULL;
    for (int tries = 0; tries < 64; tries++) {
        size_t i = __atomic_fetch_add(&zero.next, 1, __ATOMIC_RELAXED) % ZERO_SLOTS;
        if (!(__atomic_fetch_or(&zero.live[i / 64], bit_of(i), __ATOMIC_ACQ_REL) & bit_of(i))) {
            __atomic_fetch_and(&zero.freed[i / 64], ~bit_of(i), __ATOMIC_RELAXED);
            return (void *)(G.zero_lo + i * 16);
        }
    }
    return NULL;
}

static COLD _Noreturn void not_live(uintptr_t p, enum ward_call op, size_t i)
{
    if (__atomic_load_n(&zero.freed[i / 64], __ATOMIC_ACQUIRE) & bit_of(i))
        ward_fatal(freed_class(op), op, (void *)p, TIER_ZERO, 0, "a 0-byte block (malloc(0)) already freed");
    ward_fatal(invalid_class(op), op, (void *)p, TIER_ZERO, 0,
               "pointer into ward's malloc(0) region that ward never handed out");
}

void zero_free(uintptr_t p, enum ward_call op)
{
    size_t i = (p - G.zero_lo) / 16;
    if (unlikely(!(__atomic_fetch_and(&zero.live[i / 64], ~bit_of(i), __ATOMIC_ACQ_REL) & bit_of(i))))
        not_live(p, op, i);
    __atomic_fetch_or(&zero.freed[i / 64], bit_of(i), __ATOMIC_RELEASE);
}

size_t zero_live(uintptr_t p, enum ward_call op)
{
    size_t i = (p - G.zero_lo) / 16;
    if (unlikely(!(__atomic_load_n(&zero.live[i / 64], __ATOMIC_ACQUIRE) & bit_of(i))))
        not_live(p, op, i);
    return 0;
}

static inline bool zero_bit(const uint64_t *map, uintptr_t p)
{
    size_t i = (p - G.zero_lo) / 16;
    return p >= G.zero_lo && p < G.zero_hi && (__atomic_load_n(&map[i / 64], __ATOMIC_ACQUIRE) & bit_of(i));
}

/* A fault in the region or its guard pages (fault.c): every access there
 * is a bug.  A 0-byte block has no bytes: an access exactly at a freed
 * block's address is a use (or write) after free; any other is a heap
 * buffer overflow, past the block at or before the address, or before
 * the next one (an underflow), whichever is live. */
void zero_fault(uintptr_t a, bool write, uintptr_t pc)
{
    uintptr_t s = a & ~(uintptr_t)15, p = s;
    enum ward_bug bug = BUG_HEAP_BUFFER_OVERFLOW;
    if (a == s && !zero_bit(zero.live, s) && zero_bit(zero.freed, s))
        bug = write ? BUG_WRITE_AFTER_FREE : BUG_USE_AFTER_FREE;
    else if (!zero_bit(zero.live, s) && zero_bit(zero.live, s + 16))
        p = s + 16;
    if (p < G.zero_lo)
        p = G.zero_lo;
    if (p >= G.zero_hi)
        p = G.zero_hi - 16;
    uintptr_t pcs[64];
    struct ward_fault_stacks st = {.access = fault_access_stack(pcs, 64, pc)};
    ward_fatal_fault(bug, (void *)p, TIER_ZERO, 0, &st, "%s at %p, %ld bytes from a %s0-byte block (malloc(0))",
                     write ? "write" : "read", (void *)a, (long)(a - p),
                     zero_bit(zero.live, p) ? "" : zero_bit(zero.freed, p) ? "freed " : "");
}

static void zero_count_live(size_t *count, size_t *bytes)
{
    (void)bytes; /* 0 each */
    for (size_t w = 0; w < ZERO_SLOTS / 64; w++)
        if (__atomic_load_n(&zero.live[w], __ATOMIC_RELAXED))
            *count += (size_t)__builtin_popcountll(__atomic_load_n(&zero.live[w], __ATOMIC_RELAXED));
}

/* leaks=1: the live bits; a 0-byte block holds nothing to scan */
static void zero_for_each_live(void (*fn)(void *, uintptr_t, size_t, int), void *ctx)
{
    for (size_t w = 0; w < ZERO_SLOTS / 64; w++)
        for (uint64_t bits = __atomic_load_n(&zero.live[w], __ATOMIC_RELAXED); bits; bits &= bits - 1)
            fn(ctx, G.zero_lo + (w * 64 + (size_t)__builtin_ctzll(bits)) * 16, 0, TIER_ZERO);
}

#ifdef WARD_TESTING
static void zero_testing_reset(void)
{
    memset(zero.live, 0, ZERO_SLOTS / 8);
    memset(zero.freed, 0, ZERO_SLOTS / 8);
    zero.next = 0;
}
#endif

const struct tier_ops zero_tier = {
    .check = NULL, /* nothing in-band to verify: the bitmaps are the whole state */
    .stats = NULL, /* no bytes: in_use and mapped stay as they are */
    .count_live = zero_count_live,
    .for_each_live = zero_for_each_live,
    .trim = NULL,         /* nothing to give back */
    .lock_all = NULL,     /* no locks: every change is atomic */
    .unlock_all = NULL,
    .reinit_locks = NULL,
    TIER_TESTING_RESET(zero_testing_reset)
};
