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
 * process's reports to DIR/ward.<pid> (the option log_path). */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
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
            "                  stderr (DIR is made if missing; the option log_path)\n");
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

int main(int argc, char **argv)
{
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
