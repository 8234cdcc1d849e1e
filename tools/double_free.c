/* A small program with a classic bug, for `make demo`: a buffer freed on an
 * error path and again by its owner. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct request {
    char *body;
};

static int parse(struct request *r, const char *text)
{
    r->body = strdup(text);
    if (strchr(text, '!')) {
        free(r->body); /* error path frees ... */
        return -1;     /* ... but leaves r->body dangling */
    }
    return 0;
}

int main(void)
{
    struct request r;
    if (parse(&r, "hello!") != 0)
        fprintf(stderr, "double_free: parse failed, cleaning up\n");
    free(r.body); /* the owner frees it again */
    puts("double_free: the double free went unnoticed");
    return 0;
}
