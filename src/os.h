/* os.h: one thin layer over the kernel (os.c).  Any failure other than
 * ENOMEM is fatal: something else in the process broke ward's view. */
#ifndef WARD_OS_H
#define WARD_OS_H

#include "settings.h"

#include <sys/types.h>

/* ---- os.c: one thin layer over the kernel -------------------------------- */
void *os_reserve(size_t size) INTERNAL;          /* PROT_NONE; NULL on ENOMEM */
void *os_reserve_block(size_t size) INTERNAL;    /* the same, for a large block (os.c says why) */
void *os_reserve_block_at(size_t size, uintptr_t hint) INTERNAL; /* near hint, if free */
void *os_reserve_try(size_t size) INTERNAL;      /* PROT_NONE; NULL on any failure */
bool os_commit(void *p, size_t size) INTERNAL;   /* make read-write */
void *os_map_sparse(size_t size) INTERNAL;       /* read-write, MAP_NORESERVE; NULL on ENOMEM */
uint64_t os_coarse_ms(void) INTERNAL;            /* a coarse monotonic clock, ms; 0: none */
void os_decommit(void *p, size_t size) INTERNAL; /* back to PROT_NONE, memory freed */
void os_release(void *p, size_t size) INTERNAL;  /* give the pages back, keep the range */
/* which pages are resident (mincore); false when it cannot tell */
bool os_resident(void *p, size_t size, unsigned char *vec) INTERNAL;
/* A small file (/proc) read whole into buf, NUL-terminated, up to cap - 1
 * bytes: its length, or -1 when it cannot be opened.  No allocation;
 * errno kept. */
ssize_t os_read_file(const char *path, char *buf, size_t cap) INTERNAL;
/* The process is, or may soon be, under a seccomp filter (sandbox.c):
 * from now on no mincore (os_resident says it cannot tell) and no
 * PR_SET_VMA naming. */
void os_sandboxed(void) INTERNAL;
bool os_is_sandboxed(void) INTERNAL;
/* Up to cap return addresses of the calling thread's stack, its caller's
 * first: libgcc's unwinder, no system call, no allocation (os.c). */
int os_backtrace(void **pcs, int cap) INTERNAL;
/* stacks=1: take stacks with libunwind from now on, if the process loaded
 * it at start-up (faster than libgcc's unwinder); called once, from ward's
 * constructor. */
void os_fast_stacks(void) INTERNAL;
void *os_map(size_t size) INTERNAL;              /* read-write anonymous; NULL on ENOMEM */
void os_unmap(void *p, size_t size) INTERNAL;
void os_protect_none(void *p, size_t size) INTERNAL;
void os_protect_ro(void *p, size_t size) INTERNAL;
void os_name(void *p, size_t size, const char *name) INTERNAL;
void os_name_heap(void) INTERNAL; /* slabs by slot size, arenas by number */
int os_tid(void) INTERNAL;
void os_random(void *buf, size_t n) INTERNAL;
bool os_random_raw(void *buf, size_t n) INTERNAL; /* getrandom(2) alone: for a forked child */
/* After an mmap / mprotect that failed with ENOMEM: when the process is out
 * of memory mappings (vm.max_map_count), says so on stderr, once. */
void os_enomem(const char *call, size_t size) INTERNAL;

#endif
