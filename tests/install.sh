#!/usr/bin/env bash
# ward installed like a system library: `tests/install.sh BUILD_DIR`
# (tests/run.sh runs it; each "PASS install/NAME" or "FAIL install/NAME:
# reason" line it prints counts as one test).
#
#   - `make install DESTDIR=<tmp>` puts the versioned library (soname
#     libward.so.0), its links, libward.a, ward.h, ward.pc, the man pages
#     (and the ward launcher and ward-preload when they are built) under
#     <tmp>/usr/local;
#   - a C and a C++ program built with `pkg-config --cflags --libs ward`
#     (PKG_CONFIG_PATH into <tmp>, PKG_CONFIG_SYSROOT_DIR=<tmp>), shared and
#     `-static` (`pkg-config --static`), run and prove ward is their allocator
#     (tests/install/app.c, app.cc), and report a double free / a sized
#     delete mismatch as ward does;
#   - the static programs hold none of glibc's malloc (its internal
#     functions are absent from their symbol tables), even one that refers
#     to every name glibc's malloc.o defines;
#   - `nm -D --defined-only` of libward.so shows only the allocation API,
#     the C++ operators and ward_* names;
#   - the man pages render with no warning (groff -ww, man -l);
#   - `make uninstall` removes every file again.
set -u

if [ $# -ne 1 ]; then
    echo "usage: $0 BUILD_DIR" >&2
    exit 2
fi
root=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "$1" && pwd) || exit 2
cc=${CC:-cc}
cxx=${CXX:-c++}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/ward-install.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT
dest=$tmp/root
prefix=/usr/local
nfail=0

pass() { echo "PASS install/$1"; }
# FAIL line, then the reason indented
fail() {
    echo "FAIL install/$1:"
    printf '%s\n' "$2" | sed 's/^/    /'
    nfail=$((nfail + 1))
}
# check NAME CMD...: PASS if CMD succeeds, else FAIL with its output
check() {
    local name=$1 out
    shift
    if out=$("$@" 2>&1); then
        pass "$name"
    else
        fail "$name" "$(printf '%s' "$out" | tail -n 15)"
    fi
}

# ---- make install ----------------------------------------------------------
if ! make -s -C "$root" BUILD="$build" DESTDIR="$dest" PREFIX="$prefix" install >"$tmp/install.log" 2>&1; then
    fail make-install "$(tail -n 20 "$tmp/install.log")"
    echo "install: $nfail failed"
    exit 1
fi
pass make-install

lib=$dest$prefix/lib
files_ok() {
    local f missing=
    for f in lib/libward.so.0.1.0 lib/libward.a include/ward.h lib/pkgconfig/ward.pc \
        share/man/man1/ward.1 share/man/man3/ward.3 share/man/man7/ward.7 share/man/man8/ward-preload.8; do
        [ -f "$dest$prefix/$f" ] || missing="$missing $f"
    done
    [ "$(readlink "$lib/libward.so.0")" = libward.so.0.1.0 ] || missing="$missing libward.so.0->libward.so.0.1.0"
    [ "$(readlink "$lib/libward.so")" = libward.so.0 ] || missing="$missing libward.so->libward.so.0"
    if [ -x "$build/ward" ] && [ ! -x "$dest$prefix/bin/ward" ]; then missing="$missing bin/ward"; fi
    if [ -x "$build/ward-preload" ] && [ ! -x "$dest$prefix/sbin/ward-preload" ]; then
        missing="$missing sbin/ward-preload"
    fi
    [ -z "$missing" ] || { echo "missing:$missing"; return 1; }
}
check files files_ok
soname_ok() { readelf -d "$lib/libward.so.0.1.0" | grep -q 'SONAME.*\[libward\.so\.0\]'; }
check soname soname_ok
hardened_ok() {
    local d
    d=$(readelf -lWd "$lib/libward.so.0.1.0") || return 1
    grep -q GNU_RELRO <<<"$d" || { echo "no GNU_RELRO"; return 1; }
    grep -q 'BIND_NOW' <<<"$d" || { echo "no BIND_NOW"; return 1; }
    grep -q 'GNU_STACK.* RW ' <<<"$d" || { echo "executable stack"; return 1; }
    nm -D "$lib/libward.so.0.1.0" | grep -q ' U __stack_chk_fail' || { echo "no stack protector"; return 1; }
}
check hardened hardened_ok

# ---- pkg-config ------------------------------------------------------------
export PKG_CONFIG_PATH=$lib/pkgconfig PKG_CONFIG_SYSROOT_DIR=$dest
if ! flags=$(pkg-config --cflags --libs ward 2>&1) || ! sflags=$(pkg-config --static --cflags --libs ward 2>&1); then
    fail pkg-config "$flags $sflags"
else
    check pkg-config grep -q -- "-L$lib -lward" <<<"$flags"
