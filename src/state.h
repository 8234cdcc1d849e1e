/* state.h: the global state, read-only once start-up is complete (api.c
 * makes it so): the options, the per-process secrets, the heap's layout and
 * the small tier's chosen paths, in one page between two guard words. */
#ifndef WARD_STATE_H
#define WARD_STATE_H

#include "settings.h"
#include "options.h"
#include "report.h"

/* ---- global read-only state --------------------------------------------- */

/* The small tier's malloc, free and realloc for these options and this CPU
 * (small.c's small_paths_init). */
struct small_paths {
    void *(*alloc)(size_t n, unsigned cls, bool zero);
    void (*free)(uintptr_t p, enum ward_call op);
    void *(*realloc)(uintptr_t p, size_t n, size_t *old);
};

struct ward_report;

/* A set of secrets, filled by one call to the random source: the
 * process's own at start-up (epoch 0), and a fresh set in each forked child
 * (chunk.h's key ring), which keeps its ancestors' for the chunks they made. */
struct ward_keys {
    /* two keys for each keyed value: no two kinds of value share a key */
    uint64_t hk0, hk1;           /* header check word */
    uint64_t bk0, bk1;           /* the busy mark (a header mid-transition) */
    uint64_t fk0, fk1;           /* medium free chunks' footers */
    uint64_t lm0, lm1;           /* free-list link masks */
    uint64_t lt0, lt1;           /* free-list link tags */
    uint64_t ck0, ck1;           /* canaries */
    uint64_t rk;                 /* seed for per-thread randomness */
    unsigned char sipkey[16];    /* crypto_shorthash key (checksum=siphash) */
};

struct ward_ro {
    uint64_t guard0;
    struct ward_options opt;
    struct ward_keys keys;       /* the key ring's entry 0 (chunk.h), drawn at start-up */
    uint8_t epoch;               /* the key ring's entry this process keys with: its fork depth */
    size_t page;
    uintptr_t heap_lo, heap_hi;  /* the whole reservation */
    uintptr_t pool_lo, pool_hi;  /* sample.c's pages (empty with sample=0) */
    uintptr_t zero_lo, zero_hi;  /* zero.c's never-accessible region for malloc(0) */
    uintptr_t small_base, small_end;
    uintptr_t medium_base, medium_end;
    size_t class_region, arena_region;
    unsigned class_shift;        /* class_region == 1 << class_shift */
    unsigned arena_shift;        /* arena_region == 1 << arena_shift */
    uint32_t slot_size[NCLASSES];
    uint8_t class_of16[SMALL_SLOT_MAX / 16 + 1]; /* (n + HDR + 15) / 16 -> class */
    pthread_key_t tkey;
    bool free_direct;            /* free of a small chunk may skip the API layer (no trace, no continue) */
    bool recover;                /* calls that can report run under a recovery point (on_error=continue,
                                    suppressions) */
    bool avx2;                   /* the CPU has AVX2: the poison checks read 32 bytes a load */
    struct small_paths small;    /* the small tier's paths (small_init) */
    void (*report_fn)(const struct ward_report *, void *); /* ward_set_report_callback */
    void *report_arg;
    uint64_t guard1;
};

union ward_ro_page {
    struct ward_ro r;
    char pad[4096];
};
_Static_assert(sizeof(struct ward_ro) <= 4096, "read-only state fits one page");
extern union ward_ro_page ward_g INTERNAL;
#define G (ward_g.r)

extern int ward_ready INTERNAL; /* 2 once start-up is complete */
void ward_init_slow(void) INTERNAL;
static inline void ward_ensure_init(void)
{
    if (unlikely(__atomic_load_n(&ward_ready, __ATOMIC_ACQUIRE) != 2))
        ward_init_slow();
}

/* ---- options.c ----------------------------------------------------------- */
void ward_options_init(struct ward_options *o) INTERNAL;

#endif
