/* medium.c: requests above SMALL_MAX up to MEDIUM_MAX, from arenas run by a
 * boundary-tag allocator: chunks tile each arena from its base up to a
 * sentinel header; free chunks are split and coalesced, kept in segregated
 * free lists ordered by size, and carry encoded, checked links and a keyed
 * footer.  All metadata a chunk's neighbours read is verified before it is
 * trusted; the chunk-start bitmaps live outside the heap.
 *
 * Free chunk:   [header][next link][prev link] zero ... zero [footer]
 * Live chunk:   [header][user bytes ........][canary][slack]
 * Quarantined:  [header] zero ...................................... 
 *
 * Freed memory reads as zero and is verified in full before reuse.  With
 * poison=full it is zeroed; with poison=partial, of a block bigger than
 * twice poison_bytes only the resident pages are zeroed (the others read
 * as zero already), and the checks read only the resident pages too: a
 * write after free leaves a non-zero byte on one, or makes one.  With
 * poison=off nothing is zeroed at free: the chunk is "dirty" (the F_DIRTY
 * bit in the unused-bytes field of a FREE or QUAR header; every chunk
 * merged with it or cut from it is dirty too), and its resident pages are
 * cleared when it is handed out. */
#include "state.h"
#include "report.h"
#include "os.h"
#include "chunk.h"
#include "thread.h"
#include "quarantine.h"
#include "trace.h"
#include "tier.h"

#include <errno.h>

struct arena {
    pthread_mutex_t lock;
    uintptr_t base;
    uintptr_t end;          /* the sentinel header; chunks tile [base, end) */
    size_t committed;
    uint64_t *starts;       /* 1 bit per 16 bytes: a chunk starts here */
    uint64_t *freed;        /* 1 bit per 16 bytes: a chunk started here and was freed and merged */
    uint64_t *live;         /* 1 bit per 16 bytes: a chunk starts here and is handed out */
    uint8_t *epoch;         /* once the process forked, 1 byte per 32: the key ring entry of the chunk
                               starting there (chunks start at least MED_MIN_CHUNK apart) */
    uintptr_t bins[NBINS];  /* list heads: out of the heap, so stored plainly */
    uint64_t binmap[NBINS / 64];
    size_t dirty;           /* free bytes not given back since the last purge */
    uint64_t purged_ms;     /* when free pages were last given back (CLOCK_MONOTONIC_COARSE) */
    uintptr_t touched;      /* no chunk was ever handed out at or above this */
    size_t live_bytes, free_bytes, nfree;
} __attribute__((aligned(64)));

static struct arena arenas[NARENAS];

#define FOOT_MAGIC 0xf007000000000000ull
#define F_DIRTY 1u
#define BIN_WALK 16 /* list entries a search or an insertion looks at, at most */
#define L_NEXT 16
#define L_PREV 24

/* ---- bitmaps ------------------------------------------------------------ */

static inline size_t bit_of(struct arena *a, uintptr_t c) { return (c - a->base) >> 4; }
static inline bool bit_get(uint64_t *map, size_t i)
{
    return (__atomic_load_n(&map[i / 64], __ATOMIC_ACQUIRE) >> (i % 64)) & 1;
}
/* Writers hold the arena lock; lock-free readers load whole words, so a
 * plain store of the new word is enough (no locked read-modify-write). */
static inline void word_store(uint64_t *w, uint64_t v) { __atomic_store_n(w, v, __ATOMIC_RELEASE); }
static inline void bit_set(uint64_t *map, size_t i) { word_store(&map[i / 64], map[i / 64] | 1ull << (i % 64)); }
static inline void bit_clr(uint64_t *map, size_t i) { word_store(&map[i / 64], map[i / 64] & ~(1ull << (i % 64))); }

static void bits_clear_range(uint64_t *map, size_t lo, size_t hi)
{
    if (lo >= hi)
        return;
    size_t wl = lo / 64, wh = (hi - 1) / 64;
    uint64_t ml = ~0ull << (lo % 64), mh = ~0ull >> (63 - (hi - 1) % 64);
    if (wl == wh)
        ml &= mh;
    if (map[wl] & ml)
        word_store(&map[wl], map[wl] & ~ml);
    if (wl == wh)
        return;
    /* the bits are sparse: whole words are mostly zero already */
    for (size_t w = wl + 1; w < wh; w++)
        if (map[w])
            word_store(&map[w], 0);
    if (map[wh] & mh)
        word_store(&map[wh], map[wh] & ~mh);
}

/* true when a bit in [lo, hi) is set */
static bool bits_any(const uint64_t *map, size_t lo, size_t hi)
{
    if (lo >= hi)
        return false;
    size_t wl = lo / 64, wh = (hi - 1) / 64;
    uint64_t ml = ~0ull << (lo % 64), mh = ~0ull >> (63 - (hi - 1) % 64);
    if (wl == wh)
        return (map[wl] & ml & mh) != 0;
    uint64_t any = (map[wl] & ml) | (map[wh] & mh);
    for (size_t w = wl + 1; w < wh; w++)
        any |= map[w];
    return any != 0;
}

/* The epoch byte of the chunk starting at c (chunk.h's key ring): NULL
 * before the process forked. */
_Static_assert(MED_MIN_CHUNK > 32, "no two chunk starts share an epoch byte");
static inline uint8_t *chunk_ep(struct arena *a, uintptr_t c)
{
    return G.epoch ? &a->epoch[(c - a->base) >> 5] : NULL;
}

/* ---- errors ------------------------------------------------------------- */

static COLD _Noreturn void corrupt(struct arena *a, enum ward_bug bug, enum ward_call op, uintptr_t p,
                                   size_t size, const char *why)
{
    (void)a;
    ward_fatal(bug, op, (void *)p, TIER_MEDIUM, size, "%s", why);
}

/* ---- footers and links -------------------------------------------------- */

/* A free chunk's footer and links are keyed with the entry its header is
 * (the chunk's epoch byte, marked when its header was written). */
