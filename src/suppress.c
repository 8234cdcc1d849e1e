/* suppress.c: suppressions=FILE (suppress.h says what a line means).  The
 * file is read once at start-up, with open(2) and read(2) into a static
 * buffer, and cut in place into a fixed table of rules: nothing allocates,
 * and a file too big or with too many rules is an error, not a silent cut.
 * A report is matched after its stacks are named (symbolize.c), before
 * anything of it is written. */
#include "state.h"
#include "report.h"
#include "suppress.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#define SUPP_FILE_MAX (64 * 1024)
#define SUPP_RULES 256

struct rule {
    const char *kind_text, *pattern; /* as written, NUL-terminated in buf */
    int kind;                        /* enum ward_bug, SUPPRESS_LEAK, or -1: any */
    int line;
    unsigned long hits;
};

static struct {
    char buf[SUPP_FILE_MAX + 1];
    struct rule rules[SUPP_RULES];
    int n;
    const char *path;
} S;

bool suppress_active(void) { return S.n > 0; }

bool suppress_has_kind(int kind)
{
    for (int i = 0; i < S.n; i++)
        if (S.rules[i].kind == -1 || S.rules[i].kind == kind)
            return true;
    return false;
}

/* A kind as written against a printed name: ' ', '-' and '_' are one. */
static bool kind_is(const char *w, const char *name)
{
    for (; *w && *name; w++, name++) {
        char a = *w == ' ' || *w == '-' ? '_' : *w, b = *name == ' ' || *name == '-' ? '_' : *name;
        if (a != b)
            return false;
    }
    return !*w && !*name;
}

/* The kind a line names: an enum ward_bug, SUPPRESS_LEAK, -1 for "*", or -2
 * when unknown. */
static int kind_of(const char *w)
{
    if (!strcmp(w, "*"))
        return -1;
    if (kind_is(w, "leak"))
        return SUPPRESS_LEAK;
    for (int b = 0; b < BUG_COUNT; b++)
        if (kind_is(w, ward_bugs[b].name))
            return b;
    return -2;
}

static bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r'; }

void suppress_init(const char *path)
{
    S.path = path;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        ward_die("WARD_OPTIONS: suppressions '%s': cannot open it (errno %d)", path, errno);
    size_t len = 0;
    for (;;) {
        ssize_t got = read(fd, S.buf + len, SUPP_FILE_MAX + 1 - len);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            int e = errno;
            close(fd);
            ward_die("WARD_OPTIONS: suppressions '%s': cannot read it (errno %d)", path, e);
        }
        if (got == 0)
            break;
        len += (size_t)got;
        if (len > SUPP_FILE_MAX) {
            close(fd);
            ward_die("WARD_OPTIONS: suppressions '%s' is larger than %d bytes", path, SUPP_FILE_MAX);
        }
    }
    close(fd);
    S.buf[len] = '\0';
    char *s = S.buf;
    for (int line = 1; *s; line++) {
        char *e = s;
        while (*e && *e != '\n')
            e++;
        char *next = *e ? e + 1 : e;
        *e = '\0';
        while (is_space(*s))
            s++;
        char *end = e;
        while (end > s && is_space(end[-1]))
            *--end = '\0';
        if (*s && *s != '#') {
            /* KIND:PATTERN; the pattern may hold ':' (C++ names) */
            char *colon = s;
            while (*colon && *colon != ':')
                colon++;
            if (!*colon || colon == s || !colon[1])
                ward_die("WARD_OPTIONS: suppressions '%s' line %d: '%s' is not KIND:PATTERN", path, line, s);
            *colon = '\0';
            char *kend = colon;
            while (kend > s && is_space(kend[-1]))
                *--kend = '\0';
            char *pat = colon + 1;
            while (is_space(*pat))
                pat++;
            if (!*pat)
                ward_die("WARD_OPTIONS: suppressions '%s' line %d: '%s:' has no pattern", path, line, s);
            int kind = kind_of(s);
            if (kind == -2)
                ward_die("WARD_OPTIONS: suppressions '%s' line %d: unknown kind '%s' (a bug kind as reports "
                         "print it, spaces as '_', e.g. double_free; leak; or *)",
                         path, line, s);
            if (S.n == SUPP_RULES)
                ward_die("WARD_OPTIONS: suppressions '%s': more than %d rules", path, SUPP_RULES);
            S.rules[S.n++] = (struct rule){s, pat, kind, line, 0};
        }
        s = next;
    }
}

