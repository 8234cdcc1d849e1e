/* ward misses a contiguous overflow that leaves the next chunk's header
 * "busy" (check word 0, meta changed): free() of the overflowing chunk and
 * ward_check_heap() both treat it as a header mid-transition. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
int main(int argc, char **argv)
{
    size_t n = argc > 1 ? strtoul(argv[1], 0, 0) : 4096;  /* n + 16 a multiple of 16: no slack */
    char *p = malloc(n);
    char *q = malloc(n);           /* the neighbour, live */
    memset(p + n, 'A', 8);         /* next header's meta: changed */
    memset(p + n + 8, 0, 8);       /* next header's check word: 0 = "busy" */
    free(p);                       /* expected: heap buffer overflow */
    printf("no report at free(p) (n=%zu)\n", n);
    (void)q;
    return 0;
}
