/* Loaded by t_foreign with RTLD_DEEPBIND: its malloc binds to the C
 * library's own, not to the preloaded ward. */
#include <stdlib.h>
#include <string.h>

void *deep_alloc(size_t n)
{
    void *p = malloc(n);
    if (p)
        memset(p, 'd', n);
    return p;
}
