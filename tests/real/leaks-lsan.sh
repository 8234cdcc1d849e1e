#!/usr/bin/env bash
# leaks=1 against LeakSanitizer: the same program under gcc's standalone
# LeakSanitizer (liblsan.so.0, preloaded) and under ward with leaks=1 (and
# again with stacks=1) must give the same totals: direct bytes and
# objects, indirect bytes and objects.  The programs: python3 running a
# script that imports json and sqlite3 and CPython's test_json and test_re,
# git, sqlite3, perl, and t_leaks's
# planted cases (a leaked block, a leaked list, four threads leaking while
# they run, blocks only another thread's stack, TLS or register reaches).
#
# gcc 12's liblsan.so.0, preloaded into a program it was not linked into,
# leaves the target of its signal() interceptor NULL: any program that
# calls signal() (git, sqlite3, perl) dies with SIGSEGV before it ends.  A
# one-function library preloaded before it gives signal() through
# sigaction; it allocates nothing.
# shellcheck source=tests/real/common.bash
. "$(dirname "$0")/common.bash"
need cc

lsan=
for l in /usr/lib/x86_64-linux-gnu/liblsan.so.0 /usr/lib/aarch64-linux-gnu/liblsan.so.0 /usr/lib64/liblsan.so.0; do
    [ -f "$l" ] && lsan=$l && break
done
if [ -z "$lsan" ]; then
    say "liblsan.so.0 (gcc's LeakSanitizer) not installed: skipped"
    exit 77
fi
t_leaks="$(dirname "$WARD_LIB")/tests/t_leaks"
if [ ! -x "$t_leaks" ]; then
    say "$t_leaks not built (make test-bins)"
    exit 1
fi

cat >"$work/shim.c" <<'C'
#define _GNU_SOURCE
#include <signal.h>
#include <string.h>
sighandler_t signal(int sig, sighandler_t h)
{
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = h;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sigaddset(&sa.sa_mask, sig);
    if (sigaction(sig, &sa, &old) != 0)
        return SIG_ERR;
    return old.sa_handler;
}
C
cc -shared -fPIC -O2 -o "$work/shim.so" "$work/shim.c" || exit 1

# lsan_totals / ward_totals FILE: "direct BYTES/OBJECTS indirect
# BYTES/OBJECTS", summed over the processes that reported
lsan_totals() {
    awk '/^Direct leak of/ { db += $4; dn += $7 } /^Indirect leak of/ { ib += $4; in_ += $7 }
         END { printf "direct %d/%d indirect %d/%d\n", db, dn, ib, in_ }' "$1"
}
ward_totals() {
    awk '/^ward: memory leaks:/ { gsub(/[(),:]/, " ")
             for (i = 1; i <= NF; i++) {
                 if ($i == "direct") { db += $(i + 1); dn += $(i + 4) }
                 if ($i == "indirect") { ib += $(i + 1); in_ += $(i + 4) } } }
         END { printf "direct %d/%d indirect %d/%d\n", db, dn, ib, in_ }' "$1"
}

