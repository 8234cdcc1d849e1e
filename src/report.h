/* report.h: what a heap error report says, as types, and the one path that
 * says it (report.c).  A report names a bug kind (enum ward_bug) and the call
 * that found it (enum ward_call); a table for each gives the name printed
 * ("ward: double free: free(0x...): ...") and what the rest of ward needs to
 * know of it.  include/ward.h lists the names for the report callback
 * (struct ward_report): a row added here goes there too. */
#ifndef WARD_REPORT_H
#define WARD_REPORT_H

#include "settings.h"

enum ward_tier { TIER_NONE, TIER_SMALL, TIER_MEDIUM, TIER_LARGE, TIER_SAMPLED, TIER_ZERO };

/* ---- bug kinds -------------------------------------------------------------
 * X(id, name printed, recoverable).  Recoverable: with on_error=continue the
 * call that found it can simply not happen: nothing of the heap was changed,
 * the chunk is left as it is (leaked).  The rest mean the heap is already
 * damaged: the process ends whatever on_error says. */
#define WARD_BUGS(X)                                                     \
    X(BUG_DOUBLE_FREE,              "double free",                true)  \
    X(BUG_USE_AFTER_FREE,           "use after free",             true)  \
    X(BUG_INVALID_FREE,             "invalid free",               true)  \
    X(BUG_INVALID_POINTER,          "invalid pointer",            true)  \
    X(BUG_HEAP_BUFFER_OVERFLOW,     "heap buffer overflow",       true)  \
    X(BUG_SIZED_FREE_MISMATCH,      "sized free mismatch",        true)  \
    X(BUG_SIZED_DELETE_MISMATCH,    "sized delete mismatch",      true)  \
    X(BUG_ALIGNED_FREE_MISMATCH,    "aligned free mismatch",      true)  \
    X(BUG_ALIGNED_DELETE_MISMATCH,  "aligned delete mismatch",    true)  \
    X(BUG_WRITE_AFTER_FREE,         "write after free",           false) \
    X(BUG_CORRUPTED_HEADER,         "corrupted chunk header",     false) \
    X(BUG_CORRUPTED_LINK,           "corrupted free-list link",   false) \
    X(BUG_STATE_CORRUPTED,          "allocator state corrupted",  false)

enum ward_bug {
#define WARD_BUG_ID(id, name, recoverable) id,
    WARD_BUGS(WARD_BUG_ID)
#undef WARD_BUG_ID
    BUG_COUNT
};

struct ward_bug_info {
    const char *name;
    bool recoverable;
};
extern const struct ward_bug_info ward_bugs[BUG_COUNT] INTERNAL;

/* foreign=warn warns once per kind of call: free (and the other frees),
 * realloc (which then returns NULL), malloc_usable_size (which says 0). */
enum ward_foreign_warning { FWARN_NEVER, FWARN_FREE, FWARN_REALLOC, FWARN_USABLE_SIZE, FWARN_KINDS };

/* ---- calls ------------------------------------------------------------------
 * The calls a report names: X(id, name printed, frees, deletes, foreign).
 *   frees: the call frees the pointer, so a freed chunk there is a double free
 *     (elsewhere a use after free), a pointer ward does not own an invalid
 *     free (elsewhere an invalid pointer);
 *   deletes: a C++ operator delete, whose mismatches are "sized delete
 *     mismatch" and "aligned delete mismatch" (the C calls': "... free ...");
 *   foreign: which of foreign=warn's one-time warnings a pointer ward never
 *     handed out gets (FWARN_NEVER: the call is never given one).
 * malloc stands for every allocating call (calloc, memalign, ...): it finds
 * the free chunk it hands out damaged; exit is exit_check's walk; access a
 * fault that sample.c's handler catches.  A thread's exit, which gives its
 * cache and quarantine back, reports as free. */
