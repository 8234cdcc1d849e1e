/* options.h: ward's options, each described once (Scudo's flags.inc,
 * mimalloc's option descriptors).  WARD_OPTION_LIST below gives
 * struct ward_options its fields, options.c's parser its table and
 * WARD_OPTIONS=help=1 its text.  README.md's options table and man/ward.7
 * describe the same keys with the same defaults; tests/docs.sh checks that
 * they do.  Included by state.h: the defaults may use settings.h's compile-time
 * settings (MEDIUM_MAX, LARGE_RING). */
#ifndef WARD_OPTIONS_H
#define WARD_OPTIONS_H

/* The values of the CHOICE options, in the order of their names below. */
enum { ON_ERROR_ABORT, ON_ERROR_EXIT, ON_ERROR_CONTINUE };
enum { POISON_OFF, POISON_PARTIAL, POISON_FULL };
enum { CHECKSUM_FAST, CHECKSUM_SIPHASH };
enum { EXIT_CHECK_OFF, EXIT_CHECK_QUARANTINE, EXIT_CHECK_HEAP };
enum { FOREIGN_ABORT, FOREIGN_WARN };
enum { REPORT_TEXT, REPORT_JSON };

/* One row an option, in the order help=1 lists them.  Each option is a
 * `long` field of struct ward_options named after its key.
 *   NUM(key, default, min, max, help)   a number; k, m, g suffixes allowed
 *   BOOL(key, default, help)            1/true/yes or 0/false/no
 *   CHOICE(key, default, (names), help) value i is the i-th name
 *   ALIAS(key, option)                  another key for an option, no field
 *   PATH(key, help)                     a file name (a char array field;
 *                                       default none, the empty string)
 * A help text is one line (help=1 prints it after "key (default X): "). */
