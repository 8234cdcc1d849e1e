/* small.c: requests up to SMALL_MAX bytes, in size classes.  Each class owns a
 * contiguous region of the reservation, cut into slots of one size; slabs are
 * runs of slots whose free/used state lives in bitmaps out of band (nothing
 * about the free slots is stored inside the heap).  Threads take slots in
 * batches into their cache; a slab hands out its slots in random order. */
#include "state.h"
#include "report.h"
#include "os.h"
#include "chunk.h"
#include "thread.h"
#include "quarantine.h"
#include "trace.h"
#include "tier.h"

#include <errno.h>

struct slab {
    uint64_t bits[SLAB_WORDS]; /* 1: slot is out of the slab (cached, live or quarantined) */
    uint32_t nfree;
    uint32_t next, prev;       /* partial list (or released list: next only), index + 1 */
    uint8_t in_partial;
    uint8_t released;          /* pages given back, headers read as zero */
};

struct sclass {
    /* read on every malloc and free, by every thread: written only at
     * start-up or, rarely, when a slab is made; one cache line */
    uintptr_t base;
    uint64_t recip;            /* divides by slot without a div instruction */
    size_t used;               /* bytes of slots in the slabs made so far */
    size_t committed;
    uint64_t free_meta;        /* the header fields of a FREE slot */
    uint64_t quar_meta;        /* ... of a QUAR one (quarantined, or cached since) */
    uint64_t alloc_meta;       /* ... of a live slot, its unused bytes left out */
    uint32_t slot;
    bool quarantined;          /* freed chunks go through the quarantine (options) */
    /* read when slots move between slabs and caches, and (live) on every
     * malloc and free */
    struct slab *slabs __attribute__((aligned(64))); /* slab 0's record: see slab_at */
    uint8_t *live;             /* a byte per slot: 1 while handed out */
    uint32_t per_slab;
    uint32_t max_slabs;
    uint32_t xfer_cap;         /* chunks the class's shared cache holds at most */
    /* written under the lock, on its own cache line */
    pthread_mutex_t lock __attribute__((aligned(64)));
    uint32_t nslabs;           /* slabs made so far */
    uint32_t partial;          /* head of the partial list, index + 1 */
    uint32_t rel;              /* head of the list of released slabs, index + 1 */
    uint32_t empty;            /* slabs with every slot free, pages not released */
    size_t out;                /* slots out of their slabs */
    uint32_t nxfer;            /* chunks in the class's shared cache (xfer) */
} __attribute__((aligned(256))); /* a power of two: &classes[i] is a shift */
_Static_assert(sizeof(struct sclass) == 256, "a class is four cache lines");

#define META_NO_UNUSED ((1ull << 40) - 1)

static struct sclass classes[NCLASSES];

/* Slab si's record.  The records of every class's slab si sit side by side
 * (a row of NCLASSES), so the first slabs of all classes share a few pages
 * of metadata instead of touching a page a class: a program that uses 26
 * classes faults 3 pages of records in, not 26. */
static inline struct slab *slab_at(const struct sclass *k, size_t si) { return k->slabs + si * NCLASSES; }

/* Each class's shared cache (under the class lock): batches of freed chunks
 * that a thread's full cache passed on as they were (FREE or QUAR, zero,
 * not verified yet), taken by the next refill of any thread before a slab's
 * slots.  A chunk passes from the thread that frees it to the one that
 * allocates it without going back to its slab and out again; like a
 * thread's cache, it is verified when handed out (small_alloc), or when it
 * goes back to its slab (malloc_trim), or at exit (exit_check), and
 * ward_check_heap sees it as a free chunk out of its slab.  At most
 * XFER_BYTES of chunks a class. */
#define XFER_MAX 256
#define XFER_BYTES (64u * 1024)
static uintptr_t xfer[NCLASSES][XFER_MAX];

static const uint32_t slot_sizes[NCLASSES] = {
    32,  48,  64,  80,  96,  112, 128, 144, 160, 176, 192, 208, 224, 240, 256, 288,
    320, 352, 384, 416, 448, 480, 512, 576, 640, 704, 768, 832, 896, 960, 1024, 1040,
};


static uint32_t slots_per_slab(unsigned c)
{
    uint32_t per = SLAB_BYTES / slot_sizes[c];
    return per > SLAB_MAX_SLOTS ? SLAB_MAX_SLOTS : per;
}

static uint32_t max_slabs_of(unsigned c) { return (uint32_t)(G.class_region / ((size_t)slots_per_slab(c) * slot_sizes[c])); }

/* Bytes of class c's live bytes: one per slot. */
static size_t class_live_bytes(unsigned c)
{
    return ((size_t)max_slabs_of(c) * slots_per_slab(c) + G.page - 1) & ~(G.page - 1);
}

void small_init(void)
{
    small_paths_init();
    for (unsigned c = 0, need = 0; need <= SMALL_SLOT_MAX / 16; need++) {
        while (slot_sizes[c] < need * 16)
            c++;
        G.class_of16[need] = (uint8_t)c;
    }
    for (unsigned c = 1; c < NCLASSES; c++)
        if (slot_sizes[c] - slot_sizes[c - 1] > CANARY_MAX || slot_sizes[0] - HDR > CANARY_MAX)
            ward_die("size classes too far apart for the small canary");
    /* every class's metadata in one mapping away from the slots (one
     * system call, not two a class): the slab records, a row of NCLASSES
     * per slab index (slab_at), then each class's live bytes; pages are
     * touched only as slabs are made */
    size_t rows = 0;
    for (unsigned c = 0; c < NCLASSES; c++)
        if (max_slabs_of(c) > rows)
            rows = max_slabs_of(c);
    size_t rec_bytes = (rows * NCLASSES * sizeof(struct slab) + G.page - 1) & ~(G.page - 1), meta_total = rec_bytes;
    for (unsigned c = 0; c < NCLASSES; c++)
        meta_total += class_live_bytes(c);
    char *meta = os_map_sparse(meta_total);
    if (!meta)
        ward_die("cannot reserve slab metadata");
    os_name(meta, meta_total, "ward slab metadata");
    struct slab *records = (struct slab *)(void *)meta;
    meta += rec_bytes;
    for (unsigned c = 0; c < NCLASSES; c++) {
        struct sclass *k = &classes[c];
        uint32_t per = slots_per_slab(c);
        G.slot_size[c] = slot_sizes[c];
        pthread_mutex_init(&k->lock, NULL);
        k->base = G.small_base + c * G.class_region;
        k->slot = slot_sizes[c];
        k->recip = UINT64_MAX / k->slot + 1;
        k->free_meta = meta_pack(k->slot, 0, ST_FREE);
        k->quar_meta = meta_pack(k->slot, 0, ST_QUAR);
        k->quarantined = G.opt.quarantine_bytes && (long)(k->slot - HDR) <= G.opt.quarantine_max_chunk;
        k->alloc_meta = meta_pack(k->slot, 0, ST_ALLOC);
        k->per_slab = per;
        uint32_t cap = XFER_BYTES / k->slot;
        k->xfer_cap = (cap < XFER_MAX ? cap : XFER_MAX) & ~(uint32_t)(TC_BATCH - 1);
        k->max_slabs = max_slabs_of(c);
        k->slabs = records + c;
        k->live = (uint8_t *)meta;
        meta += class_live_bytes(c);
    }
}

/* ---- the canary of a small chunk ---------------------------------------
 * Every class is at most CANARY_MAX bytes bigger than the one before
 * (small_init checks), so the slack is shorter than CANARY_MAX and the
 * canary (chunk.h) runs to the body's end, which is 16-byte aligned like
 * the chunk: it is written and compared 16 bytes at a time, the block shared
 * with the request's last bytes through a mask.  The bytes are canary_write's
 * (canary_ok verifies either). */
