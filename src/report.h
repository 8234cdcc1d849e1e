/* report.h: the one way ward reports a heap error (report.c), and the
 * formatting and stack printing it uses (symbolize.c).  Nothing here
 * allocates. */
#ifndef WARD_REPORT_H
#define WARD_REPORT_H

#include "settings.h"

/* ---- report.c: the one fatal path ---------------------------------------- */

enum ward_tier { TIER_NONE, TIER_SMALL, TIER_MEDIUM, TIER_LARGE, TIER_SAMPLED };

/* Reports a heap error and ends the process as the options say.  `cls` is the
 * bug class ("double free"), `op` and `ptr` the call that found it, `tier` and
 * `csize` the chunk (TIER_NONE / 0 when unknown); `fmt` is the detail. */
_Noreturn void ward_fatal(const char *cls, const char *op, const void *ptr, int tier,
                          size_t csize, const char *fmt, ...) INTERNAL COLD;
/* on_error=continue: the API call on this thread that can give up after a
 * report (free, realloc, ...) arms a recovery point; a check that reports
 * while holding a lock names it, so the recovery releases it. */
extern __thread void *ward_recover INTERNAL;          /* a jmp_buf * */
extern __thread pthread_mutex_t *ward_held INTERNAL;
static inline void held_lock(pthread_mutex_t *m) { ward_held = m; }
/* Reports seen so far with on_error=continue (the exit status says so). */
extern unsigned long ward_reports INTERNAL;

/* A fault in the sampling pool: the stacks come from the signal context
 * and the block's records. */
_Noreturn void ward_fatal_fault(const char *cls, const void *ptr, int tier, size_t n, const uintptr_t *pcs, int npcs,
                                const uintptr_t *apcs, int na, int atid, const uintptr_t *fpcs, int nf,
                                int ftid, const char *fmt, ...) INTERNAL COLD;
size_t ward_snprintf(char *buf, size_t cap, const char *fmt, ...) INTERNAL;

/* A message at start-up (bad options), then the configured end. */
_Noreturn void ward_die(const char *fmt, ...) INTERNAL COLD;
/* symbolize.c: a report's stack, one line a frame (module+offset, and the
 * function and file:line from addr2line with symbolize=1); first_exact when
 * pcs[0] is a faulting instruction rather than a return address. */
void ward_print_stack(const uintptr_t *pcs, int n, bool first_exact) INTERNAL;
int ward_first_caller_frame(const uintptr_t *pcs, int n) INTERNAL;
/* "ward: TITLE (thread TID):" and a recorded stack from the program's first
 * frame on (tid 0: no thread named). */
void ward_print_recorded(const char *title, const uintptr_t *pcs, int n, int tid) INTERNAL;

/* A formatted line to stderr, no allocation. */
void ward_printf(const char *fmt, ...) INTERNAL;
size_t ward_vfmt(char *buf, size_t cap, const char *fmt, __builtin_va_list ap) INTERNAL;

/* The bug class of a freed chunk reaching `op`. */
static inline const char *freed_class(const char *op)
{
    return (op[0] == 'f' || op[0] == 'o') ? "double free" : "use after free";
}

/* The bug class of a pointer ward does not own reaching `op`. */
static inline const char *invalid_class(const char *op)
{
    return (op[0] == 'f' || op[0] == 'o') ? "invalid free" : "invalid pointer";
}

#endif