# check NAME CMD [ARGS...]: LeakSanitizer's totals, then ward's with
# leaks=1 and with leaks=1:stacks=1, all three the same; each run in a
# fresh directory
n=0
check() {
    local name=$1
    shift
    local d="$work/$name" rc l w ws t
    mkdir -p "$d/lsan" "$d/ward" "$d/wards" || exit 1
    (cd "$d/lsan" && LSAN_OPTIONS=exitcode=23 LD_PRELOAD="$work/shim.so $lsan" "$@") </dev/null \
        >"$d/lsan.out" 2>"$d/lsan.err"
    rc=$?
    if [ "$rc" -ne 0 ] && [ "$rc" -ne 23 ]; then
        say "$name: LeakSanitizer's run ended with status $rc"
        tail -n 20 "$d/lsan.err" >&2
        failed=1
        return
    fi
    t=$(ms_now)
    (cd "$d/ward" && LD_PRELOAD="$WARD_LIB" WARD_OPTIONS=leaks=1 "$@") </dev/null >"$d/ward.out" 2>"$d/ward.err"
    t_leaks_run=$(secs_since "$t")
    t=$(ms_now)
    (cd "$d/wards" && LD_PRELOAD="$WARD_LIB" WARD_OPTIONS=leaks=1:stacks=1 "$@") </dev/null \
        >"$d/wards.out" 2>"$d/wards.err"
    t_stacks_run=$(secs_since "$t")
    l=$(lsan_totals "$d/lsan.err")
    w=$(ward_totals "$d/ward.err")
    ws=$(ward_totals "$d/wards.err")
    n=$((n + 1))
    if [ "$l" = "$w" ] && [ "$l" = "$ws" ]; then
        say "$name: $l (LeakSanitizer and ward, with and without stacks=1)"
    else
        say "$name: LeakSanitizer $l; ward $w, with stacks=1 $ws"
        sed 's/^/    lsan: /' "$d/lsan.err" | head -n 40 >&2
        sed 's/^/    ward: /' "$d/wards.err" | head -n 40 >&2
        failed=1
    fi
}

# python3 (not a pyenv shim): a dozen objects leak at exit by both counts
if [ -x /usr/bin/python3 ]; then
    cat >"$work/json_sqlite.py" <<'PY'
import json, sqlite3
db = sqlite3.connect(":memory:")
db.execute("create table t (k text, v text)")
for i in range(200):
    db.execute("insert into t values (?, ?)", (str(i), json.dumps({"i": i, "sq": [i, i * i]})))
rows = db.execute("select v from t where k like '1%' order by k").fetchall()
print(sum(json.loads(v)["sq"][1] for (v,) in rows))
PY
    check python3 /usr/bin/python3 "$work/json_sqlite.py"
    # two of CPython's test modules (Debian's libpython3.11-testsuite): the
    # test runner and the child interpreters test_json starts, all summed
    if /usr/bin/python3 -c 'import test.test_json, test.test_re' 2>/dev/null; then
        check cpython-tests /usr/bin/python3 -m test test_json test_re
        # what the check costs: the same run under ward without it
        mkdir -p "$work/cpython-plain" && t=$(ms_now)
        (cd "$work/cpython-plain" && LD_PRELOAD="$WARD_LIB" /usr/bin/python3 -m test test_json test_re) \
            </dev/null >/dev/null 2>&1
        say "cpython-tests under ward: $(secs_since "$t") s without leaks=1, $t_leaks_run s with it," \
            "$t_stacks_run s with leaks=1:stacks=1"
    fi
else
    say "/usr/bin/python3 not installed: python3 not compared"
fi

if command -v git >/dev/null 2>&1; then
    git init -q "$work/repo" && printf 'a\nb\n' >"$work/repo/f" &&
        git -C "$work/repo" add f &&
        git -C "$work/repo" -c user.name=t -c user.email=t@t commit -q -m one || exit 1
    check git-status git -C "$work/repo" status
    check git-log git -C "$work/repo" log --stat
    check git-commit git -C "$work/repo" -c user.name=t -c user.email=t@t commit -q --allow-empty -m two
fi

if command -v sqlite3 >/dev/null 2>&1; then
    check sqlite3 sqlite3 :memory: "create table t(x, y); \
        with recursive n(i) as (select 1 union all select i + 1 from n where i < 5000) \
        insert into t select i, hex(i * 7919) from n; create index ti on t(y); \
        select count(*), sum(x) from t where y like '1%';"
fi

if command -v perl >/dev/null 2>&1; then
    check perl perl -e 'my %h; $h{$_ % 97} .= "x$_" for 1 .. 5000;
        my @k = sort { length($h{$a}) <=> length($h{$b}) } keys %h; print scalar(@k), "\n";'
fi

for c in single list global_list interior tls_main stack_thread tls_thread reg_thread joined_threads \
    dynamic_tls four_threads; do
    check "t_leaks-$c" "$t_leaks" "$c"
done

say "$n programs compared"
finish