typedef uint64_t v2w __attribute__((vector_size(16), may_alias));
static const unsigned char keep_bytes[32] __attribute__((aligned(16))) = {
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
};
/* 0xff for the r bytes of a 16-byte block that precede the canary */
static inline v2w keep_mask(size_t r)
{
    v2w m;
    memcpy(&m, keep_bytes + 16 - r, sizeof m);
    return m;
}

static inline void small_canary_write(const struct ward_keys *K, uintptr_t p, size_t req, size_t body, bool canary,
                                      bool sip)
{
    if (!canary || req == body)
        return;
    uint64_t pat = canary_pattern_with(K, p, sip);
    v2w vp = {pat, pat};
    v2w *w = (v2w *)(p + (req & ~(size_t)15)), *e = (v2w *)(p + body);
    if (req & 15) {
        v2w keep = keep_mask(req & 15);
        *w = (*w & keep) | (vp & ~keep);
        w++;
    }
    for (; w < e; w++)
        *w = vp;
}

static inline bool small_canary_ok(const struct ward_keys *K, uintptr_t p, size_t req, size_t body, bool canary,
                                   bool sip)
{
    if (!canary || req == body)
        return true;
    uint64_t pat = canary_pattern_with(K, p, sip);
    v2w vp = {pat, pat}, diff = {0, 0};
    const v2w *w = (const v2w *)(p + (req & ~(size_t)15)), *e = (const v2w *)(p + body);
    if (req & 15) {
        diff = (*w ^ vp) & ~keep_mask(req & 15);
        w++;
    }
    for (; w < e; w++)
        diff |= *w ^ vp;
    return (diff[0] | diff[1]) == 0;
}

static inline struct sclass *class_of_ptr(uintptr_t p)
{
    return &classes[(p - G.small_base) >> G.class_shift];
}

/* Division and remainder by the slot size, exact for offsets below 2^32
 * (Lemire's fastdiv): a class region is at most 2 GiB. */
_Static_assert((2ull << 30) <= (1ull << 32), "class offsets fit 32 bits");
static inline size_t slot_div(const struct sclass *k, uint64_t off)
{
    return (size_t)(((__uint128_t)k->recip * off) >> 64);
}
static inline size_t slot_mod(const struct sclass *k, uint64_t off)
{
    uint64_t low = k->recip * off;
    return (size_t)(((__uint128_t)low * k->slot) >> 64);
}

static inline bool slot_out(struct sclass *k, size_t idx)
{
    struct slab *s = slab_at(k, idx / k->per_slab);
    size_t b = idx % k->per_slab;
    return (__atomic_load_n(&s->bits[b / 64], __ATOMIC_ACQUIRE) >> (b % 64)) & 1;
}

/* The live byte of slot idx is the truth about a handed-out chunk: its
 * low two bits are 1 from the malloc that hands it out to the free that
 * takes it back, 2 after that, 0 while the slot was never handed out.  Only
 * the call that holds the chunk's header busy changes it (malloc, whose
 * chunk no one else can reach, and free or realloc after hdr_claim; the
 * class lock's holder for a slot in its slab), and the header is busy
 * whenever the two disagree; a byte of its own needs no locked
 * instruction.  The header is the seal over it: a header written back
 * from the chunk's live days verifies, but its slot is not live.  The
 * byte's upper six bits are the slot's epoch (chunk.h's key ring: which
 * entry keyed its header and canary), always 0 in a process that never
 * forked: the byte a malloc or free writes anyway carries it, so a forked
 * child touches no page of its own for it. */
enum { SLOT_FRESH = 0, SLOT_LIVE = 1, SLOT_FREED = 2, SLOT_STATE = 3 }; /* the live byte's low bits */
static inline uint8_t live_byte(const struct sclass *k, size_t idx)
{
    return __atomic_load_n(&k->live[idx], __ATOMIC_ACQUIRE) & SLOT_STATE;
}
static inline bool live_get(const struct sclass *k, size_t idx) { return live_byte(k, idx) == SLOT_LIVE; }
/* (marks the slot with this process's epoch too: keys_stamp's store) */
static inline void live_set(struct sclass *k, size_t idx, bool live)
{
    __atomic_store_n(&k->live[idx], (uint8_t)((live ? SLOT_LIVE : SLOT_FREED) | G.epoch << EPOCH_SHIFT),
                     __ATOMIC_RELEASE);
}
static inline size_t slot_index(const struct sclass *k, uintptr_t chunk) { return slot_div(k, chunk - k->base); }

/* The slot's epoch byte, its live byte (chunk.h's key ring): NULL before
 * the process forked, and for a slot past the slabs the class can make
 * (where only a primed header lies, always keyed with entry 0's keys). */
static inline uint8_t *slot_ep(const struct sclass *k, size_t idx)
{
    return G.epoch && idx < (size_t)k->max_slabs * k->per_slab ? &k->live[idx] : NULL;
}

/* The partial list (slabs with a free slot, pages resident) is doubly
 * linked, so an emptied slab can leave it for the released list. */
static void partial_push(struct sclass *k, uint32_t si)
{
    struct slab *s = slab_at(k, si);
    s->in_partial = 1;
    s->prev = 0;
    s->next = k->partial;
    if (k->partial)
        slab_at(k, k->partial - 1)->prev = si + 1;
    k->partial = si + 1;
}

static void partial_remove(struct sclass *k, uint32_t si)
{
    struct slab *s = slab_at(k, si);
    if (s->prev)
        slab_at(k, s->prev - 1)->next = s->next;
    else
        k->partial = s->next;
    if (s->next)
        slab_at(k, s->next - 1)->prev = s->prev;
    s->in_partial = 0;
}

/* A never-used slot's all-zero header, in committed memory, gets a real
 * FREE one: an overflow of zero bytes from the slot before it (a C
 * string's NUL) then shows.  Lock held. */
static void prime(struct sclass *k, uintptr_t chunk)
{
    if (chunk + HDR > k->base + k->committed)
        return;
    /* A slot never handed out has a blank header or the one an earlier
     * prime gave it: written again without a look, so that its page, when
     * never touched, is not read in only to be written (two faults). */
    size_t idx = slot_index(k, chunk);
    bool fresh = idx >= (size_t)k->nslabs * k->per_slab || /* past the slabs made so far */
                 (live_byte(k, idx) == SLOT_FRESH && !slot_out(k, idx));
    if (fresh || hdr_blank(chunk))
        hdr_store(chunk, k->slot, 0, ST_FREE, slot_ep(k, idx));
}

/* The first header of slab si while the slot before it (the last of slab
 * si - 1) is out: slab_take primes it when it hands that slot out; this
 * primes it again where its memory turns zero under that live chunk:
 * committed by slab_new, given back by slab_release.  Lock held. */
static void prime_first(struct sclass *k, uint32_t si)
{
    if (si > 0 && slot_out(k, (size_t)si * k->per_slab - 1))
        prime(k, k->base + (size_t)si * k->per_slab * k->slot);
}

/* Gives an empty slab's whole pages back to the OS (its headers then read
 * as zero) and moves it to the released list; lock held. */
static size_t slab_release(struct sclass *k, uint32_t si)
{
    struct slab *s = slab_at(k, si);
    uintptr_t lo = k->base + (size_t)si * k->per_slab * k->slot;
    uintptr_t hi = lo + (size_t)k->per_slab * k->slot;
    lo = (lo + G.page - 1) & ~(G.page - 1);
    hi &= ~(G.page - 1);
    if (s->in_partial)
        partial_remove(k, si);
    s->released = 1;
    s->next = k->rel;
    k->rel = si + 1;
    if (hi <= lo)
        return 0;
    os_release((void *)lo, hi - lo);
    prime_first(k, si);
    return hi - lo;
}

