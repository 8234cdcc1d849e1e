#!/usr/bin/env bash
# The benchmark harness, in miniature: bench/run.py --mode smoke runs every
# workload (at 1% of the full scale) and the real programs under glibc and
# ward; every run must exit 0 with glibc's checksum (the
# report has no Problems section and a figure in every cell).  (ward-light
# is the same library with options: make bench-quick measures it.)  Then a
# deliberately broken allocator (every 64th malloc hands out the previous
# block again) must make each workload fail its own check: a wrong
# allocator cannot look fast.
root=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=tests/real/common.bash
. "$(dirname "$0")/common.bash"
need python3 cc
build=$(dirname "$WARD_LIB")
for b in larson xmalloc cache_scratch cache_thrash churn realloc_grow thread_churn \
    large_alloc benchtime gen_big_c; do
    if [ ! -x "$build/bench/$b" ]; then
        say "$build/bench/$b not built (make bench-bins; make check builds it)"
        exit 1
    fi
done

ALLOCATORS="ward" python3 "$root/bench/run.py" --mode smoke --build "$build" \
    --out "$work" --no-callgrind >"$work/report.out" 2>"$work/report.err"
rc=$?
if [ $rc -ne 0 ] || [ ! -s "$work/smoke.md" ]; then
    say "bench/run.py exited $rc or wrote no report:"
    tail -20 "$work/report.err" >&2
    exit 1
fi
if grep -q '^## Problems' "$work/smoke.md"; then
    say "some runs failed:"
    sed -n '/^## Problems/,$p' "$work/smoke.md" >&2
    failed=1
fi
# every workload row of the time table: glibc seconds and two ratios
rows=$(sed -n '/^## Time/,/^## Peak/p' "$work/smoke.md" |
    grep -cE '^\| [a-z0-9-]+ \| [0-9.]+ \| [0-9.]+ \|$')
if [ "$rows" -lt 10 ]; then
    say "only $rows complete rows in the time table:"
    sed -n '/^## Time/,/^## Peak/p' "$work/smoke.md" >&2
    failed=1
fi
say "$rows workloads measured under glibc and ward"

cat >"$work/broken.c" <<'C'
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stddef.h>
#include <string.h>
/* every 64th small malloc returns the block the previous one returned;
 * every 64th realloc forgets the old contents; free leaks */
extern void *__libc_malloc(size_t);
extern void *__libc_realloc(void *, size_t);
static __thread void *last;
static __thread unsigned long calls, rcalls;
void *malloc(size_t n)
{
    if (n <= 1024 && ++calls % 64 == 0 && last)
        return last;
    void *p = __libc_malloc(n < 1024 ? 1024 : n);
    if (n <= 1024)
        last = p;
    return p;
}
void *realloc(void *old, size_t n)
{
    if (old && ++rcalls % 64 == 0)
        return memset(__libc_malloc(n < 1024 ? 1024 : n), 0, n);
    return old ? __libc_realloc(old, n < 1024 ? 1024 : n) : malloc(n);
}
void free(void *p) { (void)p; }
C
cc -O1 -fPIC -shared "$work/broken.c" -o "$work/broken.so" || exit 1
for b in larson xmalloc churn realloc_grow thread_churn; do
    LD_PRELOAD="$work/broken.so" "$build/bench/$b" 2 0.01 >"$work/$b.out" 2>"$work/$b.err"
    rc=$?
    if [ $rc -eq 0 ]; then
        say "$b passed its own check under a broken allocator: $(cat "$work/$b.out")"
        failed=1
    elif ! grep -q 'corrupted\|wrong contents' "$work/$b.err"; then
        say "$b failed under the broken allocator without reporting the corruption (rc $rc):"
        tail -3 "$work/$b.err" >&2
        failed=1
    fi
done
finish
