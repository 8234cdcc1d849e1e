/* ward: run a program, and every program it starts, with ward preloaded.
 *
 *   ward [--KEY=VALUE ...] [--] PROGRAM [ARGS...]
 *
 * Each --KEY=VALUE is one of ward's options (WARD_OPTIONS=help=1 lists
 * them); they are appended to WARD_OPTIONS, so they win over what the
 * environment already says.  The library is WARD_LIB if set, else
 * libward.so next to this program (the build folder), else the installed
 * WARD_LIBDIR/libward.so.0.  LD_PRELOAD and WARD_OPTIONS are exported, so
 * children inherit both.  --log-dir=DIR (made if missing) sends every
 * process's reports to DIR/ward.<pid> (the option log_path);
 * --suppressions=FILE is passed on as an absolute path.
 *
 *   ward report [--sarif] [--source-root=DIR] DIR
 *
 * summarises such a directory (text or report_format=json reports): how
 * many reports of each kind, and each distinct report once (the same kind,
 * call and stacks' functions), with the processes it came from; suppressed
 * reports apart, by kind and by suppression.  --sarif writes SARIF 2.1.0
 * instead: a result per distinct report, located at its first frame in a
 * file under the source root (default: the current directory). */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <dirent.h>
#include <dlfcn.h>
#include <link.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef WARD_LIBDIR
#define WARD_LIBDIR "/usr/local/lib"
#endif
#ifndef WARD_VERSION
#define WARD_VERSION "0.1.0"
#endif

static void usage(FILE *f)
{
    fprintf(f,
            "usage: ward [--KEY=VALUE ...] [--] PROGRAM [ARGS...]\n"
            "Runs PROGRAM (and every process it starts) with ward, the hardened malloc,\n"
            "preloaded.  Each --KEY=VALUE sets one of ward's options, e.g.\n"
            "  ward --on_error=exit --exitcode=23 --stacks=1 -- make check\n"
            "Other flags:\n"
            "  --help          this text\n"
            "  --options       list ward's options with their defaults\n"
            "  --version       ward's version\n"
            "  --lib=PATH      the library to preload (default: WARD_LIB, libward.so next\n"
            "                  to this program, or " WARD_LIBDIR "/libward.so.0)\n"
            "  --log-dir=DIR   each process writes its reports to DIR/ward.<pid>, not to\n"
            "                  stderr (DIR is made if missing; the option log_path)\n"
            "  --suppressions=FILE  known bugs not to report (the option suppressions, the\n"
            "                  path made absolute)\n"
            "ward report DIR: count the reports in DIR by kind and list each distinct one\n"
            "once, with the processes it came from (suppressed ones apart).\n"
            "ward report --sarif [--source-root=DIR] DIR > ward.sarif: the same as SARIF 2.1.0\n"
            "(code scanning), located in the files under DIR (default: .).\n");
}

static int exists(const char *p) { return access(p, R_OK) == 0; }

/* mkdir -p DIR, then its absolute path in abs: the processes that write
 * there may change directory. */
static int log_dir(const char *dir, char *abs)
{
    char buf[PATH_MAX];
    if (snprintf(buf, sizeof buf, "%s", dir) >= (int)sizeof buf || !*buf)
        return -1;
    for (char *p = buf + 1;; p++) {
        if (*p == '/' || !*p) {
            char c = *p;
            *p = '\0';
            if (mkdir(buf, 0777) != 0 && errno != EEXIST)
                return -1;
            *p = c;
            if (!c)
                break;
        }
    }
    return realpath(buf, abs) ? 0 : -1;
}

/* The library: --lib, WARD_LIB, next to this program, or installed. */
static const char *find_lib(const char *given, char *buf, size_t cap)
{
    if (given)
        return given;
    const char *env = getenv("WARD_LIB");
    if (env && *env)
        return env;
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n > 0) {
        self[n] = '\0';
        char *slash = strrchr(self, '/');
        if (slash) {
            *slash = '\0';
            snprintf(buf, cap, "%s/libward.so", self);
            if (exists(buf))
                return buf;
        }
    }
    snprintf(buf, cap, "%s/libward.so.0", WARD_LIBDIR);
    if (exists(buf))
        return buf;
    return NULL;
}

static int append(char **dst, const char *sep, const char *add)
{
    size_t a = *dst ? strlen(*dst) : 0, b = strlen(add), s = strlen(sep);
    char *n = malloc(a + s + b + 1);
    if (!n)
        return -1;
    if (a) {
        memcpy(n, *dst, a);
        memcpy(n + a, sep, s);
    } else {
        s = 0;
    }
    memcpy(n + a + s, add, b + 1);
    free(*dst);
    *dst = n;
    return 0;
}

/* ---- ward report [--sarif] [--source-root=DIR] DIR ------------------------
 * Reads every DIR/ward.* file, text or report_format=json (a line starting
 * with '{' is a JSON report), into one list of reports, each with its
 * stacks' frames; then prints a summary, or SARIF 2.1.0. */

