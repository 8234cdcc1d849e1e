/* testing.c: ward_testing_reset() for fuzz harnesses (built only with
 * -DWARD_TESTING, into libward-prefixed.a).  A harness that commits a heap
 * bug leaves ward's report by longjmp from the report callback, possibly
 * with ward's locks held and its structures half updated; the reset
 * discards the whole heap (every chunk, slab, arena, large mapping,
 * sampled page, thread cache and quarantine) and remakes every lock, so the
 * next input starts from a fresh heap in the same process.  Secrets and
 * options are kept; the calling thread's random generators restart from
 * fixed seeds, so an input behaves the same in every run.  The harness
 * build's other hooks (failure injection in os.c, on-demand sampling and
 * the fault handler's reinstall in sample.c) are declared in
 * include/ward_testing.h too. */
#include "testing.h"
#include "tier.h"
#include "trace.h"

#ifdef WARD_TESTING
#include "../include/ward_testing.h"

__attribute__((visibility("default"))) void ward_testing_reset(void)
{
    ward_ensure_init();
    ward_testing_fail_os(0, 0); /* a new input starts with no refusal armed */
    ward_recover = NULL;
    ward_held = NULL;
    trace_reinit_lock();
    thread_testing_reset();
    for (size_t i = NTIERS; i-- > 0;)
        tiers[i]->testing_reset();
}
#endif