static inline uint64_t foot_check(const struct ward_keys *K, uintptr_t f, size_t size)
{
    uint64_t c = keyed2(K, f, size | FOOT_MAGIC, K->fk0, K->fk1);
    return c ? c : 1;
}

static inline void foot_store(struct arena *a, uintptr_t c, size_t size)
{
    uint64_t *f = (uint64_t *)(c + size - 16);
    f[0] = size | FOOT_MAGIC;
    f[1] = foot_check(keys_at(chunk_ep(a, c)), (uintptr_t)f, size);
}

/* The footer at f, of the chunk it says ends there. */
static inline bool foot_load(struct arena *a, uintptr_t f, size_t *size)
{
    const uint64_t *w = (const uint64_t *)f;
    if ((w[0] & 0xffff000000000000ull) != FOOT_MAGIC)
        return false;
    *size = (size_t)(w[0] & ~FOOT_MAGIC);
    if (*size < MED_MIN_CHUNK || *size > f + 16 - a->base)
        return false;
    return w[1] == foot_check(keys_at(chunk_ep(a, f + 16 - *size)), f, *size);
}

/* The link at offset off of the free chunk c. */
static inline void link_set(struct arena *a, uintptr_t c, unsigned off, uintptr_t target)
{
    *(uint64_t *)(c + off) = link_encode(keys_at(chunk_ep(a, c)), c + off, target);
}

static inline uintptr_t link_get(struct arena *a, uintptr_t c, unsigned off, enum ward_call op)
{
    uintptr_t t;
    if (unlikely(!link_decode(keys_at(chunk_ep(a, c)), c + off, *(const uint64_t *)(c + off), &t) ||
                 (t && (t < a->base || t >= a->end || (t & 15)))))
        corrupt(a, BUG_CORRUPTED_LINK, op, c + HDR, 0,
                "a link stored in a free chunk does not verify (written after free, or forged)");
    return t;
}

/* The verified header of a free chunk on a list. */
static inline uint64_t free_meta(struct arena *a, uintptr_t c, enum ward_call op)
{
    uint64_t m;
    if (unlikely(!hdr_load(c, &m, chunk_ep(a, c)) || meta_state(m) != ST_FREE || !bit_get(a->starts, bit_of(a, c))))
        corrupt(a, BUG_CORRUPTED_HEADER, op, c + HDR, 0, "a free chunk's header does not verify");
    return m;
}

static inline size_t free_size(struct arena *a, uintptr_t c, enum ward_call op)
{
    return meta_size(free_meta(a, c, op));
}

/* A free chunk's unused-bytes field: F_DIRTY, and above it how many of its
 * whole pages may be resident (touched since they were last given back). */
static inline bool m_dirty(uint64_t m) { return meta_unused(m) & F_DIRTY; }
static inline size_t m_pages(uint64_t m) { return meta_unused(m) >> 1; }
static inline size_t pages_of(size_t bytes) { return (bytes + G.page - 1) / G.page; }

/* Makes a freed body read as zero: returns the header's unused-bytes field
 * for it (F_DIRTY with poison=off) and sets *pages to how many of its pages
 * may be resident.  With poison=partial a body over 2 x poison_bytes has
 * only its resident pages zeroed: a page never touched, or given back by a
 * purge, is zero already.  (Giving the pages back instead, with madvise,
 * costs a page fault for each page the next owner touches and, with
 * threads running, a TLB shootdown per call: gcc took 1.49 s that way
 * against 1.42 s, churn on two threads 5.1 s against 2.9 s; it won only
 * where a block is used sparsely by a single thread.) */
static unsigned scrub(uintptr_t p, size_t body, size_t *pages)
{
    if (G.opt.poison == POISON_OFF) {
        *pages = pages_of(body) + 1;
        return F_DIRTY;
    }
    if (G.opt.poison == POISON_PARTIAL && body > 2 * (size_t)G.opt.poison_bytes) {
        *pages = zero_resident(p, body);
    } else {
        memset((void *)p, 0, body);
        *pages = pages_of(body) + 1;
    }
    if (*pages > 0x7fffff) /* it goes into the unused-bytes field, shifted by one */
        *pages = 0x7fffff;
    return 0;
}

/* Free memory [lo, hi) about to be handed out: verified zero up to the
 * highest address ever handed out (memory above it held no freed bytes,
 * and its pages, never touched, need not be read in only to be written),
 * then, for a dirty chunk (poison=off), its resident pages cleared.  False
 * (and *bad) when freed memory there was written. */
static bool take_free(struct arena *a, uintptr_t lo, uintptr_t hi, bool dirty, uintptr_t *bad)
{
    uintptr_t end = hi, fresh = (a->touched + G.page - 1) & ~(uintptr_t)(G.page - 1);
    if (end > fresh)
        end = fresh > lo ? fresh : lo;
    if (!dirty && !poison_ok(lo, end - lo, bad))
        return false;
    if (hi > a->touched)
        a->touched = hi;
    if (dirty)
        zero_resident(lo, hi - lo);
    return true;
}

/* ---- bins ----------------------------------------------------------------- */

static inline unsigned bin_of(size_t size)
{
    if (size < 1024)
        return (unsigned)(size >> 4);
    unsigned lg = 63u - (unsigned)__builtin_clzll(size);
    unsigned b = 64 + (lg - 10) * 16 + (unsigned)((size >> (lg - 4)) & 15);
    return b < NBINS ? b : NBINS - 1;
}

/* The whole pages of a free chunk that purging can give back: past its
 * header and links, before its footer. */
static inline size_t releasable(uintptr_t c, size_t size, uintptr_t *lo, uintptr_t *hi)
{
    *lo = (c + 32 + G.page - 1) & ~(G.page - 1);
    *hi = (c + size - 16) & ~(G.page - 1);
    return *hi > *lo ? (*hi - *lo) / G.page : 0;
}

