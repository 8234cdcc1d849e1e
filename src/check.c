/* check.c: the checks shared by every tier: canaries, poison, the racy
 * header load, and the strict keyed hash. */
#include "internal.h"

#include <sched.h>
#include <sodium.h>

uint64_t ward_siphash2(uint64_t a, uint64_t b)
{
    unsigned char in[16], out[crypto_shorthash_BYTES];
    uint64_t r;
    memcpy(in, &a, 8);
    memcpy(in + 8, &b, 8);
    crypto_shorthash(out, in, sizeof in, G.sipkey);
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

/* Freed memory must be all zero: OR it together 16 bytes at a time (no
 * early exit: a non-zero byte is the rare case, the report path finds it),
 * or 32 at a time where the CPU has AVX2. */
typedef uint64_t v2 __attribute__((vector_size(16)));
typedef uint64_t v4 __attribute__((vector_size(32)));

__attribute__((target("avx2"))) static bool zero_avx2(const unsigned char *b, size_t n)
{
    v4 acc = {0, 0, 0, 0}, x0, x1, x2, x3;
    for (; n >= 128; n -= 128, b += 128) {
        memcpy(&x0, b, 32);
        memcpy(&x1, b + 32, 32);
        memcpy(&x2, b + 64, 32);
        memcpy(&x3, b + 96, 32);
        acc |= (x0 | x1) | (x2 | x3);
    }
    for (; n >= 32; n -= 32, b += 32) {
        memcpy(&x0, b, 32);
        acc |= x0;
    }
    uint64_t t = 0;
    for (; n >= 8; n -= 8, b += 8) {
        uint64_t w;
        memcpy(&w, b, 8);
        t |= w;
    }
    while (n--)
        t |= *b++;
    return !((acc[0] | acc[1]) | (acc[2] | acc[3]) | t);
}

/* 0: not asked yet, 1: no AVX2, 2: AVX2 (asked once; the race is benign) */
static int avx2_state;

bool mem_is_zero(const void *p, size_t n)
{
    const unsigned char *b = p;
    int st = __atomic_load_n(&avx2_state, __ATOMIC_RELAXED);
    if (unlikely(!st)) {
        __builtin_cpu_init(); /* ward may start before the constructors that would */
        st = __builtin_cpu_supports("avx2") ? 2 : 1;
        __atomic_store_n(&avx2_state, st, __ATOMIC_RELAXED);
    }
    if (st == 2 && n >= 64)
        return zero_avx2(b, n);
    while (n && ((uintptr_t)b & 15)) {
        if (*b++)
            return false;
        n--;
    }
    const v2 *w = (const v2 *)(const void *)b;
    v2 acc = {0, 0};
    for (; n >= 64; n -= 64, w += 4)
        acc |= (w[0] | w[1]) | (w[2] | w[3]);
    for (; n >= 16; n -= 16)
        acc |= *w++;
    if (acc[0] | acc[1])
        return false;
    b = (const unsigned char *)w;
    while (n--)
        if (*b++)
            return false;
    return true;
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
