/* t_canarykeys: a heap reader who reads many canaries cannot predict the
 * canary of a block it never read (SECURITY.md, "Heap reader" and "Secrets").
 *
 * The attack is the one a white-box review ran against ward's old canary,
 * one round of the multiply mix, F(u ^ a, k) | 0x80.. (F(x, k): the 128-bit
 * product x * k, its halves XORed): read the canaries of 15 of the 16
 * 8-byte blocks whose user pointers share an aligned 512 bytes (32-byte
 * slots, so their addresses differ only in bits 5-8), and solve for both
 * keys.  With X the product's part common to the 16, x_j = X + 32 m_j for
 * m_j = j ^ (bits 5-8 of a); the 128-bit product is Q + m_j * 32k, Q = X*k:
 *   low half  = lo(Q) + m_j * 32k   (mod 2^64)
 *   high half = hi(Q) + t_j,  t_j = floor(m_j * k/2^59 + lo(Q)/2^64)
 * The t_j (16 small numbers) follow from k/2^59 and lo(Q)/2^64 alone and
 * take only a few thousand shapes; for each shape and each guess of the 4
 * key bits, the unknown bits of lo(Q), hi(Q) and k are then found one bit
 * position at a time from the lowest, each of the 15 canaries checking each
 * guess at each bit (those the 0x80 bytes hide excepted).  Then X = Q / k,
 * and a follows.  About 600,000 starting guesses, nearly all dropped at the
 * first bit: a fraction of a second.
 *
 * 1. Control: the attack is run on the old construction under random keys,
 *    at the addresses of the blocks below.  It must recover both keys and
 *    predict the 16th block's canary and a 3,000-byte block's, every time:
 *    otherwise this test proves nothing.
 * 2. ward: the same attack on the canaries ward wrote.  No key it returns
 *    may predict either canary.
 * 3. The prediction written over the 16th block's canary (an overflow
 *    through it that an attacker hopes to hide), in a forked child: free
 *    must report it.  With the old construction the written bytes would be
 *    the canary itself and free would pass.
 * Run under both checksums (tests/run.sh, 1f).  Under ward only. */
#include "child_util.h"

#include <sys/random.h>

#define MASK 0x8080808080808080ull
#ifndef TRIALS
#define TRIALS 8
#endif
#define FAR 3000 /* the far block's request: a multiple of 8, a medium block */

typedef unsigned __int128 u128;

static void *(*volatile xm)(size_t) = malloc;
static void (*volatile xf)(void *) = free;

static uint64_t mix1(uint64_t a, uint64_t b)
{
    u128 r = (u128)a * b;
    return (uint64_t)r ^ (uint64_t)(r >> 64);
}
static uint64_t old_canary(uint64_t u, uint64_t a, uint64_t k) { return mix1(u ^ a, k) | MASK; }

/* ---- the attack ----------------------------------------------------------- */

#define NOBS 15
#define MAXSHAPES 4096
#define MAXKEYS 16

/* floor(m f + l) for m = 0..15, one row per region of (f, l) in [0,1)^2 */
static uint8_t shapes[MAXSHAPES][16];
static int nshapes;