/* Makes slab number k->nslabs; lock held. */
static bool slab_new(struct sclass *k)
{
    if (k->nslabs >= k->max_slabs)
        return false;
    size_t end = (size_t)(k->nslabs + 1) * k->per_slab * k->slot;
    if (end > k->committed) {
        size_t want = (end + COMMIT_STEP - 1) & ~(size_t)(COMMIT_STEP - 1);
        if (want > G.class_region)
            want = G.class_region;
        if (!os_commit((void *)(k->base + k->committed), want - k->committed))
            return false;
        __atomic_store_n(&k->committed, want, __ATOMIC_RELEASE);
    }
    uint32_t i = k->nslabs;
    prime_first(k, i);
    struct slab *s = slab_at(k, i);
    memset(s, 0, sizeof *s);
    /* the bits past the slab's last slot read as taken */
    uint32_t full = k->per_slab / 64;
    if (k->per_slab % 64)
        s->bits[full++] = ~0ull << (k->per_slab % 64);
    for (uint32_t w = full; w < SLAB_WORDS; w++)
        s->bits[w] = ~0ull;
    s->nfree = k->per_slab;
    partial_push(k, i);
    __atomic_store_n(&k->nslabs, i + 1, __ATOMIC_RELEASE);
    __atomic_store_n(&k->used, (size_t)(i + 1) * k->per_slab * k->slot, __ATOMIC_RELEASE);
    return true;
}

/* Takes one slot at a random position of a partial slab; lock held. */
static uintptr_t slab_take(struct sclass *k, uint64_t r)
{
    for (;;) {
        if (!k->partial && k->rel) { /* released slabs before a new one */
            uint32_t ri = k->rel - 1;
            k->rel = slab_at(k, ri)->next;
            partial_push(k, ri);
        }
        if (!k->partial && !slab_new(k))
            return 0;
        uint32_t si = k->partial - 1;
        struct slab *s = slab_at(k, si);
        if (s->nfree == 0) { /* full: leave the list */
            partial_remove(k, si);
            continue;
        }
        if (s->nfree == k->per_slab && !s->released)
            k->empty--;
        uint32_t start = (uint32_t)(r % k->per_slab);
        uint32_t w = start / 64, words = (k->per_slab + 63) / 64;
        uint64_t m = ~s->bits[w] & (~0ull << (start % 64));
        for (uint32_t i = 1; !m && i <= words; i++) {
            w = (w + 1) % words;
            m = ~s->bits[w];
        }
        uint32_t b = w * 64 + (uint32_t)__builtin_ctzll(m);
        size_t idx = (size_t)si * k->per_slab + b;
        uintptr_t chunk = k->base + idx * k->slot;
        /* The header before the bit, so a lock-free reader that sees the bit
         * also sees the header. */
        hdr_store(chunk, k->slot, 0, ST_FREE, slot_ep(k, idx));
        __atomic_store_n(&s->bits[w], s->bits[w] | (1ull << (b % 64)), __ATOMIC_RELEASE);
        s->nfree--;
        s->released = 0;
        k->out++;
        /* A never-used neighbour has an all-zero header, which an overflow
         * of zero bytes (a C string's NUL) would leave unchanged: give it a
         * real one, so that overflow shows. */
        prime(k, chunk + k->slot);
        if (s->nfree == 0)
            partial_remove(k, si);
        return chunk;
    }
}

/* Gives one slot back to its slab; lock held.  Its header stays a valid
 * FREE or QUAR header and its memory is zero (or the slab is released). */
static void slab_put(struct sclass *k, uintptr_t chunk)
{
    size_t idx = slot_div(k, chunk - k->base);
    uint32_t si = (uint32_t)(idx / k->per_slab), b = (uint32_t)(idx % k->per_slab);
    struct slab *s = slab_at(k, si);
    if (!((s->bits[b / 64] >> (b % 64)) & 1))
        ward_fatal(BUG_STATE_CORRUPTED, CALL_FREE, (void *)(chunk + HDR), TIER_SMALL, k->slot,
                   "slot returned twice to its slab");
    __atomic_store_n(&s->bits[b / 64], s->bits[b / 64] & ~(1ull << (b % 64)), __ATOMIC_RELEASE);
    s->nfree++;
    k->out--;
    if (!s->in_partial)
        partial_push(k, si);
    /* Past SLAB_KEEP empty slabs a class gives the pages of the next one
     * back: a program's phases, each with its own sizes, then peak at the
     * largest phase rather than at the sum of every class's own peak. */
    if (s->nfree == k->per_slab) {
        if (k->empty >= SLAB_KEEP)
            slab_release(k, si);
        else
            k->empty++;
    }
}

/* A thread's cache takes TC_BATCH chunks at a time from the class's shared
 * cache, but from the slabs it starts small and doubles: a slab's slots are
 * handed out at random, so 16 slots taken for a class the thread uses twice
 * would write headers on every page of the slab (4 for most classes), and
 * a program using 30 classes would fault in 120 pages at start. */
static COLD bool refill(struct tcache *tc, unsigned cls)
{
    struct sclass *k = &classes[cls];
    uint32_t want = tc->batch[cls] ? tc->batch[cls] : 2;
    tc->batch[cls] = (uint8_t)(want < TC_BATCH ? 2 * want : TC_BATCH);
    pthread_mutex_lock(&k->lock);
    while (tc->count[cls] < TC_BATCH && k->nxfer)
        tc->slot[cls][tc->count[cls]++] = xfer[cls][--k->nxfer];
    while (tc->count[cls] < want) {
        uintptr_t c = slab_take(k, rng_next(&tc->rng));
        if (!c)
            break;
        tc->slot[cls][tc->count[cls]++] = c;
    }
    pthread_mutex_unlock(&k->lock);
    return tc->count[cls] != 0;
}

static void cached_verify(struct sclass *k, uintptr_t chunk, enum ward_call op);

/* A cached chunk on its way back to its slab: verified.  Its header stays
 * as it is (FREE, or QUAR: a slot in its slab may have either; the next
 * hand-out writes a FREE one), so the chunk's memory is only read: in a
 * forked child, which drains its caches, a write would copy the page. */
static void cached_to_free(struct sclass *k, uintptr_t chunk, enum ward_call op)
{
    cached_verify(k, chunk, op);
}

/* The oldest n chunks of a thread's cache leave it (the cache stays a stack
 * of recent frees): to the class's shared cache while it has room, when
 * `share`; otherwise back to their slabs. */
static COLD void drain(struct tcache *tc, unsigned cls, uint32_t n, bool share)
{
    struct sclass *k = &classes[cls];
    if (share) {
        pthread_mutex_lock(&k->lock);
        bool room = k->nxfer + n <= k->xfer_cap;
        if (room) {
            memcpy(&xfer[cls][k->nxfer], &tc->slot[cls][0], n * sizeof(uintptr_t));
            k->nxfer += n;
        }
        pthread_mutex_unlock(&k->lock);
        if (room)
            goto out;
    }
    /* A slot back in its slab is FREE or QUAR and zero, verified: a chunk that came
     * from the quarantine was not checked on its way into the cache (its
     * next malloc checks it), so it is checked here, before its slab can
     * give its pages back.  Their memory is cold: all of it is asked
     * for at once, so the fetches overlap. */
    for (uint32_t i = 0; i < n; i++) {
        __builtin_prefetch((void *)tc->slot[cls][i], 0);
        __builtin_prefetch((void *)(tc->slot[cls][i] + 64), 0);
    }
    for (uint32_t i = 0; i < n; i++)
        cached_to_free(k, tc->slot[cls][i], CALL_FREE);
    pthread_mutex_lock(&k->lock);
    for (uint32_t i = 0; i < n; i++)
        slab_put(k, tc->slot[cls][i]);
    pthread_mutex_unlock(&k->lock);
out:
    memmove(&tc->slot[cls][0], &tc->slot[cls][n], (tc->count[cls] - n) * sizeof(uintptr_t));
    tc->count[cls] -= n;
}

