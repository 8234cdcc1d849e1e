/* see cache.h */
#define SCRATCH 1
#include "cache.h"
