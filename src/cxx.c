/* cxx.c: C++ operator new and delete, every form (plain, array, nothrow,
 * sized, aligned), under their mangled names, so that C++ programs get
 * ward's checks without libstdc++'s wrappers in between: a sized delete whose
 * size is not the allocated one is reported.  Written in C so libward.so
 * does not pull libstdc++ into C programs; a failed allocation calls the
 * program's new_handler and throws std::bad_alloc through libstdc++'s own
 * functions, found when (and only when) they are needed. */
#include "internal.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>

#ifdef WARD_EXPORT_LIBC
#define CXX_API __attribute__((visibility("default")))

typedef void (*new_handler_t)(void);

static COLD void *new_failed(size_t n, size_t align, bool nothrow)
{
    for (;;) {
        new_handler_t (*get)(void) = (new_handler_t(*)(void))dlsym(RTLD_DEFAULT, "_ZSt15get_new_handlerv");
        new_handler_t h = get ? get() : NULL;
        if (!h) {
            if (nothrow)
                return NULL;
            void (*thr)(void) = (void (*)(void))dlsym(RTLD_DEFAULT, "_ZSt17__throw_bad_allocv");
            if (thr)
                thr();
            ward_die("operator new: out of memory and no C++ runtime to throw std::bad_alloc");
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

static inline void op_delete(void *p, const char *op)
{
    if (!p)
        return;
    SAVE_ERRNO;
    ward_free_checked(p, op);
    RESTORE_ERRNO;
}

static inline void op_delete_sized(void *p, size_t n, size_t align, const char *op)
{
    if (!p)
        return;
    SAVE_ERRNO;
    ward_free_sized_checked(p, n, align, op);
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

CXX_API void _ZdlPv(void *p) { op_delete(p, "operator delete"); }
CXX_API void _ZdaPv(void *p) { op_delete(p, "operator delete[]"); }
CXX_API void _ZdlPvRKSt9nothrow_t(void *p, const nothrow_t *t) { (void)t; op_delete(p, "operator delete"); }
CXX_API void _ZdaPvRKSt9nothrow_t(void *p, const nothrow_t *t) { (void)t; op_delete(p, "operator delete[]"); }
CXX_API void _ZdlPvm(void *p, size_t n) { op_delete_sized(p, n, 0, "operator delete"); }
CXX_API void _ZdaPvm(void *p, size_t n) { op_delete_sized(p, n, 0, "operator delete[]"); }
CXX_API void _ZdlPvSt11align_val_t(void *p, size_t a) { op_delete_sized(p, SIZE_MAX, a, "operator delete"); }
CXX_API void _ZdaPvSt11align_val_t(void *p, size_t a) { op_delete_sized(p, SIZE_MAX, a, "operator delete[]"); }
CXX_API void _ZdlPvmSt11align_val_t(void *p, size_t n, size_t a) { op_delete_sized(p, n, a, "operator delete"); }
CXX_API void _ZdaPvmSt11align_val_t(void *p, size_t n, size_t a) { op_delete_sized(p, n, a, "operator delete[]"); }
CXX_API void _ZdlPvSt11align_val_tRKSt9nothrow_t(void *p, size_t a, const nothrow_t *t) { (void)t; op_delete_sized(p, SIZE_MAX, a, "operator delete"); }
CXX_API void _ZdaPvSt11align_val_tRKSt9nothrow_t(void *p, size_t a, const nothrow_t *t) { (void)t; op_delete_sized(p, SIZE_MAX, a, "operator delete[]"); }
#endif