void small_drain_cache(struct tcache *tc)
{
    for (unsigned c = 0; c < NCLASSES; c++)
        if (tc->count[c])
            drain(tc, c, tc->count[c], false);
}

/* Zeroes a slot's body (free's poison): a multiple of 16 bytes, 16-byte
 * aligned.  Up to 64 bytes (most of a typical program's frees) with two or
 * four 16-byte stores, overlapping where the body is not a power of two, no
 * call; longer bodies with memset. */
static inline void slot_zero(uintptr_t p, size_t body)
{
    typedef uint64_t v2z __attribute__((vector_size(16), may_alias));
    const v2z z = {0, 0};
    if (body <= 32) {
        *(v2z *)p = z;
        *(v2z *)(p + body - 16) = z;
    } else if (body <= 64) {
        *(v2z *)p = z;
        *(v2z *)(p + 16) = z;
        *(v2z *)(p + body - 32) = z;
        *(v2z *)(p + body - 16) = z;
    } else {
        memset((void *)p, 0, body);
    }
}


/* Small slots are always poisoned whole (poison=partial matters only for
 * bigger blocks). */
static inline __attribute__((always_inline)) bool slot_clean_with(uintptr_t p, size_t body, uintptr_t *bad, bool poison,
                                                                  bool avx2)
{
    if (!poison)
        return true;
#ifdef WARD_AVX2
    if (avx2) {
        if (mem_is_zero16_avx2(p, body))
            return true;
    } else
#else
    (void)avx2;
#endif
    if (mem_is_zero16((void *)p, body))
        return true;
    *bad = p;
    while (!*(unsigned char *)*bad)
        (*bad)++;
    return false;
}
static inline bool slot_clean(uintptr_t p, size_t body, uintptr_t *bad)
{
    return slot_clean_with(p, body, bad, G.opt.poison != POISON_OFF, false);
}

/* The small tier's malloc, free and realloc are compiled three times: for
 * the build's profile (checksum=fast, stacks=0, canary and poison as
 * settings.h's WARD_PROFILE_* say), where every option they ask about is a
 * constant and every chunk is keyed with the key ring's entry 0; the same
 * for a forked child, which reads each slot's epoch byte; and reading the
 * options (and epoch bytes) as they go.  small_init picks one for all three
 * calls, and a forked child moves to the second (small_fork_child); the
 * profile's malloc has a second copy for CPUs with AVX2 (its poison check
 * reads 32 bytes a load). */
enum small_path { PATH_PROFILE, PATH_PROFILE_AVX2, PATH_FORKED, PATH_OPTIONS };
static inline bool w_sip(enum small_path w) { return w == PATH_OPTIONS && G.opt.checksum == CHECKSUM_SIPHASH; }
static inline bool w_canary(enum small_path w) { return w == PATH_OPTIONS ? G.opt.canary != 0 : WARD_PROFILE_CANARY; }
static inline bool w_poison(enum small_path w)
{
    return w == PATH_OPTIONS ? G.opt.poison != POISON_OFF : WARD_PROFILE_POISON;
}
static inline bool w_stacks(enum small_path w) { return w == PATH_OPTIONS && G.opt.stacks; }
static inline bool w_epochs(enum small_path w) { return w == PATH_FORKED || w == PATH_OPTIONS; }
static inline uint8_t *w_ep(enum small_path w, const struct sclass *k, size_t idx)
{
    return w_epochs(w) ? slot_ep(k, idx) : NULL;
}
/* The live byte on a path: the profile's run only in a process that never
 * forked, where its epoch bits are 0 (no mask, no epoch to mark). */
static inline uint8_t w_live_byte(enum small_path w, const struct sclass *k, size_t idx)
{
    return w_epochs(w) ? live_byte(k, idx) : __atomic_load_n(&k->live[idx], __ATOMIC_ACQUIRE);
}
static inline void w_live_set(enum small_path w, struct sclass *k, size_t idx, bool live)
{
    if (w_epochs(w))
        live_set(k, idx, live);
    else
        __atomic_store_n(&k->live[idx], live ? SLOT_LIVE : SLOT_FREED, __ATOMIC_RELEASE);
}

/* A chunk in a cache or a slab's free set is never live: one that is was
 * put there twice, or its slot's truth was overwritten. */
static COLD _Noreturn void handed_out_live(uintptr_t p, struct sclass *k)
{
    ward_fatal(BUG_STATE_CORRUPTED, CALL_MALLOC, (void *)p, TIER_SMALL, k->slot,
               "a free chunk about to be handed out is already live");
}

static inline __attribute__((always_inline)) void *small_alloc_with(size_t n, unsigned cls, bool zero,
                                                                     enum small_path w)
{
    struct sclass *k = &classes[cls];
    struct tcache *tc = tcache_get();
    uintptr_t chunk;
    if (likely(tc != NULL)) {
        if (unlikely(tc->count[cls] == 0) && !refill(tc, cls))
            return NULL;
        chunk = tc->slot[cls][--tc->count[cls]];
        /* The next malloc of this class verifies the next cached chunk,
         * whose memory is cold (it left the quarantine, or its slab, long
         * ago): its first line, fetched now, arrives while the caller
         * works (with an empty cache, a stale entry: a fetch never faults). */
        __builtin_prefetch((void *)tc->slot[cls][(tc->count[cls] - 1) & (TC_MAX - 1)], 0);
    } else {
        pthread_mutex_lock(&k->lock);
        chunk = slab_take(k, ward_rand_global());
        pthread_mutex_unlock(&k->lock);
        if (!chunk)
            return NULL;
    }
    uint64_t m;
    uintptr_t p = chunk + HDR, bad;
    uint8_t *ep = w_epochs(w) ? slot_ep(k, slot_index(k, chunk)) : NULL;
    /* FREE (from its slab), or QUAR (from the quarantine, through the
     * cache): both zeroed when freed, verified now, before reuse. */
    if (unlikely(!hdr_load_with(chunk, &m, ep, w_sip(w)) || (m != k->free_meta && m != k->quar_meta)))
        ward_fatal(BUG_CORRUPTED_HEADER, CALL_MALLOC, (void *)p, TIER_SMALL, k->slot,
                   "the header of a free chunk was overwritten (underflow of this chunk, or overflow of the one before)");
    /* A slot never handed out holds no freed bytes to verify (and its
     * pages, never touched, need not be read in only to be written) */
    size_t idx = slot_index(k, chunk);
    uint8_t was = w_live_byte(w, k, idx);
    if (unlikely(was == SLOT_LIVE))
        handed_out_live(p, k);
    if (unlikely(was != SLOT_FRESH && !slot_clean_with(p, k->slot - HDR, &bad, w_poison(w), w == PATH_PROFILE_AVX2)))
        ward_fatal(BUG_WRITE_AFTER_FREE, CALL_MALLOC, (void *)p, TIER_SMALL, k->slot,
                   "freed memory was written at offset %zu before it was reused", (size_t)(bad - p));
    size_t unused = k->slot - HDR - n;
    hdr_begin_with(chunk, w_sip(w));
    w_live_set(w, k, idx, true); /* (with this process's epoch: the key stamp) */
    const struct ward_keys *K = ep ? keys_now() : K0;
    /* without poison, free left the last owner's bytes: none of the n
     * handed out (malloc_usable_size's n) is one of them */
    if (!w_poison(w))
        slot_zero(p, (n + 15) & ~(size_t)15);
    (void)zero;
    small_canary_write(K, p, n, k->slot - HDR, w_canary(w), w_sip(w));
    hdr_end_with(chunk, k->alloc_meta | (uint64_t)unused << 40, K, w_sip(w));
    if (unlikely(w_stacks(w)))
        trace_alloc(chunk);
    return (void *)p;
}

