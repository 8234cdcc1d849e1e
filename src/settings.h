/* settings.h: what every file of ward shares: the compile-time settings
 * (sizes, limits, the build profile), checked by the compiler, and the
 * few macros for branch hints and symbol visibility. */
#ifndef WARD_SETTINGS_H
#define WARD_SETTINGS_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../include/ward.h"

#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)
#define INTERNAL __attribute__((visibility("hidden")))
#define COLD __attribute__((cold, noinline))

/* ---- compile-time settings ---------------------------------------------- */

#define HDR 16u                        /* chunk header size; keeps 16-byte alignment */
#define ALIGN 16u
#define NCLASSES 32                    /* small size classes */
#define SMALL_MAX 1024u                /* largest request served by slabs */
#define SMALL_SLOT_MAX (SMALL_MAX + HDR)
#define SLAB_BYTES (16u * 1024)        /* a slab is about this many bytes of slots */
#define SLAB_MAX_SLOTS 2048u
#define SLAB_KEEP 16u                  /* empty slabs a class keeps resident */
#define SLAB_WORDS (SLAB_MAX_SLOTS / 64)
#define TC_MAX 32                      /* per-thread cache depth per class */
#define TC_BATCH 16                    /* slots moved per refill / drain */
#define TC_POOL_KEEP 4                 /* exited threads' caches kept stocked for new threads */
#define MEDIUM_MAX (512u * 1024)       /* largest request served by arenas */
#define MED_MIN_CHUNK 48u              /* header + links + footer */
#define NARENAS 4
#define ARENA_GROW (2u * 1024 * 1024)  /* arenas grow by at least this much */
#define PURGE_KEEP (1u << 20)          /* free resident bytes an arena keeps past purge_after */
#define COMMIT_STEP (1u * 1024 * 1024) /* slabs are committed in steps of this */
#define NBINS 576                      /* 64 exact, then 16 per power of two */
#define Q_SLOTS 4096                   /* per-thread quarantine ring capacity */
#define LARGE_RING 65536               /* recently freed large chunks remembered */
#define LCACHE_SLOTS 64                /* freed large mappings cached for reuse */
#define LCACHE_FLOOR (4u << 20)        /* the large cache may always hold this much */
#define CANARY_MAX 64u                 /* canary bytes written after the request */

/* x86-64: the poison checks have a copy for CPUs with AVX2 (chunk.h),
 * chosen at start-up (G.avx2). */
#if defined(__x86_64__)
#define WARD_AVX2 1
#endif

/* The build's profile: the checks the small tier's compiled paths make
 * (small.c), and the options a build starts from.  The default profile is
 * every check on; `make light` builds libward-light.so with
 * -DWARD_PROFILE_LIGHT: no canary, no poison, no quarantine, no sampling,
 * no exit check (WARD_OPTIONS can still turn each back on). */
#ifdef WARD_PROFILE_LIGHT
#define WARD_PROFILE_CANARY 0
#define WARD_PROFILE_POISON 0
#define WARD_PROFILE_OPTIONS "quarantine_bytes=0:quarantine_large=0:poison=off:canary=0:exit_check=off:sample=0"
#else
#define WARD_PROFILE_CANARY 1
#define WARD_PROFILE_POISON 1
#define WARD_PROFILE_OPTIONS ""
#endif

_Static_assert(HDR == 16 && ALIGN == 16, "the header keeps 16-byte alignment");
_Static_assert(SMALL_SLOT_MAX % 16 == 0, "slots are multiples of 16");
_Static_assert(SLAB_MAX_SLOTS * 32 >= SLAB_BYTES, "smallest slot fits the bitmap");
_Static_assert(TC_BATCH <= TC_MAX, "batch fits in the cache");
_Static_assert(MEDIUM_MAX + 65536 < (1u << 24), "unused bytes fit the 24-bit field");
_Static_assert((Q_SLOTS & (Q_SLOTS - 1)) == 0, "quarantine ring is a power of two");

/* errno is the caller's: free and friends keep it. */
#define SAVE_ERRNO int saved_errno_ = errno
#define RESTORE_ERRNO errno = saved_errno_

#endif