static void bin_insert(struct arena *a, uintptr_t c, size_t size, bool dirty, size_t pages, enum ward_call op)
{
    uintptr_t lo, hi;
    size_t whole = releasable(c, size, &lo, &hi);
    if (pages > whole)
        pages = whole;
    if (pages > 0x7fffff)
        pages = 0x7fffff;
    unsigned b = bin_of(size);
    uintptr_t prev = 0, next = a->bins[b];
    if (b >= 64) { /* keep the list (nearly) ordered by size: the first fit is
                    * about the best fit; the walk is bounded */
        for (int steps = 0; next && steps < BIN_WALK && free_size(a, next, op) < size; steps++) {
            prev = next;
            next = link_get(a, next, L_NEXT, op);
        }
    }
    hdr_store(c, size, (pages << 1) | (dirty ? F_DIRTY : 0), ST_FREE, chunk_ep(a, c));
    foot_store(a, c, size);
    link_set(a, c, L_NEXT, next);
    link_set(a, c, L_PREV, prev);
    if (prev)
        link_set(a, prev, L_NEXT, c);
    else
        a->bins[b] = c;
    if (next)
        link_set(a, next, L_PREV, c);
    a->binmap[b / 64] |= 1ull << (b % 64);
    a->free_bytes += size;
    a->nfree++;
    a->dirty += pages * G.page;
}

static void bin_unlink(struct arena *a, uintptr_t c, uint64_t meta, enum ward_call op)
{
    size_t size = meta_size(meta);
    unsigned b = bin_of(size);
    uintptr_t next = link_get(a, c, L_NEXT, op), prev = link_get(a, c, L_PREV, op);
    /* neighbours must point back at us: a forged link does not splice */
    if (unlikely((next && link_get(a, next, L_PREV, op) != c) ||
                 (prev ? link_get(a, prev, L_NEXT, op) != c : a->bins[b] != c)))
        corrupt(a, BUG_CORRUPTED_LINK, op, c + HDR, size, "free-list neighbours do not point back at this chunk");
    if (prev)
        link_set(a, prev, L_NEXT, next);
    else
        a->bins[b] = next;
    if (next)
        link_set(a, next, L_PREV, prev);
    if (!a->bins[b])
        a->binmap[b / 64] &= ~(1ull << (b % 64));
    a->free_bytes -= size;
    a->nfree--;
    a->dirty -= m_pages(meta) * G.page;
}

/* The first chunk of at least `need` bytes among the first `limit` of list
 * b, unlinked; 0 when there is none. */
static uintptr_t take_from(struct arena *a, unsigned b, size_t need, size_t limit, uint64_t *meta)
{
    size_t steps = 0;
    for (uintptr_t c = a->bins[b]; c && steps++ < limit; c = link_get(a, c, L_NEXT, CALL_MALLOC)) {
        uint64_t m = free_meta(a, c, CALL_MALLOC);
        if (meta_size(m) >= need) {
            bin_unlink(a, c, m, CALL_MALLOC);
            *meta = m;
            return c;
        }
    }
    return 0;
}

/* Removes and returns a free chunk of at least `need` bytes: the first fit
 * in need's own list (nearly the best fit), else the head of the next
 * non-empty list (every chunk there is big enough), else the rest of need's
 * list, before the arena has to grow. */
static uintptr_t find_fit(struct arena *a, size_t need, uint64_t *meta)
{
    unsigned b = bin_of(need);
    uintptr_t c = take_from(a, b, need, BIN_WALK, meta);
    if (c)
        return c;
    for (unsigned w = (b + 1) / 64; w < NBINS / 64; w++) {
        uint64_t bits = a->binmap[w];
        if (w == (b + 1) / 64)
            bits &= ~0ull << ((b + 1) % 64);
        if (!bits)
            continue;
        unsigned nb = w * 64 + (unsigned)__builtin_ctzll(bits);
        c = take_from(a, nb, need, 1, meta);
        if (!c)
            corrupt(a, BUG_CORRUPTED_HEADER, CALL_MALLOC, a->bins[nb] + HDR, 0, "free chunk smaller than its list");
        return c;
    }
    return b >= 64 ? take_from(a, b, need, SIZE_MAX, meta) : 0;
}

/* Verifies the poison at both ends of a free chunk's body before it is merged. */
static void check_edges(struct arena *a, uintptr_t c, size_t size, enum ward_call op)
{
    uintptr_t lo = c + 32, hi = c + size - 16, bad;
    size_t n = hi - lo, k = n < 256 ? n : 256;
    if (!poison_ok(lo, k, &bad) || !poison_ok(hi - k, k, &bad))
        corrupt(a, BUG_WRITE_AFTER_FREE, op, c + HDR, size, "a free chunk was written after it was freed");
}

/* Merges the free chunk [c, c+size) with free neighbours and lists it. The
 * chunk's own header and body are already known good. */
static void coalesce_insert(struct arena *a, uintptr_t c, size_t size, bool dirty, size_t pages,
                            enum ward_call op)
{
    size_t psize;
    if (c > a->base && foot_load(a, c - 16, &psize)) { /* its size bounded by foot_load */
        uintptr_t pc = c - psize;
        uint64_t pm;
        if (!bit_get(a->starts, bit_of(a, pc)) || !hdr_load(pc, &pm, chunk_ep(a, pc)) || meta_state(pm) != ST_FREE ||
            meta_size(pm) != psize)
            corrupt(a, BUG_CORRUPTED_HEADER, op, c + HDR, size, "the previous chunk's footer and header disagree");
        bin_unlink(a, pc, pm, op);
        pages += m_pages(pm);
        if (m_dirty(pm))
            dirty = true;
        else
            check_edges(a, pc, psize, op);
        memset((void *)(c - 16), 0, 32); /* old footer and our header: now interior */
        bit_clr(a->starts, bit_of(a, c));
        bit_set(a->freed, bit_of(a, c));
        c = pc;
        size += psize;
    }
    uintptr_t nc = c + size;
    uint64_t nm;
    int ok = hdr_load_shared(nc, &nm, 200, chunk_ep(a, nc));
    if (!ok)
        corrupt(a, BUG_HEAP_BUFFER_OVERFLOW, op, c + HDR, size, "the next chunk's header was overwritten");
    if (ok < 0 && busy_forged(nc))
        corrupt(a, BUG_HEAP_BUFFER_OVERFLOW, op, c + HDR, size,
                "the next chunk's header holds a busy mark no call is making");
    if (ok > 0 && meta_state(nm) == ST_FREE) {
        size_t nsize = meta_size(nm);
        bin_unlink(a, nc, nm, op);
        pages += m_pages(nm);
        if (m_dirty(nm))
            dirty = true;
        else
            check_edges(a, nc, nsize, op);
        memset((void *)nc, 0, 32);
        memset((void *)(nc + nsize - 16), 0, 16);
        bit_clr(a->starts, bit_of(a, nc));
        size += nsize;
    }
    bin_insert(a, c, size, dirty, pages, op);
}