static void *alloc_profile(size_t n, unsigned cls, bool zero)
{
    return small_alloc_with(n, cls, zero, PATH_PROFILE);
}
#ifdef WARD_AVX2
__attribute__((target("avx2"))) static void *alloc_profile_avx2(size_t n, unsigned cls, bool zero)
{
    return small_alloc_with(n, cls, zero, PATH_PROFILE_AVX2);
}
#endif
static void *alloc_forked(size_t n, unsigned cls, bool zero)
{
    return small_alloc_with(n, cls, zero, PATH_FORKED);
}
static void *alloc_options(size_t n, unsigned cls, bool zero)
{
    return small_alloc_with(n, cls, zero, PATH_OPTIONS);
}


/* p is not the start of a slot in a slab made so far: an invalid free (or
 * pointer).  Returns only if, looked at slowly, it is one after all. */
static COLD void not_a_slot(uintptr_t p, enum ward_call op)
{
    struct sclass *k = class_of_ptr(p);
    uintptr_t rel = p - HDR - k->base;
    if (unlikely(p - HDR < k->base))
        ward_fatal(invalid_class(op), op, (void *)p, TIER_NONE, 0,
                   "pointer into ward's small-chunk region that ward never handed out");
    size_t idx = slot_div(k, rel);
    if (unlikely(idx >= (size_t)__atomic_load_n(&k->nslabs, __ATOMIC_ACQUIRE) * k->per_slab))
        ward_fatal(invalid_class(op), op, (void *)p, TIER_NONE, 0,
                   "pointer into ward's small-chunk region that ward never handed out");
    if (unlikely(slot_mod(k, rel)))
        ward_fatal(invalid_class(op), op, (void *)p, TIER_SMALL, k->slot,
                   "interior pointer, %zu bytes into a chunk", slot_mod(k, rel) + HDR);
}

/* The slot is not live (its bit is the truth, whatever its header says):
 * freed, or never handed out. */
static COLD _Noreturn void not_live(uintptr_t p, enum ward_call op, struct sclass *k, size_t idx)
{
    uintptr_t chunk = p - HDR;
    uint64_t m;
    if (!slot_out(k, idx) && hdr_blank(chunk))
        ward_fatal(invalid_class(op), op, (void *)p, TIER_SMALL, k->slot,
                   "no chunk was ever allocated here (or it was freed and its slab given back)");
    bool quarantined = hdr_load(chunk, &m, slot_ep(k, idx)) && meta_state(m) == ST_QUAR;
    ward_fatal(freed_class(op), op, (void *)p, TIER_SMALL, k->slot,
               quarantined ? "chunk is already free (in quarantine)" : "chunk is already free");
}

/* A live slot whose header does not verify, or does not say live. */
static COLD _Noreturn void bad_live_header(uintptr_t p, enum ward_call op, struct sclass *k, int ok, uint64_t m)
{
    if (!ok)
        ward_fatal(BUG_CORRUPTED_HEADER, op, (void *)p, TIER_SMALL, k->slot,
                   "header check failed (underflow of this chunk, overflow of the one before, or a forged chunk)");
    if (meta_state(m) != ST_ALLOC)
        ward_fatal(BUG_CORRUPTED_HEADER, op, (void *)p, TIER_SMALL, k->slot, "bad state %u for a live chunk",
                   meta_state(m));
    ward_fatal(BUG_CORRUPTED_HEADER, op, (void *)p, TIER_SMALL, k->slot, "size field %zu does not match the slot",
               meta_size(m));
}

static inline bool live_meta_ok(const struct sclass *k, uint64_t m)
{
    return (m & META_NO_UNUSED) == k->alloc_meta && meta_unused(m) <= k->slot - HDR;
}

/* Puts a claimed chunk's header back as it was (not busy), keyed as it was:
 * on_error=continue then leaves the chunk alone; realloc moving it, too. */
static void unclaim(struct sclass *k, uintptr_t chunk, uint64_t m)
{
    hdr_end_with(chunk, m, keys_at(slot_ep(k, slot_index(k, chunk))), G.opt.checksum == CHECKSUM_SIPHASH);
}

/* live_chunk's slow path: the header did not verify at once, or changed
 * before it was claimed.  Another call may be in the middle of a
 * transition of this chunk (its header busy): wait it out, then decide by
 * the live bit. */
static COLD uint64_t live_chunk_slow(uintptr_t p, enum ward_call op, bool take, size_t idx)
{
    struct sclass *k = class_of_ptr(p);
    uintptr_t chunk = p - HDR;
    for (;;) {
        uint64_t m;
        int ok = hdr_load_shared(chunk, &m, 200, slot_ep(k, idx));
        if (!live_get(k, idx))
            not_live(p, op, k, idx);
        if (ok < 0 && busy_forged(chunk))
            ward_fatal(BUG_CORRUPTED_HEADER, op, (void *)p, TIER_SMALL, k->slot,
                       "the header holds a busy mark no call is making (written back from an earlier read, or "
                       "forged)");
        if (ok < 0) /* still mid-transition: this call raced another on the chunk */
            ward_fatal(freed_class(op), op, (void *)p, TIER_SMALL, k->slot,
                       "another call is freeing or resizing this chunk at the same moment");
        if (ok <= 0 || !live_meta_ok(k, m))
            bad_live_header(p, op, k, ok, m);
        if (!take)
            return m;
        if (!hdr_claim_with(chunk, hdr_check_of(keys_at(slot_ep(k, idx)), chunk, m),
                            G.opt.checksum == CHECKSUM_SIPHASH))
            continue; /* changed again: look again */
        if (!live_get(k, idx)) {
            unclaim(k, chunk, m);
            not_live(p, op, k, idx);
        }
        return m;
    }
}

/* A live small chunk, verified in an order that makes two racing calls and
 * a header written back safe: p is a slot's start in a slab made so far
 * (an offset below the region's start wraps to a huge one); its header
 * verifies, says live and fits the slot; with `take`, this call claims the
 * header (busy, from the value it verified, in one atomic step: of two
 * calls one claims it, the other waits and finds it freed) and then takes
 * the slot's live bit, the truth: a header written back over a freed chunk
 * verifies and can be claimed, but its slot is not live.  Without `take`
 * the live bit is only read.  Returns the header's meta (the header left
 * busy with `take`: the caller ends the transition) and the slot's index. */
static inline __attribute__((always_inline)) uint64_t live_chunk(uintptr_t p, enum ward_call op, enum small_path w,
                                                                 bool take, size_t *idx)
{
    bool sip = w_sip(w);
    struct sclass *k = class_of_ptr(p);
    uintptr_t rel = p - HDR - k->base, chunk = p - HDR;
    __uint128_t q = (__uint128_t)k->recip * rel; /* slot_div and slot_mod's product */
    *idx = (size_t)(q >> 64);
    if (unlikely(rel >= __atomic_load_n(&k->used, __ATOMIC_ACQUIRE) ||
                 (size_t)(((__uint128_t)(uint64_t)q * k->slot) >> 64)))
        not_a_slot(p, op);
    const struct hdr *h = (const struct hdr *)chunk;
    uint64_t m = __atomic_load_n(&h->meta, __ATOMIC_RELAXED);
    uint64_t c = __atomic_load_n(&h->check, __ATOMIC_ACQUIRE);
    const struct ward_keys *K = keys_at(w_ep(w, k, *idx));
    if (unlikely(c != hdr_check_with(K, chunk, m, sip) || !live_meta_ok(k, m)))
        return live_chunk_slow(p, op, take, *idx);
    if (!take) {
        if (unlikely(w_live_byte(w, k, *idx) != SLOT_LIVE))
            not_live(p, op, k, *idx);
        return m;
    }
    if (unlikely(!hdr_claim_with(chunk, c, sip)))
        return live_chunk_slow(p, op, take, *idx);
    if (unlikely(w_live_byte(w, k, *idx) != SLOT_LIVE)) {
        hdr_end_with(chunk, m, K, sip);
        not_live(p, op, k, *idx);
    }
    return m;
}

