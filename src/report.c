/* report.c: the one path by which ward reports a heap error.  It formats
 * into a stack buffer, writes with write(2), prints a backtrace through
 * libunwind (which unwinds without calling malloc, unlike glibc's
 * backtrace(3) on first use), then ends the process as WARD_OPTIONS says. */
#include "state.h"
#include "report.h"
#include "os.h"
#include "trace.h"
#include "tier.h"
#include "../include/ward.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdlib.h>
#include <unistd.h>
#define UNW_LOCAL_ONLY
#include <libunwind.h>

static void put(char *buf, size_t cap, size_t *n, char c)
{
    if (*n + 1 < cap)
        buf[(*n)++] = c;
}

static void put_str(char *buf, size_t cap, size_t *n, const char *s)
{
    if (!s)
        s = "(null)";
    while (*s)
        put(buf, cap, n, *s++);
}

static void put_num(char *buf, size_t cap, size_t *n, unsigned long long v, unsigned base, int neg)
{
    char tmp[24];
    int i = 0;
    do {
        unsigned d = (unsigned)(v % base);
        tmp[i++] = (char)(d < 10 ? '0' + d : 'a' + d - 10);
        v /= base;
    } while (v);
    if (neg)
        put(buf, cap, n, '-');
    while (i)
        put(buf, cap, n, tmp[--i]);
}

/* printf for %s %d %u %zu %zx %x %lu %lx %p: nothing else is needed (any
 * other conversion prints '?'), and nothing here allocates. */
size_t ward_vfmt(char *buf, size_t cap, const char *fmt, va_list ap)
{
    size_t n = 0;
    for (const char *f = fmt; *f; f++) {
        if (*f != '%') {
            put(buf, cap, &n, *f);
            continue;
        }
        f++;
        int lng = 0;
        while (*f == 'l' || *f == 'z') {
            lng = 1;
            f++;
        }
        switch (*f) {
        case 's':
            put_str(buf, cap, &n, va_arg(ap, const char *));
            break;
        case 'd': {
            long long v = lng ? va_arg(ap, long) : va_arg(ap, int);
            put_num(buf, cap, &n, v < 0 ? (unsigned long long)-v : (unsigned long long)v, 10, v < 0);
            break;
        }
        case 'u':
            put_num(buf, cap, &n, lng ? va_arg(ap, unsigned long) : va_arg(ap, unsigned), 10, 0);
            break;
        case 'x':
            put_num(buf, cap, &n, lng ? va_arg(ap, unsigned long) : va_arg(ap, unsigned), 16, 0);
            break;
        case 'p':
            put_str(buf, cap, &n, "0x");
            put_num(buf, cap, &n, (uintptr_t)va_arg(ap, void *), 16, 0);
            break;
        case '\0':
            f--;
            break;
        default:
            put(buf, cap, &n, '?');
            break;
        }
    }
    if (cap)
        buf[n] = '\0';
    return n;
}

static size_t fmt(char *buf, size_t cap, const char *f, ...)
{
    va_list ap;
    va_start(ap, f);
    size_t n = ward_vfmt(buf, cap, f, ap);
    va_end(ap);
    return n;
}

#ifdef WARD_TESTING
/* The harness build's quiet mode (ward_testing_quiet): reports of the bugs
 * a harness commits on purpose are not written; the callback still gets
 * them, and stderr stays the fuzzer's and the sanitizers'. */
static volatile int testing_quiet;
__attribute__((visibility("default"))) void ward_testing_quiet(int on) { testing_quiet = on; }
#define QUIET() testing_quiet
#else
#define QUIET() 0
#endif

/* Where reports go: stderr, or with log_path the file PREFIX.<pid>,
 * opened at this process's first report once start-up is complete (start-up
 * errors and help=1 stay on stderr), and again in a forked child, whose
 * reports are its own.  Opening it allocates nothing. */