/* Gives whole free pages back to the OS, largest free chunks first, until
 * at most `keep` bytes of possibly resident free pages are left.  Released
 * pages read back as zero, which is the poison; so they are verified first
 * (their resident ones), or a write after free there would vanish. */
static size_t purge(struct arena *a, size_t keep, enum ward_call op)
{
    size_t released = 0;
    for (unsigned b = NBINS; b-- > 0 && a->dirty > keep;)
        for (uintptr_t c = a->bins[b]; c && a->dirty > keep; c = link_get(a, c, L_NEXT, op)) {
            uint64_t m = free_meta(a, c, op);
            if (!m_pages(m))
                continue;
            uintptr_t lo, hi, bad;
            size_t s = meta_size(m);
            (void)releasable(c, s, &lo, &hi);
            if (!m_dirty(m) && !poison_ok(lo, hi - lo, &bad))
                corrupt(a, BUG_WRITE_AFTER_FREE, op, c + HDR, s,
                        "a free chunk was written after it was freed (found as its pages were given back)");
            os_release((void *)lo, hi - lo);
            released += hi - lo;
            a->dirty -= m_pages(m) * G.page;
            /* keyed as it was: its footer and links keep theirs */
            hdr_store_as(c, s, meta_unused(m) & F_DIRTY, ST_FREE, keys_at(chunk_ep(a, c)));
        }
    return released;
}

/* Grows the arena by at least `need` bytes: the sentinel becomes the header
 * of a new free chunk. */
static bool extend(struct arena *a, size_t need)
{
    size_t grow = (need + G.page - 1) & ~(G.page - 1);
    if (grow < ARENA_GROW)
        grow = ARENA_GROW;
    uintptr_t old = a->end, limit = a->base + G.arena_region - HDR;
    if (old + grow > limit) {
        if (old + need > limit)
            return false;
        grow = limit - old;
    }
    uintptr_t new_end = old + grow;
    if (new_end + HDR > a->base + a->committed) {
        size_t want = (new_end + HDR - a->base + COMMIT_STEP - 1) & ~(size_t)(COMMIT_STEP - 1);
        if (want > G.arena_region)
            want = G.arena_region;
        if (!os_commit((void *)(a->base + a->committed), want - a->committed))
            return false;
        a->committed = want;
    }
    if (old != a->base) {
        uint64_t m;
        if (!hdr_load(old, &m, chunk_ep(a, old)) || meta_state(m) != ST_SENTINEL)
            corrupt(a, BUG_HEAP_BUFFER_OVERFLOW, CALL_MALLOC, old, 0, "the arena's end sentinel was overwritten");
    }
    hdr_store(new_end, HDR, 0, ST_SENTINEL, chunk_ep(a, new_end));
    __atomic_store_n(&a->end, new_end, __ATOMIC_RELEASE);
    bit_set(a->starts, bit_of(a, old));
    hdr_wipe(old);
    coalesce_insert(a, old, grow, false, 0, CALL_MALLOC);
    return true;
}

/* Hands out `need` bytes (at an `align`ed user pointer) of the unlinked free
 * chunk [c, c+size); what is left before and after goes back on the lists.
 * `zero`: the caller wants the n bytes zeroed (calloc). */
static uintptr_t carve(struct arena *a, uintptr_t c, uint64_t cm, size_t need, size_t n, size_t align,
                       bool zero, size_t off)
{
    size_t size = meta_size(cm), pages = m_pages(cm);
    bool dirty = m_dirty(cm);
    uintptr_t s = c + off;
    if (align > ALIGN) {
        uintptr_t p = (c + HDR + align - 1) & ~(uintptr_t)(align - 1);
        if (p - HDR != c && p - HDR - c < MED_MIN_CHUNK)
            p = (c + HDR + MED_MIN_CHUNK + align - 1) & ~(uintptr_t)(align - 1);
        s = p - HDR;
    }
    /* the free chunk's own metadata is not poison: clear it first */
    memset((void *)(c + 16), 0, 16);
    memset((void *)(c + size - 16), 0, 16);
    size_t take = need;
    if (c + size - (s + need) < MED_MIN_CHUNK)
        take = c + size - s;
    uintptr_t bad;
    if (!take_free(a, s + HDR, s + take, dirty, &bad))
        corrupt(a, BUG_WRITE_AFTER_FREE, CALL_MALLOC, s + HDR, take, "freed memory was written before it was reused");
    /* the pieces left keep at most the resident pages the chunk had */
    if (s != c) {
        bin_insert(a, c, s - c, dirty, pages, CALL_MALLOC);
        bit_set(a->starts, bit_of(a, s));
    }
    if (take != c + size - s) {
        uintptr_t t = s + take;
        bit_set(a->starts, bit_of(a, t));
        bin_insert(a, t, c + size - t, dirty, pages, CALL_MALLOC);
    }
    (void)zero; /* all of it is zero: verified, or cleared */
    bits_clear_range(a->freed, bit_of(a, s), bit_of(a, s + take));
    bit_set(a->live, bit_of(a, s));
    hdr_store(s, take, take - HDR - n, ST_ALLOC, chunk_ep(a, s));
    canary_write(keys_now(), s + HDR, n, take - HDR - n);
    if (unlikely(G.opt.stacks))
        trace_alloc(s);
    a->live_bytes += take;
    return s + HDR;
}

static inline size_t need_of(size_t n)
{
    size_t need = (n + HDR + 15) & ~(size_t)15;
    return need < MED_MIN_CHUNK ? MED_MIN_CHUNK : need;
}