fi
src=$root/tests/install
export LD_LIBRARY_PATH=$lib

# run_ok NAME PROG: the program runs and says ward is its allocator
run_ok() { "$2" </dev/null; }
# run_report NAME PROG ARG EXPECT...: the bug is reported (first line) and the process aborted
run_report() {
    local prog=$1 arg=$2 rc out
    shift 2
    out=$("$prog" "$arg" 2>&1 </dev/null)
    rc=$?
    [ "$rc" -eq 134 ] || { echo "exit $rc, want 134 (SIGABRT): $out"; return 1; }
    for e in "$@"; do
        head -n 1 <<<"$out" | grep -qF -- "$e" || { echo "report '$(head -n 1 <<<"$out")' lacks '$e'"; return 1; }
    done
}
# no_glibc_malloc PROG: none of glibc's malloc.o internals were linked in
no_glibc_malloc() {
    local s
    s=$(nm "$1" | grep -E ' [tTdDbB] (_int_malloc|_int_free|malloc_consolidate|sysmalloc|main_arena|ptmalloc_init.*)$')
    [ -z "$s" ] || { echo "glibc malloc linked in: $s"; return 1; }
    nm "$1" | grep -q ' ward_check_heap$' || { echo "ward not linked in"; return 1; }
}
# dynamic_ward PROG: libward.so.0 is a DT_NEEDED of PROG
dynamic_ward() { readelf -d "$1" | grep -q 'NEEDED.*\[libward\.so\.0\]'; }

# ---- C, shared and static --------------------------------------------------
# shellcheck disable=SC2086 # the flags are words
if $cc -O1 -o "$tmp/app" "$src/app.c" $flags >"$tmp/cc.log" 2>&1; then
    check c-shared-link dynamic_ward "$tmp/app"
    check c-shared-run run_ok c "$tmp/app"
    check c-shared-report run_report "$tmp/app" double-free "ward: double free: free(0x"
else
    fail c-shared-build "$(tail -n 15 "$tmp/cc.log")"
fi
# shellcheck disable=SC2086
if $cc -O1 -static -o "$tmp/app-static" "$src/app.c" $sflags >"$tmp/cc.log" 2>&1; then
    check c-static-no-glibc-malloc no_glibc_malloc "$tmp/app-static"
    check c-static-run run_ok c "$tmp/app-static"
    check c-static-report run_report "$tmp/app-static" double-free "ward: double free: free(0x"
else
    fail c-static-build "$(tail -n 15 "$tmp/cc.log")"
fi

# Every global name glibc's own malloc object (malloc.o in libc.a) defines,
# referred to from one static program: each must resolve to ward's, so that
# the link neither takes malloc.o (nm shows none of its internals) nor fails
# with a name defined twice.
glibc_names_ok() {
    local libc_a names
    libc_a=$($cc -print-file-name=libc.a)
    [ -f "$libc_a" ] || { echo "no libc.a"; return 1; }
    (cd "$tmp" && ar x "$libc_a" malloc.o) || { echo "libc.a has no malloc.o"; return 1; }
    names=$(nm --defined-only -g "$tmp/malloc.o" | awk '{print $3}')
    [ -n "$names" ] || { echo "no names in malloc.o"; return 1; }
    {
        echo '#include <ward.h>'
        echo 'void *malloc(size_t);'
        echo 'void free(void *);'
        for n in $names; do echo "extern char ref_$n[] __asm__(\"$n\");"; done
        echo 'void *volatile refs[] = {'
        for n in $names; do echo "    ref_$n,"; done
        echo '};'
        echo 'int main(void) { void *p = malloc(5); int ok = p && ward_malloc_usable_size(p) == 5; free(p); return !ok; }'
    } >"$tmp/names.c"
    # shellcheck disable=SC2086
    $cc -static -o "$tmp/names" "$tmp/names.c" $sflags || return 1
    no_glibc_malloc "$tmp/names" || return 1
    "$tmp/names" || { echo "the program did not run under ward"; return 1; }
    echo "$(wc -w <<<"$names") names"
}
check c-static-glibc-malloc-names glibc_names_ok

# ---- C++, shared and static ------------------------------------------------
# shellcheck disable=SC2086
if $cxx -std=c++17 -O1 -o "$tmp/appxx" "$src/app.cc" $flags >"$tmp/cxx.log" 2>&1; then
    check cxx-shared-link dynamic_ward "$tmp/appxx"
    check cxx-shared-run run_ok cxx "$tmp/appxx"
    check cxx-shared-report run_report "$tmp/appxx" sized-delete "ward: sized delete mismatch: operator delete(0x" \
        "size 40 given, but the chunk holds 48 requested bytes"
else
    fail cxx-shared-build "$(tail -n 15 "$tmp/cxx.log")"
