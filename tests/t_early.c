/* The first malloc can come before any constructor has run: this program's
 * .preinit_array runs before the constructors of every shared object, ward's
 * included.  It allocates there (malloc, calloc, realloc, strdup through
 * libc, posix_memalign, free), and main checks that those blocks are ward's
 * and intact. */
#include "test_util.h"

static char *early_str, *early_big, *early_zero;
static void *early_aligned;
static int early_ok = -1;

static void early(int argc, char **argv, char **envp)
{
    (void)argc, (void)argv, (void)envp;
    char *tmp = malloc(100);
    if (!tmp)
        return;
    memset(tmp, 'x', 100);
    free(tmp);
    early_str = strdup("allocated before any constructor");
    early_zero = calloc(1000, 3);
    early_big = malloc(2000);
    if (early_big) {
        memset(early_big, 7, 2000);
        early_big = realloc(early_big, 900000);
    }
    early_ok = posix_memalign(&early_aligned, 4096, 5000);
}

__attribute__((section(".preinit_array"), used)) static void (*preinit)(int, char **, char **) = early;

int main(void)
{
    ward_loaded();
    if (early_ok != 0 || !early_str || !early_big || !early_zero || !early_aligned)
        fail("allocations in .preinit_array failed (rc %d)", early_ok);
    if (strcmp(early_str, "allocated before any constructor"))
        fail("early strdup changed");
    if (find_nonzero(early_zero, 3000) >= 0)
        fail("early calloc not zero");
    for (size_t i = 0; i < 2000; i++)
        if (early_big[i] != 7)
            fail("early realloc lost byte %zu", i);
    if (!is_aligned(early_aligned, 4096))
        fail("early posix_memalign not aligned");
    if (!no_ward() && malloc_usable_size(early_str) != strlen(early_str) + 1)
        fail("malloc_usable_size of the early strdup is %zu", malloc_usable_size(early_str));
    check_heap_at("after the early allocations");
    free(early_str);
    free(early_zero);
    free(early_big);
    free(early_aligned);
    check_heap_at("after freeing them");

    note("early allocations are ward's and intact");
    return 0;
}
