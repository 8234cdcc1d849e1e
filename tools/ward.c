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
 * process's reports to DIR/ward.<pid> (the option log_path).
 *
 *   ward report DIR
 *
 * summarises such a directory: how many reports of each kind, and each
 * distinct report once (the same kind, call and stacks' functions), with
 * the processes it came from. */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <dirent.h>
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
            "ward report DIR: count the reports in DIR by kind and list each distinct one\n"
            "once, with the processes it came from.\n");
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

/* ---- ward report DIR ---------------------------------------------------- */

struct seen {
    char *key;      /* kind | call | each frame's function, section by section */
    char *first;    /* the report's first line, from its first occurrence */
    char *where;    /* the first lines of its stacks: "    #1 ... in f file:line" */
    char procs[512];
    int count;
};

static struct seen *seen;
static size_t nseen, capseen;
struct kind {
    char name[64];
    int count;
};
static struct kind kinds[64];
static size_t nkinds;

static void count_kind(const char *k)
{
    for (size_t i = 0; i < nkinds; i++)
        if (!strcmp(kinds[i].name, k)) {
            kinds[i].count++;
            return;
        }
    if (nkinds < sizeof kinds / sizeof kinds[0]) {
        snprintf(kinds[nkinds].name, sizeof kinds[nkinds].name, "%s", k);
        kinds[nkinds++].count = 1;
    }
}

/* "    #3 0x55d0 in make_buffer /src/x.c:17 (/bin/x+0x11f6)" -> "make_buffer";
 * a frame in ward itself, or one without a name, gives NULL */
static const char *frame_func(const char *line, char *out, size_t cap)
{
    const char *in = strstr(line, " in ");
    if (!in || strstr(line, "libward"))
        return NULL;
    in += 4;
    size_t n = strcspn(in, " +\n");
    if (n == 0 || n >= cap)
        return NULL;
    memcpy(out, in, n);
    out[n] = '\0';
    return out;
}

static void add_report(const char *first, const char *kind, const char *key, const char *where, const char *proc)
{
    count_kind(kind);
    for (size_t i = 0; i < nseen; i++)
        if (!strcmp(seen[i].key, key)) {
            seen[i].count++;
            size_t l = strlen(seen[i].procs);
            if (!strstr(seen[i].procs, proc) && l + strlen(proc) + 3 < sizeof seen[i].procs)
                snprintf(seen[i].procs + l, sizeof seen[i].procs - l, "%s%s", l ? "; " : "", proc);
            return;
        }
    if (nseen == capseen) {
        capseen = capseen ? 2 * capseen : 16;
        seen = realloc(seen, capseen * sizeof *seen);
        if (!seen) {
            perror("ward report");
            exit(125);
        }
    }
    struct seen *s = &seen[nseen++];
    s->key = strdup(key);
    s->first = strdup(first);
    s->where = strdup(where);
    snprintf(s->procs, sizeof s->procs, "%s", proc);
    s->count = 1;
}

/* One file: "ward: process PID: CMD" first, then reports, each a line
 * "ward: KIND: CALL(0x...): ..." and its stacks. */