struct rframe {
    char func[256], file[512], module[512];
    long line;
    char offset[32];
};
#define RSTACKS 5
#define RFRAMES 64
struct rstack {
    char title[64];
    int n;
    struct rframe fr[RFRAMES];
};
struct rep {
    char kind[64], call[64], first[1024], rule[320], proc[300];
    int suppressed;
    int nst;
    struct rstack st[RSTACKS];
};

struct seen {
    char *key;      /* kind | call | each frame's function, section by section */
    char *first;    /* the report's first line, from its first occurrence */
    char *where;    /* each stack's first frame in the program */
    char *kind, *rule;
    int suppressed;
    /* SARIF: where the report is located, its function */
    char *loc_file, *loc_func;
    long loc_line;
    char procs[512];
    int count;
};

static struct seen *seen;
static size_t nseen, capseen;
struct kind {
    char name[64];
    int count, suppressed;
};
static struct kind kinds[64];
static size_t nkinds;
static char source_root[PATH_MAX];

static void *xalloc(void *p)
{
    if (!p) {
        perror("ward report");
        exit(125);
    }
    return p;
}
static char *xstrdup(const char *s) { return xalloc(strdup(s)); }

static void count_kind(const char *k, int suppressed)
{
    for (size_t i = 0; i < nkinds; i++)
        if (!strcmp(kinds[i].name, k)) {
            kinds[i].count += !suppressed;
            kinds[i].suppressed += suppressed;
            return;
        }
    if (nkinds < sizeof kinds / sizeof kinds[0]) {
        snprintf(kinds[nkinds].name, sizeof kinds[nkinds].name, "%s", k);
        kinds[nkinds].count = !suppressed;
        kinds[nkinds++].suppressed = suppressed;
    }
}

/* a frame in ward itself is no part of a report's identity */
static int in_ward(const struct rframe *f) { return strstr(f->module, "libward") != NULL; }

/* the project's own code: a file under the source root */
static int in_project(const char *file)
{
    size_t n = strlen(source_root);
    return file[0] == '/' && !strncmp(file, source_root, n) && (file[n] == '/' || source_root[n - 1] == '/');
}

static void add_report(const struct rep *r)
{
    count_kind(r->kind, r->suppressed);
    char key[4096], where[2048] = "";
    if (r->suppressed) {
        snprintf(key, sizeof key, "S|%s|%s|%s", r->kind, r->call, r->rule);
    } else {
        snprintf(key, sizeof key, "%s|%s", r->kind, r->call);
        for (int s = 0; s < r->nst; s++) {
            size_t l = strlen(key);
            snprintf(key + l, sizeof key - l, "|");
            for (int i = 0; i < r->st[s].n; i++) {
                const struct rframe *f = &r->st[s].fr[i];
                if (in_ward(f) || !f->func[0])
                    continue;
                l = strlen(key);
                snprintf(key + l, sizeof key - l, " %s", f->func);
            }
        }
    }
    for (size_t i = 0; i < nseen; i++)
        if (!strcmp(seen[i].key, key)) {
            seen[i].count++;
            size_t l = strlen(seen[i].procs);
            if (!strstr(seen[i].procs, r->proc) && l + strlen(r->proc) + 3 < sizeof seen[i].procs)
                snprintf(seen[i].procs + l, sizeof seen[i].procs - l, "%s%s", l ? "; " : "", r->proc);
            return;
        }
    /* each stack's first frame in the program; the location: the first
     * frame in the project's code, else the first with a file */
    const struct rframe *loc = NULL, *any = NULL;
    for (int s = 0; s < r->nst; s++) {
        int first = 1;
        for (int i = 0; i < r->st[s].n; i++) {
            const struct rframe *f = &r->st[s].fr[i];
            if (in_ward(f))
                continue;
            if (first && (f->func[0] || f->module[0])) {
                size_t w = strlen(where);
                char at[1200];
                if (f->file[0] && f->line > 0)
                    snprintf(at, sizeof at, "%s %s:%ld (%s+%s)", f->func[0] ? f->func : "??", f->file, f->line,
                             f->module, f->offset);
                else if (f->file[0])
                    snprintf(at, sizeof at, "%s %s (%s+%s)", f->func[0] ? f->func : "??", f->file, f->module,
                             f->offset);
                else
                    snprintf(at, sizeof at, "%s (%s+%s)", f->func[0] ? f->func : "??", f->module, f->offset);
                snprintf(where + w, sizeof where - w, "    %s %.500s\n", r->st[s].title, at);
                first = 0;
            }
            if (f->file[0] && f->line > 0) {
                if (!any)
                    any = f;
                if (!loc && in_project(f->file))
                    loc = f;
            }
        }
    }
    if (!loc)
        loc = any;
    if (nseen == capseen) {
        capseen = capseen ? 2 * capseen : 16;
        seen = xalloc(realloc(seen, capseen * sizeof *seen));
    }
    struct seen *s = &seen[nseen++];
    s->key = xstrdup(key);
    s->first = xstrdup(r->first);
    s->where = xstrdup(where);
    s->kind = xstrdup(r->kind);
    s->rule = xstrdup(r->rule);
    s->suppressed = r->suppressed;
    s->loc_file = loc ? xstrdup(loc->file) : NULL;
    s->loc_func = loc ? xstrdup(loc->func) : NULL;
    s->loc_line = loc ? loc->line : 0;
    snprintf(s->procs, sizeof s->procs, "%s", r->proc);
    s->count = 1;
}

