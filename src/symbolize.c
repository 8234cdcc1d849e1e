/* symbolize.c: prints a stack for a report, one line a frame:
 *
 *     #3 0x5581c2a1b1a6 in parse_args /src/app/args.c:42 (/usr/bin/app+0x11a6)
 *
 * The module and offset come from dladdr (always there: `addr2line -e
 * module offset` resolves them later).  With symbolize=1 (the default) the
 * function and file:line come from addr2line (binutils), run once per module
 * after the report's first line is out: it reads the debug information, which
 * dladdr cannot (static functions, inlined code, lines).  Nothing here
 * allocates: the child is started with vfork + execve from buffers on this
 * stack, with an environment of its own (no LD_PRELOAD, so it does not run
 * under ward), and its output is read into a static buffer.
 *
 * A report's stacks are loaded together into one static frame table (taken
 * in turn: sym_acquire), named once, then matched against the suppressions
 * (suppress.c) and printed as text or JSON from the same names. */
#include "state.h"
#include "report.h"
#include "os.h"

#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define ADDR2LINE "/usr/bin/addr2line"
#define MAX_FRAMES 64
#define ALL_FRAMES (WARD_REPORT_STACKS * MAX_FRAMES)

struct frame {
    uintptr_t pc, addr;      /* addr: what addr2line takes for this module */
    const char *mod;
    uintptr_t off;           /* pc - module base */
    const char *sname;       /* dladdr's nearest dynamic symbol */
    bool own;                /* in ward itself: named by its API symbol */
    bool in_ward;            /* in ward's module: never matched by a suppression */
    uintptr_t saddr;
    char func[112];          /* addr2line's answer, "" when none */
    char loc[144];
};

static void scopy(char *dst, size_t cap, const char *src, size_t n)
{
    if (n >= cap)
        n = cap - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

static char *hex(char *buf, uintptr_t v)
{
    static const char d[] = "0123456789abcdef";
    char tmp[20];
    int i = 0;
    do {
        tmp[i++] = d[v & 15];
        v >>= 4;
    } while (v);
    char *p = buf;
    *p++ = '0';
    *p++ = 'x';
    while (i)
        *p++ = tmp[--i];
    *p = '\0';
    return buf;
}

/* vfork + execve, alone in a function of its own: the child only execs. */
static __attribute__((noinline)) pid_t spawn(char *const argv[], char *const envp[], int out_fd, int null_fd)
{
    pid_t pid = vfork();
    if (pid == 0) {
        dup2(null_fd, STDIN_FILENO);
        dup2(out_fd, STDOUT_FILENO);
        dup2(null_fd, STDERR_FILENO);
        execve(argv[0], argv, envp);
        _exit(127);
    }
    return pid;
}

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Runs addr2line on the frames of module `mod` (indexes idx[0..k)), filling
 * their func and loc. */
static void resolve_module(struct frame *fr, const int *idx, int k, const char *mod)
{
    /* a seccomp filter may kill on vfork or execve (OpenSSH's does): the
     * frames keep their module and offset */
    if (os_is_sandboxed())
        return;
    static char addrs[ALL_FRAMES][20];
    char *argv[6 + ALL_FRAMES + 1];
    int a = 0;
    argv[a++] = (char *)ADDR2LINE;
    argv[a++] = (char *)"-f";
    argv[a++] = (char *)"-C";
    argv[a++] = (char *)"-e";
    argv[a++] = (char *)mod;
    for (int i = 0; i < k; i++)
        argv[a++] = hex(addrs[i], fr[idx[i]].addr);
    argv[a] = NULL;
    char *envp[] = {(char *)"PATH=/usr/bin:/bin", (char *)"LC_ALL=C", NULL};
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0)
        return;
    int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null_fd < 0) {
        close(p[0]);
        close(p[1]);
        return;
    }
    pid_t pid = spawn(argv, envp, p[1], null_fd);
    close(p[1]);
    close(null_fd);
    if (pid < 0) {
        close(p[0]);
        return;
    }
    static char out[32768]; /* under the frame table's turn */
    size_t n = 0;
    long deadline = now_ms() + 10000; /* a huge binary: give up, keep module+offset */
    for (;;) {
        long left = deadline - now_ms();
        struct pollfd pf = {p[0], POLLIN, 0};
        if (left <= 0 || n + 1 >= sizeof out)
            break;
        int r = poll(&pf, 1, (int)left);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        ssize_t got = read(p[0], out + n, sizeof out - 1 - n);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            break;
        n += (size_t)got;
    }
    close(p[0]);
    kill(pid, SIGKILL);
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
        ;
    out[n] = '\0';
    /* two lines per address: function, then file:line ("??" when unknown) */
    char *s = out;
    for (int i = 0; i < k && *s; i++) {
        char *e1 = s;
        while (*e1 && *e1 != '\n')
            e1++;
        if (!*e1)
            break;
        char *l = e1 + 1, *e2 = l;
        while (*e2 && *e2 != '\n')
            e2++;
        struct frame *f = &fr[idx[i]];
        if (!(e1 - s == 2 && s[0] == '?'))
            scopy(f->func, sizeof f->func, s, (size_t)(e1 - s));
        if (!(l[0] == '?' && l[1] == '?'))
            scopy(f->loc, sizeof f->loc, l, (size_t)(e2 - l));
        s = *e2 ? e2 + 1 : e2;
    }
}