#define WARD_CALLS(X)                                                                     \
    X(CALL_FREE,                "free",                true,   false,  FWARN_FREE)        \
    X(CALL_FREE_SIZED,          "free_sized",          true,   false,  FWARN_FREE)        \
    X(CALL_FREE_ALIGNED_SIZED,  "free_aligned_sized",  true,   false,  FWARN_FREE)        \
    X(CALL_DELETE,              "operator delete",     true,   true,   FWARN_FREE)        \
    X(CALL_DELETE_ARRAY,        "operator delete[]",   true,   true,   FWARN_FREE)        \
    X(CALL_REALLOC,             "realloc",             false,  false,  FWARN_REALLOC)     \
    X(CALL_MALLOC_USABLE_SIZE,  "malloc_usable_size",  false,  false,  FWARN_USABLE_SIZE) \
    X(CALL_MALLOC,              "malloc",              false,  false,  FWARN_NEVER)       \
    X(CALL_MALLOC_TRIM,         "malloc_trim",         false,  false,  FWARN_NEVER)       \
    X(CALL_EXIT,                "exit",                false,  false,  FWARN_NEVER)       \
    X(CALL_CHECK_HEAP,          "ward_check_heap",     false,  false,  FWARN_NEVER)       \
    X(CALL_ACCESS,              "access",              false,  false,  FWARN_NEVER)       \
    /* a system call that failed unexpectedly (os.c) */                                   \
    X(CALL_MMAP,                "mmap",                false,  false,  FWARN_NEVER)       \
    X(CALL_MMAP_FIXED,          "mmap(MAP_FIXED)",     false,  false,  FWARN_NEVER)       \
    X(CALL_MPROTECT,            "mprotect",            false,  false,  FWARN_NEVER)       \
    X(CALL_MADVISE,             "madvise",             false,  false,  FWARN_NEVER)       \
    X(CALL_MUNMAP,              "munmap",              false,  false,  FWARN_NEVER)

enum ward_call {
#define WARD_CALL_ID(id, name, frees, deletes, foreign) id,
    WARD_CALLS(WARD_CALL_ID)
#undef WARD_CALL_ID
    CALL_COUNT
};

struct ward_call_info {
    const char *name;
    bool frees, deletes;
    enum ward_foreign_warning foreign;
};
extern const struct ward_call_info ward_calls[CALL_COUNT] INTERNAL;

/* The kind of a freed chunk reaching `op`. */
static inline enum ward_bug freed_class(enum ward_call op)
{
    return ward_calls[op].frees ? BUG_DOUBLE_FREE : BUG_USE_AFTER_FREE;
}

/* The kind of a pointer ward does not own reaching `op`. */
static inline enum ward_bug invalid_class(enum ward_call op)
{
    return ward_calls[op].frees ? BUG_INVALID_FREE : BUG_INVALID_POINTER;
}

/* ---- the one fatal path (report.c) ------------------------------------------ */

/* Reports a heap error and ends the process as the options say.  `bug` is
 * the kind, `op` and `ptr` the call that found it, `tier` and `csize` the
 * chunk (TIER_NONE / 0 when unknown); `fmt` is the detail. */
_Noreturn void ward_fatal(enum ward_bug bug, enum ward_call op, const void *ptr, int tier, size_t csize,
                          const char *fmt, ...) INTERNAL COLD;
/* on_error=continue: the API call on this thread that can give up after a
 * report (free, realloc, ...) arms a recovery point; a check that reports
 * while holding a lock names it, so the recovery releases it. */
extern __thread void *ward_recover INTERNAL;          /* a jmp_buf * */
extern __thread pthread_mutex_t *ward_held INTERNAL;
/* Takes m for checks that may report: a recovery after the report releases
 * it.  checks_passed() ends that window (the lock stays held). */
static inline void lock_for_checks(pthread_mutex_t *m)
{
    pthread_mutex_lock(m);
    ward_held = m;
}
static inline void checks_passed(void) { ward_held = NULL; }
/* A forked child: a report another thread of the parent was making is no
 * turn of the child's (its own thread never forks in a report). */
void report_fork_child(void) INTERNAL;
/* Reports seen so far with on_error=continue (the exit status says so). */
extern unsigned long ward_reports INTERNAL;