/* The next slot's header, when it did not verify at once: it may be
 * mid-transition (its owner is rewriting it), never used, or overwritten. */
static COLD void next_header_slow(uintptr_t p, enum ward_call op, struct sclass *k, size_t req, uint64_t m)
{
    size_t idx = slot_div(k, p - HDR - k->base);
    bool in_slabs = idx + 1 < (size_t)k->max_slabs * k->per_slab;
    bool out = in_slabs && slot_out(k, idx + 1);
    uint64_t nm;
    uint8_t *nep = slot_ep(k, idx + 1);
    int ok = hdr_load_shared(p - HDR + k->slot, &nm, 200, nep);
    if (ok < 0 && !out) {
        /* A slot in its slab is busy only while a refill writes its
         * header, under the lock: look again holding it. */
        pthread_mutex_lock(&k->lock);
        out = in_slabs && slot_out(k, idx + 1);
        ok = hdr_load_shared(p - HDR + k->slot, &nm, 0, nep);
        pthread_mutex_unlock(&k->lock);
        if (ok < 0 && !out)
            ok = 0;
    }
    /* An all-zero header is never a never-used slot's while this chunk is
     * out: handing this chunk out gave a never-used neighbour a real header,
     * and nothing zeroes it while this chunk lives, in its own slab; past
     * the slab's end, prime_first puts it back where the memory turns zero
     * (under the lock: look again holding it). */
    bool same_slab = (idx + 1) / k->per_slab == idx / k->per_slab;
    if (ok == 0 && hdr_blank(p - HDR + k->slot) && !out && !same_slab) {
        pthread_mutex_lock(&k->lock);
        out = in_slabs && slot_out(k, idx + 1);
        ok = hdr_load_shared(p - HDR + k->slot, &nm, 0, nep);
        pthread_mutex_unlock(&k->lock);
    }
    if (ok == 0) {
        unclaim(k, p - HDR, m); /* on_error=continue leaves the chunk as it was */
        ward_fatal(BUG_HEAP_BUFFER_OVERFLOW, op, (void *)p, TIER_SMALL, k->slot,
                   "the header of the next chunk was overwritten (write past the %zu requested bytes)", req);
    }
    if (ok < 0 && busy_forged(p - HDR + k->slot)) {
        unclaim(k, p - HDR, m);
        ward_fatal(BUG_HEAP_BUFFER_OVERFLOW, op, (void *)p, TIER_SMALL, k->slot,
                   "the header of the next chunk holds a busy mark no call is making (written past the %zu "
                   "requested bytes)",
                   req);
    }
}

static COLD _Noreturn void canary_failed(uintptr_t p, enum ward_call op, struct sclass *k, size_t req, uint64_t m)
{
    unclaim(k, p - HDR, m); /* on_error=continue leaves the chunk as it was */
    ward_fatal(BUG_HEAP_BUFFER_OVERFLOW, op, (void *)p, TIER_SMALL, k->slot,
               "canary after the %zu requested bytes was overwritten", req);
}

static inline __attribute__((always_inline)) void check_overflow_with(uintptr_t p, enum ward_call op,
                                                                      struct sclass *k, size_t idx, uint64_t m,
                                                                      enum small_path w)
{
    size_t unused = meta_unused(m), req = k->slot - HDR - unused;
    if (unlikely(!small_canary_ok(keys_at(w_ep(w, k, idx)), p, req, k->slot - HDR, w_canary(w), w_sip(w))))
        canary_failed(p, op, k, req, m);
    /* The next slot's header: an overflow past the slack lands there.  Slots
     * past the last slab but in committed memory have never been used: their
     * headers are zero (or primed FREE) unless something wrote there.  A
     * header read while its owner rewrites it does not verify here (the
     * check word is loaded first, then the fields it covers): the slow path
     * sorts that out. */
    uintptr_t next = p - HDR + k->slot;
    if (next + HDR <= k->base + __atomic_load_n(&k->committed, __ATOMIC_ACQUIRE)) {
        const struct hdr *h = (const struct hdr *)next;
        uint64_t c = __atomic_load_n(&h->check, __ATOMIC_ACQUIRE);
        uint64_t nm = __atomic_load_n(&h->meta, __ATOMIC_RELAXED);
        if (unlikely(c != hdr_check_with(keys_at(w_ep(w, k, idx + 1)), next, nm, w_sip(w))))
            next_header_slow(p, op, k, req, m);
    }
}

/* The request size of a live chunk (ownership and header verified). */
size_t small_live(uintptr_t p, enum ward_call op)
{
    struct sclass *k = class_of_ptr(p);
    size_t idx;
    uint64_t m = live_chunk(p, op, PATH_OPTIONS, false, &idx);
    return k->slot - HDR - meta_unused(m);
}

static inline void to_cache(struct tcache *tc, struct sclass *k, uintptr_t chunk)
{
    unsigned cls = (unsigned)(k - classes);
    if (likely(tc != NULL)) {
        if (unlikely(tc->count[cls] == TC_MAX))
            drain(tc, cls, TC_BATCH, true);
        tc->slot[cls][tc->count[cls]++] = chunk;
    } else {
        pthread_mutex_lock(&k->lock);
        slab_put(k, chunk);
        pthread_mutex_unlock(&k->lock);
    }
}

/* The quarantine's oldest entry leaves: a small chunk straight to this
 * thread's cache (small_release, inline). */
static inline void evict_oldest(struct tcache *tc)
{
    uintptr_t q = tc->q[tc->qhead];
    if (unlikely(!in_small(q))) {
        quarantine_evict(tc);
        return;
    }
    struct sclass *kq = class_of_ptr(q);
    quarantine_pop(tc);
    quarantine_uncount(tc, kq->slot);
    to_cache(tc, kq, q - HDR);
}

static inline __attribute__((always_inline)) void small_free_with(uintptr_t p, enum ward_call op, enum small_path w)
{
    struct sclass *k = class_of_ptr(p);
    size_t idx;
    uint64_t m = live_chunk(p, op, w, true, &idx);
    check_overflow_with(p, op, k, idx, m, w);
    uintptr_t chunk = p - HDR;
    w_live_set(w, k, idx, false); /* (with this process's epoch: the key stamp) */
    const struct ward_keys *K = w_ep(w, k, idx) ? keys_now() : K0;
    if (unlikely(w_stacks(w)))
        trace_free(chunk);
    if (w_poison(w))
        slot_zero(p, k->slot - HDR);
    struct tcache *tc = tcache_get();
    if (tc && k->quarantined) {
        hdr_end_with(chunk, k->quar_meta, K, w_sip(w));
        if (tc->qlen == Q_SLOTS)
            evict_oldest(tc);
        quarantine_add(tc, p, k->slot);
        while (quarantine_over(tc))
            evict_oldest(tc);
        return;
    }
    hdr_end_with(chunk, k->free_meta, K, w_sip(w));
    to_cache(tc, k, chunk);
}

static void free_profile(uintptr_t p, enum ward_call op)
{
    small_free_with(p, op, PATH_PROFILE);
}
static void free_forked(uintptr_t p, enum ward_call op)
{
    small_free_with(p, op, PATH_FORKED);
}
static void free_options(uintptr_t p, enum ward_call op)
{
    small_free_with(p, op, PATH_OPTIONS);
}

