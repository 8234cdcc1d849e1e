/* Preloaded beside ward by t_preload, before or after it.  Its constructor
 * allocates, calls dlsym and dlerror (which allocate), starts a thread that
 * allocates, and makes a thread-specific key.  Built with -DWRAP it also
 * interposes malloc, free, calloc and realloc as a counting wrapper that
 * finds the next definitions with dlsym(RTLD_NEXT) — the usual way a
 * preloaded tool wraps the allocator — with a static buffer for what dlsym
 * allocates before the real functions are known. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

char *other_blocks[4];
int other_ok;
unsigned long other_calls;

#ifdef WRAP
static void *(*next_malloc)(size_t);
static void (*next_free)(void *);
static void *(*next_calloc)(size_t, size_t);
static void *(*next_realloc)(void *, size_t);
static char boot[65536] __attribute__((aligned(16)));
static size_t boot_used;
static __thread int resolving;

static void *boot_alloc(size_t n)
{
    size_t at = __atomic_fetch_add(&boot_used, (n + 15) & ~(size_t)15, __ATOMIC_RELAXED);
    return at + n <= sizeof boot ? memset(boot + at, 0, n) : NULL;
}

static int in_boot(void *p) { return (char *)p >= boot && (char *)p < boot + sizeof boot; }

static void resolve(void)
{
    resolving = 1;
    next_malloc = (void *(*)(size_t))dlsym(RTLD_NEXT, "malloc");
    next_free = (void (*)(void *))dlsym(RTLD_NEXT, "free");
    next_calloc = (void *(*)(size_t, size_t))dlsym(RTLD_NEXT, "calloc");
    next_realloc = (void *(*)(void *, size_t))dlsym(RTLD_NEXT, "realloc");
    resolving = 0;
}

void *malloc(size_t n)
{
    if (resolving)
        return boot_alloc(n);
    if (!next_malloc)
        resolve();
    __atomic_add_fetch(&other_calls, 1, __ATOMIC_RELAXED);
    return next_malloc(n);
}

void *calloc(size_t a, size_t b)
{
    if (resolving)
        return boot_alloc(a * b);
    if (!next_calloc)
        resolve();
    __atomic_add_fetch(&other_calls, 1, __ATOMIC_RELAXED);
    return next_calloc(a, b);
}

void *realloc(void *p, size_t n)
{
    if (!next_realloc)
        resolve();
    __atomic_add_fetch(&other_calls, 1, __ATOMIC_RELAXED);
    return next_realloc(p, n);
}

void free(void *p)
{
    if (!p || in_boot(p))
        return;
    if (!next_free)
        resolve();
    next_free(p);
}
#endif

static pthread_key_t key;

static void key_gone(void *p) { free(p); }

static void *thread_fn(void *arg)
{
    (void)arg;
    for (int i = 0; i < 1000; i++)
        free(malloc((size_t)(i * 37 % 5000) + 1));
    pthread_setspecific(key, malloc(77));
    return malloc(300);
}

__attribute__((constructor)) static void other_init(void)
{
    other_blocks[0] = malloc(100);
    other_blocks[1] = calloc(10, 20);
    other_blocks[2] = strdup("made in another preloaded library's constructor");
    (void)dlsym(RTLD_DEFAULT, "no_such_symbol_anywhere");
    const char *e = dlerror();
    void *h = dlopen("libno-such-library.so.9", RTLD_NOW);
    const char *e2 = dlerror();
    pthread_key_create(&key, key_gone);
    pthread_t t;
    void *r = NULL;
    if (pthread_create(&t, NULL, thread_fn, NULL) == 0)
        pthread_join(t, &r);
    other_blocks[3] = r;
    other_blocks[0] = realloc(other_blocks[0], 20000);
    other_ok = e && !h && e2 && other_blocks[0] && other_blocks[1] && other_blocks[2] && other_blocks[3];
}