/* A stack a report prints: n program counters, innermost first, and the
 * thread they were taken on (0: not named). */
struct ward_stack {
    const uintptr_t *pcs;
    int n, tid;
};
/* The stacks of a fault report: the faulting access (from the signal
 * context; pcs[0] the faulting instruction), and where the block was
 * allocated and freed (its records; n = 0 where there is none). */
struct ward_fault_stacks {
    struct ward_stack access, alloc, free;
};
/* A fault on a sampled block's or a large block's guard or freed page
 * (sample.c's handler): reported as ward_fatal would, by the call "access",
 * with these stacks, never recovered from. */
_Noreturn void ward_fatal_fault(enum ward_bug bug, const void *ptr, int tier, size_t csize,
                                const struct ward_fault_stacks *stacks, const char *fmt, ...) INTERNAL COLD;
size_t ward_snprintf(char *buf, size_t cap, const char *fmt, ...) INTERNAL;

/* A message at start-up (bad options), then the configured end. */
_Noreturn void ward_die(const char *fmt, ...) INTERNAL COLD;
/* A stack as a report shows it: a title ("backtrace", "chunk allocated
 * at", ...), the stack, whether pcs[0] is a faulting instruction (shown from
 * frame 0; otherwise from the program's first frame, ward_first_caller_frame)
 * and whether it is a recorded one ("ward: TITLE (thread TID):"). */
struct ward_named_stack {
    const char *title;
    struct ward_stack st;
    bool exact, recorded;
};
#define WARD_REPORT_STACKS 5
/* The chunk's recorded stacks (stacks=1's depot, or a sampled block's own),
 * at most 2, into out; their count.  Lock-free reads: the process is
 * reporting. */
int trace_stacks(uintptr_t ptr, int tier, struct ward_named_stack *out) INTERNAL;
int sample_stacks(uintptr_t p, struct ward_named_stack *out) INTERNAL;

/* symbolize.c: the frame table, one user at a time (sym_acquire), into which
 * sym_load puts a report's stacks, each frame named by its module+offset
 * (dladdr) and, with names, its function and file:line (addr2line, run once
 * per module).  Then sym_any_frame calls fn on each frame outside ward
 * (func or file may be NULL; file is file_len bytes, not NUL-terminated),
 * until fn says true; sym_print_text / sym_print_json print the stacks. */
void sym_acquire(void) INTERNAL;
void sym_release(void) INTERNAL;
void sym_load(const struct ward_named_stack *stacks, int ns, bool names) INTERNAL;
bool sym_any_frame(bool (*fn)(const char *func, const char *file, size_t file_len, const char *mod, void *arg),
                   void *arg) INTERNAL;
void sym_print_text(void) INTERNAL;
void sym_print_json(void) INTERNAL;
/* A hash of the stacks' program counters (the same stacks, the same hash). */
uint64_t sym_hash(const struct ward_named_stack *stacks, int ns) INTERNAL;
int ward_first_caller_frame(const uintptr_t *pcs, int n) INTERNAL;

/* report.c: JSON output, into a static buffer written out at the end of the
 * report (report_format=json): raw text, a quoted and escaped string (n
 * bytes, or up to its NUL with (size_t)-1), formatted text. */
void ward_emit_raw(const char *s) INTERNAL;
void ward_emit_str(const char *s, size_t n) INTERNAL;
void ward_emit_fmt(const char *fmt, ...) INTERNAL;
/* leaks=1 with report_format=json: a group of leaked objects as one report
 * line: kind "direct leak" or "indirect leak", call "exit", no pointer, the
 * bytes and objects, their size when grouped by size (0: by stack; "size"
 * is then null), and
 * the allocation stack now loaded in the frame table (stack: one is;
 * sym_acquire held). */
void ward_emit_leak(bool indirect, size_t bytes, size_t objects, size_t size, bool stack) INTERNAL;

/* A formatted line to stderr, no allocation. */
void ward_printf(const char *fmt, ...) INTERNAL;
size_t ward_vfmt(char *buf, size_t cap, const char *fmt, __builtin_va_list ap) INTERNAL;

#endif
