/* cxx.c: C++ operator new and delete, every form (plain, array, nothrow,
 * sized, aligned), under their mangled names, so that C++ programs get
 * ward's checks without libstdc++'s wrappers in between: a sized or aligned
 * delete whose size or alignment is not the allocation's is reported
 * (delete_check=0 turns that one check off).
 *
 * Written in C, so libward.so does not pull libstdc++ into C programs.  A
 * failed `new` does what the standard says -- call the program's
 * new_handler until it frees memory, throw std::bad_alloc when there is
 * none, return NULL for the nothrow forms -- through libstdc++'s own
 * std::get_new_handler and std::__throw_bad_alloc:
 *   - libward.so refers to them weakly: they resolve to libstdc++.so in a C++
 *     program and stay NULL in a C one (then dlsym finds a libstdc++ loaded
 *     later with RTLD_GLOBAL);
 *   - libward.a's copy of this file (built with WARD_CXX_STRONG) refers to
 *     them strongly: a static link takes this object only for a program that
 *     uses operator new or delete, a C++ program linked with libstdc++, and a
 *     weak reference would not make the linker take them from libstdc++.a.
 * The throw unwinds through ward's frames (built with -fexceptions). */
#include "state.h"
#include "report.h"
#include "api.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>

#ifdef WARD_EXPORT_LIBC
#define CXX_API __attribute__((visibility("default")))

typedef void (*new_handler_t)(void);

#ifdef WARD_CXX_STRONG
#define CXX_REF
#else
#define CXX_REF __attribute__((weak))
#endif
extern new_handler_t _ZSt15get_new_handlerv(void) CXX_REF; /* std::get_new_handler() */
extern _Noreturn void _ZSt17__throw_bad_allocv(void) CXX_REF; /* std::__throw_bad_alloc() */

static COLD new_handler_t get_new_handler(void)
{
    new_handler_t (*get)(void) = _ZSt15get_new_handlerv;
    if (!get)
        get = (new_handler_t(*)(void))dlsym(RTLD_DEFAULT, "_ZSt15get_new_handlerv");
    return get ? get() : NULL;
}

static COLD _Noreturn void throw_bad_alloc(size_t n)
{
    void (*thr)(void) = _ZSt17__throw_bad_allocv;
    if (!thr)
        thr = (void (*)(void))dlsym(RTLD_DEFAULT, "_ZSt17__throw_bad_allocv");
    if (thr)
        thr();
    ward_die("operator new(%zu): out of memory, and no C++ runtime to throw std::bad_alloc", n);
}

static COLD void *new_failed(size_t n, size_t align, bool nothrow)
{
    for (;;) {
        new_handler_t h = get_new_handler();
        if (!h) {
            if (nothrow)
                return NULL;
            throw_bad_alloc(n);
        }
        h(); /* may free memory, or throw */
        void *p = align > ALIGN ? ward_aligned_alloc(align, n) : ward_malloc(n);
        if (p)
            return p;
    }
}

static inline void *op_new(size_t n, size_t align, bool nothrow)
{
    void *p = align > ALIGN ? ward_aligned_alloc(align, n) : ward_malloc(n);
    return likely(p != NULL) ? p : new_failed(n, align, nothrow);
}

static inline void op_delete(void *p, enum ward_call op)
{
    if (!p)
        return;
    SAVE_ERRNO;
    ward_free_checked(p, op);
    RESTORE_ERRNO;
}

/* n: the size the program states (SIZE_MAX: none), align: the alignment
 * (0: none).  With delete_check=0 only the pointer itself is checked. */
static inline void op_delete_sized(void *p, size_t n, size_t align, enum ward_call op)
{
    if (!p)
        return;
    SAVE_ERRNO;
    ward_ensure_init();
    if (G.opt.delete_check)
        ward_free_sized_checked(p, n, align, op);
    else
        ward_free_checked(p, op);
    RESTORE_ERRNO;
}

typedef struct nothrow_t nothrow_t;

CXX_API void *_Znwm(size_t n) { return op_new(n, 0, false); }
CXX_API void *_Znam(size_t n) { return op_new(n, 0, false); }
CXX_API void *_ZnwmRKSt9nothrow_t(size_t n, const nothrow_t *t) { (void)t; return op_new(n, 0, true); }
CXX_API void *_ZnamRKSt9nothrow_t(size_t n, const nothrow_t *t) { (void)t; return op_new(n, 0, true); }
CXX_API void *_ZnwmSt11align_val_t(size_t n, size_t a) { return op_new(n, a, false); }
CXX_API void *_ZnamSt11align_val_t(size_t n, size_t a) { return op_new(n, a, false); }
CXX_API void *_ZnwmSt11align_val_tRKSt9nothrow_t(size_t n, size_t a, const nothrow_t *t) { (void)t; return op_new(n, a, true); }
CXX_API void *_ZnamSt11align_val_tRKSt9nothrow_t(size_t n, size_t a, const nothrow_t *t) { (void)t; return op_new(n, a, true); }

CXX_API void _ZdlPv(void *p) { op_delete(p, CALL_DELETE); }
CXX_API void _ZdaPv(void *p) { op_delete(p, CALL_DELETE_ARRAY); }
CXX_API void _ZdlPvRKSt9nothrow_t(void *p, const nothrow_t *t) { (void)t; op_delete(p, CALL_DELETE); }
CXX_API void _ZdaPvRKSt9nothrow_t(void *p, const nothrow_t *t) { (void)t; op_delete(p, CALL_DELETE_ARRAY); }
CXX_API void _ZdlPvm(void *p, size_t n) { op_delete_sized(p, n, 0, CALL_DELETE); }
CXX_API void _ZdaPvm(void *p, size_t n) { op_delete_sized(p, n, 0, CALL_DELETE_ARRAY); }
CXX_API void _ZdlPvSt11align_val_t(void *p, size_t a) { op_delete_sized(p, SIZE_MAX, a, CALL_DELETE); }
CXX_API void _ZdaPvSt11align_val_t(void *p, size_t a) { op_delete_sized(p, SIZE_MAX, a, CALL_DELETE_ARRAY); }
CXX_API void _ZdlPvmSt11align_val_t(void *p, size_t n, size_t a) { op_delete_sized(p, n, a, CALL_DELETE); }
CXX_API void _ZdaPvmSt11align_val_t(void *p, size_t n, size_t a) { op_delete_sized(p, n, a, CALL_DELETE_ARRAY); }
CXX_API void _ZdlPvSt11align_val_tRKSt9nothrow_t(void *p, size_t a, const nothrow_t *t) { (void)t; op_delete_sized(p, SIZE_MAX, a, CALL_DELETE); }
CXX_API void _ZdaPvSt11align_val_tRKSt9nothrow_t(void *p, size_t a, const nothrow_t *t) { (void)t; op_delete_sized(p, SIZE_MAX, a, CALL_DELETE_ARRAY); }
#endif
