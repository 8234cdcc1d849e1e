/* chunk.c: the checks shared by every tier: canaries, poison, the racy
 * header load, and the strict keyed hash. */
#include "state.h"
#include "chunk.h"

#include <sched.h>
#include <sodium.h>

uint64_t ward_siphash2(uint64_t a, uint64_t b)
{
    unsigned char in[16], out[crypto_shorthash_BYTES];
    uint64_t r;
    memcpy(in, &a, 8);
    memcpy(in + 8, &b, 8);
    crypto_shorthash(out, in, sizeof in, G.keys.sipkey);
    memcpy(&r, out, 8);
    return r;
}

int hdr_load_shared(uintptr_t chunk, uint64_t *meta, int max_tries)
{
    const struct hdr *h = (const struct hdr *)chunk;
    uint64_t busy = hdr_busy_of(chunk);
    for (int tries = 0;; tries++) {
        uint64_t c1 = __atomic_load_n(&h->check, __ATOMIC_ACQUIRE);
        uint64_t m = __atomic_load_n(&h->meta, __ATOMIC_ACQUIRE);
        uint64_t c2 = __atomic_load_n(&h->check, __ATOMIC_ACQUIRE);
        *meta = m;
        if (c1 == c2 && c1 != busy)
            return c1 == hdr_check_of(chunk, m); /* all zero: 0, the caller tells never-used apart */
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

bool poison_ok(uintptr_t p, size_t n, uintptr_t *bad)
{
    switch (G.opt.poison) {
    case POISON_OFF:
        return true;
    case POISON_PARTIAL: {
        size_t k = (size_t)G.opt.poison_bytes;
        if (n > 2 * k) {
            if (!mem_is_zero((void *)p, k)) {
                *bad = first_nonzero(p, k);
                return false;
            }
            if (!mem_is_zero((void *)(p + n - k), k)) {
                *bad = first_nonzero(p + n - k, k);
                return false;
            }
            return true;
        }
        break;
    }
    default:
        break;
    }
    if (!mem_is_zero((void *)p, n)) {
        *bad = first_nonzero(p, n);
        return false;
    }
    return true;
}
