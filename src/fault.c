/* fault.c: the SIGSEGV/SIGBUS handler (fault_handler=1).  A fault on
 * memory ward keeps inaccessible on purpose, a sampled block's guard or
 * freed page or a large block's guard page or freed mapping, is a heap
 * error: the tier that owns the address reports it like any other, with
 * the faulting instruction's stack.  Any other fault goes to the handler
 * that was there before (or the default action), as if ward were not
 * there. */
#include "state.h"
#include "os.h"
#include "report.h"
#include "tier.h"

#include <errno.h>
#include <signal.h>
#include <ucontext.h>

static struct sigaction old_segv, old_bus;

static void pass_on(int sig, siginfo_t *si, void *uc)
{
    struct sigaction *old = sig == SIGBUS ? &old_bus : &old_segv;
    if (old->sa_flags & SA_SIGINFO) {
        old->sa_sigaction(sig, si, uc);
        return;
    }
    if (old->sa_handler != SIG_DFL && old->sa_handler != SIG_IGN) {
        old->sa_handler(sig);
        return;
    }
    /* the default action: put it back and let the access fault again */
    sigaction(sig, old, NULL);
}

/* The detecting stack of a fault starts at the faulting instruction. */
struct ward_stack fault_access_stack(uintptr_t *pcs, int cap, uintptr_t pc)
{
    int n = os_backtrace((void **)pcs, cap), first = 0;
    while (first < n && pcs[first] != pc && pcs[first] != pc + 1)
        first++;
    if (first == n)
        return (struct ward_stack){pcs, 0, 0};
    return (struct ward_stack){pcs + first, n - first, 0};
}

/* Reports the fault if it is on ward's memory (and does not return then);
 * returns otherwise. */
static void report_if_ours(const siginfo_t *si, const void *uc)
{
    uintptr_t a = (uintptr_t)si->si_addr;
    const ucontext_t *u = uc;
    bool write = (u->uc_mcontext.gregs[REG_ERR] & 2) != 0;
    uintptr_t pc = (uintptr_t)u->uc_mcontext.gregs[REG_RIP];
    if (si->si_code > 0 && __atomic_load_n(&ward_ready, __ATOMIC_ACQUIRE) == 2) {
        if (in_pool(a))
            sample_fault(a, write, pc);
        else if (G.zero_hi && a - (G.zero_lo - G.page) < G.zero_hi - G.zero_lo + 2 * G.page)
            zero_fault(a, write, pc);
        else if (a >= G.page)
            large_fault(a, write, pc);
    }
}

static void handler(int sig, siginfo_t *si, void *uc)
{
    int e = errno;
    report_if_ours(si, uc);
    errno = e;
    pass_on(sig, si, uc);
}

void fault_init(void)
{
    if (!G.opt.fault_handler)
        return;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = handler;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGSEGV, &sa, &old_segv);
    sigaction(SIGBUS, &sa, &old_bus);
}

#ifdef WARD_TESTING
#include "../include/ward_testing.h"

__attribute__((visibility("default"))) int ward_testing_fault_handler(void)
{
    ward_ensure_init();
    return G.opt.fault_handler != 0;
}

__attribute__((visibility("default"))) void ward_testing_fault(void *siginfo, void *ucontext)
{
    if (G.opt.fault_handler)
        report_if_ours(siginfo, ucontext);
}
#endif