/* "    #3 0x55d0 in make_buffer /src/x.c:17 (/bin/x+0x11f6)", or "... in
 * sym+0x12 (/lib/m.so+0x11)", or "... in /bin/x+0x11f6", or "    #3 0x55d0" */
static void parse_frame(const char *line, struct rframe *f)
{
    memset(f, 0, sizeof *f);
    const char *in = strstr(line, " in ");
    if (!in)
        return;
    in += 4;
    char rest[2048];
    snprintf(rest, sizeof rest, "%s", in);
    rest[strcspn(rest, "\n")] = '\0';
    char *paren = strrchr(rest, '(');
    size_t rl = strlen(rest);
    if (paren && rl && rest[rl - 1] == ')' && strstr(paren, "+0x")) {
        /* (module+offset) */
        char *plus = strstr(paren, "+0x");
        snprintf(f->module, sizeof f->module, "%.*s", (int)(plus - paren - 1), paren + 1);
        snprintf(f->offset, sizeof f->offset, "%.*s", (int)(rest + rl - 1 - plus - 1), plus + 1);
        while (paren > rest && paren[-1] == ' ')
            paren--;
        *paren = '\0';
    } else if (!strchr(rest, ' ')) {
        /* module+offset alone */
        char *plus = strstr(rest, "+0x");
        if (plus) {
            snprintf(f->module, sizeof f->module, "%.*s", (int)(plus - rest), rest);
            snprintf(f->offset, sizeof f->offset, "%s", plus + 1);
        }
        return;
    }
    /* func [file:line[ (discriminator N)]] */
    size_t fn = strcspn(rest, " ");
    snprintf(f->func, sizeof f->func, "%.*s", (int)fn, rest);
    char *plus = strstr(f->func, "+0x"); /* dladdr's sym+0x12: the symbol */
    if (plus)
        *plus = '\0';
    if (rest[fn] == ' ') {
        char *loc = rest + fn + 1;
        char *disc = strstr(loc, " (discriminator");
        if (disc)
            *disc = '\0';
        char *colon = strrchr(loc, ':');
        if (colon && colon[1] >= '0' && colon[1] <= '9') {
            f->line = strtol(colon + 1, NULL, 10);
            *colon = '\0';
        }
        snprintf(f->file, sizeof f->file, "%s", loc);
    }
}

