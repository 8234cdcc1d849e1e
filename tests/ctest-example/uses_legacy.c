/* The project's test of its use of the legacy library: correct on its
 * side; the library's own double free (legacy/legacy.c) is suppressed by
 * ward.supp, so under ward the test passes and the bug is counted. */
#include <stdio.h>
#include <string.h>

#include "legacy/legacy.h"

int main(void)
{
    struct legacy_config *c = legacy_config_new("example");
    if (!c || strcmp(c->name, "example") != 0)
        return 1;
    legacy_config_free(c);
    legacy_shutdown();
    puts("legacy ok");
    return 0;
}