static bool executable_is_exec(uintptr_t base)
{
    const Elf64_Ehdr *eh = (const Elf64_Ehdr *)base;
    return base && memcmp(eh->e_ident, ELFMAG, SELFMAG) == 0 && eh->e_type == ET_EXEC;
}

/* The frame table: the stacks of one report (or of one suppression query),
 * frames[first..first+n) each.  Static, so a report on a small thread stack
 * does not need 60 KiB of it; one user at a time. */
static struct {
    struct frame fr[ALL_FRAMES];
    struct {
        const char *title;
        int tid, first, n;
        bool recorded, shown; /* shown: a backtrace only with backtrace=1 */
    } st[WARD_REPORT_STACKS];
    int nst, nfr;
    char self[512];
} tab;
static int tab_busy;

void sym_acquire(void)
{
    while (__atomic_exchange_n(&tab_busy, 1, __ATOMIC_ACQUIRE))
        sched_yield();
}
void sym_release(void) { __atomic_store_n(&tab_busy, 0, __ATOMIC_RELEASE); }

void sym_load(const struct ward_named_stack *stacks, int ns, bool names)
{
    ssize_t sl = readlink("/proc/self/exe", tab.self, sizeof tab.self - 1);
    tab.self[sl > 0 ? sl : 0] = '\0';
    Dl_info me;
    uintptr_t own_base = dladdr((void *)sym_load, &me) ? (uintptr_t)me.dli_fbase : 0;
    tab.nst = tab.nfr = 0;
    for (int s = 0; s < ns && tab.nst < WARD_REPORT_STACKS; s++) {
        const struct ward_named_stack *ws = &stacks[s];
        if (!ws->st.pcs || ws->st.n <= 0)
            continue;
        /* a stack starts where the program called in, unless its first pc
         * is the faulting instruction */
        int first = ws->exact ? 0 : ward_first_caller_frame(ws->st.pcs, ws->st.n);
        int n = ws->st.n - first;
        if (n > MAX_FRAMES)
            n = MAX_FRAMES;
        tab.st[tab.nst].title = ws->title;
        tab.st[tab.nst].tid = ws->st.tid;
        tab.st[tab.nst].recorded = ws->recorded;
        tab.st[tab.nst].shown = ws->recorded || G.opt.backtrace;
        tab.st[tab.nst].first = tab.nfr;
        tab.st[tab.nst].n = n;
        tab.nst++;
        for (int i = 0; i < n; i++) {
            struct frame *f = &tab.fr[tab.nfr++];
            Dl_info info;
            memset(f, 0, sizeof *f);
            f->pc = ws->st.pcs[first + i];
            /* a return address points after the call: look up the call itself */
            uintptr_t look = (i == 0 && ws->exact) ? f->pc : f->pc - 1;
            if (dladdr((void *)look, &info) && info.dli_fname) {
                f->mod = info.dli_fname[0] ? info.dli_fname : tab.self;
                f->off = f->pc - (uintptr_t)info.dli_fbase;
                f->addr = executable_is_exec((uintptr_t)info.dli_fbase) ? look : look - (uintptr_t)info.dli_fbase;
                f->sname = info.dli_sname;
                f->saddr = (uintptr_t)info.dli_saddr;
                /* ward's own frame (the API call): its exported name, not the
                 * internal function inlined into it; unless ward is linked into
                 * the program itself */
                f->own = (uintptr_t)info.dli_fbase == own_base && f->sname && info.dli_fname[0];
                f->in_ward = (uintptr_t)info.dli_fbase == own_base && info.dli_fname[0];
            }
        }
    }
    int n = tab.nfr;
    struct frame *fr = tab.fr;
    if (names && access(ADDR2LINE, X_OK) == 0) {
        bool done[ALL_FRAMES] = {0};
        for (int i = 0; i < n; i++) {
            if (done[i] || !fr[i].mod || !fr[i].mod[0] || fr[i].own)
                continue;
            int idx[ALL_FRAMES], k = 0;
            for (int j = i; j < n; j++)
                if (!done[j] && fr[j].mod && !fr[j].own && !strcmp(fr[j].mod, fr[i].mod)) {
                    idx[k++] = j;
                    done[j] = true;
                }
            resolve_module(fr, idx, k, fr[i].mod);
        }
    }
}

/* The file part of addr2line's "file:line" or "file:line (discriminator
 * N)": its length, and the line in *line (0: none). */
static size_t loc_file(const char *loc, long *line)
{
    size_t n = strlen(loc);
    const char *d = strstr(loc, " (discriminator");
    if (d)
        n = (size_t)(d - loc);
    size_t c = n;
    while (c > 0 && loc[c - 1] != ':')
        c--;
    *line = 0;
    if (c == 0)
        return n;
    for (size_t i = c; i < n && loc[i] >= '0' && loc[i] <= '9'; i++)
        *line = *line * 10 + (loc[i] - '0');
    return c - 1;
}