/* ---- a small JSON reader, for report_format=json's lines ---- */
enum { J_NULL, J_BOOL, J_NUM, J_STR, J_ARR, J_OBJ };
struct jv {
    int type;
    double num;
    char *str;
    int n;
    char **keys;
    struct jv **items;
};
static struct jv *jparse(const char **p);
static void jskip(const char **p)
{
    while (**p == ' ' || **p == '\t' || **p == '\n' || **p == '\r')
        (*p)++;
}
static char *jstring(const char **p)
{
    if (**p != '"')
        return NULL;
    (*p)++;
    size_t cap = 64, n = 0;
    char *s = xalloc(malloc(cap));
    while (**p && **p != '"') {
        if (n + 8 > cap)
            s = xalloc(realloc(s, cap *= 2));
        char c = *(*p)++;
        if (c != '\\') {
            s[n++] = c;
            continue;
        }
        c = *(*p)++;
        switch (c) {
        case 'n':
            s[n++] = '\n';
            break;
        case 't':
            s[n++] = '\t';
            break;
        case 'r':
            s[n++] = '\r';
            break;
        case 'b':
            s[n++] = '\b';
            break;
        case 'f':
            s[n++] = '\f';
            break;
        case 'u': {
            unsigned u = 0;
            for (int i = 0; i < 4 && **p; i++) {
                char h = *(*p)++;
                u = u * 16 + (unsigned)(h <= '9' ? h - '0' : (h | 32) - 'a' + 10);
            }
            if (u < 0x80) {
                s[n++] = (char)u;
            } else if (u < 0x800) {
                s[n++] = (char)(0xc0 | u >> 6);
                s[n++] = (char)(0x80 | (u & 63));
            } else {
                s[n++] = (char)(0xe0 | u >> 12);
                s[n++] = (char)(0x80 | ((u >> 6) & 63));
                s[n++] = (char)(0x80 | (u & 63));
            }
            break;
        }
        case '\0':
            (*p)--;
            break;
        default:
            s[n++] = c;
            break;
        }
    }
    if (**p != '"') {
        free(s);
        return NULL;
    }
    (*p)++;
    s[n] = '\0';
    return s;
}
static struct jv *jparse(const char **p)
{
    jskip(p);
    struct jv *v = xalloc(calloc(1, sizeof *v));
    if (**p == '{' || **p == '[') {
        int obj = **p == '{';
        v->type = obj ? J_OBJ : J_ARR;
        (*p)++;
        jskip(p);
        if (**p == (obj ? '}' : ']')) {
            (*p)++;
            return v;
        }
        for (;;) {
            char *k = NULL;
            if (obj) {
                jskip(p);
                if (!(k = jstring(p)))
                    return NULL;
                jskip(p);
                if (*(*p)++ != ':')
                    return NULL;
            }
            struct jv *item = jparse(p);
            if (!item)
                return NULL;
            v->items = xalloc(realloc(v->items, (size_t)(v->n + 1) * sizeof *v->items));
            v->keys = xalloc(realloc(v->keys, (size_t)(v->n + 1) * sizeof *v->keys));
            v->items[v->n] = item;
            v->keys[v->n++] = k;
            jskip(p);
            if (**p == ',') {
                (*p)++;
                continue;
            }
            if (**p == (obj ? '}' : ']')) {
                (*p)++;
                return v;
            }
            return NULL;
        }
    }
    if (**p == '"') {
        v->type = J_STR;
        return (v->str = jstring(p)) ? v : NULL;
    }
    if (!strncmp(*p, "true", 4) || !strncmp(*p, "false", 5)) {
        v->type = J_BOOL;
        v->num = **p == 't';
        *p += v->num ? 4 : 5;
        return v;
    }
    if (!strncmp(*p, "null", 4)) {
        *p += 4;
        return v;
    }
    char *end;
    v->num = strtod(*p, &end);
    if (end == *p)
        return NULL;
    v->type = J_NUM;
    *p = end;
    return v;
}
static void jfree(struct jv *v)
{
    if (!v)
        return;
    for (int i = 0; i < v->n; i++) {
        jfree(v->items[i]);
        free(v->keys[i]);
    }
    free(v->items);
    free(v->keys);
    free(v->str);
    free(v);
}
static const struct jv *jget(const struct jv *o, const char *k)
{
    if (!o || o->type != J_OBJ)
        return NULL;
    for (int i = 0; i < o->n; i++)
        if (!strcmp(o->keys[i], k))
            return o->items[i];
    return NULL;
}
static const char *jstr(const struct jv *o, const char *k)
{
    const struct jv *v = jget(o, k);
    return v && v->type == J_STR ? v->str : "";
}
static double jnum(const struct jv *o, const char *k)
{
    const struct jv *v = jget(o, k);
    return v && (v->type == J_NUM || v->type == J_BOOL) ? v->num : 0;
}

/* One JSON report line into r; 0 on success. */
static int parse_json_report(const char *line, struct rep *r, const char *proc)
{
    const char *p = line;
    struct jv *o = jparse(&p);
    if (!o || o->type != J_OBJ || !jget(o, "kind")) {
        jfree(o);
        return -1;
    }
    memset(r, 0, sizeof *r);
    snprintf(r->kind, sizeof r->kind, "%s", jstr(o, "kind"));
    snprintf(r->call, sizeof r->call, "%s", jstr(o, "call"));
    r->suppressed = jnum(o, "suppressed") != 0;
    snprintf(r->rule, sizeof r->rule, "%s", jstr(o, "suppression"));
    const char *tier = jstr(o, "tier");
    double size = jnum(o, "size");
    char tail[128] = "";
    if (*tier && size > 0)
        snprintf(tail, sizeof tail, "; %s chunk of %.0f bytes", tier, size);
    else if (*tier)
        snprintf(tail, sizeof tail, "; %s tier", tier);
    snprintf(r->first, sizeof r->first, "ward: %s%s: %s(%s): %.600s%s; thread %.0f",
             r->suppressed ? "suppressed: " : "", r->kind, r->call, jstr(o, "pointer"), jstr(o, "detail"), tail,
             jnum(o, "thread"));
    const struct jv *leak_stacks = jget(o, "stacks");
    int leak = !strcmp(r->kind, "direct leak") || !strcmp(r->kind, "indirect leak");
    if (leak) {
        /* a group of leaked objects (leaks=1): shown and keyed as the text
         * line "ward: Direct leak of 32 bytes in 1 object allocated from:"
         * is, so both formats make the same distinct report */
        int with_stack = leak_stacks && leak_stacks->type == J_ARR && leak_stacks->n > 0;
        const char *detail = jstr(o, "detail");
        snprintf(r->first, sizeof r->first, "ward: %s leak of %.600s%s", r->kind[0] == 'd' ? "Direct" : "Indirect",
                 detail, with_stack ? " allocated from:" : "");
        const char *rest = strstr(r->first, " object");
        rest = rest ? rest + strcspn(rest + 1, " ") + 1 : "";
        snprintf(r->call, sizeof r->call, "%.63s", rest);
    }
    if (jget(o, "process") && jget(o, "command"))
        snprintf(r->proc, sizeof r->proc, "%.0f: %.280s", jnum(o, "process"), jstr(o, "command"));
    else
        snprintf(r->proc, sizeof r->proc, "%s", proc);
    const struct jv *stacks = jget(o, "stacks");
    for (int s = 0; stacks && stacks->type == J_ARR && s < stacks->n && r->nst < RSTACKS; s++) {
        const struct jv *st = stacks->items[s];
        struct rstack *rs = &r->st[r->nst++];
        const char *t = jstr(st, "title");
        if (!strncmp(t, "chunk ", 6))
            t += 6;
        snprintf(rs->title, sizeof rs->title, "%s",
                 !strcmp(t, "backtrace") ? "found in" : leak ? "allocated at" : t);
        const struct jv *frames = jget(st, "frames");
        for (int i = 0; frames && frames->type == J_ARR && i < frames->n && rs->n < RFRAMES; i++) {
            const struct jv *fr = frames->items[i];
            struct rframe *f = &rs->fr[rs->n++];
            memset(f, 0, sizeof *f);
            snprintf(f->func, sizeof f->func, "%s", jstr(fr, "function"));
            snprintf(f->file, sizeof f->file, "%s", jstr(fr, "file"));
            snprintf(f->module, sizeof f->module, "%s", jstr(fr, "module"));
            snprintf(f->offset, sizeof f->offset, "%s", jstr(fr, "offset"));
            f->line = (long)jnum(fr, "line");
        }
    }
    jfree(o);
    return 0;
}

