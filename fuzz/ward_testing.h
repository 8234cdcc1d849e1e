/* ward_testing.h: what the harness build of ward (build/.../libward-prefixed.a,
 * compiled with -DWARD_TESTING) adds for fuzz harnesses.  Not part of ward's
 * public API: libward.so and libward.a do not have it. */
#ifndef WARD_TESTING_H
#define WARD_TESTING_H

#ifdef __cplusplus
extern "C" {
#endif

/* Discards the whole heap: every chunk, slab, arena, large mapping, thread
 * cache and quarantine, and remakes every lock (a report callback that left
 * by longjmp may have left some held).  Every pointer ward handed out is
 * invalid afterwards.  Call it with no other thread inside ward (threads
 * that used ward must have exited or be idle: their caches are emptied).
 * The calling thread's random generator restarts from a fixed seed, so the
 * same sequence of calls after a reset lays out the heap the same way. */
void ward_testing_reset(void);

#ifdef __cplusplus
}
#endif

#endif