void medium_init(void)
{
    /* every arena's three bitmaps in one mapping: one system call; pages
     * are touched only as the arenas grow */
    size_t bits = G.arena_region / 16 / 8;
    uint64_t *maps = os_map_sparse(NARENAS * 3 * bits);
    if (!maps)
        ward_die("cannot reserve arena bitmaps");
    os_name(maps, NARENAS * 3 * bits, "ward arena bitmaps");
    for (int i = 0; i < NARENAS; i++) {
        struct arena *a = &arenas[i];
        pthread_mutex_init(&a->lock, NULL);
        a->base = a->end = G.medium_base + (size_t)i * G.arena_region;
        a->starts = maps + (size_t)i * 3 * bits / 8;
        a->freed = a->starts + bits / 8;
        a->live = a->starts + 2 * bits / 8;
    }
}

/* The epoch bytes (chunk.h's key ring): one per 32 bytes of each arena, in
 * one mapping made when the process first forks. */
size_t medium_epoch_bytes(void) { return NARENAS * (G.arena_region / 32); }

void medium_epoch_attach(uint8_t *map)
{
    for (int i = 0; i < NARENAS; i++)
        arenas[i].epoch = map + (size_t)i * (G.arena_region / 32);
}

/* In a forked child, where the chunk starts within the free chunk it is cut
 * from: 0, or a random multiple of 16 from MED_MIN_CHUNK up to 64 KiB (the
 * piece before it stays free).  Every child of one parent would otherwise
 * cut the same chunks at the same addresses (first fit is deterministic),
 * and a crash oracle across children could probe one chunk's canary again
 * and again. */
static size_t child_offset(size_t align)
{
    if (likely(!ward_forked) || align > ALIGN)
        return 0;
    size_t off = (size_t)(ward_rand_global() % 4096) * 16;
    return off && off < MED_MIN_CHUNK ? off + MED_MIN_CHUNK : off;
}

void *medium_alloc(size_t n, size_t align, bool zero)
{
    struct tcache *tc = tcache_get();
    int first = tc ? tc->arena : 0;
    size_t need = need_of(n), off = child_offset(align);
    size_t want = align > ALIGN ? need + align + MED_MIN_CHUNK : need + off;
    for (int i = 0; i < NARENAS; i++) {
        struct arena *a = &arenas[(first + i) % NARENAS];
        pthread_mutex_lock(&a->lock);
        uint64_t cm;
        uintptr_t c = find_fit(a, want, &cm);
        if (!c && extend(a, want + MED_MIN_CHUNK))
            c = find_fit(a, want, &cm);
        if (c) {
            uintptr_t p = carve(a, c, cm, need, n, align, zero, off);
            pthread_mutex_unlock(&a->lock);
            return (void *)p;
        }
        pthread_mutex_unlock(&a->lock);
    }
    return NULL;
}

static inline struct arena *arena_of(uintptr_t p)
{
    return &arenas[(p - G.medium_base) >> G.arena_shift];
}

/* Ownership and the header of a live chunk; lock held. */
/* A live chunk, by the truth kept outside the heap first: a chunk starts
 * at p - HDR and is handed out (the arena's live bitmap, changed only under
 * its lock, so of two calls on one chunk one finds it not live); then its
 * header, which must verify, say live, and give the size the chunk-start
 * bitmap gives (the next start exactly at its end, none inside), so a
 * header written back from the chunk's earlier days does not pass.  Arena
 * lock held. */
static uint64_t verify_live(struct arena *a, uintptr_t p, enum ward_call op)
{
    uintptr_t c = p - HDR;
    if (unlikely(c < a->base || p >= a->end))
        ward_fatal(invalid_class(op), op, (void *)p, TIER_NONE, 0,
                   "pointer into ward's medium-chunk region that ward never handed out");
    if (unlikely(!bit_get(a->starts, bit_of(a, c)))) {
        if (bit_get(a->freed, bit_of(a, c)))
            ward_fatal(freed_class(op), op, (void *)p, TIER_MEDIUM, 0,
                       "chunk was already freed (and merged with its free neighbours)");
        ward_fatal(invalid_class(op), op, (void *)p, TIER_MEDIUM, 0, "interior pointer: not the start of a chunk");
    }
    uint64_t m;
    if (unlikely(!bit_get(a->live, bit_of(a, c)))) {
        bool quarantined = hdr_load(c, &m, chunk_ep(a, c)) && meta_state(m) == ST_QUAR;
        ward_fatal(freed_class(op), op, (void *)p, TIER_MEDIUM, quarantined ? meta_size(m) : 0,
                   quarantined ? "chunk is already free (in quarantine)" : "chunk is already free");
    }
    if (unlikely(!hdr_load(c, &m, chunk_ep(a, c))))
        ward_fatal(BUG_CORRUPTED_HEADER, op, (void *)p, TIER_MEDIUM, 0,
                   "header check failed (underflow of this chunk, overflow of the one before, or a forged chunk)");
    unsigned st = meta_state(m);
    size_t size = meta_size(m);
    if (unlikely(st != ST_ALLOC))
        ward_fatal(BUG_CORRUPTED_HEADER, op, (void *)p, TIER_MEDIUM, size, "bad state %u for a live chunk", st);
    if (unlikely(size < MED_MIN_CHUNK || c + size > a->end || meta_unused(m) > size - HDR))
        ward_fatal(BUG_CORRUPTED_HEADER, op, (void *)p, TIER_MEDIUM, size, "impossible size");
    if (unlikely((c + size != a->end && !bit_get(a->starts, bit_of(a, c + size))) ||
                 bits_any(a->starts, bit_of(a, c) + 1, bit_of(a, c + size))))
        ward_fatal(BUG_CORRUPTED_HEADER, op, (void *)p, TIER_MEDIUM, size,
                   "size field %zu disagrees with where the chunks begin (a header written back from an earlier "
                   "chunk?)",
                   size);
    return m;
}

