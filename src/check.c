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
    for (int tries = 0;; tries++) {
        uint64_t c1 = __atomic_load_n(&h->check, __ATOMIC_ACQUIRE);
        uint64_t m = __atomic_load_n(&h->meta, __ATOMIC_ACQUIRE);
        uint64_t c2 = __atomic_load_n(&h->check, __ATOMIC_ACQUIRE);
        *meta = m;
        if (c1 == c2 && c1 != 0)
            return c1 == hdr_check_of(chunk, m);
        if (c1 == c2 && m == 0)
            return 0; /* never written, or wiped */
        if (tries >= max_tries)
            return -1;
        if (tries > 20)
            sched_yield();
    }
}

/* The canary's bytes are the pattern laid out at 8-byte positions from the
 * user pointer: byte k (k >= req) is byte (k & 7) of the pattern, so whole
 * aligned words can be written and compared at once. */
void canary_write(uintptr_t user, size_t req, size_t unused)
{
    if (!G.opt.canary || unused == 0)
        return;
    uint64_t pat = canary_pattern(user);
    unsigned char *b = (unsigned char *)user;
    size_t k = req, end = req + canary_len(unused);
    for (; k < end && (k & 7); k++)
        b[k] = (unsigned char)(pat >> (8 * (k & 7)));
    for (; k + 8 <= end; k += 8)
        memcpy(b + k, &pat, 8);
    for (; k < end; k++)
        b[k] = (unsigned char)(pat >> (8 * (k & 7)));
}

bool canary_ok(uintptr_t user, size_t req, size_t unused)
{
    if (!G.opt.canary || unused == 0)
        return true;
    uint64_t pat = canary_pattern(user), w, diff = 0;
    const unsigned char *b = (const unsigned char *)user;
    size_t k = req, end = req + canary_len(unused);
    for (; k < end && (k & 7); k++)
        diff |= b[k] ^ (unsigned char)(pat >> (8 * (k & 7)));
    for (; k + 8 <= end; k += 8) {
        memcpy(&w, b + k, 8);
        diff |= w ^ pat;
    }
    for (; k < end; k++)
        diff |= b[k] ^ (unsigned char)(pat >> (8 * (k & 7)));
    return diff == 0;
}

bool mem_is_zero(const void *p, size_t n)
{
    const unsigned char *b = p;
    while (n && ((uintptr_t)b & 7)) {
        if (*b++)
            return false;
        n--;
    }
    const uint64_t *w = (const uint64_t *)(const void *)b;
    while (n >= 32) {
        if (w[0] | w[1] | w[2] | w[3])
            return false;
        w += 4;
        n -= 32;
    }
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
