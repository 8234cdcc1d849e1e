/* testing.h: the resettable heap of the harness build (-DWARD_TESTING, the
 * objects of libward-prefixed.a only).  Each tier discards its own state;
 * testing.c exports ward_testing_reset(), declared for harnesses in
 * include/ward_testing.h.  Nothing here exists in libward.so or libward.a. */
#ifndef WARD_TESTING_H_INTERNAL
#define WARD_TESTING_H_INTERNAL
#ifdef WARD_TESTING
#include "os.h"
#include "thread.h"

/* Each tier's testing_reset (tier.h) and this discard everything held, and
 * remake the locks, as if no chunk had ever been allocated; no other thread
 * may be inside ward. */
void thread_testing_reset(void) INTERNAL;

/* Gives the committed range [p, p+size) of the reservation back and makes
 * it inaccessible again, as it was when reserved. */
static inline void testing_uncommit(void *p, size_t size)
{
    if (size) {
        os_release(p, size);
        os_protect_none(p, size);
    }
}
#endif
#endif
