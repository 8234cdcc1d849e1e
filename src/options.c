/* options.c: WARD_OPTIONS=key=value:key=value, one table, an allocation-free
 * parser.  An unknown key or a malformed value stops the program at start-up
 * with a message: a hardening option that silently does nothing is worse
 * than no option.  Set-user-ID programs ignore the environment. */
#include "internal.h"

#include <stdlib.h>
#include <sys/auxv.h>

enum opt_type { T_NUM, T_BOOL, T_CHOICE };

struct opt_desc {
    const char *name;
    enum opt_type type;
    size_t offset;
    long def;
    long min, max;
    const char *choices[4]; /* T_CHOICE: value i is choices[i] */
    const char *help;
};

#define O(f) offsetof(struct ward_options, f)
static const struct opt_desc table[] = {
    {"on_error", T_CHOICE, O(on_error), ON_ERROR_ABORT, 0, 2, {"abort", "exit", "continue"},
     "what a detected heap error does after the report: abort(), _exit(exitcode), or continue (the bad call does nothing; errors that leave the heap unsafe still end the process)"},
    {"exitcode", T_NUM, O(exitcode), 1, 0, 255, {0}, "exit status used with on_error=exit"},
    {"quarantine_bytes", T_NUM, O(quarantine_bytes), 1 << 20, 0, 1L << 32, {0},
     "bytes of freed small/medium chunks each thread holds back from reuse (0: off)"},
    {"quarantine_max_chunk", T_NUM, O(quarantine_max_chunk), MEDIUM_MAX, 0, 1L << 32, {0},
     "freed chunks larger than this skip the per-thread quarantine"},
    {"quarantine_large", T_NUM, O(quarantine_large), 32, 0, LARGE_RING, {0},
     "freed large mappings kept inaccessible (PROT_NONE) before they are unmapped"},
    {"large_cache_bytes", T_NUM, O(large_cache_bytes), 32 << 20, 0, 1L << 40, {0},
     "bytes of freed large mappings kept, inaccessible, for reuse without page faults; no more than the live large blocks hold, but always 4m (0: off)"},
    {"poison", T_CHOICE, O(poison), POISON_PARTIAL, 0, 2, {"off", "partial", "full"},
     "freed memory is zeroed and verified before reuse: all of it (full), or for blocks over twice poison_bytes only poison_bytes at each end (partial); off: neither"},
    {"poison_bytes", T_NUM, O(poison_bytes), 2048, 16, 1L << 30, {0},
     "bytes verified at each end of a freed block with poison=partial"},
    {"canary", T_BOOL, O(canary), 1, 0, 1, {0}, "write and verify a canary after each request"},
    {"checksum", T_CHOICE, O(checksum), CHECKSUM_FAST, 0, 1, {"fast", "siphash"},
     "keyed header check: a multiply mix (fast) or SipHash-2-4 (siphash)"},
    {"purge_threshold", T_NUM, O(purge_threshold), 64 << 20, 0, 1L << 40, {0},
     "free bytes an arena keeps before giving whole pages back to the OS"},
    {"backtrace", T_BOOL, O(backtrace), 1, 0, 1, {0}, "print a backtrace with each report"},
    {"stacks", T_BOOL, O(trace), 0, 0, 1, {0},
     "record where each chunk was allocated and first freed, and print both in reports (a stack walk per malloc and free)"},
    {"trace", T_BOOL, O(trace), 0, 0, 1, {0}, "the same as stacks"},
    {"symbolize", T_BOOL, O(symbolize), 1, 0, 1, {0},
     "name each frame of a report's stacks with its function and file:line (runs addr2line after the report; 0: module+offset only)"},
    {"sample", T_NUM, O(sample), 5000, 0, 1L << 30, {0},
     "about one allocation in N (up to a page) gets its own page before or after a guard page, so an overflow or a use after free of it faults at once and is reported with its stacks (0: off)"},
    {"fault_handler", T_BOOL, O(fault_handler), 1, 0, 1, {0},
     "install a SIGSEGV/SIGBUS handler that reports faults on sampled pages, large blocks' guard pages and freed large blocks (other faults go to the previous handler)"},
    {"sample_slots", T_NUM, O(sample_slots), 512, 1, 65536, {0},
     "pages kept for sampled allocations (each with a guard page)"},
    {"delete_check", T_BOOL, O(delete_check), 1, 0, 1, {0},
     "C++ sized or aligned operator delete whose size or alignment is not the allocation's is a report"},
    {"exit_check", T_CHOICE, O(exit_check), EXIT_CHECK_QUARANTINE, 0, 2, {"off", "quarantine", "heap"},
     "at exit, verify the exiting thread's quarantine (a write after free just before the end), the whole heap, or nothing"},
    {"foreign", T_CHOICE, O(foreign), FOREIGN_ABORT, 0, 1, {"abort", "warn"},
     "a pointer ward never handed out (outside its heap and large mappings) passed to free, realloc or malloc_usable_size: report it (abort), or warn once per call and ignore it (warn)"},
};
#define NOPTS (sizeof table / sizeof table[0])

