/* report.c: the one path by which ward reports a heap error.  It formats
 * into a stack buffer, writes with write(2), prints a backtrace through
 * libgcc's unwinder (which unwinds without calling malloc, unlike glibc's
 * backtrace(3) on first use: os_backtrace), then ends the process as
 * WARD_OPTIONS says. */
#include "state.h"
#include "report.h"
#include "os.h"
#include "trace.h"
#include "tier.h"
#include "suppress.h"
#include "../include/ward.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdlib.h>
#include <unistd.h>

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
static size_t command_line(char *buf, size_t cap);

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
    n += command_line(line + n, sizeof line - n - 1);
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

void report_fork_child(void)
{
    __atomic_store_n(&reporting, 0, __ATOMIC_RELAXED);
    sym_release();
}

/* ---- report_format=json: one line a report, built in a static buffer (the
 * report's turn guards it) and written at its end ---- */
static char ebuf[64 * 1024];
static size_t elen;

static void emit_flush(void)
{
    write_all(ebuf, elen);
    elen = 0;
}

static void emit(const char *s, size_t n)
{
    while (n) {
        if (elen == sizeof ebuf)
            emit_flush();
        size_t k = sizeof ebuf - elen < n ? sizeof ebuf - elen : n;
        memcpy(ebuf + elen, s, k);
        elen += k;
        s += k;
        n -= k;
    }
}

void ward_emit_raw(const char *s) { emit(s, strlen(s)); }

void ward_emit_fmt(const char *f, ...)
{
    char b[512];
    va_list ap;
    va_start(ap, f);
    size_t n = ward_vfmt(b, sizeof b, f, ap);
    va_end(ap);
    emit(b, n < sizeof b ? n : sizeof b - 1);
}

/* The length of the valid UTF-8 sequence at s (n bytes left), 0 if none. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    size_t k = s[0] >= 0xf0 && s[0] <= 0xf4 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc2 && s[0] < 0xe0 ? 2 : 0;
    if (!k || k > n)
        return 0;
    for (size_t i = 1; i < k; i++)
        if ((s[i] & 0xc0) != 0x80)
            return 0;
    return k;
}

/* A JSON string: quotes, backslashes and control characters escaped, bytes
 * that are not UTF-8 (a file name can hold any) as U+FFFD. */
void ward_emit_str(const char *str, size_t n)
{
    if (!str) {
        emit("null", 4);
        return;
    }
    if (n == (size_t)-1)
        n = strlen(str);
    const unsigned char *s = (const unsigned char *)str;
    emit("\"", 1);
    for (size_t i = 0; i < n;) {
        unsigned char c = s[i];
        if (c == '"' || c == '\\') {
            char e[2] = {'\\', (char)c};
            emit(e, 2);
        } else if (c == '\n') {
            emit("\\n", 2);
        } else if (c == '\t') {
            emit("\\t", 2);
        } else if (c < 0x20 || c == 0x7f) {
            char e[7];
            ward_snprintf(e, sizeof e, "\\u00%x%x", c >> 4, c & 15);
            emit(e, 6);
        } else if (c >= 0x80) {
            size_t k = utf8_len(s + i, n - i);
            if (k) {
                emit(str + i, k);
                i += k;
                continue;
            }
            emit("\\ufffd", 6);
        } else {
            emit(str + i, 1);
        }
        i++;
    }
    emit("\"", 1);
}

/* /proc/self/cmdline, its arguments joined by spaces */
static size_t command_line(char *buf, size_t cap)
{
    ssize_t got = os_read_file("/proc/self/cmdline", buf, cap);
    size_t n = got > 0 ? (size_t)got : 0;
    for (size_t i = 0; i < n; i++)
        if (buf[i] == '\0' || buf[i] == '\n')
            buf[i] = ' ';
    while (n > 0 && buf[n - 1] == ' ')
        n--;
    buf[n] = '\0';
    return n;
}

/* A suppressed report's memo: the same stacks and kind were matched before,
 * so a known bug in a loop runs addr2line once, not at every call. */
#define SUPP_CACHE 64
static struct {
    uint64_t key;
    int rule; /* -1: no rule matched */
    bool used;
} supp_cache[SUPP_CACHE];

static int cache_get(uint64_t key)
{
    for (int i = 0; i < SUPP_CACHE; i++)
        if (supp_cache[i].used && supp_cache[i].key == key)
            return supp_cache[i].rule;
    return -2;
}

static void cache_put(uint64_t key, int rule)
{
    static unsigned next;
    unsigned i = next++ % SUPP_CACHE;
    supp_cache[i].key = key;
    supp_cache[i].rule = rule;
    supp_cache[i].used = true;
}

