/* leak.h: leaks=1, the leak check at exit (leak.c). */
#ifndef WARD_LEAK_H
#define WARD_LEAK_H

#include "settings.h"

/* From ward's constructor: where the main thread's TLS block is (its
 * thread pointer), while it is the running thread. */
void leak_init(void) INTERNAL;
/* From ward's destructor: report the live chunks no pointer reaches.
 * True when there were leaks (the caller ends with exitcode). */
bool leak_check(void) INTERNAL;

#endif