static void check_overflow(struct arena *a, uintptr_t p, enum ward_call op, uint64_t m)
{
    size_t size = meta_size(m), unused = meta_unused(m), req = size - HDR - unused;
    uint64_t nm;
    if (unlikely(!canary_ok(keys_at(chunk_ep(a, p - HDR)), p, req, unused)))
        ward_fatal(BUG_HEAP_BUFFER_OVERFLOW, op, (void *)p, TIER_MEDIUM, size,
                   "canary after the %zu requested bytes was overwritten", req);
    int ok = hdr_load_shared(p - HDR + size, &nm, 200, chunk_ep(a, p - HDR + size));
    if (unlikely(!ok))
        ward_fatal(BUG_HEAP_BUFFER_OVERFLOW, op, (void *)p, TIER_MEDIUM, size,
                   "the header of the next chunk was overwritten (write past the %zu requested bytes)", req);
    if (unlikely(ok < 0) && busy_forged(p - HDR + size))
        ward_fatal(BUG_HEAP_BUFFER_OVERFLOW, op, (void *)p, TIER_MEDIUM, size,
                   "the header of the next chunk holds a busy mark no call is making (written past the %zu "
                   "requested bytes)",
                   req);
}

/* The request size of a live chunk (ownership and header verified). */
size_t medium_live(uintptr_t p, enum ward_call op)
{
    struct arena *a = arena_of(p);
    lock_for_checks(&a->lock);
    uint64_t m = verify_live(a, p, op);
    checks_passed();
    pthread_mutex_unlock(&a->lock);
    return meta_size(m) - HDR - meta_unused(m);
}

void medium_free(uintptr_t p, enum ward_call op)
{
    struct arena *a = arena_of(p);
    lock_for_checks(&a->lock);
    uint64_t m = verify_live(a, p, op);
    check_overflow(a, p, op, m);
    checks_passed();
    size_t size = meta_size(m);
    if (unlikely(G.opt.stacks))
        trace_free(p - HDR);
    bit_clr(a->live, bit_of(a, p - HDR));
    hdr_begin(p - HDR);
    a->live_bytes -= size;
    pthread_mutex_unlock(&a->lock);
    size_t pages;
    unsigned flag = scrub(p, size - HDR, &pages);
    hdr_store(p - HDR, size, (unsigned)(pages << 1) | flag, ST_QUAR, chunk_ep(a, p - HDR));
    struct tcache *tc = tcache_get();
    if (tc && G.opt.quarantine_bytes && (long)(size - HDR) <= G.opt.quarantine_max_chunk) {
        quarantine_push(tc, p, size);
        return;
    }
    medium_release(p);
}

/* A quarantined chunk is still as free left it: header and poison (its
 * resident pages read); returns its header. */
static uint64_t verify_quarantined(struct arena *a, uintptr_t p, enum ward_call op)
{
    uintptr_t bad;
    uint64_t m;
    if (unlikely(!hdr_load(p - HDR, &m, chunk_ep(a, p - HDR)) || meta_state(m) != ST_QUAR))
        corrupt(a, BUG_CORRUPTED_HEADER, op, p, 0, "the header of a quarantined chunk was overwritten");
    size_t size = meta_size(m);
    if (unlikely(!m_dirty(m) && !poison_ok(p, size - HDR, &bad)))
        ward_fatal(BUG_WRITE_AFTER_FREE, op, (void *)p, TIER_MEDIUM, size,
                   "freed memory was written at offset %zu while in quarantine", (size_t)(bad - p));
    return m;
}

void medium_check_quarantined(uintptr_t p, enum ward_call op)
{
    struct arena *a = arena_of(p);
    pthread_mutex_lock(&a->lock);
    (void)verify_quarantined(a, p, op);
    pthread_mutex_unlock(&a->lock);
}

/* Free memory goes back to the OS in the course of normal calls, not only
 * past purge_threshold: a free that finds more than PURGE_KEEP free
 * resident bytes in its arena, purge_after milliseconds or more after the
 * arena's last purge (or since it first held that much), gives back the
 * rest (a coarse clock: the vDSO, no system call).  Lock held. */
static bool purge_due(struct arena *a)
{
    uint64_t now = G.opt.purge_after ? os_coarse_ms() : 0;
    if (!now)
        return false;
    if (!a->purged_ms) /* the first time past PURGE_KEEP starts the clock */
        a->purged_ms = now;
    if (now - a->purged_ms < (uint64_t)G.opt.purge_after)
        return false;
    a->purged_ms = now;
    return true;
}

void medium_release(uintptr_t p)
{
    struct arena *a = arena_of(p);
    uintptr_t c = p - HDR;
    pthread_mutex_lock(&a->lock);
    uint64_t m = verify_quarantined(a, p, CALL_FREE);
    size_t size = meta_size(m);
    bool dirty = meta_unused(m) & F_DIRTY;
    bit_set(a->freed, bit_of(a, c));
    coalesce_insert(a, c, size, dirty, m_pages(m), CALL_FREE);
    size_t keep = SIZE_MAX;
    if (a->dirty > (size_t)G.opt.purge_threshold)
        keep = (size_t)G.opt.purge_threshold / 2;
    else if (a->dirty > PURGE_KEEP && purge_due(a))
        keep = PURGE_KEEP;
    if (keep != SIZE_MAX) {
        int e = errno;
        purge(a, keep, CALL_FREE);
        errno = e;
    }
    pthread_mutex_unlock(&a->lock);
}

/* realloc's first step: verifies the chunk, sets *old, and resizes it in
 * place (shrinking, or growing into a free neighbour) when it can; NULL
 * when it must move. */
