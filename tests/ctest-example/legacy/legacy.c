/* A library the example project uses but does not own ("third party"):
 * legacy_config_free frees the config's name, and legacy_shutdown frees the
 * last name it cached again.  A known double free, reported upstream: the
 * project's ward.supp suppresses it, so ward counts it (ward report lists
 * it as suppressed) and its test still passes, while the project's own
 * double free (parser.c) fails its test.  It also never frees the registry
 * legacy_config_new makes once: a known leak, suppressed the same way. */
#include <stdlib.h>
#include <string.h>

#include "legacy.h"

static char *last_name; /* the bug: kept after legacy_config_free frees it */

/* the other bug: made once, never freed, and its only pointer dropped by
 * legacy_shutdown */
struct registry {
    int configs;
    char tag[40];
};
static struct registry *registry;

static void legacy_registry_init(void)
{
    if (!registry) {
        registry = calloc(1, sizeof *registry);
        if (registry)
            strcpy(registry->tag, "legacy registry");
    }
}

struct legacy_config *legacy_config_new(const char *name)
{
    struct legacy_config *c = malloc(sizeof *c);
    if (!c)
        return NULL;
    c->name = strdup(name);
    last_name = c->name;
    legacy_registry_init();
    if (registry)
        registry->configs++;
    return c;
}

void legacy_config_free(struct legacy_config *c)
{
    free(c->name);
    free(c);
}

void legacy_shutdown(void)
{
    free(last_name); /* already freed by legacy_config_free */
    last_name = NULL;
    registry = NULL; /* leaked */
}