static void write_fd(int fd, const char *s, size_t n)
{
    while (n) {
        ssize_t w = write(fd, s, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return;
        s += w;
        n -= (size_t)w;
    }
}

static int log_fd = -1, log_pid;
static int out_fd(void)
{
    if (!G.opt.log_path[0] || __atomic_load_n(&ward_ready, __ATOMIC_ACQUIRE) != 2)
        return STDERR_FILENO;
    int pid = (int)getpid();
    if (log_fd >= 0 && log_pid == pid)
        return log_fd;
    char path[WARD_PATH_MAX + 24];
    ward_snprintf(path, sizeof path, "%s.%d", G.opt.log_path, pid);
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) {
        static const char msg[] = "ward: cannot open the log_path file; reports go to stderr\n";
        write_fd(STDERR_FILENO, msg, sizeof msg - 1);
        return STDERR_FILENO;
    }
    if (log_fd >= 0)
        close(log_fd); /* the parent's file, inherited */
    log_fd = fd;
    log_pid = pid;
    /* which process the file is about: its command line, for ward report */
    char line[640];
    size_t n = ward_snprintf(line, sizeof line, "ward: process %d: ", pid);
    int cfd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
    if (cfd >= 0) {
        ssize_t got = read(cfd, line + n, sizeof line - n - 1);
        close(cfd);
        for (ssize_t i = 0; i < got; i++)
            if (line[n + (size_t)i] == '\0' || line[n + (size_t)i] == '\n')
                line[n + (size_t)i] = ' ';
        if (got > 0)
            n += (size_t)got;
    }
    while (n > 0 && line[n - 1] == ' ')
        n--;
    line[n++] = '\n';
    write_fd(fd, line, n);
    return fd;
}

static void write_all(const char *s, size_t n)
{
    if (QUIET())
        return;
    write_fd(out_fd(), s, n);
}

void ward_printf(const char *f, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, f);
    size_t n = ward_vfmt(buf, sizeof buf, f, ap);
    va_end(ap);
    write_all(buf, n);
}

static void print_backtrace(void)
{
    void *pcs[64];
    int n = unw_backtrace(pcs, 64);
    int first = ward_first_caller_frame((uintptr_t *)pcs, n);
    ward_print_stack((uintptr_t *)pcs + first, n - first, false);
}

static _Noreturn void end_process(void)
{
    if (G.opt.on_error != ON_ERROR_ABORT)
        _exit((int)G.opt.exitcode);
    abort();
}

static int reporting;
static __thread int in_report __attribute__((tls_model("initial-exec")));
__thread void *ward_recover __attribute__((tls_model("initial-exec")));
__thread pthread_mutex_t *ward_held __attribute__((tls_model("initial-exec")));
unsigned long ward_reports;

const struct ward_bug_info ward_bugs[BUG_COUNT] = {
#define WARD_BUG_INFO(id, name, recoverable) [id] = {name, recoverable},
    WARD_BUGS(WARD_BUG_INFO)
#undef WARD_BUG_INFO
};

const struct ward_call_info ward_calls[CALL_COUNT] = {
#define WARD_CALL_INFO(id, name, frees, deletes, foreign) [id] = {name, frees, deletes, foreign},
    WARD_CALLS(WARD_CALL_INFO)
#undef WARD_CALL_INFO
};

static const char *tier_name(int tier)
{
    switch (tier) {
    case TIER_SMALL:
        return "small";
    case TIER_MEDIUM:
        return "medium";
    case TIER_LARGE:
        return "large";
    case TIER_SAMPLED:
        return "sampled";
    case TIER_ZERO:
        return "zero-size";
    default:
        return "";
    }
}

void ward_print_recorded(const char *title, const uintptr_t *pcs, int n, int tid)
{
    if (!pcs || n <= 0)
        return;
    if (tid > 0)
        ward_printf("ward: %s (thread %d):\n", title, tid);
    else
        ward_printf("ward: %s:\n", title);
    int first = ward_first_caller_frame(pcs, n);
    ward_print_stack(pcs + first, n - first, false);
}

