/* t_sandbox: a process under a seccomp filter that kills on the system
 * calls ward would otherwise make for freed memory and for naming its
 * mappings (mincore, prctl(PR_SET_VMA)) runs on, as OpenSSH's
 * pre-authentication child or a systemd unit with an allow-list does under
 * /etc/ld.so.preload (src/sandbox.c).  Each case is a child:
 *   prctl    the child installs the filter with prctl(PR_SET_SECCOMP);
 *   syscall  with syscall(SYS_seccomp) (libseccomp's way);
 *   exec     it installs the filter and execs itself: the new image starts
 *            under it (names its heap at start-up: killed, unless ward saw
 *            the filter in /proc/self/status);
 *   waf      under the filter, a write after free in the middle of a
 *            freed 64 KiB block is still reported (freed blocks are then
 *            zeroed and checked whole), with a backtrace of modules and
 *            offsets (the unwinder makes no system call; no addr2line).
 * Then, in each, small, medium (8 KiB to 256 KiB) and large blocks are
 * allocated, written and freed.  Without the detection each child dies of
 * SIGSYS at its first medium free. */
#include "test_util.h"

#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#ifndef PR_SET_VMA
#define PR_SET_VMA 0x53564d41
#endif

static struct sock_filter insns[] = {
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_mincore, 0, 1),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_prctl, 0, 3),
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[0])),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, PR_SET_VMA, 0, 1),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
};
static struct sock_fprog prog = {(unsigned short)ARRAY_LEN(insns), insns};

static void confine(bool via_syscall)
{
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
        fail("PR_SET_NO_NEW_PRIVS: %s", strerror(errno));
    int r = via_syscall ? (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog)
                        : prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0);
    if (r != 0)
        fail("installing the filter: %s", strerror(errno));
}

static void work(void)
{
    for (int round = 0; round < 40; round++) {
        for (size_t n = 8 * KiB; n <= 256 * KiB; n *= 2) {
            unsigned char *p = malloc(n);
            if (!p)
                fail("malloc(%zu)", n);
            memset(p, 0x5a, n);
            free(p);
        }
        void *s = malloc(100);
        memset(s, 1, 100);
        free(s);
    }
    for (int i = 0; i < 8; i++) {
        unsigned char *p = malloc(2 * MiB);
        if (!p)
            fail("malloc(2 MiB)");
        memset(p, 0x33, 2 * MiB);
        free(p);
    }
    /* freed medium blocks read back as zero when handed out again */
    for (int i = 0; i < 64; i++) {
        unsigned char *p = malloc(64 * KiB);
        for (size_t k = 0; k < 64 * KiB; k += 512)
            if (p[k])
                fail("a fresh 64 KiB block holds a freed block's byte at %zu", k);
        memset(p, 0x77, 64 * KiB);
        free(p);
    }
    check_heap();
}

static int child_main(const char *mode)
{
    ward_loaded(); /* and check_heap() calls ward_check_heap */
    if (!strcmp(mode, "work")) { /* the exec'd image, under the filter */
        work();
        return 0;
    }
    confine(!strcmp(mode, "syscall"));
    if (!strcmp(mode, "exec")) {
        char self[4096];
        ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
        if (n <= 0)
            fail("readlink /proc/self/exe");
        self[n] = '\0';
        execl(self, self, "work", (char *)NULL);
        fail("exec: %s", strerror(errno));
    }
    if (!strcmp(mode, "waf")) {
        unsigned char *p = malloc(64 * KiB);
        memset(p, 0x11, 64 * KiB);
        uintptr_t a = (uintptr_t)p;
        free(p);
        __asm__ volatile("" : "+r"(a)); /* the compiler must not drop the store below */
        ((unsigned char *)a)[32 * KiB] = 0x42; /* the bug: in the middle of the freed block */
        check_heap();       /* reports it (the quarantine is verified) */
        fail("write after free in the middle of a freed 64 KiB block not reported");
    }
    work();
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 1)
        return child_main(argv[1]);
    ward_loaded();
    const char *modes[] = {"prctl", "syscall", "exec", "waf"};
    for (size_t i = 0; i < ARRAY_LEN(modes); i++) {
        char errf[] = "/tmp/t_sandbox.XXXXXX";
        int fd = mkstemp(errf);
        if (fd < 0)
            fail("mkstemp");
        pid_t pid = fork();
        if (pid == 0) {
            dup2(fd, 2);
            execl("/proc/self/exe", argv[0], modes[i], (char *)NULL);
            _exit(99);
        }
        int st;
        waitpid(pid, &st, 0);
        char out[8192] = "";
        ssize_t n = pread(fd, out, sizeof out - 1, 0);
        out[n > 0 ? n : 0] = '\0';
        close(fd);
        unlink(errf);
        if (!strcmp(modes[i], "waf")) {
            if (!WIFSIGNALED(st) || WTERMSIG(st) != SIGABRT || !strstr(out, "ward: write after free") ||
                !strstr(out, "ward: backtrace:") || !strstr(out, "t_sandbox+0x"))
                fail("waf: status %#x (signal %d), expected a write-after-free report with a backtrace and SIGABRT; stderr:\n%s", st,
                     WIFSIGNALED(st) ? WTERMSIG(st) : 0, out);
        } else if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
            fail("%s: status %#x (signal %d: %s); stderr:\n%s", modes[i], st, WIFSIGNALED(st) ? WTERMSIG(st) : 0,
                 WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS ? "killed by the seccomp filter" : "", out);
        }
        printf("t_sandbox: %s ok\n", modes[i]);
    }
    printf("t_sandbox: PASS\n");
    return 0;
}
