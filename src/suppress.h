/* suppress.h: suppressions=FILE, known bugs that must not fail every run
 * (suppress.c).  Each line of the file is KIND:PATTERN: KIND a bug kind's
 * name as reports print it, with '_' for its spaces and dashes
 * ("double_free", "corrupted_free_list_link") or as printed, "leak", or
 * "*" (any); PATTERN a glob ('*' any characters, '?' one) matched against
 * the whole of each frame's function name, source file (its path or its
 * base name) or module (its path or its base name), for every frame outside
 * ward of the report's stacks.  '#' starts a comment line. */
#ifndef WARD_SUPPRESS_H
#define WARD_SUPPRESS_H

#include "settings.h"
#include "report.h"

/* The kind of "leak:" lines (the leak check's, which has no enum ward_bug). */
#define SUPPRESS_LEAK BUG_COUNT

/* Start-up (options.c): reads and parses FILE into static tables without
 * allocating; any error (unreadable, too big, a malformed line, an unknown
 * kind) stops the process with a message naming the file and line. */
void suppress_init(const char *path) INTERNAL;
/* True once a suppressions file with at least one rule was read. */
bool suppress_active(void) INTERNAL;
/* True when a rule could match reports of kind (an enum ward_bug or
 * SUPPRESS_LEAK): one of that kind, or "*". */
bool suppress_has_kind(int kind) INTERNAL;

/* The rule matching the stacks now in symbolize.c's frame table (sym_load)
 * for kind (an enum ward_bug or SUPPRESS_LEAK): its index, or -1.  A match
 * is counted. */
int suppress_match_loaded(int kind) INTERNAL;

/* Counts one more match of rule i (a repeat the report path remembered). */
void suppress_count(int i) INTERNAL;

/* The same for stacks given as program counters (the leak check's): loads
 * them into the frame table (names from addr2line), matches, and releases
 * the table.  kind_token is a KIND as the file spells it ("leak",
 * "double_free"); stacks[i] has ns[i] pcs, each shown from the program's
 * first frame.  The rule's index, or -1. */
int ward_suppressed(const char *kind_token, const uintptr_t *const *stacks, const int *ns, int nstacks) INTERNAL;

/* Rule i as the file says it ("double_free:legacy_*", into buf) and its
 * line number. */
const char *suppress_rule(int i, char *buf, size_t cap, int *line) INTERNAL;

/* With verbosity>=1, at exit: each rule's count, and each one that matched
 * nothing, to stderr. */
void suppress_summary(void) INTERNAL;

#endif
