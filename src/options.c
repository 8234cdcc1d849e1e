/* options.c: WARD_OPTIONS=key=value:key=value, parsed without allocating
 * against the table made from options.h's list.  An unknown key or a
 * malformed value stops the program at start-up with a message: a hardening
 * option that silently does nothing is worse than no option.  Set-user-ID
 * programs ignore the environment. */
#include "state.h"
#include "report.h"
#include "suppress.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/auxv.h>
#include <unistd.h>

enum opt_type { T_NUM, T_BOOL, T_CHOICE, T_ALIAS, T_PATH };

struct opt_desc {
    const char *name;
    enum opt_type type;
    size_t offset;
    long def;
    long min, max;
    const char *choices[4]; /* T_CHOICE: value i is choices[i] */
    const char *help;
    const char *option;     /* T_ALIAS: the key it stands for */
};

/* The table, from options.h's list: a CHOICE's range is its names. */
#define O(f) offsetof(struct ward_options, f)
#define NAMES(...) __VA_ARGS__
#define NNAMES(...) (long)(sizeof((const char *[]){__VA_ARGS__}) / sizeof(const char *))
#define ROW_NUM(k, def, min, max, help) {#k, T_NUM, O(k), def, min, max, {0}, help, NULL},
#define ROW_BOOL(k, def, help) {#k, T_BOOL, O(k), def, 0, 1, {0}, help, NULL},
#define ROW_CHOICE(k, def, names, help) \
    {#k, T_CHOICE, O(k), def, 0, NNAMES names - 1, {NAMES names}, help, NULL},
#define ROW_ALIAS(k, option) {#k, T_ALIAS, O(option), 0, 0, 0, {0}, NULL, #option},
#define ROW_PATH(k, help) {#k, T_PATH, O(k), 0, 0, WARD_PATH_MAX - 1, {0}, help, NULL},
static const struct opt_desc table[] = {WARD_OPTION_LIST(ROW_NUM, ROW_BOOL, ROW_CHOICE, ROW_ALIAS, ROW_PATH)};
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

static const struct opt_desc *find(const char *k, size_t kn)
{
    for (size_t i = 0; i < NOPTS; i++)
        if (seq(k, kn, table[i].name))
            return &table[i];
    return NULL;
}

/* The option a key names, or NULL: an alias's row stands for its option's
 * (which is not an alias: O(option) needs a field). */
static const struct opt_desc *lookup(const char *k, size_t kn)
{
    const struct opt_desc *d = find(k, kn);
    if (d && d->type == T_ALIAS)
        d = find(d->option, strlen(d->option));
    return d;
}

/* One line a key, "  key (default X): help", an alias's help "the same as
 * OPTION": tests/docs.sh reads these lines. */
static void print_help(void)
{
    ward_printf("ward: WARD_OPTIONS=key=value:key=value, keys:\n");
    for (size_t i = 0; i < NOPTS; i++) {
        const struct opt_desc *d = &table[i];
        const char *help = d->help;
        char same[64];
        if (d->type == T_ALIAS) {
            ward_snprintf(same, sizeof same, "the same as %s", d->option);
            help = same;
            d = lookup(d->option, strlen(d->option));
        }
        if (d->type == T_CHOICE)
            ward_printf("  %s (default %s): %s\n", table[i].name, d->choices[d->def], help);
        else if (d->type == T_PATH)
            ward_printf("  %s (default none): %s\n", table[i].name, help);
        else
            ward_printf("  %s (default %ld): %s\n", table[i].name, d->def, help);
    }
}

/* key: NUL-terminated (the messages name it); value: v, vn bytes. */
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
    const struct opt_desc *d = lookup(k, kn);
    if (!d)
        ward_die("WARD_OPTIONS: unknown option '%s' (WARD_OPTIONS=help=1 lists them)", k);
    long x;
    if (d->type == T_PATH) {
        if (vn > (size_t)d->max)
            ward_die("WARD_OPTIONS: %s is longer than %ld bytes", k, d->max);
        char *f = (char *)o + d->offset;
        memcpy(f, v, vn);
        f[vn] = '\0';
        return;
    }
    if (d->type == T_CHOICE) {
        for (long c = 0; c <= d->max; c++)
            if (seq(v, vn, d->choices[c])) {
                *field(o, d) = c;
                return;
            }
        ward_die("WARD_OPTIONS: bad value '%s' for %s", val, k);
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
    ward_die("WARD_OPTIONS: bad value '%s' for %s (want %s)", val, k,
             d->type == T_BOOL ? "0 or 1" : "a number in range, k/m/g suffixes allowed");
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

/* log_path's directory must be one this process can create files in: a
 * typo fails at start-up, not silently at the first report. */
static void check_log_path(const char *prefix)
{
    char dir[WARD_PATH_MAX];
    size_t n = strlen(prefix), cut = n;
    while (cut > 0 && prefix[cut - 1] != '/')
        cut--;
    if (cut == 0) {
        dir[0] = '.', dir[1] = '\0';
    } else {
        memcpy(dir, prefix, cut);
        dir[cut] = '\0';
    }
    if (cut == n)
        ward_die("WARD_OPTIONS: log_path '%s' names a directory, not a file prefix", prefix);
    if (access(dir, W_OK | X_OK) != 0)
        ward_die("WARD_OPTIONS: log_path '%s': cannot create files in '%s' (errno %d)", prefix, dir, errno);
}

void ward_options_init(struct ward_options *o)
{
    for (size_t i = 0; i < NOPTS; i++)
        if (table[i].type == T_PATH)
            ((char *)o + table[i].offset)[0] = '\0';
        else if (table[i].type != T_ALIAS)
            *field(o, &table[i]) = table[i].def;
    parse_options(o, WARD_PROFILE_OPTIONS);
    if (getauxval(AT_SECURE))
        return;
    const char *s = getenv("WARD_OPTIONS");
    if (s)
        parse_options(o, s);
    if (o->log_path[0])
        check_log_path(o->log_path);
    if (o->suppressions[0])
        suppress_init(o->suppressions);
}