struct report_text {
    enum ward_bug bug;
    enum ward_call op;
    const void *ptr;
    int tier;
    size_t csize;
    const char *detail;
    int rule;         /* the matching suppression, or -1 */
    bool suppressed;  /* and it was suppressed (not reported) */
    bool stacks;      /* the stacks are loaded (a suppressed repeat has none) */
    const char *note; /* why a matching suppression did not suppress */
};

/* The fields every JSON report ends with: the thread, the process and its
 * command line, then the stacks loaded in the frame table (none: an empty
 * list), closing the object and writing it out. */
static void emit_json_process(void)
{
    char cmd[600];
    command_line(cmd, sizeof cmd);
    ward_emit_fmt(",\"thread\":%d,\"process\":%d,\"command\":", os_tid(), (int)getpid());
    ward_emit_str(cmd, (size_t)-1);
}
static void emit_json_end(bool stacks)
{
    ward_emit_raw(",");
    if (stacks)
        sym_print_json();
    else
        ward_emit_raw("\"stacks\":[]");
    ward_emit_raw("}\n");
    emit_flush();
}

void ward_emit_leak(bool indirect, size_t bytes, size_t objects, size_t size, bool stack)
{
    ward_emit_raw(indirect ? "{\"kind\":\"indirect leak\"" : "{\"kind\":\"direct leak\"");
    ward_emit_fmt(",\"call\":\"exit\",\"pointer\":null,\"detail\":\"%zu bytes in %zu object%s", bytes, objects,
                  objects == 1 ? "" : "s");
    if (size)
        ward_emit_fmt(" of %zu bytes\",\"tier\":null,\"size\":%zu", size, size);
    else
        ward_emit_raw("\",\"tier\":null,\"size\":null");
    ward_emit_fmt(",\"bytes\":%zu,\"objects\":%zu", bytes, objects);
    emit_json_process();
    ward_emit_raw(",\"suppressed\":false");
    emit_json_end(stack);
}

static void emit_json(const struct report_text *r)
{
    ward_emit_raw("{\"kind\":");
    ward_emit_str(ward_bugs[r->bug].name, (size_t)-1);
    ward_emit_raw(",\"call\":");
    ward_emit_str(ward_calls[r->op].name, (size_t)-1);
    ward_emit_fmt(",\"pointer\":\"%p\",\"detail\":", r->ptr);
    ward_emit_str(r->detail, (size_t)-1);
    ward_emit_raw(",\"tier\":");
    ward_emit_str(r->tier != TIER_NONE ? tier_name(r->tier) : NULL, (size_t)-1);
    if (r->csize)
        ward_emit_fmt(",\"size\":%zu", r->csize);
    else
        ward_emit_raw(",\"size\":null");
    emit_json_process();
    ward_emit_raw(r->suppressed ? ",\"suppressed\":true" : ",\"suppressed\":false");
    if (r->rule >= 0) {
        char rule[320];
        int line;
        suppress_rule(r->rule, rule, sizeof rule, &line);
        ward_emit_raw(",\"suppression\":");
        ward_emit_str(rule, (size_t)-1);
        ward_emit_fmt(",\"suppression_line\":%d", line);
    }
    if (r->note) {
        ward_emit_raw(",\"note\":");
        ward_emit_str(r->note, (size_t)-1);
    }
    emit_json_end(r->stacks);
}

/* The text report's lines after its first: a matching suppression, then
 * the stacks. */
static void emit_text_rest(const struct report_text *r)
{
    if (r->rule >= 0) {
        char rule[320];
        int line;
        suppress_rule(r->rule, rule, sizeof rule, &line);
        if (r->suppressed)
            ward_printf("ward: suppressed by '%s' (%s line %d)%s\n", rule, G.opt.suppressions, line,
                        r->stacks ? "" : "; the same stacks as an earlier report");
        else
            ward_printf("ward: suppression '%s' (%s line %d) matches, but %s: reported\n", rule, G.opt.suppressions,
                        line, r->note);
    }
    if (r->stacks)
        sym_print_text();
}

