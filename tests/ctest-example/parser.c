/* The example project's code under test: a tiny key=value parser.  Built
 * twice; with DOUBLE_FREE_BUG its error path frees the value that its caller
 * frees again, the bug ward must turn into a failing test. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct pair {
    char *key, *value;
};

static int parse_pair(const char *text, struct pair *out)
{
    const char *eq = strchr(text, '=');
    out->key = strndup(text, eq ? (size_t)(eq - text) : strlen(text));
    out->value = strdup(eq ? eq + 1 : "");
    if (!out->key || !out->value)
        return -1;
    if (!eq) {
#ifdef DOUBLE_FREE_BUG
        free(out->value); /* the error path frees, and leaves it dangling */
#endif
        return -1;
    }
    return 0;
}

static void pair_free(struct pair *p)
{
    free(p->key);
    free(p->value);
}

int main(void)
{
    const char *inputs[] = {"name=ward", "tier=small", "broken", "x=1"};
    int ok = 0;
    for (size_t i = 0; i < sizeof inputs / sizeof inputs[0]; i++) {
        struct pair p;
        if (parse_pair(inputs[i], &p) == 0)
            ok++;
        pair_free(&p);
    }
    printf("%d of 4 parsed\n", ok);
    return ok == 3 ? 0 : 1;
}
