/* ward_testing.h: what the harness build of ward (build/.../libward-prefixed.a,
 * compiled with -DWARD_TESTING) adds for fuzz harnesses.  Not part of ward's
 * public API: libward.so and libward.a do not have it. */
#ifndef WARD_TESTING_H
#define WARD_TESTING_H

#ifdef __cplusplus
extern "C" {
#endif

/* Discards the whole heap: every chunk, slab, arena, large mapping, sampled
 * page, thread cache and quarantine, and remakes every lock (a report
 * callback that left by longjmp may have left some held).  Every pointer ward handed out is
 * invalid afterwards.  Call it with no other thread inside ward (threads
 * that used ward must have exited or be idle: their caches are emptied).
 * The calling thread's random generator restarts from a fixed seed, so the
 * same sequence of calls after a reset lays out the heap the same way, and
 * failure injection (below) is disarmed. */
void ward_testing_reset(void);

/* Failure injection: after `skip` more calls that the kernel may refuse
 * with ENOMEM (mmap, mprotect, munmap of heap memory; start-up excepted),
 * the next `count` are refused, as under a memory limit or with
 * vm.max_map_count reached.  ward_testing_fail_os(0, 0) disarms it.
 * ward_testing_os_failures() counts the calls refused so far. */
void ward_testing_fail_os(unsigned skip, unsigned count);
unsigned long ward_testing_os_failures(void);

/* The calling thread's next malloc or calloc of up to a page less 16 bytes
 * gets a sampled guard page (the harness build keeps the sampling pool with
 * sample=0 too, and then samples only on demand).  -1: no pool. */
int ward_testing_sample_next(void);

/* on != 0: ward writes nothing to stderr (its reports still reach the
 * report callback); 0: it writes again. */
void ward_testing_quiet(int on);

/* 1 if ward reports faults on its memory (fault_handler=1), else 0. */
int ward_testing_fault_handler(void);

/* What ward's SIGSEGV/SIGBUS handler does with a fault, without passing it
 * on: a fault on ward's memory (a sampled page, a large block's guard page
 * or a freed large block) is reported, and the call does not return; any
 * other fault returns.  For a harness's own handler, which a fuzzer's may
 * chain to (libFuzzer calls the handler it found installed first). */
void ward_testing_fault(void *siginfo, void *ucontext);

#ifdef __cplusplus
}
#endif

#endif