/* A quarantined chunk is still as free left it: header and poison. */
void small_check_quarantined(uintptr_t p, enum ward_call op)
{
    struct sclass *k = class_of_ptr(p);
    uintptr_t bad;
    uint64_t m;
    if (unlikely(!hdr_load(p - HDR, &m, slot_ep(k, slot_index(k, p - HDR))) || m != meta_pack(k->slot, 0, ST_QUAR)))
        ward_fatal(BUG_CORRUPTED_HEADER, op, (void *)p, TIER_SMALL, k->slot,
                   "the header of a quarantined chunk was overwritten");
    if (unlikely(!slot_clean(p, k->slot - HDR, &bad)))
        ward_fatal(BUG_WRITE_AFTER_FREE, op, (void *)p, TIER_SMALL, k->slot,
                   "freed memory was written at offset %zu while in quarantine", (size_t)(bad - p));
}

/* A chunk leaving the quarantine joins the thread's cache as it is (QUAR,
 * zero): its header and poison are verified once, when it is handed out
 * again (small_alloc) or goes back to its slab (drain), or at exit
 * (small_check_cached); nothing can reuse it before one of those. */
void small_release(struct tcache *tc, uintptr_t p)
{
    to_cache(tc, class_of_ptr(p), p - HDR);
}

/* A cached chunk: FREE or QUAR, all zero. */
static void cached_verify(struct sclass *k, uintptr_t chunk, enum ward_call op)
{
    uintptr_t p = chunk + HDR, bad;
    uint64_t m;
    if (unlikely(!hdr_load(chunk, &m, slot_ep(k, slot_index(k, chunk))) || (m != k->free_meta && m != k->quar_meta)))
        ward_fatal(BUG_CORRUPTED_HEADER, op, (void *)p, TIER_SMALL, k->slot,
                   "the header of a free chunk was overwritten (underflow of this chunk, or overflow of the one before)");
    if (unlikely(!slot_clean(p, k->slot - HDR, &bad)))
        ward_fatal(BUG_WRITE_AFTER_FREE, op, (void *)p, TIER_SMALL, k->slot,
                   "freed memory was written at offset %zu after it was freed", (size_t)(bad - p));
}

/* Every chunk in the thread's cache (at exit: those that left the
 * quarantine since are still checked). */
void small_check_cached(struct tcache *tc, enum ward_call op)
{
    for (unsigned c = 0; c < NCLASSES; c++)
        for (uint32_t i = 0; i < tc->count[c]; i++)
            cached_verify(&classes[c], tc->slot[c][i], op);
}

/* Every chunk in the classes' shared caches (at exit, with the thread's). */
void small_check_shared(enum ward_call op)
{
    for (unsigned c = 0; c < NCLASSES; c++) {
        struct sclass *k = &classes[c];
        pthread_mutex_lock(&k->lock);
        for (uint32_t i = 0; i < k->nxfer; i++)
            cached_verify(k, xfer[c][i], op);
        pthread_mutex_unlock(&k->lock);
    }
}

/* realloc's first step: verifies the chunk (as free would), sets *old to
 * its request size, and resizes it in place when the new size stays in
 * its class; NULL when it must move. */
static inline __attribute__((always_inline)) void *small_realloc_with(uintptr_t p, size_t n, size_t *old,
                                                                       enum small_path w)
{
    struct sclass *k = class_of_ptr(p);
    size_t idx;
    uint64_t m = live_chunk(p, CALL_REALLOC, w, true, &idx);
    check_overflow_with(p, CALL_REALLOC, k, idx, m, w);
    *old = k->slot - HDR - meta_unused(m);
    if (n > SMALL_MAX || &classes[small_class(n)] != k) {
        unclaim(k, p - HDR, m); /* it moves: the free after the copy takes it back */
        return NULL;
    }
    size_t unused = k->slot - HDR - n;
    /* the chunk is this call's while it is rewritten (busy, not live): a
     * free racing it waits, then frees the resized chunk; the canary and
     * header are keyed anew, with this process's entry */
    const struct ward_keys *K = keys_stamp(w_ep(w, k, idx));
    small_canary_write(K, p, n, k->slot - HDR, w_canary(w), w_sip(w));
    hdr_end_with(p - HDR, k->alloc_meta | (uint64_t)unused << 40, K, w_sip(w));
    return (void *)p;
}
static void *realloc_profile(uintptr_t p, size_t n, size_t *old)
{
    return small_realloc_with(p, n, old, PATH_PROFILE);
}
static void *realloc_forked(uintptr_t p, size_t n, size_t *old)
{
    return small_realloc_with(p, n, old, PATH_FORKED);
}
static void *realloc_options(uintptr_t p, size_t n, size_t *old)
{
    return small_realloc_with(p, n, old, PATH_OPTIONS);
}

/* One selector for the three calls: the profile's paths when the options
 * are the profile's (and this CPU's copy of its malloc), else the paths
 * that read them. */
void small_paths_init(void)
{
    static const struct small_paths paths[] = {
        [PATH_PROFILE] = {alloc_profile, free_profile, realloc_profile},
#ifdef WARD_AVX2
        [PATH_PROFILE_AVX2] = {alloc_profile_avx2, free_profile, realloc_profile},
#else
        [PATH_PROFILE_AVX2] = {alloc_profile, free_profile, realloc_profile},
#endif
        [PATH_FORKED] = {alloc_forked, free_forked, realloc_forked},
        [PATH_OPTIONS] = {alloc_options, free_options, realloc_options},
    };
    bool profile = G.opt.checksum == CHECKSUM_FAST && !G.opt.stacks && (G.opt.canary != 0) == WARD_PROFILE_CANARY &&
                   (G.opt.poison != POISON_OFF) == WARD_PROFILE_POISON;
    G.small = paths[!profile ? PATH_OPTIONS : G.epoch ? PATH_FORKED : G.avx2 ? PATH_PROFILE_AVX2 : PATH_PROFILE];
}

/* The shared caches' chunks go back to their slabs, verified: at
 * malloc_trim, and in a forked child, whose first allocations of each size
 * would otherwise take the same chunks as every other child of its parent,
 * in the same order (the thread's own cache is drained the same way). */
void small_drain_shared(enum ward_call op)
{
    for (unsigned c = 0; c < NCLASSES; c++) {
        struct sclass *k = &classes[c];
        pthread_mutex_lock(&k->lock);
        for (uint32_t i = 0; i < k->nxfer; i++) {
            cached_to_free(k, xfer[c][i], op);
            slab_put(k, xfer[c][i]);
        }
        k->nxfer = 0;
        pthread_mutex_unlock(&k->lock);
    }
}

static size_t small_trim(void)
{
    size_t released = 0;
    small_drain_shared(CALL_MALLOC_TRIM);
    for (unsigned c = 0; c < NCLASSES; c++) {
        struct sclass *k = &classes[c];
        pthread_mutex_lock(&k->lock);
        for (uint32_t i = 0; i < k->nslabs; i++) {
            struct slab *s = slab_at(k, i);
            if (s->nfree != k->per_slab || s->released)
                continue;
            released += slab_release(k, i);
            k->empty--;
        }
        pthread_mutex_unlock(&k->lock);
    }
    return released;
}

static void small_lock_all(void)
{
    for (unsigned c = 0; c < NCLASSES; c++)
        pthread_mutex_lock(&classes[c].lock);
}

static void small_unlock_all(void)
{
    for (unsigned c = NCLASSES; c-- > 0;)
        pthread_mutex_unlock(&classes[c].lock);
}

static void small_reinit_locks(void)
{
    for (unsigned c = 0; c < NCLASSES; c++)
        pthread_mutex_init(&classes[c].lock, NULL);
}