/* One file: "ward: process PID: CMD" first, then reports: text ones, each a
 * line "ward: [suppressed: ]KIND: CALL(0x...): ..." and its stacks, or JSON
 * ones, a line each. */
static int read_log(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    static struct rep r;
    char *line = NULL;
    size_t cap = 0;
    char proc[300] = "";
    int in_report = 0;
    while (1) {
        ssize_t got = getline(&line, &cap, f);
        int json = got > 0 && line[0] == '{';
        int starts =
            got > 0 && !strncmp(line, "ward: ", 6) && strstr(line, "(0x") && strncmp(line, "ward: process ", 14) != 0;
        /* leaks=1: each group of leaked objects is a report ("direct leak",
         * "indirect leak"), known by its stack, or its objects' size */
        int leak = got > 0 && (!strncmp(line, "ward: Direct leak of ", 21) || !strncmp(line, "ward: Indirect leak of ", 23));
        int leak_end = got > 0 && (!strncmp(line, "ward: memory leaks: ", 20) || !strncmp(line, "ward: leaks found", 17) ||
                                   !strncmp(line, "ward: run with stacks=1", 23) || !strncmp(line, "ward: ... and ", 14) ||
                                   !strncmp(line, "ward: leaks=1: ", 15));
        if ((got <= 0 || starts || json || leak || leak_end) && in_report) {
            add_report(&r);
            in_report = 0;
        }
        if (leak) {
            /* the line is the title of the group's allocation stack, whose
             * frames follow (stacks=1); what follows the counts ("allocated
             * from:", or "of 48 bytes") keys it with the frames */
            memset(&r, 0, sizeof r);
            snprintf(r.kind, sizeof r.kind, "%s", line[6] == 'D' ? "direct leak" : "indirect leak");
            line[strcspn(line, "\n")] = '\0';
            snprintf(r.first, sizeof r.first, "%.1000s", line);
            const char *rest = strstr(line, " object"); /* what follows the counts */
            rest = rest ? rest + strcspn(rest + 1, " ") + 1 : "";
            snprintf(r.call, sizeof r.call, "%.63s", rest);
            snprintf(r.proc, sizeof r.proc, "%s", proc);
            r.nst = 1;
            snprintf(r.st[0].title, sizeof r.st[0].title, "allocated at");
            in_report = 1;
            continue;
        }
        if (leak_end)
            continue;
        if (got <= 0)
            break;
        if (json) {
            if (parse_json_report(line, &r, proc) == 0)
                add_report(&r);
            continue;
        }
        if (!strncmp(line, "ward: process ", 14)) {
            line[strcspn(line, "\n")] = '\0';
            snprintf(proc, sizeof proc, "%.290s", line + 14);
            continue;
        }
        if (starts) {
            /* the kind: up to the ": " before the call */
            const char *k = line + 6;
            int suppressed = !strncmp(k, "suppressed: ", 12);
            if (suppressed)
                k += 12;
            const char *call = strstr(k, ": ");
            const char *paren = strchr(k, '(');
            if (!strncmp(k, "warning: ", 9) && call)
                call = strstr(call + 2, ": ");
            if (!call || (paren && paren < call))
                continue;
            memset(&r, 0, sizeof r);
            r.suppressed = suppressed;
            snprintf(r.kind, sizeof r.kind, "%.*s", (int)(call - k), k);
            snprintf(r.call, sizeof r.call, "%.*s", (int)strcspn(call + 2, "("), call + 2);
            line[strcspn(line, "\n")] = '\0';
            snprintf(r.first, sizeof r.first, "%.1000s", line);
            snprintf(r.proc, sizeof r.proc, "%s", proc);
            in_report = 1;
            continue;
        }
        if (!in_report)
            continue;
        if (!strncmp(line, "ward: suppressed by '", 21)) {
            const char *q = line + 21, *e = strchr(q, '\'');
            snprintf(r.rule, sizeof r.rule, "%.*s", e ? (int)(e - q) : 0, q);
            continue;
        }
        if (!strncmp(line, "ward: suppression '", 19))
            continue;                      /* matched, but reported */
        if (!strncmp(line, "ward: ", 6)) { /* a stack's title: "backtrace", "chunk allocated at" */
            if (r.nst == RSTACKS) {
                in_report = 0;
                add_report(&r);
                continue;
            }
            struct rstack *rs = &r.st[r.nst++];
            rs->n = 0;
            const char *t = line + 6;
            if (!strncmp(t, "chunk ", 6))
                t += 6;
            size_t tn = strcspn(t, ":(\n");
            while (tn && t[tn - 1] == ' ')
                tn--;
            if (!strncmp(t, "backtrace", 9))
                t = "found in", tn = 8;
            snprintf(rs->title, sizeof rs->title, "%.*s", (int)tn, t);
            continue;
        }
        if (!strncmp(line, "    #", 5) && r.nst > 0 && r.st[r.nst - 1].n < RFRAMES) {
            struct rstack *rs = &r.st[r.nst - 1];
            parse_frame(line, &rs->fr[rs->n++]);
        }
    }
    free(line);
    fclose(f);
    return 0;
}