static long *field(struct ward_options *o, const struct opt_desc *d)
{
    return (long *)(void *)((char *)o + d->offset);
}

static bool seq(const char *a, size_t an, const char *b)
{
    size_t bn = strlen(b);
    return an == bn && memcmp(a, b, an) == 0;
}

static bool parse_num(const char *v, size_t n, long *out)
{
    if (n == 0)
        return false;
    unsigned long long x = 0;
    size_t i = 0;
    for (; i < n && v[i] >= '0' && v[i] <= '9'; i++) {
        if (x > (1ull << 50))
            return false;
        x = x * 10 + (unsigned)(v[i] - '0');
    }
    if (i == 0)
        return false;
    if (i < n) {
        unsigned shift;
        switch (v[i]) {
        case 'k': case 'K': shift = 10; break;
        case 'm': case 'M': shift = 20; break;
        case 'g': case 'G': shift = 30; break;
        default: return false;
        }
        if (i + 1 != n || x > (1ull << 33))
            return false;
        x <<= shift;
    }
    *out = (long)x;
    return true;
}

static void print_help(void)
{
    ward_printf("ward: WARD_OPTIONS=key=value:key=value, keys:\n");
    for (size_t i = 0; i < NOPTS; i++) {
        const struct opt_desc *d = &table[i];
        if (d->type == T_CHOICE)
            ward_printf("  %s (default %s): %s\n", d->name, d->choices[d->def], d->help);
        else
            ward_printf("  %s (default %ld): %s\n", d->name, d->def, d->help);
    }
}

static void set_option(struct ward_options *o, const char *k, size_t kn, const char *v, size_t vn)
{
    if (seq(k, kn, "help")) {
        print_help();
        return;
    }
    char val[64];
    size_t cn = vn < sizeof val - 1 ? vn : sizeof val - 1;
    memcpy(val, v, cn);
    val[cn] = '\0';
    for (size_t i = 0; i < NOPTS; i++) {
        const struct opt_desc *d = &table[i];
        if (!seq(k, kn, d->name))
            continue;
        long x;
        if (d->type == T_CHOICE) {
            for (long c = 0; c <= d->max; c++)
                if (seq(v, vn, d->choices[c])) {
                    *field(o, d) = c;
                    return;
                }
            ward_die("WARD_OPTIONS: bad value '%s' for %s", val, d->name);
        }
        if (d->type == T_BOOL) {
            if (seq(v, vn, "1") || seq(v, vn, "true") || seq(v, vn, "yes")) {
                *field(o, d) = 1;
                return;
            }
            if (seq(v, vn, "0") || seq(v, vn, "false") || seq(v, vn, "no")) {
                *field(o, d) = 0;
                return;
            }
        } else if (parse_num(v, vn, &x) && x >= d->min && x <= d->max) {
            *field(o, d) = x;
            return;
        }
        ward_die("WARD_OPTIONS: bad value '%s' for %s (want %s)", val, d->name,
                 d->type == T_BOOL ? "0 or 1" : "a number in range, k/m/g suffixes allowed");
    }
    ward_die("WARD_OPTIONS: unknown option '%s' (WARD_OPTIONS=help=1 lists them)", k);
}

/* key=value:key=value into *o: the build profile's preset, then WARD_OPTIONS */
static void parse_options(struct ward_options *o, const char *s)
{
    bool after_on_error = false;
    while (*s) {
        const char *k = s;
        while (*s && *s != '=' && *s != ':')
            s++;
        size_t kn = (size_t)(s - k);
        if (*s != '=') {
            if (kn == 0 && *s == ':') {
                s++;
                continue;
            }
            if (seq(k, kn, "help")) {
                print_help();
                if (*s)
                    s++;
                continue;
            }
            /* on_error=exit:N (and continue:N): a bare number after it is
             * the exit status */
            long x;
            if (after_on_error && kn && parse_num(k, kn, &x) && x >= 0 && x <= 255) {
                o->exitcode = x;
                after_on_error = false;
                if (*s)
                    s++;
                continue;
            }
            ward_die("WARD_OPTIONS: '%s' is not key=value", k);
        }
        s++;
        const char *v = s;
        while (*s && *s != ':')
            s++;
        /* the key must end at '=' for the messages: copy it to a stack buffer */
        char key[64];
        if (kn >= sizeof key)
            kn = sizeof key - 1;
        memcpy(key, k, kn);
        key[kn] = '\0';
        set_option(o, key, kn, v, (size_t)(s - v));
        after_on_error = seq(key, kn, "on_error") && o->on_error != ON_ERROR_ABORT;
        if (*s == ':')
            s++;
    }
}

void ward_options_init(struct ward_options *o)
{
    for (size_t i = 0; i < NOPTS; i++)
        *field(o, &table[i]) = table[i].def;
    parse_options(o, WARD_PROFILE_OPTIONS);
    if (getauxval(AT_SECURE))
        return;
    const char *s = getenv("WARD_OPTIONS");
    if (s)
        parse_options(o, s);
}
