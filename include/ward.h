/* ward: a hardened, checked malloc.
 *
 * The library exports the C allocation API (malloc, free, ...) for use with
 * LD_PRELOAD, and the same functions under ward's own names so a test or a
 * fuzz harness can drive ward beside the process allocator (link
 * build/libward.a, or build/libward-prefixed.a which exports only the ward_
 * names). */
#ifndef WARD_H
#define WARD_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

void *ward_malloc(size_t size);
void ward_free(void *ptr);
void *ward_calloc(size_t nmemb, size_t size);
void *ward_realloc(void *ptr, size_t size);
void *ward_reallocarray(void *ptr, size_t nmemb, size_t size);
int ward_posix_memalign(void **memptr, size_t alignment, size_t size);
void *ward_aligned_alloc(size_t alignment, size_t size);
void *ward_memalign(size_t alignment, size_t size);
void *ward_valloc(size_t size);
void *ward_pvalloc(size_t size);
size_t ward_malloc_usable_size(void *ptr);
void ward_free_sized(void *ptr, size_t size);
void ward_free_aligned_sized(void *ptr, size_t alignment, size_t size);
int ward_malloc_trim(size_t pad);

/* Walk every slab, arena, free list and large mapping, verifying every
 * header, canary, link and poison, and that no two chunks overlap.  A
 * failure is reported like any other heap error (the process ends as
 * WARD_OPTIONS says); returns 0 when the heap is sound. */
int ward_check_heap(void);

/* Figures from ward's own state (all in bytes unless named a count). */
struct ward_stats {
    size_t mapped;          /* address space committed for chunks and large mappings */
    size_t in_use;          /* bytes in live chunks (chunk sizes, headers included) */
    size_t requested;       /* bytes callers asked for, in live chunks */
    size_t free_bytes;      /* committed bytes free for reuse */
    size_t quarantined;     /* bytes waiting in quarantines */
    size_t releasable;      /* free bytes that malloc_trim could give back */
    size_t small_slots;     /* small slots committed */
    size_t medium_free_chunks; /* count of free medium chunks */
    size_t large_count;     /* live large mappings */
    size_t large_bytes;     /* bytes in live large mappings */
    size_t sampled;         /* live blocks on sampled guard pages (sample=N) */
};
void ward_get_stats(struct ward_stats *out);

/* Chunks allocated and not yet freed (all tiers), and in *bytes (when not
 * NULL) the bytes their callers asked for.  A walk of the whole heap: meant
 * for leak checks at the end of a test (take the count before and after). */
size_t ward_live_chunks(size_t *bytes);

/* A heap error report, as passed to the report callback.  Every string is
 * static or lives in the reporting thread's stack: copy what you keep. */
struct ward_report {
    /* the bug class: "double free", "use after free", "write after free",
     * "invalid free", "invalid pointer", "heap buffer overflow",
     * "sized free mismatch", "sized delete mismatch", "aligned free mismatch",
     * "aligned delete mismatch", "corrupted chunk header",
     * "corrupted free-list link" or "allocator state corrupted" */
    const char *kind;
    /* the call that found it: "free", "free_sized", "free_aligned_sized",
     * "operator delete", "operator delete[]", "realloc", "malloc_usable_size",
     * "malloc" (any allocating call), "malloc_trim", "exit" (exit_check),
     * "ward_check_heap", "access" (a fault on a guard page or a freed page),
     * or the system call that failed ("mmap", "mmap(MAP_FIXED)", "mprotect",
     * "madvise", "munmap") */
    const char *call;
    const void *ptr;       /* the pointer that call was given */
    const char *tier;      /* "small", "medium", "large", "sampled", "zero-size" (malloc(0)) or "" when unknown */
    size_t chunk_size;     /* the chunk's size, 0 when unknown */
    const char *text;      /* the report's first line, as written to stderr */
};

/* Calls fn(report, arg) for each heap error, after the report is written to
 * stderr and before the process ends as WARD_OPTIONS says (on_error).  fn
 * runs in the thread that found the error, possibly with ward's locks held:
 * it must not allocate or free through ward.  It may record the report and
 * return, or leave by longjmp (a test harness that then discards the heap).
 * NULL removes the callback.  The callback is kept in read-only memory. */
void ward_set_report_callback(void (*fn)(const struct ward_report *report, void *arg), void *arg);

#ifdef __cplusplus
}
#endif

#endif
