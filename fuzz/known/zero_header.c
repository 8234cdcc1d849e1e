/* A 16-byte overflow of zeros past a small block with no slack wipes the
 * next slot's header to all zeros: ward takes it for a never-used slot. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
int main(void)
{
    char *p = malloc(16);          /* 32-byte slot: no slack */
    memset(p + 16, 0, 16);         /* the next slot's header: all zero */
    free(p);                       /* expected: heap buffer overflow */
    printf("no report at free(p)\n");
    return 0;
}