static double fl(double x)
{
    double i = (double)(long long)x;
    return i > x ? i - 1 : i;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The regions: between consecutive fractions of denominator at most 15 the
 * order of the jumps frac(-m f) does not change, so one f inside each such
 * interval and one l between each pair of jumps gives every shape. */
static void make_shapes(void)
{
    double fr[256];
    int nf = 0;
    for (int q = 1; q <= 15; q++)
        for (int p = 0; p <= q; p++)
            fr[nf++] = (double)p / q;
    qsort(fr, (size_t)nf, sizeof fr[0], cmp_double);
    for (int i = 0; i + 1 < nf; i++) {
        if (fr[i + 1] - fr[i] < 1e-9)
            continue;
        double f = (fr[i] + fr[i + 1]) / 2, jumps[18];
        int nj = 0;
        jumps[nj++] = 0;
        jumps[nj++] = 1;
        for (int m = 1; m < 16; m++) {
            double x = -m * f;
            jumps[nj++] = x - fl(x);
        }
        qsort(jumps, (size_t)nj, sizeof jumps[0], cmp_double);
        for (int j = 0; j + 1 < nj; j++) {
            if (jumps[j + 1] - jumps[j] < 1e-9)
                continue;
            double l = (jumps[j] + jumps[j + 1]) / 2;
            if (nshapes == MAXSHAPES)
                fail("more than %d shapes", MAXSHAPES);
            for (int m = 0; m < 16; m++)
                shapes[nshapes][m] = (uint8_t)fl(m * f + l);
            nshapes++;
        }
    }
}

struct attack {
    uint64_t u0;             /* any of the 16 user pointers */
    unsigned j[NOBS];        /* bits 5-8 of each read block's user pointer */
    uint64_t c[NOBS];        /* its canary */
    /* the guess being extended */
    unsigned a4, m[NOBS];
    uint64_t t[16];
    /* what came out */
    uint64_t key_a[MAXKEYS], key_k[MAXKEYS];
    int nkeys;
};

static void found(struct attack *A, uint64_t lq, uint64_t hq, uint64_t k)
{
    if (k == 0)
        return;
    for (unsigned m = 0; m < 16; m++)
        if ((uint64_t)(((u128)lq + (u128)m * ((u128)k << 5)) >> 64) != A->t[m])
            return;
    u128 q = (u128)hq << 64 | lq, x = q / k;
    if (q % k || x >> 64 || (x & 0x1e0))
        return;
    uint64_t a = (((uint64_t)x ^ A->u0) & ~0x1e0ull) | (uint64_t)A->a4 << 5;
    for (int i = 0; i < A->nkeys; i++)
        if (A->key_a[i] == a && A->key_k[i] == k)
            return;
    if (A->nkeys < MAXKEYS) {
        A->key_a[A->nkeys] = a;
        A->key_k[A->nkeys] = k;
        A->nkeys++;
    }
}

/* bits p.. of lo(Q), hi(Q) and (from p = 5) bit p-5 of k */
static void extend(struct attack *A, int p, uint64_t lq, uint64_t hq, uint64_t k, uint64_t ktop)
{
    if (p == 64) {
        found(A, lq, hq, k | ktop << 59);
        return;
    }
    uint64_t bit = 1ull << p;
    for (unsigned v = 0; v < (p >= 5 ? 8u : 4u); v++) {
        uint64_t L = lq | (v & 1 ? bit : 0), H = hq | (v & 2 ? bit : 0);
        uint64_t K = k | (v & 4 ? 1ull << (p - 5) : 0);
        if (p % 8 != 7) { /* the 0x80 bits hide the rest */
            int i = 0;
            while (i < NOBS && !((((L + A->m[i] * (K << 5)) ^ (H + A->t[A->m[i]]) ^ A->c[i]) >> p) & 1))
                i++;
            if (i < NOBS)
                continue;
        }
        extend(A, p + 1, L, H, K, ktop);
    }
}

static void attack(struct attack *A)
{
    A->nkeys = 0;
    for (unsigned a4 = 0; a4 < 16; a4++) {
        A->a4 = a4;
        for (int i = 0; i < NOBS; i++)
            A->m[i] = A->j[i] ^ a4;
        for (unsigned n = 0; n < 32; n++) /* the top 5 bits of k: k/2^59 = n + f */
            for (int s = 0; s < nshapes; s++) {
                for (unsigned m = 0; m < 16; m++)
                    A->t[m] = (uint64_t)m * n + shapes[s][m];
                extend(A, 0, 0, 0, 0, n);
            }
    }
}

/* ---- the blocks ----------------------------------------------------------- */

/* 16 live 8-byte blocks whose user pointers fill an aligned 512 bytes */
static uint64_t group[16];

static void find_group(void)
{
    enum { N = 8192 };
    static uint64_t got[N];
    for (int i = 0; i < N; i++) {
        got[i] = (uint64_t)xm(8);
        if (!got[i])
            fail("malloc(8) failed");
    }
    for (int i = 0; i < N; i++) {
        if ((got[i] & 31) != 16)
            fail("an 8-byte block at %#llx: not 16 bytes into a 32-byte slot", (unsigned long long)got[i]);
        uint64_t base = got[i] & ~511ull;
        int have = 0;
        memset(group, 0, sizeof group);
        for (int j = 0; j < N; j++)
            if ((got[j] & ~511ull) == base) {
                group[(got[j] >> 5) & 15] = got[j];
                have++;
            }
        if (have == 16)
            return;
    }
    fail("no 16 blocks of 8 bytes in an aligned 512 bytes among %d", N);
}

/* the attack on the canaries of every block of the group but the last */
static void read_group(struct attack *A, uint64_t (*canary)(uint64_t u, const void *), const void *arg)
{
    A->u0 = group[0];
    for (int i = 0; i < NOBS; i++) {
        A->j[i] = (unsigned)i;
        A->c[i] = canary(group[i], arg);
    }
}

struct keys {
    uint64_t a, k;
};
static uint64_t model_canary(uint64_t u, const void *arg)
{
    const struct keys *K = arg;
    return old_canary(u, K->a, K->k);
}
static uint64_t ward_canary(uint64_t u, const void *arg TU_UNUSED)
{
    uint64_t c;
    memcpy(&c, (const void *)(u + 8), 8); /* request 8 in a 16-byte body: the slack is the canary */
    return c;
}

static uint64_t forged;
static void overflow_and_free(const void *arg TU_UNUSED)
{
    memcpy((void *)(group[15] + 8), &forged, 8);
    xf((void *)group[15]);
}

int main(void)
{
    ward_loaded();
    if (no_ward()) {
        note("skipped: under ward only");
        return 0;
    }
    make_shapes();
    find_group();
    unsigned char *far = xm(FAR);
    if (!far)
        fail("malloc(%d) failed", FAR);
    uint64_t far_canary;
    memcpy(&far_canary, far + FAR, 8); /* keyed with the user pointer, far */
    static struct attack A;

    /* 1. control */
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int trial = 0; trial < TRIALS; trial++) {
        struct keys K;
        if (getrandom(&K, sizeof K, 0) != (ssize_t)sizeof K)
            fail("getrandom: %s", strerror(errno));
        read_group(&A, model_canary, &K);
        attack(&A);
        if (A.nkeys == 0)
            fail("control %d: the attack found no keys for the one-round canary (a=%#llx k=%#llx)", trial,
                 (unsigned long long)K.a, (unsigned long long)K.k);
        for (int i = 0; i < A.nkeys; i++)
            if (old_canary(group[15], A.key_a[i], A.key_k[i]) != old_canary(group[15], K.a, K.k) ||
                old_canary((uint64_t)far, A.key_a[i], A.key_k[i]) !=
                    old_canary((uint64_t)far, K.a, K.k))
                fail("control %d: keys %d of %d mispredict (a=%#llx k=%#llx; found a=%#llx k=%#llx)", trial, i,
                     A.nkeys, (unsigned long long)K.a, (unsigned long long)K.k, (unsigned long long)A.key_a[i],
                     (unsigned long long)A.key_k[i]);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    note("control: the one-round canary's keys recovered from %d reads in %d of %d trials (%.2f s each; %d shapes)",
         NOBS, TRIALS, TRIALS,
         ((double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9) / TRIALS, nshapes);

    /* 2. ward's canaries */
    read_group(&A, ward_canary, NULL);
    attack(&A);
    uint64_t real15 = ward_canary(group[15], NULL);
    for (int i = 0; i < A.nkeys; i++) {
        if (old_canary(group[15], A.key_a[i], A.key_k[i]) == real15)
            fail("ward: keys recovered from %d canaries predict the 16th block's", NOBS);
        if (old_canary((uint64_t)far, A.key_a[i], A.key_k[i]) == far_canary)
            fail("ward: keys recovered from %d canaries predict a %d-byte block's", NOBS, FAR);
    }
    note("ward: the attack found %d candidate keys, none predicting a canary it did not read", A.nkeys);

    /* 3. the prediction (or, with none, a canary read elsewhere) written
     * over the 16th block's canary */
    forged = A.nkeys ? old_canary(group[15], A.key_a[0], A.key_k[0]) : A.c[0];
    if (forged == real15)
        fail("the forged canary is the real one");
    struct child_result r;
    run_forked(overflow_and_free, NULL, &r);
    if (!WIFSIGNALED(r.status) || WTERMSIG(r.status) != SIGABRT || !strstr(r.err, "heap buffer overflow"))
        fail("the forged canary written over a block's: status 0x%x, expected a heap buffer overflow report; "
             "stderr:\n%s",
             r.status, r.err);
    note("the forged canary written over the 16th block's was reported at free");
    xf(far);
    printf("ok\n");
    return 0;
}