/* ---- SARIF 2.1.0 ---- */
static void json_str(FILE *o, const char *s)
{
    fputc('"', o);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(o, "\\%c", *p);
        else if (*p == '\n')
            fputs("\\n", o);
        else if (*p < 0x20)
            fprintf(o, "\\u%04x", *p);
        else
            fputc(*p, o);
    }
    fputc('"', o);
}

/* "double free" -> "double-free" (SARIF rule ids), "DoubleFree" (names) */
static void rule_id(const char *kind, char *id, size_t cap, int camel)
{
    size_t n = 0;
    int up = 1;
    for (const char *k = kind; *k && n + 1 < cap; k++) {
        if (*k == ' ' || *k == '-') {
            if (!camel)
                id[n++] = '-';
            up = 1;
            continue;
        }
        id[n++] = camel && up ? (char)(*k & ~32) : *k;
        up = 0;
    }
    id[n] = '\0';
}

static unsigned long long fnv(const char *s)
{
    unsigned long long h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static int write_sarif(FILE *o)
{
    /* rules: the kinds with a reported (not suppressed) report */
    fprintf(o,
            "{\n  \"$schema\": \"https://json.schemastore.org/sarif-2.1.0.json\",\n  \"version\": \"2.1.0\",\n"
            "  \"runs\": [{\n    \"tool\": {\"driver\": {\"name\": \"ward\", \"version\": \"%s\", "
            "\n      \"rules\": [",
            WARD_VERSION);
    int nr = 0;
    char id[80], name[80];
    for (size_t i = 0; i < nkinds; i++) {
        if (!kinds[i].count)
            continue;
        rule_id(kinds[i].name, id, sizeof id, 0);
        rule_id(kinds[i].name, name, sizeof name, 1);
        fprintf(o, "%s\n        {\"id\": \"%s\", \"name\": \"%s\", \"shortDescription\": {\"text\": ", nr++ ? "," : "",
                id, name);
        json_str(o, kinds[i].name);
        fprintf(o, "}, \"fullDescription\": {\"text\": ");
        char d[256];
        snprintf(d, sizeof d, "ward (a hardened malloc) found a %.63s at run time", kinds[i].name);
        json_str(o, d);
        fprintf(o,
                "}, \"defaultConfiguration\": {\"level\": \"error\"}, "
                "\"properties\": {\"tags\": [\"security\", \"memory-safety\"]}}");
    }
    fprintf(o, "\n      ]}},\n    \"originalUriBaseIds\": {\"%%SRCROOT%%\": {\"uri\": ");
    char root[PATH_MAX + 16];
    snprintf(root, sizeof root, "file://%s/", source_root);
    json_str(o, root);
    fprintf(o, "}},\n    \"results\": [");
    int nres = 0, nloc = 0;
    for (size_t i = 0; i < nseen; i++) {
        struct seen *s = &seen[i];
        if (s->suppressed)
            continue;
        if (!s->loc_file) {
            nloc++;
            continue;
        }
        /* the rule's index among the rules written */
        int ri = 0;
        for (size_t k = 0; k < nkinds && strcmp(kinds[k].name, s->kind); k++)
            ri += kinds[k].count > 0;
        rule_id(s->kind, id, sizeof id, 0);
        char msg[8192];
        snprintf(msg, sizeof msg, "%s (%d time%s)\n%s", s->first, s->count, s->count == 1 ? "" : "s", s->where);
        fprintf(o, "%s\n      {\"ruleId\": \"%s\", \"ruleIndex\": %d, \"level\": \"error\", \"message\": {\"text\": ",
                nres++ ? "," : "", id, ri);
        json_str(o, msg);
        fprintf(o, "},\n       \"locations\": [{\"physicalLocation\": {\"artifactLocation\": {\"uri\": ");
        size_t rl = strlen(source_root);
        if (in_project(s->loc_file)) {
            json_str(o, s->loc_file + rl + (s->loc_file[rl] == '/'));
            fprintf(o, ", \"uriBaseId\": \"%%SRCROOT%%\"");
        } else {
            char uri[PATH_MAX + 16];
            snprintf(uri, sizeof uri, "%s%s", s->loc_file[0] == '/' ? "file://" : "", s->loc_file);
            json_str(o, uri);
        }
        fprintf(o, "}, \"region\": {\"startLine\": %ld}}", s->loc_line);
        if (s->loc_func && *s->loc_func) {
            fprintf(o, ", \"logicalLocations\": [{\"name\": ");
            json_str(o, s->loc_func);
            fprintf(o, ", \"kind\": \"function\"}]");
        }
        fprintf(o, "}],\n       \"partialFingerprints\": {\"wardReport/v1\": \"%016llx\"}}", fnv(s->key));
    }
    fprintf(o, "\n    ]\n  }]\n}\n");
    if (nloc)
        fprintf(stderr, "ward report: %d distinct report%s with no frame that has a source file: not in the SARIF\n",
                nloc, nloc == 1 ? "" : "s");
    return 0;
}

static int report_main(int argc, char **argv)
{
    int sarif = 0;
    const char *dir = NULL, *root = ".";
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--sarif"))
            sarif = 1;
        else if (!strncmp(argv[i], "--source-root=", 14))
            root = argv[i] + 14;
        else if (!dir && argv[i][0] != '-')
            dir = argv[i];
        else
            dir = NULL, i = argc;
    }
    if (!dir) {
        fprintf(stderr, "usage: ward report [--sarif] [--source-root=DIR] DIR\n");
        return 125;
    }
    if (!realpath(root, source_root)) {
        fprintf(stderr, "ward report: %s: %s\n", root, strerror(errno));
        return 125;
    }
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "ward report: %s: %s\n", dir, strerror(errno));
        return 125;
    }
    int files = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, "ward.", 5) != 0)
            continue;
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (read_log(path) == 0)
            files++;
    }
    closedir(d);
    int total = 0, supp = 0;
    size_t distinct = 0, sdistinct = 0;
    for (size_t i = 0; i < nkinds; i++) {
        total += kinds[i].count;
        supp += kinds[i].suppressed;
    }
    for (size_t i = 0; i < nseen; i++)
        seen[i].suppressed ? sdistinct++ : distinct++;
    if (sarif) {
        write_sarif(stdout);
        return total ? 1 : 0;
    }
    printf("ward report: %d report%s in %d file%s of %s, %zu distinct\n", total, total == 1 ? "" : "s", files,
           files == 1 ? "" : "s", dir, distinct);
    for (size_t i = 0; i < nkinds; i++)
        if (kinds[i].count)
            printf("  %-28s %d\n", kinds[i].name, kinds[i].count);
    if (supp) {
        printf("suppressed: %d report%s, %zu distinct\n", supp, supp == 1 ? "" : "s", sdistinct);
        for (size_t i = 0; i < nkinds; i++)
            if (kinds[i].suppressed)
                printf("  %-28s %d\n", kinds[i].name, kinds[i].suppressed);
    }
    int k = 0;
    for (size_t i = 0; i < nseen; i++) {
        if (seen[i].suppressed)
            continue;
        printf("\n[%d] %d time%s, from: %s\n%s\n%s", ++k, seen[i].count, seen[i].count == 1 ? "" : "s", seen[i].procs,
               seen[i].first, seen[i].where);
    }
    k = 0;
    for (size_t i = 0; i < nseen; i++) {
        if (!seen[i].suppressed)
            continue;
        printf("\n[suppressed %d] %d time%s by '%s', from: %s\n%s\n%s", ++k, seen[i].count,
               seen[i].count == 1 ? "" : "s", seen[i].rule, seen[i].procs, seen[i].first, seen[i].where);
    }
    return total ? 1 : 0;
}