bool sym_any_frame(bool (*fn)(const char *func, const char *file, size_t file_len, const char *mod, void *arg),
                   void *arg)
{
    for (int i = 0; i < tab.nfr; i++) {
        const struct frame *f = &tab.fr[i];
        if (f->in_ward || !f->mod)
            continue; /* ward's own frames: every report has them */
        long line;
        size_t fl = f->loc[0] ? loc_file(f->loc, &line) : 0;
        const char *func = f->func[0] ? f->func : f->sname;
        if (fn(func, fl ? f->loc : NULL, fl, f->mod, arg))
            return true;
    }
    return false;
}

uint64_t sym_hash(const struct ward_named_stack *stacks, int ns)
{
    uint64_t h = 0x9e3779b97f4a7c15ull;
    for (int s = 0; s < ns; s++) {
        h = (h ^ (uint64_t)stacks[s].st.n) * 0xff51afd7ed558ccdull;
        for (int i = 0; i < stacks[s].st.n && stacks[s].st.pcs; i++) {
            h ^= stacks[s].st.pcs[i];
            h *= 0xc4ceb9fe1a85ec53ull;
            h ^= h >> 29;
        }
    }
    return h;
}

void sym_print_text(void)
{
    for (int s = 0; s < tab.nst; s++) {
        if (!tab.st[s].shown)
            continue;
        if (!tab.st[s].recorded)
            ward_printf("ward: %s:\n", tab.st[s].title);
        else if (tab.st[s].tid > 0)
            ward_printf("ward: %s (thread %d):\n", tab.st[s].title, tab.st[s].tid);
        else
            ward_printf("ward: %s:\n", tab.st[s].title);
        for (int i = 0; i < tab.st[s].n; i++) {
            const struct frame *f = &tab.fr[tab.st[s].first + i];
            if (!f->mod) {
                ward_printf("    #%d %p\n", i, (void *)f->pc);
            } else if (f->func[0]) {
                ward_printf("    #%d %p in %s%s%s (%s+0x%lx)\n", i, (void *)f->pc, f->func, f->loc[0] ? " " : "",
                            f->loc, f->mod, (unsigned long)f->off);
            } else if (f->sname && f->saddr) {
                ward_printf("    #%d %p in %s+0x%lx (%s+0x%lx)\n", i, (void *)f->pc, f->sname,
                            (unsigned long)(f->pc - f->saddr), f->mod, (unsigned long)f->off);
            } else {
                ward_printf("    #%d %p in %s+0x%lx\n", i, (void *)f->pc, f->mod, (unsigned long)f->off);
            }
        }
    }
}

/* "stacks":[{"title":..,"thread":..,"frames":[{"pc":..,"module":..,
 * "offset":..,"function":..,"file":..,"line":..}, ...]}, ...] */
void sym_print_json(void)
{
    ward_emit_raw("\"stacks\":[");
    bool any = false;
    for (int s = 0; s < tab.nst; s++) {
        if (!tab.st[s].shown)
            continue;
        ward_emit_raw(any ? ",{\"title\":" : "{\"title\":");
        any = true;
        ward_emit_str(tab.st[s].title, (size_t)-1);
        ward_emit_fmt(",\"thread\":%d,\"frames\":[", tab.st[s].recorded ? tab.st[s].tid : 0);
        for (int i = 0; i < tab.st[s].n; i++) {
            const struct frame *f = &tab.fr[tab.st[s].first + i];
            ward_emit_fmt("%s{\"pc\":\"%p\"", i ? "," : "", (void *)f->pc);
            if (f->mod) {
                ward_emit_raw(",\"module\":");
                ward_emit_str(f->mod, (size_t)-1);
                ward_emit_fmt(",\"offset\":\"0x%lx\"", (unsigned long)f->off);
            }
            const char *func = f->func[0] ? f->func : f->sname;
            if (func) {
                ward_emit_raw(",\"function\":");
                ward_emit_str(func, (size_t)-1);
            }
            long line = 0;
            size_t fl = f->loc[0] ? loc_file(f->loc, &line) : 0;
            if (fl) {
                ward_emit_raw(",\"file\":");
                ward_emit_str(f->loc, fl);
                if (line > 0)
                    ward_emit_fmt(",\"line\":%ld", line);
            }
            ward_emit_raw("}");
        }
        ward_emit_raw("]}");
    }
    ward_emit_raw("]");
}

/* The first frame of `pcs` outside ward (keeping the last of ward's own, the
 * API call), so a stack starts where the program called in. */
int ward_first_caller_frame(const uintptr_t *pcs, int n)
{
    Dl_info self, fi;
    int first = 0;
    if (dladdr((void *)ward_first_caller_frame, &self)) {
        while (first + 1 < n && dladdr((void *)pcs[first + 1], &fi) && fi.dli_fbase == self.dli_fbase)
            first++;
        if (first + 1 >= n)
            first = 0;
    }
    return first;
}