#define WARD_PATH_MAX 256
#define WARD_OPTION_LIST(NUM, BOOL, CHOICE, ALIAS, PATH)                                                \
    CHOICE(on_error, ON_ERROR_ABORT, ("abort", "exit", "continue"),                                     \
           "what a detected heap error does after the report: abort(), _exit(exitcode), or continue "   \
           "(the bad call does nothing; errors that leave the heap unsafe still end the process)")      \
    NUM(exitcode, 1, 0, 255, "exit status used with on_error=exit, and by leaks=1 when there are leaks")  \
    NUM(quarantine_bytes, 1 << 20, 0, 1L << 32,                                                         \
        "bytes of freed small/medium chunks each thread holds back from reuse (0: off)")                \
    NUM(quarantine_max_chunk, MEDIUM_MAX, 0, 1L << 32,                                                  \
        "freed chunks larger than this skip the per-thread quarantine")                                 \
    NUM(quarantine_large, 32, 0, LARGE_RING,                                                            \
        "freed large mappings kept inaccessible (PROT_NONE) before they are unmapped")                  \
    NUM(large_cache_bytes, 32 << 20, 0, 1L << 40,                                                       \
        "bytes of freed large mappings kept, inaccessible, for reuse without page faults; no more "     \
        "than the live large blocks hold, but always 4m (0: off)")                                      \
    CHOICE(poison, POISON_PARTIAL, ("off", "partial", "full"),                                          \
           "freed memory reads as zero and is verified before reuse: zeroed (full), or for blocks "     \
           "over twice poison_bytes only its resident pages (partial); off: neither, blocks cleared "   \
           "when handed out")                                                                           \
    NUM(poison_bytes, 2048, 16, 1L << 30,                                                               \
        "with poison=partial, freed blocks over twice this are zeroed only where resident")             \
    BOOL(canary, 1, "write and verify a canary after each request")                                     \
    CHOICE(checksum, CHECKSUM_FAST, ("fast", "siphash"),                                                \
           "keyed header check: a multiply mix (fast) or SipHash-2-4 (siphash)")                        \
    NUM(purge_threshold, 64 << 20, 0, 1L << 40,                                                         \
        "free bytes an arena keeps before giving whole pages back to the OS")                           \
    NUM(purge_after, 1000, 0, 1L << 30,                                                                 \
        "milliseconds after which a free call gives an arena's free pages back to the OS beyond 1m "    \
        "(0: only past purge_threshold)")                                                               \
    BOOL(backtrace, 1, "print a backtrace with each report")                                            \
    BOOL(stacks, 0,                                                                                     \
         "record where each chunk was allocated and first freed, and print both in reports (a stack "   \
         "walk per malloc and free)")                                                                   \
    ALIAS(trace, stacks)                                                                                \
    BOOL(symbolize, 1,                                                                                  \
         "name each frame of a report's stacks with its function and file:line (runs addr2line after "  \
         "the report; 0: module+offset only)")                                                          \
    NUM(sample, 5000, 0, 1L << 30,                                                                      \
        "about one allocation in N (up to a page) gets its own page before or after a guard page, so "  \
        "an overflow or a use after free of it faults at once and is reported with its stacks (0: "     \
        "off)")                                                                                         \
    BOOL(fault_handler, 1,                                                                              \
         "install a SIGSEGV/SIGBUS handler that reports faults on sampled pages, large blocks' guard "  \
         "pages and freed large blocks (other faults go to the previous handler)")                      \
    NUM(sample_slots, 512, 1, 65536, "pages kept for sampled allocations (each with a guard page)")     \
    BOOL(delete_check, 1,                                                                               \
         "C++ sized or aligned operator delete whose size or alignment is not the allocation's is a "   \
         "report")                                                                                      \
    CHOICE(exit_check, EXIT_CHECK_QUARANTINE, ("off", "quarantine", "heap"),                            \
           "at exit, verify the exiting thread's quarantine (a write after free just before the end), " \
           "the whole heap, or nothing")                                                                \
    CHOICE(foreign, FOREIGN_ABORT, ("abort", "warn"),                                                   \
           "a pointer ward never handed out (outside its heap and large mappings) passed to free, "     \
           "realloc or malloc_usable_size: report it (abort), or warn once per call and ignore it "     \
           "(warn)")                                                                                    \
    BOOL(leaks, 0,                                                                                      \
         "at exit, report the chunks still allocated that no pointer reaches (as LeakSanitizer does), "  \
         "grouped by allocation stack with stacks=1, and end with exitcode when there are any")          \
    PATH(log_path,                                                                                      \
         "write reports to the file PREFIX.<pid> (created when the first report comes, appended to) "   \
         "instead of stderr; the directory must exist")                                                 \
    PATH(suppressions,                                                                                  \
         "a file of KIND:PATTERN lines: reports of that kind with a frame whose function, file or "     \
         "module matches the glob are counted, not printed, and the run goes on (only where the heap "  \
         "stays safe)")                                                                                 \
    CHOICE(report_format, REPORT_TEXT, ("text", "json"),                                                \
           "reports as text, or one JSON object a report on one line")                                  \
    NUM(verbosity, 0, 0, 1,                                                                             \
        "1: at exit, say how many reports each suppression matched, and which matched nothing")

/* The options as set at start-up (G.opt, read-only after it). */
#define WARD_OPTION_FIELD(key, ...) long key;
#define WARD_OPTION_NO_FIELD(key, option)
#define WARD_OPTION_PATH_FIELD(key, help) char key[WARD_PATH_MAX];
struct ward_options {
    WARD_OPTION_LIST(WARD_OPTION_FIELD, WARD_OPTION_FIELD, WARD_OPTION_FIELD, WARD_OPTION_NO_FIELD,
                     WARD_OPTION_PATH_FIELD)
};
#undef WARD_OPTION_FIELD
#undef WARD_OPTION_NO_FIELD
#undef WARD_OPTION_PATH_FIELD

#endif