fi
# shellcheck disable=SC2086
if $cxx -std=c++17 -O1 -static -o "$tmp/appxx-static" "$src/app.cc" $sflags >"$tmp/cxx.log" 2>&1; then
    check cxx-static-no-glibc-malloc no_glibc_malloc "$tmp/appxx-static"
    check cxx-static-run run_ok cxx "$tmp/appxx-static"
    check cxx-static-report run_report "$tmp/appxx-static" sized-delete \
        "ward: sized delete mismatch: operator delete(0x" "size 40 given, but the chunk holds 48 requested bytes"
else
    fail cxx-static-build "$(tail -n 15 "$tmp/cxx.log")"
fi

# ---- exported symbols ------------------------------------------------------
symbols_ok() {
    local syms bad
    syms=$(nm -D --defined-only "$build/libward.so" | awk '{print $3}')
    bad=$(grep -Ev '^(malloc|free|calloc|realloc|reallocarray|posix_memalign|aligned_alloc|memalign|valloc|pvalloc|malloc_usable_size|free_sized|free_aligned_sized|mallinfo|mallinfo2|malloc_trim|malloc_stats|malloc_info|mallopt|cfree|__libc_(malloc|free|calloc|realloc|reallocarray|memalign|valloc|pvalloc|mallinfo|mallinfo2|mallopt)|_Z(nw|na)m(RKSt9nothrow_t|St11align_val_t|St11align_val_tRKSt9nothrow_t)?|_Zd[la]Pv(m|RKSt9nothrow_t|St11align_val_t|mSt11align_val_t|St11align_val_tRKSt9nothrow_t)?|ward_[a-z0-9_]+|prctl|syscall)$' <<<"$syms")
    [ -z "$bad" ] || { echo "unexpected exports:" $bad; return 1; }
    local s
    # prctl and syscall: a seccomp filter the program installs (src/sandbox.c)
    for s in malloc free calloc realloc posix_memalign _Znwm _ZdlPvm _ZnamSt11align_val_t ward_check_heap \
        ward_set_report_callback prctl syscall; do
        grep -qx "$s" <<<"$syms" || { echo "$s not exported"; return 1; }
    done
    # unversioned, so they interpose glibc's malloc@GLIBC_2.2.5 under LD_PRELOAD
    if nm -D --defined-only "$build/libward.so" | grep -q '@'; then
        echo "versioned exports"
        return 1
    fi
}
check exported-symbols symbols_ok

# ---- man pages -------------------------------------------------------------
man_ok() {
    local page=$1 err
    err=$(groff -ww -z -man "$page" 2>&1) || { echo "groff failed: $err"; return 1; }
    [ -z "$err" ] || { echo "groff -ww: $err"; return 1; }
    err=$(MANWIDTH=80 man --warnings -l "$page" 2>&1 >/dev/null) || { echo "man -l failed: $err"; return 1; }
    [ -z "$err" ] || { echo "man -l: $err"; return 1; }
}
for page in "$dest$prefix"/share/man/man*/ward*.*; do
    [ -f "$page" ] || continue
    check "man-$(basename "$page")" man_ok "$page"
done

# ---- the launcher, when it is built -----------------------------------------
if [ -x "$dest$prefix/bin/ward" ]; then
    launcher_ok() {
        local out rc
        "$dest$prefix/bin/ward" --version >/dev/null || { echo "ward --version failed"; return 1; }
        out=$(WARD_LIB=$lib/libward.so.0 "$dest$prefix/bin/ward" --on_error=exit --exitcode=3 -- \
            "$tmp/app" double-free 2>&1 </dev/null)
        rc=$?
        [ "$rc" -eq 3 ] || { echo "exit $rc, want 3: $out"; return 1; }
        grep -q "ward: double free:" <<<"$out" || { echo "no report: $out"; return 1; }
    }
    [ -x "$tmp/app" ] && check launcher launcher_ok
fi

# ---- ward-preload names the installed library ------------------------------
if [ -x "$dest$prefix/sbin/ward-preload" ]; then
    preload_ok() {
        grep -q "^default_lib='$prefix/lib/libward.so.0'\$" "$dest$prefix/sbin/ward-preload" ||
            { echo "$(grep '^default_lib=' "$dest$prefix/sbin/ward-preload"), want $prefix/lib/libward.so.0"; return 1; }
        "$dest$prefix/sbin/ward-preload" --version | grep -q "^ward-preload 0" || return 1
    }
    check ward-preload preload_ok
fi

# ---- make uninstall --------------------------------------------------------
uninstall_ok() {
    make -s -C "$root" BUILD="$build" DESTDIR="$dest" PREFIX="$prefix" uninstall || return 1
    local left
    left=$(find "$dest" -type f -o -type l)
    [ -z "$left" ] || { echo "left behind: $left"; return 1; }
}
check uninstall uninstall_ok

[ "$nfail" -eq 0 ]
