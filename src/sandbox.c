/* sandbox.c: a process that confines itself with seccomp is told apart
 * before the filter can kill it for a system call ward makes.
 *
 * ward asks the kernel which pages of a freed block are resident (mincore,
 * os_resident) and names its mappings (prctl PR_SET_VMA, os_name).  A
 * seccomp filter that allows neither, and kills on what it does not allow,
 * is common: OpenSSH's pre-authentication child, systemd units with
 * SystemCallFilter=@system-service (no mincore), browsers' renderers.
 * Under /etc/ld.so.preload that would end the process at its next free of
 * a medium block.  So once a process is, or may be, under a filter, ward
 * makes neither call (os_sandboxed): it then treats every page of a freed
 * block as resident (zeroing and checking it whole: the same guarantee,
 * more work) and leaves its mappings unnamed.  Stacks are still taken
 * (os_backtrace makes no system call); only their function names, which
 * addr2line would give, are left out.
 *
 * Inherited filters (systemd, containers, a parent's) show in
 * /proc/self/status, which os.c reads before its first such call.  A
 * filter the process installs itself goes through prctl(PR_SET_SECCOMP)
 * or the seccomp system call: libward.so exports prctl and syscall, which
 * mark the process before they make the call.  (libward.a does not: a
 * static program's own filter is not seen; SECURITY.md says so.) */
#include "state.h"
#include "os.h"

#include <errno.h>
#include <linux/seccomp.h>
#include <stdarg.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#if defined(WARD_EXPORT_LIBC) && (defined(__x86_64__) || defined(__aarch64__))

static long raw_syscall6(long n, long a, long b, long c, long d, long e, long f)
{
    long r;
#if defined(__x86_64__)
    register long r10 __asm__("r10") = d;
    register long r8 __asm__("r8") = e;
    register long r9 __asm__("r9") = f;
    __asm__ volatile("syscall"
                     : "=a"(r)
                     : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
                     : "rcx", "r11", "memory");
#else
    register long x8 __asm__("x8") = n;
    register long x0 __asm__("x0") = a;
    register long x1 __asm__("x1") = b;
    register long x2 __asm__("x2") = c;
    register long x3 __asm__("x3") = d;
    register long x4 __asm__("x4") = e;
    register long x5 __asm__("x5") = f;
    __asm__ volatile("svc 0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4), "r"(x5) : "memory");
    r = x0;
#endif
    if ((unsigned long)r > -4096UL) {
        errno = (int)-r;
        return -1;
    }
    return r;
}

static void watch(long n, long a0)
{
    if ((n == SYS_seccomp && (a0 == SECCOMP_SET_MODE_FILTER || a0 == SECCOMP_SET_MODE_STRICT)) ||
        (n == SYS_prctl && a0 == PR_SET_SECCOMP))
        os_sandboxed();
}

__attribute__((visibility("default"))) long syscall(long n, ...)
{
    va_list ap;
    va_start(ap, n);
    long a = va_arg(ap, long), b = va_arg(ap, long), c = va_arg(ap, long);
    long d = va_arg(ap, long), e = va_arg(ap, long), f = va_arg(ap, long);
    va_end(ap);
    watch(n, a);
    return raw_syscall6(n, a, b, c, d, e, f);
}

__attribute__((visibility("default"))) int prctl(int option, ...)
{
    va_list ap;
    va_start(ap, option);
    unsigned long a = va_arg(ap, unsigned long), b = va_arg(ap, unsigned long);
    unsigned long c = va_arg(ap, unsigned long), d = va_arg(ap, unsigned long);
    va_end(ap);
    watch(SYS_prctl, option);
    return (int)raw_syscall6(SYS_prctl, option, (long)a, (long)b, (long)c, (long)d, 0);
}

#endif