void *medium_realloc(uintptr_t p, size_t n, size_t *old)
{
    struct arena *a = arena_of(p);
    uintptr_t c = p - HDR;
    void *r = NULL;
    lock_for_checks(&a->lock);
    uint64_t m = verify_live(a, p, CALL_REALLOC);
    check_overflow(a, p, CALL_REALLOC, m);
    checks_passed();
    size_t size = meta_size(m), need = need_of(n);
    *old = size - HDR - meta_unused(m);
    if (n > MEDIUM_MAX) {
        /* moves to the large tier */
    } else if (need <= size) {
        if (size - need >= 4096) { /* give the tail back */
            uintptr_t t = c + need;
            size_t pages;
            bool dirty = scrub(t, size - need, &pages);
            bit_set(a->starts, bit_of(a, t));
            a->live_bytes -= size - need;
            coalesce_insert(a, t, size - need, dirty, pages, CALL_REALLOC);
            size = need;
        }
        if (size - HDR - n < (1u << 24)) {
            hdr_store(c, size, size - HDR - n, ST_ALLOC, chunk_ep(a, c));
            canary_write(keys_now(), p, n, size - HDR - n);
            r = (void *)p;
        }
    } else {
        uintptr_t nc = c + size, bad;
        uint64_t nm;
        if (hdr_load_shared(nc, &nm, 200, chunk_ep(a, nc)) > 0 && meta_state(nm) == ST_FREE &&
            size + meta_size(nm) >= need) {
            size_t nsize = meta_size(nm), total = size + nsize, take = need;
            bool dirty = m_dirty(nm);
            bin_unlink(a, nc, nm, CALL_REALLOC);
            memset((void *)nc, 0, 32);
            memset((void *)(nc + nsize - 16), 0, 16);
            if (total - need < MED_MIN_CHUNK)
                take = total;
            if (!take_free(a, nc, c + take, dirty, &bad))
                corrupt(a, BUG_WRITE_AFTER_FREE, CALL_REALLOC, nc + HDR, nsize,
                        "freed memory was written before it was reused");
            bit_clr(a->starts, bit_of(a, nc));
            bits_clear_range(a->freed, bit_of(a, nc), bit_of(a, c + take));
            if (take != total) {
                bit_set(a->starts, bit_of(a, c + take));
                bin_insert(a, c + take, total - take, dirty, m_pages(nm), CALL_REALLOC);
            }
            a->live_bytes += take - size;
            hdr_store(c, take, take - HDR - n, ST_ALLOC, chunk_ep(a, c));
            canary_write(keys_now(), p, n, take - HDR - n);
            r = (void *)p;
        }
    }
    pthread_mutex_unlock(&a->lock);
    return r;
}

static size_t medium_trim(void)
{
    size_t r = 0;
    for (int i = 0; i < NARENAS; i++) {
        pthread_mutex_lock(&arenas[i].lock);
        r += purge(&arenas[i], 0, CALL_MALLOC_TRIM);
        pthread_mutex_unlock(&arenas[i].lock);
    }
    return r;
}

static void medium_lock_all(void)
{
    for (int i = 0; i < NARENAS; i++)
        pthread_mutex_lock(&arenas[i].lock);
}

static void medium_unlock_all(void)
{
    for (int i = NARENAS; i-- > 0;)
        pthread_mutex_unlock(&arenas[i].lock);
}

static void medium_reinit_locks(void)
{
    for (int i = 0; i < NARENAS; i++)
        pthread_mutex_init(&arenas[i].lock, NULL);
}

static void medium_stats(struct ward_stats *st)
{
    for (int i = 0; i < NARENAS; i++) {
        struct arena *a = &arenas[i];
        pthread_mutex_lock(&a->lock);
        st->mapped += a->committed;
        st->in_use += a->live_bytes;
        st->free_bytes += a->free_bytes;
        st->medium_free_chunks += a->nfree;
        st->releasable += a->dirty;
        pthread_mutex_unlock(&a->lock);
    }
}

/* The integrity walk: every chunk from the base to the sentinel, then every
 * list, then the chunk-start bitmap against the chunks found. */