static void small_stats(struct ward_stats *st)
{
    for (unsigned c = 0; c < NCLASSES; c++) {
        struct sclass *k = &classes[c];
        pthread_mutex_lock(&k->lock);
        size_t slots = (size_t)k->nslabs * k->per_slab;
        st->mapped += k->committed;
        st->small_slots += slots;
        st->in_use += k->out * k->slot;
        st->free_bytes += (slots - k->out) * k->slot;
        for (uint32_t i = 0; i < k->nslabs; i++)
            if (slab_at(k, i)->nfree == k->per_slab && !slab_at(k, i)->released)
                st->releasable += (size_t)k->per_slab * k->slot;
        pthread_mutex_unlock(&k->lock);
    }
}

/* The integrity walk of every committed slot.  Chunks owned by other threads
 * may change state under us: a failed check is re-read before it counts. */
static void small_check(void)
{
    for (unsigned c = 0; c < NCLASSES; c++) {
        struct sclass *k = &classes[c];
        pthread_mutex_lock(&k->lock);
        size_t slots = (size_t)k->nslabs * k->per_slab, out = 0;
        for (size_t idx = 0; idx < slots; idx++) {
            uintptr_t chunk = k->base + idx * k->slot, p = chunk + HDR, bad;
            bool is_out = slot_out(k, idx);
            uint64_t m;
            out += is_out;
            for (int tries = 0;; tries++) {
                int ok = hdr_load_shared(chunk, &m, 50, slot_ep(k, idx));
                enum ward_bug bug = BUG_COUNT;
                const char *why = NULL;
                if (ok < 0) {
                    if (!busy_forged(chunk))
                        break; /* mid-transition (or abandoned by a fork): skip */
                    ward_fatal(BUG_CORRUPTED_HEADER, CALL_CHECK_HEAP, (void *)p, TIER_SMALL, k->slot,
                               "header holds a busy mark no call is making");
                }
                if (!ok) {
                    if (!is_out && hdr_blank(chunk))
                        break; /* never used, or released: all zero */
                    bug = BUG_CORRUPTED_HEADER, why = "header check failed";
                } else if (meta_size(m) != k->slot) {
                    bug = BUG_CORRUPTED_HEADER, why = "size does not match the slot";
                } else if (meta_state(m) == ST_ALLOC) {
                    size_t un = meta_unused(m);
                    if (!is_out)
                        bug = BUG_STATE_CORRUPTED, why = "live chunk in a slab's free set";
                    else if (!live_get(k, idx))
                        bug = BUG_CORRUPTED_HEADER, why = "a live chunk's header over a chunk that is not live";
                    else if (un > k->slot - HDR || !canary_ok(keys_at(slot_ep(k, idx)), p, k->slot - HDR - un, un))
                        bug = BUG_HEAP_BUFFER_OVERFLOW, why = "canary after the request was overwritten";
                } else if (meta_state(m) == ST_FREE || meta_state(m) == ST_QUAR) {
                    if (live_get(k, idx))
                        bug = BUG_STATE_CORRUPTED, why = "a free chunk's slot is marked live";
                    else if (!slot_clean(p, k->slot - HDR, &bad))
                        bug = BUG_WRITE_AFTER_FREE, why = "freed memory was written";
                } else {
                    bug = BUG_CORRUPTED_HEADER, why = "bad state";
                }
                if (!why)
                    break;
                uint64_t m2;
                if (tries < 3 && (hdr_load_shared(chunk, &m2, 50, slot_ep(k, idx)) != 1 || m2 != m || is_out != slot_out(k, idx) ||
                                  live_get(k, idx) != (meta_state(m) == ST_ALLOC)))
                    continue; /* changed under us: its owner is using it */
                if (tries < 3)
                    continue;
                ward_fatal(bug, CALL_CHECK_HEAP, (void *)p, TIER_SMALL, k->slot, "%s", why);
            }
        }
        /* Past the last slab, committed memory has never held a chunk: the
         * first header there is all zero, or the FREE one primed when the
         * slot before it was handed out.  Anything else is an overflow from
         * the last slot (the walk above stops at the slabs' end). */
        uintptr_t past = k->base + slots * k->slot;
        if (slots && past + HDR <= k->base + k->committed) {
            uint64_t m;
            if (hdr_load_shared(past, &m, 50, slot_ep(k, slots)) == 0 && !hdr_blank(past))
                ward_fatal(BUG_HEAP_BUFFER_OVERFLOW, CALL_CHECK_HEAP, (void *)(past - k->slot + HDR), TIER_SMALL,
                           k->slot, "the memory after the last slab's last chunk was written");
        }
        if (out != k->out)
            ward_fatal(BUG_STATE_CORRUPTED, CALL_CHECK_HEAP, (void *)k->base, TIER_SMALL, k->slot,
                       "slab bitmaps count %zu slots out, the class %zu", out, k->out);
        pthread_mutex_unlock(&k->lock);
    }
}

/* Live chunks and their requested bytes (ward_live_chunks): a walk of the
 * headers, for leak checks at the end of a test. */
static void small_count_live(size_t *count, size_t *bytes)
{
    for (unsigned c = 0; c < NCLASSES; c++) {
        struct sclass *k = &classes[c];
        pthread_mutex_lock(&k->lock);
        size_t slots = (size_t)k->nslabs * k->per_slab;
        for (size_t idx = 0; idx < slots; idx++) {
            uint64_t m;
            if (slot_out(k, idx) && hdr_load_shared(k->base + idx * k->slot, &m, 50, slot_ep(k, idx)) == 1 &&
                meta_state(m) == ST_ALLOC) {
                (*count)++;
                *bytes += k->slot - HDR - meta_unused(m);
            }
        }
        pthread_mutex_unlock(&k->lock);
    }
}

/* leaks=1: the live byte is the truth; the header gives the request size
 * (a header held busy by a stopped thread: the whole slot) */
static void small_for_each_live(void (*fn)(void *, uintptr_t, size_t, int), void *ctx)
{
    for (unsigned c = 0; c < NCLASSES; c++) {
        struct sclass *k = &classes[c];
        size_t slots = (size_t)k->nslabs * k->per_slab;
        for (size_t idx = 0; idx < slots; idx++) {
            if (!live_get(k, idx))
                continue;
            uintptr_t chunk = k->base + idx * k->slot;
            uint64_t m;
            size_t n = k->slot - HDR;
            if (hdr_load_shared(chunk, &m, 0, slot_ep(k, idx)) == 1 && meta_state(m) == ST_ALLOC && meta_unused(m) <= n)
                n -= meta_unused(m);
            fn(ctx, chunk + HDR, n, TIER_SMALL);
        }
    }
}

#ifdef WARD_TESTING
#include "testing.h"
/* The harness build's reset: every class back to no slabs, its memory
 * given back and inaccessible, its metadata cleared. */
static void small_testing_reset(void)
{
    for (unsigned c = 0; c < NCLASSES; c++) {
        struct sclass *k = &classes[c];
        pthread_mutex_init(&k->lock, NULL);
        testing_uncommit((void *)k->base, k->committed);
        for (uint32_t i = 0; i < k->nslabs; i++)
            memset(slab_at(k, i), 0, sizeof(struct slab));
        memset(k->live, 0, (size_t)k->nslabs * k->per_slab);
        k->nslabs = k->partial = k->rel = k->empty = 0;
        k->nxfer = 0;
        k->used = k->committed = 0;
        k->out = 0;
    }
}
#endif

const struct tier_ops small_tier = {
    .check = small_check,
    .stats = small_stats,
    .count_live = small_count_live,
    .for_each_live = small_for_each_live,
    .trim = small_trim,
    .lock_all = small_lock_all,
    .unlock_all = small_unlock_all,
    .reinit_locks = small_reinit_locks,
    TIER_TESTING_RESET(small_testing_reset)
};
