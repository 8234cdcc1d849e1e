/* see cache.h */
#define SCRATCH 0
#include "cache.h"