/* A glob: '*' any run of characters, '?' one; the whole of s, n bytes. */
static bool glob(const char *p, const char *s, size_t n)
{
    const char *star = NULL;
    size_t i = 0, back = 0;
    while (i < n) {
        if (*p == '*') {
            star = ++p;
            back = i;
        } else if (*p && (*p == '?' || *p == s[i])) {
            p++;
            i++;
        } else if (star) {
            p = star;
            i = ++back;
        } else {
            return false;
        }
    }
    while (*p == '*')
        p++;
    return !*p;
}

/* A path or its base name */
static bool glob_path(const char *p, const char *s, size_t n)
{
    if (glob(p, s, n))
        return true;
    size_t b = n;
    while (b > 0 && s[b - 1] != '/')
        b--;
    return b > 0 && glob(p, s + b, n - b);
}

static bool frame_matches(const char *func, const char *file, size_t file_len, const char *mod, void *arg)
{
    const char *pat = arg;
    return (func && glob(pat, func, strlen(func))) || (file && glob_path(pat, file, file_len)) ||
        (mod && glob_path(pat, mod, strlen(mod)));
}

int suppress_match_loaded(int kind)
{
    for (int i = 0; i < S.n; i++) {
        const struct rule *r = &S.rules[i];
        if (r->kind != -1 && r->kind != kind)
            continue;
        if (sym_any_frame(frame_matches, (void *)r->pattern)) {
            __atomic_add_fetch(&S.rules[i].hits, 1, __ATOMIC_RELAXED);
            return i;
        }
    }
    return -1;
}

void suppress_count(int i) { __atomic_add_fetch(&S.rules[i].hits, 1, __ATOMIC_RELAXED); }

int ward_suppressed(const char *kind_token, const uintptr_t *const *stacks, const int *ns, int nstacks)
{
    int kind = kind_of(kind_token);
    if (!S.n || kind == -2)
        return -1;
    struct ward_named_stack st[WARD_REPORT_STACKS];
    int k = 0;
    for (int i = 0; i < nstacks && k < WARD_REPORT_STACKS; i++)
        st[k++] = (struct ward_named_stack){"stack", {stacks[i], ns[i], 0}, false, true};
    sym_acquire();
    sym_load(st, k, true);
    int r = suppress_match_loaded(kind);
    sym_release();
    return r;
}

const char *suppress_rule(int i, char *buf, size_t cap, int *line)
{
    if (line)
        *line = S.rules[i].line;
    ward_snprintf(buf, cap, "%s:%s", S.rules[i].kind_text, S.rules[i].pattern);
    return buf;
}

void suppress_summary(void)
{
    char buf[512];
    for (int i = 0; i < S.n; i++) {
        const struct rule *r = &S.rules[i];
        unsigned long h = __atomic_load_n(&r->hits, __ATOMIC_RELAXED);
        size_t n = h ? ward_snprintf(buf, sizeof buf, "ward: suppression '%s:%s' (%s line %d) matched %lu report%s\n",
                                     r->kind_text, r->pattern, S.path, r->line, h, h == 1 ? "" : "s")
                     : ward_snprintf(buf, sizeof buf, "ward: suppression '%s:%s' (%s line %d) matched nothing\n",
                                     r->kind_text, r->pattern, S.path, r->line);
        if (n >= sizeof buf)
            n = sizeof buf - 1;
        ssize_t w = write(STDERR_FILENO, buf, n);
        (void)w;
    }
}