static _Noreturn void fatal_v(enum ward_bug bug, enum ward_call op, const void *ptr, int tier, size_t csize,
                              const struct ward_fault_stacks *fs, const char *f, va_list ap)
{
    /* A fault in the report itself goes straight to the end; so does a
     * second error while another thread reports, unless the run can go on
     * (on_error=continue, suppressions), where reports take turns. */
    if (in_report)
        end_process();
    bool cont = G.opt.on_error == ON_ERROR_CONTINUE;
    while (__atomic_exchange_n(&reporting, 1, __ATOMIC_ACQ_REL)) {
        if (!G.recover)
            end_process();
        sched_yield();
    }
    in_report = 1;
    char detail[640];
    ward_vfmt(detail, sizeof detail, f, ap);
    char buf[1024];
    size_t n = fmt(buf, sizeof buf, "ward: %s: %s(%p): %s", ward_bugs[bug].name, ward_calls[op].name, ptr, detail);
    if (tier != TIER_NONE && n < sizeof buf)
        n += csize ? fmt(buf + n, sizeof buf - n, "; %s chunk of %zu bytes", tier_name(tier), csize)
                   : fmt(buf + n, sizeof buf - n, "; %s tier", tier_name(tier));
    if (n < sizeof buf)
        n += fmt(buf + n, sizeof buf - n, "; thread %d\n", os_tid());
    if (n >= sizeof buf)
        n = sizeof buf - 1;
    bool json = G.opt.report_format == REPORT_JSON;
    /* Without suppressions to match, the first line goes out at once: a
     * thread that finds another error meanwhile ends the process. */
    bool early = !json && !suppress_active();
    if (early)
        write_all(buf, n);

    /* The stacks: where it was found, and the chunk's recorded ones.  The
     * backtrace is taken even with backtrace=0 when suppressions may
     * match it (it is then not printed). */
    struct ward_named_stack st[WARD_REPORT_STACKS];
    int ns = 0;
    void *bt[64];
    if (fs) {
        if (fs->access.n > 0)
            st[ns++] = (struct ward_named_stack){"backtrace", fs->access, true, false};
        if (fs->alloc.pcs && fs->alloc.n > 0)
            st[ns++] = (struct ward_named_stack){"chunk allocated at", fs->alloc, false, true};
        if (fs->free.pcs && fs->free.n > 0)
            st[ns++] = (struct ward_named_stack){"chunk freed at", fs->free, false, true};
        if (tier == TIER_LARGE)
            ns += trace_stacks((uintptr_t)ptr, tier, st + ns); /* stacks=1: the depot's records */
    } else {
        if (G.opt.backtrace || suppress_active()) {
            int nb = os_backtrace(bt, 64);
            st[ns++] = (struct ward_named_stack){"backtrace", {(const uintptr_t *)bt, nb, 0}, false, false};
        }
        ns +=
            tier == TIER_SAMPLED ? sample_stacks((uintptr_t)ptr, st + ns) : trace_stacks((uintptr_t)ptr, tier, st + ns);
    }

    struct report_text r = {bug, op, ptr, tier, csize, detail, -1, false, false, NULL};
    /* Only a report the call can recover from is suppressed: the rest mean
     * the heap is damaged, or the call cannot simply not happen. */
    bool recoverable_here = !fs && ward_recover && ward_bugs[bug].recoverable;
    sym_acquire();
    if (suppress_active()) {
        uint64_t key = sym_hash(st, ns) ^ ((uint64_t)bug << 56);
        int rule = cache_get(key);
        if (rule == -2) {
            sym_load(st, ns, true);
            r.stacks = true;
            rule = suppress_match_loaded(bug);
            cache_put(key, rule);
        } else if (rule >= 0) {
            suppress_count(rule);
        }
        r.rule = rule;
        if (rule >= 0 && recoverable_here) {
            r.suppressed = true;
            /* counted; written only to a log file, marked */
            if (G.opt.log_path[0] && !QUIET()) {
                if (json) {
                    emit_json(&r);
                } else {
                    write_all("ward: suppressed: ", 18);
                    write_all(buf + 6, n - 6);
                    emit_text_rest(&r);
                }
            }
            sym_release();
            in_report = 0;
            __atomic_store_n(&reporting, 0, __ATOMIC_RELEASE);
            pthread_mutex_t *m = ward_held;
            ward_held = NULL;
            if (m)
                pthread_mutex_unlock(m);
            longjmp(*(jmp_buf *)ward_recover, 1);
        }
        if (rule >= 0)
            r.note = !ward_bugs[bug].recoverable ? "this kind of error leaves the heap unsafe"
                : fs                             ? "a fault cannot be skipped"
                                                 : "the call that found it cannot be skipped";
    }
    if (json) {
        if (!r.stacks)
            sym_load(st, ns, G.opt.symbolize);
        r.stacks = true;
        emit_json(&r);
    } else {
        /* the first line goes out before addr2line runs */
        if (!early)
            write_all(buf, n);
        if (!r.stacks)
            sym_load(st, ns, G.opt.symbolize);
        r.stacks = true;
        emit_text_rest(&r);
    }
    sym_release();
    if (G.report_fn) {
        if (n && buf[n - 1] == '\n')
            buf[n - 1] = '\0';
        struct ward_report rep = {ward_bugs[bug].name, ward_calls[op].name, ptr, tier_name(tier), csize, buf};
        /* The callback may leave by longjmp, and the next error must be
         * reported again. */
        in_report = 0;
        __atomic_store_n(&reporting, 0, __ATOMIC_RELEASE);
        G.report_fn(&rep, G.report_arg);
        in_report = 1;
    }
    if (cont && recoverable_here) {
        __atomic_add_fetch(&ward_reports, 1, __ATOMIC_RELAXED);
        if (!json)
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