/* whether the options ask for stacks (stacks=1, or its alias trace=1); the
 * last setting wins, as in the library */
static int stacks_on(const char *opts)
{
    int on = 0;
    for (const char *p = opts; p && *p;) {
        size_t n = strcspn(p, ":");
        if ((n == 8 && !strncmp(p, "stacks=", 7)) || (n == 7 && !strncmp(p, "trace=", 6)))
            on = p[n - 1] == '1';
        p += n + (p[n] == ':');
    }
    return on;
}

/* libunwind's path, when it is installed */
static int find_unwind(char *buf, size_t cap)
{
    void *h = dlopen("libunwind.so.8", RTLD_LAZY | RTLD_LOCAL);
    struct link_map *lm = NULL;
    int ok = h && dlinfo(h, RTLD_DI_LINKMAP, &lm) == 0 && lm && lm->l_name && lm->l_name[0] == '/' &&
             strlen(lm->l_name) < cap;
    if (ok)
        strcpy(buf, lm->l_name);
    return ok;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && !strcmp(argv[1], "report")) {
        return report_main(argc, argv);
    }
    const char *lib_arg = NULL;
    char *opts = NULL;
    int list = 0;
    const char *env_opts = getenv("WARD_OPTIONS");
    if (env_opts && *env_opts && append(&opts, "", env_opts))
        return 125;
    int i = 1;
    for (; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--")) {
            i++;
            break;
        }
        if (strncmp(a, "--", 2) != 0)
            break;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        }
        if (!strcmp(a, "--version")) {
            printf("ward %s\n", WARD_VERSION);
            return 0;
        }
        if (!strcmp(a, "--options")) {
            list = 1;
            continue;
        }
        if (!strncmp(a, "--lib=", 6)) {
            lib_arg = a + 6;
            continue;
        }
        if (!strncmp(a, "--log-dir=", 10)) {
            char abs[PATH_MAX], opt[PATH_MAX + 32];
            if (log_dir(a + 10, abs) != 0) {
                fprintf(stderr, "ward: --log-dir: %s: %s\n", a + 10, strerror(errno));
                return 125;
            }
            snprintf(opt, sizeof opt, "log_path=%s/ward", abs);
            if (append(&opts, ":", opt))
                return 125;
            continue;
        }
        if (!strncmp(a, "--suppressions=", 15) && a[15] != '/') {
            /* absolute: the tests run in directories of their own */
            char abs[PATH_MAX], opt[PATH_MAX + 32];
            if (realpath(a + 15, abs)) {
                snprintf(opt, sizeof opt, "suppressions=%s", abs);
                if (append(&opts, ":", opt))
                    return 125;
                continue;
            } /* else the library says what is wrong with it */
        }
        const char *eq = strchr(a + 2, '=');
        if (!eq || eq == a + 2) {
            fprintf(stderr, "ward: '%s' is not --KEY=VALUE (see ward --help)\n", a);
            return 125;
        }
        if (append(&opts, ":", a + 2))
            return 125;
    }
    char buf[PATH_MAX + 32];
    const char *lib = find_lib(lib_arg, buf, sizeof buf);
    if (!lib || !exists(lib)) {
        fprintf(stderr, "ward: cannot find libward.so (set WARD_LIB or --lib=PATH)\n");
        return 125;
    }
    char abs[PATH_MAX];
    if (!realpath(lib, abs)) {
        fprintf(stderr, "ward: %s: %s\n", lib, strerror(errno));
        return 125;
    }
    if (list) {
        /* the library lists its options itself, from its own table */
        char *help = NULL;
        if (append(&help, "", "help=1") || setenv("WARD_OPTIONS", help, 1) || setenv("LD_PRELOAD", abs, 1))
            return 125;
        execl("/bin/true", "true", (char *)NULL);
        fprintf(stderr, "ward: /bin/true: %s\n", strerror(errno));
        return 125;
    }
    if (i >= argc) {
        usage(stderr);
        return 125;
    }
    char *preload = NULL;
    if (append(&preload, "", abs))
        return 125;
    /* stacks=1 takes a stack at every malloc and free: libunwind, when
     * installed, does it about 12 times faster than the unwinder built into
     * ward, which uses it when the process has it from the start */
    char unw[PATH_MAX];
    if (stacks_on(opts) && find_unwind(unw, sizeof unw) && append(&preload, " ", unw))
        return 125;
    const char *old = getenv("LD_PRELOAD");
    if (old && *old && append(&preload, " ", old))
        return 125;
    if (setenv("LD_PRELOAD", preload, 1) || (opts && setenv("WARD_OPTIONS", opts, 1)))
        return 125;
    execvp(argv[i], argv + i);
    fprintf(stderr, "ward: %s: %s\n", argv[i], strerror(errno));
    return errno == ENOENT ? 127 : 126;
}
