/* static_glibc.c: the rest of the names glibc's malloc object (malloc.o in
 * libc.a, glibc 2.36) defines, so that a program linked `-static ...
 * -lward` never pulls glibc's malloc in: if any other object of the link
 * referred to one of these names and ward did not define it, the linker would
 * take malloc.o from libc.a for it, and malloc.o's own malloc and free would
 * then clash with ward's (or, worse, a second heap would live beside ward's).
 *
 * The public names (malloc, memalign, mallinfo2, ...) are api.c's.  The
 * __libc_ ones below are exported from libward.so too.  The others are
 * glibc's internal names, which only libc.a's own objects or a program
 * reaching into them use: they stay hidden, so libward.so does not export
 * them (glibc's libc.so does not either).  api.c refers to ward_static_glibc
 * below, so a static link takes this object whenever it takes api.o. */
#include "settings.h"

#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>

#ifdef WARD_EXPORT_LIBC
const int ward_static_glibc = 1;

struct mallinfo ward_mallinfo(void);
struct mallinfo2 ward_mallinfo2(void);
int ward_malloc_info(int options, FILE *fp);
void ward_malloc_stats(void);
int ward_mallopt(int param, int value);

/* An alias must name a symbol of the same file: these are one jump each. */
INTERNAL void *__malloc(size_t n) { return ward_malloc(n); }
INTERNAL void __free(void *p) { ward_free(p); }
INTERNAL void *__calloc(size_t a, size_t b) { return ward_calloc(a, b); }
INTERNAL void *__realloc(void *p, size_t n) { return ward_realloc(p, n); }
INTERNAL void *__memalign(size_t a, size_t n) { return ward_memalign(a, n); }
INTERNAL int __posix_memalign(void **m, size_t a, size_t n) { return ward_posix_memalign(m, a, n); }
INTERNAL void *__valloc(size_t n) { return ward_valloc(n); }
INTERNAL void *__pvalloc(size_t n) { return ward_pvalloc(n); }
INTERNAL size_t __malloc_usable_size(void *p) { return ward_malloc_usable_size(p); }
INTERNAL int __malloc_trim(size_t pad) { return ward_malloc_trim(pad); }
INTERNAL struct mallinfo __mallinfo(void) { return ward_mallinfo(); }
INTERNAL struct mallinfo2 __mallinfo2(void) { return ward_mallinfo2(); }
INTERNAL void __malloc_stats(void) { ward_malloc_stats(); }
INTERNAL int __malloc_info(int options, FILE *fp) { return ward_malloc_info(options, fp); }
INTERNAL int __mallopt(int param, int value) { return ward_mallopt(param, value); }
/* exported: the other __libc_ names are api.c's, this one belongs with them
 * (libc.so.6 has no __libc_mallinfo2, libc.a does) */
__attribute__((visibility("default"))) struct mallinfo2 __libc_mallinfo2(void) { return ward_mallinfo2(); }

/* The __libc_ names are exported (glibc's libc.so.6 exports them too, and
 * some programs call them to reach "the real" malloc).  Weak here: api.c
 * defines the main ones (issue 7), and its definitions win; these keep a
 * static link and libward.so complete whichever way the two are built. */
#define WEAK_EXPORT __attribute__((weak, visibility("default")))
WEAK_EXPORT void *__libc_malloc(size_t n) { return ward_malloc(n); }
WEAK_EXPORT void __libc_free(void *p) { ward_free(p); }
WEAK_EXPORT void *__libc_calloc(size_t a, size_t b) { return ward_calloc(a, b); }
WEAK_EXPORT void *__libc_realloc(void *p, size_t n) { return ward_realloc(p, n); }
WEAK_EXPORT void *__libc_memalign(size_t a, size_t n) { return ward_memalign(a, n); }
WEAK_EXPORT void *__libc_valloc(size_t n) { return ward_valloc(n); }
WEAK_EXPORT void *__libc_pvalloc(size_t n) { return ward_pvalloc(n); }
WEAK_EXPORT struct mallinfo __libc_mallinfo(void) { return ward_mallinfo(); }
WEAK_EXPORT int __libc_mallopt(int param, int value) { return ward_mallopt(param, value); }

/* glibc's fork calls these (weak references in libc.a's fork.o) around the
 * fork to keep its arenas consistent; ward's own atfork handlers (api.c)
 * already take and release every ward lock, so there is nothing to do. */
INTERNAL void __malloc_fork_lock_parent(void) {}
INTERNAL void __malloc_fork_unlock_parent(void) {}
INTERNAL void __malloc_fork_unlock_child(void) {}

/* glibc's thread exit hands the thread's arena back through this; ward's
 * per-thread caches go back through their own TLS destructor (thread.c). */
INTERNAL void __malloc_arena_thread_freeres(void) {}

/* glibc's sbrk hook for its main arena: ward never grows a heap with sbrk. */
INTERNAL void *__glibc_morecore(ptrdiff_t increment)
{
    (void)increment;
    errno = ENOMEM;
    return NULL;
}
#endif