static void medium_check(void)
{
    for (int i = 0; i < NARENAS; i++) {
        struct arena *a = &arenas[i];
        pthread_mutex_lock(&a->lock);
        enum ward_call op = CALL_CHECK_HEAP;
        size_t nchunks = 0, nfree = 0, freeb = 0, nlive = 0, nbusy = 0;
        uintptr_t c = a->base, bad;
        bool prev_free = false;
        while (c < a->end) {
            uint64_t m;
            if (!bit_get(a->starts, bit_of(a, c)))
                corrupt(a, BUG_STATE_CORRUPTED, op, c + HDR, 0, "chunk start missing from the bitmap");
            int ok = hdr_load_shared(c, &m, 50, chunk_ep(a, c));
            if (!ok)
                corrupt(a, BUG_CORRUPTED_HEADER, op, c + HDR, 0, "header check failed");
            size_t size = meta_size(m);
            unsigned st = ok < 0 ? 0 : meta_state(m);
            if (size < MED_MIN_CHUNK || c + size > a->end || (size & 15))
                corrupt(a, BUG_CORRUPTED_HEADER, op, c + HDR, size, "chunk overlaps its neighbour");
            nchunks++;
            if (ok < 0) {
                /* mid-transition (or abandoned by a fork): its size is still its own */
                if (busy_forged(c))
                    corrupt(a, BUG_CORRUPTED_HEADER, op, c + HDR, size, "header holds a busy mark no call is making");
                nbusy++;
            } else if (st == ST_ALLOC) {
                size_t un = meta_unused(m);
                nlive++;
                if (!bit_get(a->live, bit_of(a, c)))
                    corrupt(a, BUG_CORRUPTED_HEADER, op, c + HDR, size, "a live chunk's header over a chunk that is not live");
                if (un > size - HDR || !canary_ok(keys_at(chunk_ep(a, c)), c + HDR, size - HDR - un, un))
                    corrupt(a, BUG_HEAP_BUFFER_OVERFLOW, op, c + HDR, size, "canary after the request was overwritten");
            } else if (st == ST_QUAR) {
                if (!m_dirty(m) && !poison_ok(c + HDR, size - HDR, &bad))
                    corrupt(a, BUG_WRITE_AFTER_FREE, op, c + HDR, size, "freed memory was written");
            } else if (st == ST_FREE) {
                size_t fs;
                if (prev_free)
                    corrupt(a, BUG_STATE_CORRUPTED, op, c + HDR, size, "two free chunks side by side");
                if (!foot_load(a, c + size - 16, &fs) || fs != size)
                    corrupt(a, BUG_CORRUPTED_HEADER, op, c + HDR, size, "free chunk's footer does not verify");
                (void)link_get(a, c, L_NEXT, op);
                (void)link_get(a, c, L_PREV, op);
                if (!(meta_unused(m) & F_DIRTY) && !poison_ok(c + 32, size - 48, &bad))
                    corrupt(a, BUG_WRITE_AFTER_FREE, op, c + HDR, size, "a free chunk was written after it was freed");
                nfree++;
                freeb += size;
            } else {
                corrupt(a, BUG_CORRUPTED_HEADER, op, c + HDR, size, "bad state");
            }
            prev_free = st == ST_FREE;
            c += size;
        }
        if (a->end != a->base) {
            uint64_t m;
            if (c != a->end || !hdr_load(a->end, &m, chunk_ep(a, a->end)) || meta_state(m) != ST_SENTINEL)
                corrupt(a, BUG_HEAP_BUFFER_OVERFLOW, op, a->end, 0, "the arena's end sentinel was overwritten");
        }
        size_t listed = 0;
        for (unsigned b = 0; b < NBINS; b++) {
            uintptr_t prev = 0;
            for (uintptr_t x = a->bins[b]; x; x = link_get(a, x, L_NEXT, op)) {
                size_t s = free_size(a, x, op);
                if (bin_of(s) != b || link_get(a, x, L_PREV, op) != prev)
                    corrupt(a, BUG_CORRUPTED_LINK, op, x + HDR, s, "free list out of order");
                if (++listed > nfree)
                    corrupt(a, BUG_CORRUPTED_LINK, op, x + HDR, s, "free list has a cycle");
                prev = x;
            }
            if (!a->bins[b] != !((a->binmap[b / 64] >> (b % 64)) & 1))
                corrupt(a, BUG_STATE_CORRUPTED, op, a->base, 0, "bin map disagrees with the lists");
        }
        if (listed != nfree || nfree != a->nfree || freeb != a->free_bytes)
            corrupt(a, BUG_STATE_CORRUPTED, op, a->base, 0, "free lists disagree with the chunks");
        size_t set = 0, words = (a->end - a->base + 16 * 64 - 1) / (16 * 64);
        for (size_t w = 0; w < words; w++)
            set += (size_t)__builtin_popcountll(a->starts[w]);
        if (set != nchunks)
            corrupt(a, BUG_STATE_CORRUPTED, op, a->base, 0, "chunk-start bitmap disagrees with the chunks");
        for (size_t w = 0, live = 0; w <= words; w++) {
            live += w < words ? (size_t)__builtin_popcountll(a->live[w]) : 0;
            if (w == words && (live < nlive || live > nlive + nbusy))
                corrupt(a, BUG_STATE_CORRUPTED, op, a->base, 0, "live bitmap disagrees with the chunks");
        }
        pthread_mutex_unlock(&a->lock);
    }
}

/* Live chunks and their requested bytes (ward_live_chunks). */
static void medium_count_live(size_t *count, size_t *bytes)
{
    for (int i = 0; i < NARENAS; i++) {
        struct arena *a = &arenas[i];
        pthread_mutex_lock(&a->lock);
        for (uintptr_t c = a->base; c < a->end;) {
            uint64_t m;
            int ok = hdr_load_shared(c, &m, 50, chunk_ep(a, c));
            size_t size = meta_size(m);
            if (!ok || size < MED_MIN_CHUNK || c + size > a->end)
                break; /* ward_check_heap says what is wrong */
            if (ok > 0 && meta_state(m) == ST_ALLOC) {
                (*count)++;
                *bytes += size - HDR - meta_unused(m);
            }
            c += size;
        }
        pthread_mutex_unlock(&a->lock);
    }
}

/* leaks=1: chunks tile each arena; the live bitmap says which are handed
 * out, the header the request size (busy: the whole chunk) */
static void medium_for_each_live(void (*fn)(void *, uintptr_t, size_t, int), void *ctx)
{
    for (int i = 0; i < NARENAS; i++) {
        struct arena *a = &arenas[i];
        for (uintptr_t c = a->base; c < a->end;) {
            uint64_t m;
            int ok = hdr_load_shared(c, &m, 0, chunk_ep(a, c));
            size_t size = meta_size(m);
            if (!ok || size < MED_MIN_CHUNK || c + size > a->end)
                break; /* ward_check_heap says what is wrong */
            if (bit_get(a->live, bit_of(a, c))) {
                size_t n = size - HDR;
                if (ok > 0 && meta_state(m) == ST_ALLOC && meta_unused(m) <= n)
                    n -= meta_unused(m);
                fn(ctx, c + HDR, n, TIER_MEDIUM);
            }
            c += size;
        }
    }
}

#ifdef WARD_TESTING
#include "testing.h"
/* The harness build's reset: every arena back to empty (no chunks, no
 * sentinel), its memory given back and inaccessible, its bitmaps and lists
 * cleared. */
static void medium_testing_reset(void)
{
    for (int i = 0; i < NARENAS; i++) {
        struct arena *a = &arenas[i];
        pthread_mutex_init(&a->lock, NULL);
        size_t words = (a->end - a->base) / (16 * 64) + 1;
        memset(a->starts, 0, words * 8);
        memset(a->freed, 0, words * 8);
        memset(a->live, 0, words * 8);
        testing_uncommit((void *)a->base, a->committed);
        memset(a->bins, 0, sizeof a->bins);
        memset(a->binmap, 0, sizeof a->binmap);
        a->end = a->base;
        a->touched = 0;
        a->purged_ms = 0;
        a->committed = 0;
        a->dirty = a->live_bytes = a->free_bytes = a->nfree = 0;
    }
}
#endif

const struct tier_ops medium_tier = {
    .check = medium_check,
    .stats = medium_stats,
    .count_live = medium_count_live,
    .for_each_live = medium_for_each_live,
    .trim = medium_trim,
    .lock_all = medium_lock_all,
    .unlock_all = medium_unlock_all,
    .reinit_locks = medium_reinit_locks,
    TIER_TESTING_RESET(medium_testing_reset)
};
