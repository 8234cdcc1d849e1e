/* t_tls: frees and mallocs from thread-exit destructors, before and after
 * ward's own (which gives the thread's cache and quarantine back):
 *   - a pthread key made in .preinit_array, before ward starts (its
 *     destructor runs before ward's);
 *   - a key made in main (runs after ward's: the cache is gone), which
 *     frees, mallocs anew and sets itself again for a second round;
 *   - C++-style thread_local destructors (__cxa_thread_atexit_impl);
 *   - a __thread pointer freed by a destructor, blocks from other threads.
 * 400 threads, 8 at a time; then nothing is lost (ward_get_stats in_use
 * back where it was) and ward_check_heap() passes. */
#include "test_util.h"

#include <pthread.h>

extern int __cxa_thread_atexit_impl(void (*)(void *), void *, void *);
extern void *__dso_handle;

static pthread_key_t key_early, key_late;
static int early_made;
static __thread char *tls_block;
static void *handoff[8];

static void early(int argc, char **argv, char **envp)
{
    (void)argc, (void)argv, (void)envp;
    early_made = pthread_key_create(&key_early, free) == 0;
}
__attribute__((section(".preinit_array"), used)) static void (*preinit)(int, char **, char **) = early;

static void fill_check(char *p, size_t n, int v)
{
    memset(p, v, n);
    for (size_t i = 0; i < n; i += 97)
        if (p[i] != (char)v)
            fail("block changed");
}

struct late_state {
    int round;
    char *block;
};

static void late_dtor(void *arg)
{
    struct late_state *s = arg;
    free(s->block);
    if (tls_block) {
        free(tls_block);
        tls_block = NULL;
    }
    /* allocate and free across the tiers with the cache gone */
    for (size_t n = 1; n < 3 * MiB; n = n * 3 + 5) {
        char *p = malloc(n);
        if (!p)
            fail("malloc(%zu) in a thread-exit destructor", n);
        fill_check(p, n, 0x5a);
        p = realloc(p, n + 100);
        free(p);
    }
    if (s->round++ == 0) { /* a second round of destructors */
        s->block = malloc(333);
        pthread_setspecific(key_late, s);
    } else {
        free(s);
    }
}

static void cxx_dtor(void *arg)
{
    char *p = arg;
    fill_check(p, 500, 1);
    free(p);
    free(calloc(3, 1000));
}

static void *thread_fn(void *arg)
{
    unsigned id = (unsigned)(uintptr_t)arg;
    struct late_state *s = malloc(sizeof *s);
    s->round = 0;
    s->block = malloc(1000 + id);
    pthread_setspecific(key_late, s);
    pthread_setspecific(key_early, malloc(40 + id % 100));
    tls_block = malloc(70000);
    for (int i = 0; i < 3; i++)
        if (__cxa_thread_atexit_impl(cxx_dtor, malloc(500), &__dso_handle) != 0)
            fail("__cxa_thread_atexit_impl failed");
    /* a block another thread made, freed at this thread's exit */
    void *other = __atomic_exchange_n(&handoff[id % 8], malloc(64), __ATOMIC_ACQ_REL);
    if (other)
        __cxa_thread_atexit_impl(free, other, &__dso_handle);
    for (int i = 0; i < 200; i++)
        free(malloc((size_t)(i * 13 % 2000) + 1));
    return NULL;
}

int main(void)
{
    ward_loaded();
    if (!early_made)
        fail("pthread_key_create in .preinit_array failed");
    if (pthread_key_create(&key_late, late_dtor))
        fail("pthread_key_create");
    struct ward_stats s0, s1;
    bool have = false;
    /* the first batch also fills glibc's cache of thread stacks (with their
     * TLS vectors, which glibc allocates): the baseline comes after it */
    for (unsigned base = 0; base < 408; base += 8) {
        if (base == 8) {
            malloc_trim(0);
            have = ward_stats(&s0);
        }
        pthread_t t[8];
        for (unsigned i = 0; i < 8; i++)
            if (pthread_create(&t[i], NULL, thread_fn, (void *)(uintptr_t)(base + i)))
                fail("pthread_create");
        for (unsigned i = 0; i < 8; i++)
            pthread_join(t[i], NULL);
        if (base % 80 == 0)
            check_heap_at("between batches of threads");
    }
    malloc_trim(0);
    check_heap_at("after 400 threads");
    if (have && ward_stats(&s1) && s1.in_use != s0.in_use)
        fail("in_use %zu before the threads, %zu after: blocks freed at thread exit were lost", s0.in_use,
             s1.in_use);
    note("400 threads freed and allocated from thread-exit destructors (pthread keys before and after ward's, "
         "thread_local destructors); nothing lost");
    return 0;
}