static int read_log(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    char line[4096], proc[300] = "", first[1024] = "", kind[64] = "", key[4096] = "", where[2048] = "";
    char label[64] = "";
    int in_report = 0, frames_here = 0;
    while (1) {
        char *got = fgets(line, sizeof line, f);
        int starts = got && !strncmp(line, "ward: ", 6) && strstr(line, "(0x") &&
                     strncmp(line, "ward: process ", 14) != 0;
        /* leaks=1: each group of leaked objects is a report ("direct leak",
         * "indirect leak"), known by its stack, or its objects' size */
        int leak = got && (!strncmp(line, "ward: Direct leak of ", 21) || !strncmp(line, "ward: Indirect leak of ", 23));
        int leak_end = got && (!strncmp(line, "ward: memory leaks: ", 20) || !strncmp(line, "ward: leaks found", 17) ||
                               !strncmp(line, "ward: run with stacks=1", 23) || !strncmp(line, "ward: ... and ", 14) ||
                               !strncmp(line, "ward: leaks=1: ", 15));
        if ((!got || starts || leak || leak_end) && in_report) {
            add_report(first, kind, key, where, proc);
            in_report = 0;
        }
        if (leak) {
            snprintf(kind, sizeof kind, "%s", line[6] == 'D' ? "direct leak" : "indirect leak");
            line[strcspn(line, "\n")] = '\0';
            snprintf(first, sizeof first, "%.1000s", line);
            const char *rest = strstr(line, " object"); /* what follows the counts */
            rest = rest ? rest + strcspn(rest + 1, " ") + 1 : "";
            snprintf(key, sizeof key, "%s|%.200s", kind, rest);
            snprintf(label, sizeof label, "allocated at");
            where[0] = '\0';
            frames_here = 0;
            in_report = 1;
            continue;
        }
        if (leak_end)
            continue;
        if (!got)
            break;
        if (!strncmp(line, "ward: process ", 14)) {
            line[strcspn(line, "\n")] = '\0';
            snprintf(proc, sizeof proc, "%.290s", line + 14);
            continue;
        }
        if (starts) {
            /* the kind: up to the ": " before the call */
            const char *k = line + 6, *call = strstr(k, ": ");
            const char *paren = strchr(k, '(');
            if (!strncmp(k, "warning: ", 9) && call)
                call = strstr(call + 2, ": ");
            if (!call || (paren && paren < call))
                continue;
            snprintf(kind, sizeof kind, "%.*s", (int)(call - k), k);
            size_t cn = strcspn(call + 2, "(");
            line[strcspn(line, "\n")] = '\0';
            snprintf(first, sizeof first, "%.1000s", line);
            snprintf(key, sizeof key, "%s|%.*s", kind, (int)cn, call + 2);
            where[0] = '\0';
            frames_here = 0;
            in_report = 1;
            continue;
        }
        if (!in_report)
            continue;
        if (!strncmp(line, "ward: ", 6)) { /* a stack's title: "backtrace", "chunk allocated at" */
            size_t l = strlen(key);
            snprintf(key + l, sizeof key - l, "|");
            frames_here = 0;
            const char *t = line + 6;
            if (!strncmp(t, "chunk ", 6))
                t += 6;
            size_t tn = strcspn(t, ":(\n");
            while (tn && t[tn - 1] == ' ')
                tn--;
            if (!strncmp(t, "backtrace", 9))
                t = "found in", tn = 8;
            snprintf(label, sizeof label, "%.*s", (int)tn, t);
            continue;
        }
        char fn[256];
        if (frame_func(line, fn, sizeof fn)) {
            size_t l = strlen(key);
            snprintf(key + l, sizeof key - l, " %s", fn);
            if (frames_here++ == 0) { /* the stack's first frame in the program */
                size_t w = strlen(where);
                const char *at = strstr(line, " in ");
                line[strcspn(line, "\n")] = '\0';
                snprintf(where + w, sizeof where - w, "    %s%.500s\n", label, at ? at + 3 : line);
            }
        }
    }
    fclose(f);
    return 0;
}

static int report_main(const char *dir)
{
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
    int total = 0;
    for (size_t i = 0; i < nkinds; i++)
        total += kinds[i].count;
    printf("ward report: %d report%s in %d file%s of %s, %zu distinct\n", total, total == 1 ? "" : "s", files,
           files == 1 ? "" : "s", dir, nseen);
    for (size_t i = 0; i < nkinds; i++)
        printf("  %-28s %d\n", kinds[i].name, kinds[i].count);
    for (size_t i = 0; i < nseen; i++) {
        printf("\n[%zu] %d time%s, from: %s\n%s\n%s", i + 1, seen[i].count, seen[i].count == 1 ? "" : "s",
               seen[i].procs, seen[i].first, seen[i].where);
    }
    return total ? 1 : 0;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && !strcmp(argv[1], "report")) {
        if (argc != 3) {
            fprintf(stderr, "usage: ward report DIR\n");
            return 125;
        }
        return report_main(argv[2]);
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
    const char *old = getenv("LD_PRELOAD");
    if (old && *old && append(&preload, " ", old))
        return 125;
    if (setenv("LD_PRELOAD", preload, 1) || (opts && setenv("WARD_OPTIONS", opts, 1)))
        return 125;
    execvp(argv[i], argv + i);
    fprintf(stderr, "ward: %s: %s\n", argv[i], strerror(errno));
    return errno == ENOENT ? 127 : 126;
}
