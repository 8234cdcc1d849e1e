/* chunk.c: the checks shared by every tier: canaries, poison, the racy
 * header load, and the strict keyed hash. */
#include "state.h"
#include "chunk.h"
#include "os.h"

#include <sched.h>
#include <sodium.h>

union ward_ring_pages ward_ring __attribute__((aligned(4096)));

uint64_t ward_siphash2(const struct ward_keys *K, uint64_t a, uint64_t b)
{
    unsigned char in[16], out[crypto_shorthash_BYTES];
    uint64_t r;
    memcpy(in, &a, 8);
    memcpy(in + 8, &b, 8);
    crypto_shorthash(out, in, sizeof in, K->sipkey);
    memcpy(&r, out, 8);
    return r;
}

int hdr_load_shared(uintptr_t chunk, uint64_t *meta, int max_tries, const uint8_t *ep)
{
    const struct hdr *h = (const struct hdr *)chunk;
    uint64_t busy = hdr_busy_of(chunk);
    for (int tries = 0;; tries++) {
        uint64_t c1 = __atomic_load_n(&h->check, __ATOMIC_ACQUIRE);
        uint64_t m = __atomic_load_n(&h->meta, __ATOMIC_ACQUIRE);
        uint64_t c2 = __atomic_load_n(&h->check, __ATOMIC_ACQUIRE);
        *meta = m;
        if (c1 == c2 && c1 != busy)
            return c1 == hdr_check_of(keys_at(ep), chunk, m); /* all zero: 0, the caller tells never-used apart */
        if (tries >= max_tries)
            return -1;
        if (tries > 20)
            sched_yield();
    }
}

/* Freed memory must be all zero: the bytes up to 16-byte alignment, then
 * the aligned blocks with the small tier's check (no early exit: a non-zero
 * byte is the rare case, the report path finds it), then the bytes left. */
#ifdef WARD_AVX2
__attribute__((target("avx2"))) static bool blocks_zero_avx2(uintptr_t a, size_t n)
{
    return mem_is_zero16_avx2(a, n);
}
#endif

bool mem_is_zero(const void *p, size_t n)
{
    const unsigned char *b = p;
    unsigned char any = 0;
    for (; n && ((uintptr_t)b & 15); n--)
        any |= *b++;
    size_t blocks = n & ~(size_t)15;
    if (blocks) {
#ifdef WARD_AVX2
        if (G.avx2 ? !blocks_zero_avx2((uintptr_t)b, blocks) : !mem_is_zero16(b, blocks))
            return false;
#else
        if (!mem_is_zero16(b, blocks))
            return false;
#endif
        b += blocks;
    }
    for (n -= blocks; n; n--)
        any |= *b++;
    return any == 0;
}

static uintptr_t first_nonzero(uintptr_t p, size_t n)
{
    const unsigned char *b = (const unsigned char *)p;
    for (size_t i = 0; i < n; i++)
        if (b[i])
            return p + i;
    return p;
}

/* A range spanning at least this many whole pages is verified or cleared
 * by asking the kernel which of its pages are resident: a page given back
 * (or never touched) reads as zero without being read. */
#define RESIDENT_MIN_PAGES 2

static inline uintptr_t page_up(uintptr_t a) { return (a + G.page - 1) & ~(uintptr_t)(G.page - 1); }
static inline uintptr_t page_down(uintptr_t a) { return a & ~(uintptr_t)(G.page - 1); }

/* Calls f on each resident piece of [p, p+n) (the whole range when it
 * spans few pages, or when the kernel cannot say); stops at the first
 * piece for which f is false and returns false. */
static bool each_resident(uintptr_t p, size_t n, bool (*f)(uintptr_t, size_t, uintptr_t *), uintptr_t *bad)
{
    uintptr_t end = p + n, lo = page_up(p), hi = page_down(end);
    if (hi <= lo || (hi - lo) / G.page < RESIDENT_MIN_PAGES)
        return f(p, n, bad);
    if (lo > p && !f(p, lo - p, bad))
        return false;
    unsigned char vec[256];
    size_t step = sizeof vec * G.page;
    for (uintptr_t a = lo; a < hi; a += step) {
        size_t len = hi - a < step ? hi - a : step;
        if (!os_resident((void *)a, len, vec)) {
            if (!f(a, len, bad))
                return false;
            continue;
        }
        for (size_t i = 0, np = len / G.page; i < np;) {
            if (!(vec[i] & 1)) {
                i++;
                continue;
            }
            size_t j = i;
            while (j < np && (vec[j] & 1))
                j++;
            if (!f(a + i * G.page, (j - i) * G.page, bad))
                return false;
            i = j;
        }
    }
    return end <= hi || f(hi, end - hi, bad);
}

static bool is_zero(uintptr_t p, size_t n, uintptr_t *bad)
{
    if (mem_is_zero((void *)p, n))
        return true;
    *bad = first_nonzero(p, n);
    return false;
}

/* *bytes: how many were written, summed */
static bool set_zero(uintptr_t p, size_t n, uintptr_t *bytes)
{
    memset((void *)p, 0, n);
    *bytes += n;
    return true;
}

bool poison_ok(uintptr_t p, size_t n, uintptr_t *bad)
{
    return G.opt.poison == POISON_OFF || each_resident(p, n, is_zero, bad);
}

size_t zero_resident(uintptr_t p, size_t n)
{
    uintptr_t bytes = 0;
    (void)each_resident(p, n, set_zero, &bytes);
    return (bytes + G.page - 1) / G.page + 2;
}