static _Noreturn void fatal_v(enum ward_bug bug, enum ward_call op, const void *ptr, int tier, size_t csize,
                              const struct ward_fault_stacks *fs, const char *f, va_list ap)
{
    /* A fault in the report itself goes straight to the end; so does a
     * second error while another thread reports, unless on_error=continue,
     * where reports take turns. */
    if (in_report)
        end_process();
    bool cont = G.opt.on_error == ON_ERROR_CONTINUE;
    while (__atomic_exchange_n(&reporting, 1, __ATOMIC_ACQ_REL)) {
        if (!cont)
            end_process();
        sched_yield();
    }
    in_report = 1;
    char buf[1024];
    size_t n = fmt(buf, sizeof buf, "ward: %s: %s(%p): ", ward_bugs[bug].name, ward_calls[op].name, ptr);
    n += ward_vfmt(buf + n, sizeof buf - n, f, ap);
    if (tier != TIER_NONE && n < sizeof buf)
        n += csize ? fmt(buf + n, sizeof buf - n, "; %s chunk of %zu bytes", tier_name(tier), csize)
                   : fmt(buf + n, sizeof buf - n, "; %s tier", tier_name(tier));
    if (n < sizeof buf)
        n += fmt(buf + n, sizeof buf - n, "; thread %d\n", os_tid());
    write_all(buf, n);
    if (fs) {
        if (fs->access.n > 0 && G.opt.backtrace) {
            write_all("ward: backtrace:\n", 17);
            ward_print_stack(fs->access.pcs, fs->access.n, true);
        }
        ward_print_recorded("chunk allocated at", fs->alloc.pcs, fs->alloc.n, fs->alloc.tid);
        ward_print_recorded("chunk freed at", fs->free.pcs, fs->free.n, fs->free.tid);
        if (tier == TIER_LARGE)
            trace_report((uintptr_t)ptr, tier); /* stacks=1: the depot's records */
    } else {
        if (G.opt.backtrace) {
            write_all("ward: backtrace:\n", 17);
            print_backtrace();
        }
        if (tier == TIER_SAMPLED)
            sample_report((uintptr_t)ptr);
        else
            trace_report((uintptr_t)ptr, tier);
    }
    if (G.report_fn) {
        if (n && buf[n - 1] == '\n')
            buf[n - 1] = '\0';
        struct ward_report r = {ward_bugs[bug].name, ward_calls[op].name, ptr, tier_name(tier), csize, buf};
        /* The callback may leave by longjmp, and the next error must be
         * reported again. */
        in_report = 0;
        __atomic_store_n(&reporting, 0, __ATOMIC_RELEASE);
        G.report_fn(&r, G.report_arg);
        in_report = 1;
    }
    if (cont && !fs && ward_recover && ward_bugs[bug].recoverable) {
        __atomic_add_fetch(&ward_reports, 1, __ATOMIC_RELAXED);
        write_all("ward: continuing (on_error=continue): the call did nothing\n", 59);
        in_report = 0;
        __atomic_store_n(&reporting, 0, __ATOMIC_RELEASE);
        pthread_mutex_t *m = ward_held;
        ward_held = NULL;
        if (m)
            pthread_mutex_unlock(m);
        longjmp(*(jmp_buf *)ward_recover, 1);
    }
    end_process();
}

void ward_fatal(enum ward_bug bug, enum ward_call op, const void *ptr, int tier, size_t csize, const char *f, ...)
{
    va_list ap;
    va_start(ap, f);
    fatal_v(bug, op, ptr, tier, csize, NULL, f, ap);
}

void ward_fatal_fault(enum ward_bug bug, const void *ptr, int tier, size_t csize,
                      const struct ward_fault_stacks *stacks, const char *f, ...)
{
    va_list ap;
    va_start(ap, f);
    fatal_v(bug, CALL_ACCESS, ptr, tier, csize, stacks, f, ap);
}

size_t ward_snprintf(char *buf, size_t cap, const char *f, ...)
{
    va_list ap;
    va_start(ap, f);
    size_t n = ward_vfmt(buf, cap, f, ap);
    va_end(ap);
    return n;
}

void ward_die(const char *f, ...)
{
    char buf[1024];
    size_t n = fmt(buf, sizeof buf, "ward: ");
    va_list ap;
    va_start(ap, f);
    n += ward_vfmt(buf + n, sizeof buf - n, f, ap);
    va_end(ap);
    if (n < sizeof buf)
        n += fmt(buf + n, sizeof buf - n, "\n");
    write_all(buf, n);
    end_process();
}
