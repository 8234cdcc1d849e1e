/* api.h: the frees that state a size or an alignment (api.c), shared with
 * the C++ operators (cxx.c). */
#ifndef WARD_API_H
#define WARD_API_H

#include "settings.h"

void ward_free_checked(void *ptr, enum ward_call op) INTERNAL;
void ward_free_sized_checked(void *ptr, size_t size, size_t align, enum ward_call op) INTERNAL;

#endif
