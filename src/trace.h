/* trace.h: allocation and first-free stacks (stacks=1), kept once per
 * distinct stack in a depot (trace.c). */
#ifndef WARD_TRACE_H
#define WARD_TRACE_H

#include "settings.h"

/* ---- trace.c: allocation and first-free stacks (trace=1) ------------------- */
void trace_init(void) INTERNAL;
uint32_t trace_capture(void) INTERNAL;
void trace_alloc(uintptr_t chunk) INTERNAL;
void trace_free(uintptr_t chunk) INTERNAL;
void trace_lock(void) INTERNAL;
void trace_unlock(void) INTERNAL;
void trace_reinit_lock(void) INTERNAL;
int trace_alloc_stack(uintptr_t ptr, int tier, const uintptr_t **pcs) INTERNAL;
bool large_trace_ids(uintptr_t p, uint32_t *alloc_id, uint32_t *free_id) INTERNAL;

#endif
