#!/usr/bin/env bash
# ward's test runner: `tests/run.sh BUILD_DIR [NAME...]` (make check runs
# `tests/run.sh build`).
#
# Runs, each under a timeout and with its output captured to
# BUILD_DIR/test-logs/NAME.log:
#   - every BUILD_DIR/tests/t_* program with LD_PRELOAD=<abs BUILD_DIR>/libward.so;
#   - the corpus replays (t_fuzz_*) again under the option sets that change
#     ward's paths, and the mutation test of the harnesses (fuzz/mutants.sh:
#     the test "mutants");
#   - a few of them again with BUILD_DIR/libward-light.so (make light);
#   - every tests/real/*.sh with WARD_LIB exported (the same absolute path);
#     exit 77 from one of them is a skip;
#   - tests/cli/*.sh (the launcher, ward-preload, ...) with WARD_BUILD;
#   - tests/system/*.sh with WARD_LIB and WARD_BUILD: the Debian package
#     (deb), set-user-ID programs ignoring WARD_OPTIONS (setuid), and real
#     Debian work with ward in /etc/ld.so.preload in a mount namespace
#     (system); each of their PASS/FAIL NAME/CASE lines counts as a test;
#   - tests/docs.sh BUILD_DIR: README.md and man/ward.7 list every option
#     with the default the library has (the test "docs");
#   - BUILD_DIR/tests/misuse_runner (and BUILD_DIR/clang/tests/misuse_runner,
#     the library built with clang), each of its cases counted as a test;
#   - tests/install.sh BUILD_DIR (make install into a temporary DESTDIR,
#     programs built against it with pkg-config), each case a test;
#   - each libFuzzer harness BUILD_DIR/fuzz/{ops,misuse,threads} for a short
#     seeded session (-seed=1 -runs=$WARD_FUZZ_RUNS, default 6000);
#   - tests/fuzz-builds.sh: each harness built the OSS-Fuzz way (ASan) and
#     the AFL++ way, each run briefly.
# Prints "PASS name", "FAIL name" or "SKIP name" per test (a failing test's
# reason and log follow its FAIL line), then one summary line "N passed,
# N failed" (", N skipped" when some were).  Exits 1 if anything failed.
# BUILD_DIR/test-logs/summary.txt has each result with its duration.
#
# NAME... (optional) runs only the tests with those names (t_api, python,
# misuse_runner, ...).  WARD_TEST_TIMEOUT overrides the per-test timeout in
# seconds (default 300; 900 for the real programs, which run everything twice
# and include CPython's regression tests).

set -u

if [ $# -lt 1 ]; then
    echo "usage: $0 BUILD_DIR [NAME...]" >&2
    exit 2
fi
build=$1
shift
only=" $* "

tests_dir=$(cd "$(dirname "$0")" && pwd)
if ! build=$(cd "$build" 2>/dev/null && pwd); then
    echo "run.sh: build directory $1 does not exist (run make first)" >&2
    echo "0 passed, 1 failed"
    exit 1
fi
lib="$build/libward.so"
logs="$build/test-logs"
timeout_s=${WARD_TEST_TIMEOUT:-300}
real_timeout_s=${WARD_TEST_TIMEOUT:-900}
mkdir -p "$logs"
: >"$logs/summary.txt"
# a test that aborts (as ward does on a heap error) leaves no core file
ulimit -c 0 2>/dev/null

npass=0
nfail=0
nskip=0

selected() {
    [ "$only" = "  " ] || [[ "$only" == *" $1 "* ]]
}

# report NAME STATUS [NOTE]
report() {
    local name=$1 status=$2 note=${3:-}
    case "$status" in
    PASS) npass=$((npass + 1)) ;;
    SKIP) nskip=$((nskip + 1)) ;;
    *) nfail=$((nfail + 1)) ;;
    esac
    echo "$status $name"
    echo "$status $name${note:+ ($note)}" >>"$logs/summary.txt"
    if [ "$status" = FAIL ]; then
        echo "    ($note)"
        if [ -s "$logs/$name.log" ]; then
            echo "---- output of $name (last 100 lines of $logs/$name.log) ----"
            tail -n 100 "$logs/$name.log"
            echo "---- end of $name ----"
        fi
    fi
}

# run_one NAME CMD...: run under the timeout, output to the log; sets rc
# and dur (seconds)
run_one() {
    local name=$1 t0
    shift
    t0=$(date +%s)
    timeout -k 10 "$timeout_s" "$@" </dev/null >"$logs/$name.log" 2>&1
    rc=$?
    dur=$(($(date +%s) - t0))
}

# classify RC: sets status (PASS / FAIL / SKIP for 77) and note (duration,
# timeout, signal)
classify() {
    note="${dur}s"
    case "$1" in
    0) status=PASS ;;
    77) status=SKIP ;;
    124 | 137) status=FAIL note="timed out after ${timeout_s}s" ;;
    *)
        status=FAIL
        if [ "$1" -gt 128 ]; then
            note="killed by signal $(($1 - 128)), ${dur}s"
        else
            note="exit $1, ${dur}s"
        fi
        ;;
    esac
}

# run_cases NAME CMD...: a script whose lines "PASS NAME/CASE", "FAIL
# NAME/CASE: reason" (the reason on the indented lines after it) and "SKIP
# NAME/CASE: why" each count as one test; its exit status must agree (77
# with no case run: the whole script is a skip)
run_cases() {
    local name=$1 line case_name nbad=0 ncases=0 crc
    shift
    run_one "$name" "$@"
    crc=$rc
    while IFS= read -r line; do
        case "$line" in
        "PASS $name/"*)
            ncases=$((ncases + 1))
            report "${line#PASS }" PASS
            ;;
        "SKIP $name/"*)
            ncases=$((ncases + 1))
            case_name=${line#SKIP }
            report "${case_name%%:*}" SKIP "${case_name#*: }"
            ;;
        "FAIL $name/"*)
            ncases=$((ncases + 1))
            case_name=${line#FAIL }
            case_name=${case_name%%:*}
            nbad=$((nbad + 1))
            # the reason: the FAIL line and the indented lines after it
            awk -v l="$line" '$0 == l { on = 1; print; next } on && /^    / { print; next } { on = 0 }' \
                "$logs/$name.log" | sed 's/^/    /'
            report "$case_name" FAIL "see above"
            ;;
        esac
    done <"$logs/$name.log"
    if [ "$crc" -eq 77 ] && [ "$ncases" -eq 0 ]; then
        report "$name" SKIP "$(tail -n 1 "$logs/$name.log")"
    elif [ "$crc" -ne 0 ] && [ "$nbad" -eq 0 ]; then
        classify "$crc"
        report "$name" FAIL "$note"
    fi
}

if [ ! -f "$lib" ]; then
    echo "run.sh: $lib not found (run make first)" >&2
    report libward.so FAIL "not built"
fi

# The misuse fuzz harness runs strictly (fuzz/README.md, "Findings"):
# WARD_FUZZ_SKIP_KNOWN=1 would keep its overflow bytes non-zero.
export WARD_FUZZ_SKIP_KNOWN=${WARD_FUZZ_SKIP_KNOWN-0}

# 1. the standalone test programs, under ward
for t in "$build"/tests/t_*; do
    if [ ! -f "$t" ] || [ ! -x "$t" ]; then continue; fi
    name=$(basename "$t")
    selected "$name" || continue
    if [ ! -f "$lib" ]; then
        report "$name" FAIL "no libward.so"
        continue
    fi
    run_one "$name" env LD_PRELOAD="$lib" "$t"
    classify "$rc"
    report "$name" "$status" "$note"
done

# 1a. every corpus through every harness again under the options that
#     change ward's paths: the misuse harness with foreign pointers ignored
#     (foreign=warn), faults left to the process (fault_handler=0), the
#     keyed hash, full poison and recorded stacks (it assumes the default
#     quarantine and no sampling); ops and threads under all of those and
#     with no quarantine and every block sampled (sample=1)
replays="misuse:foreign=warn misuse:fault_handler=0 misuse:checksum=siphash misuse:poison=full misuse:stacks=1"
for h in ops threads; do
    for o in checksum=siphash poison=full quarantine_bytes=0 sample=1 stacks=1 foreign=warn fault_handler=0; do
        replays="$replays $h:$o"
    done
done
for r in $replays; do
    h=${r%%:*} o=${r#*:}
    t="$build/tests/t_fuzz_$h"
    [ -x "$t" ] && [ -f "$lib" ] && selected "t_fuzz_$h:$o" || continue
    run_one "t_fuzz_$h:$o" env LD_PRELOAD="$lib" WARD_OPTIONS="$o" "$t"
    classify "$rc"
    report "t_fuzz_$h:$o" "$status" "$note"
done

# 1b'. mutation testing (fuzz/mutants.sh, make mutants): every mutant of
#     fuzz/mutants/list built from a copy of src/, its witness run, the
#     corpora replayed against it; every mutant must be killed by the
#     replay (the log names the survivors)
if selected mutants && [ -f "$build/mutants/env" ] && [ -f "$build/libward-prefixed.a" ]; then
    MUTANT_FIRST=1 FUZZ_SECONDS=0 run_one mutants nice -n 10 "$tests_dir/../fuzz/mutants.sh" "$build"
    classify "$rc"
    report mutants "$status" "$note"
fi

# 1b. threads and fork again with trace=1 (a stack walk and the depot lock
#     in every malloc and free, taken across fork too)
for name in t_threads t_fork; do
    t="$build/tests/$name"
    [ -x "$t" ] && [ -f "$lib" ] && selected "$name:trace" || continue
    run_one "$name:trace" env LD_PRELOAD="$lib" WARD_OPTIONS=trace=1 WARD_TEST_FORKS=100 "$t"
    classify "$rc"
    report "$name:trace" "$status" "$note"
done

# 1c. with every allocation sampled onto guard pages (sample=1) until the
#     pool is full: sampled pointers through realloc, threads, fork
for name in t_api t_realloc t_threads t_fork t_churn; do
    t="$build/tests/$name"
    [ -x "$t" ] && [ -f "$lib" ] && selected "$name:sample" || continue
    run_one "$name:sample" env LD_PRELOAD="$lib" WARD_OPTIONS=sample=1 WARD_TEST_FORKS=100 "$t"
    classify "$rc"
    report "$name:sample" "$status" "$note"
done

# 1d. the light build (make light: every optional check off by default, the
#     small tier compiled for that): the contract, threads, fork, a double
#     free still reported (headers, ownership and liveness stay checked)
light="$build/libward-light.so"
for name in t_api t_realloc t_threads t_fork t_race; do
    t="$build/tests/$name"
    [ -x "$t" ] && [ -f "$light" ] && selected "$name:light" || continue
    run_one "$name:light" env LD_PRELOAD="$light" WARD_TEST_FORKS=100 "$t"
    classify "$rc"
    report "$name:light" "$status" "$note"
done

# 1e. no stale bytes under every poison setting, when sampled, and in the
#     light build
for o in poison=off poison=full sample=1 light; do
    t="$build/tests/t_stale"
    tlib=$lib
    [ "$o" = light ] && tlib=$light && o=poison=off && tname=t_stale:light || tname="t_stale:$o"
    [ -x "$t" ] && [ -f "$tlib" ] && selected "$tname" || continue
    run_one "$tname" env LD_PRELOAD="$tlib" WARD_OPTIONS="$o" "$t"
    classify "$rc"
    report "$tname" "$status" "$note"
done

# 1f. a forked child's own keys, and canaries that give no key, under the
#     other checksum
for name in t_forkkeys t_canarykeys; do
    o=checksum=siphash
    t="$build/tests/$name"
    [ -x "$t" ] && [ -f "$lib" ] && selected "$name:$o" || continue
    run_one "$name:$o" env LD_PRELOAD="$lib" WARD_OPTIONS="$o" "$t"
    classify "$rc"
    report "$name:$o" "$status" "$note"
done

# 2. real programs, plainly and under ward
export WARD_LIB="$lib"
for s in "$tests_dir"/real/*.sh; do
    [ -f "$s" ] || continue
    name=$(basename "$s" .sh)
    selected "$name" || continue
    if [ ! -f "$lib" ]; then
        report "$name" FAIL "no libward.so"
        continue
    fi
    timeout_s=$real_timeout_s run_one "$name" bash "$s"
    timeout_s=$real_timeout_s classify "$rc"
    report "$name" "$status" "$note"
done

# 2b. the ward command and what a test suite sees (tests/cli/*.sh)
export WARD_BUILD="$build"
for s in "$tests_dir"/cli/*.sh; do
    [ -f "$s" ] || continue
    name=cli-$(basename "$s" .sh)
    selected "$name" || continue
    run_one "$name" bash "$s"
    classify "$rc"
    report "$name" "$status" "$note"
done

# 2c. the options in README.md and man/ward.7: every key, with the default
#     WARD_OPTIONS=help=1 prints (tests/docs.sh)
if selected docs; then
    if [ -f "$lib" ]; then
        run_one docs bash "$tests_dir/docs.sh" "$build"
        classify "$rc"
        report docs "$status" "$note"
    else
        report docs FAIL "no libward.so"
    fi
fi

# 2d. the Debian package make deb built, set-user-ID programs and ward in
#     /etc/ld.so.preload for every process (tests/system/*.sh: deb, setuid,
#     system; each "PASS NAME/CASE" line counts as one test; those that need
#     root or a mount namespace skip without them)
for s in "$tests_dir"/system/*.sh; do
    [ -f "$s" ] || continue
    name=$(basename "$s" .sh)
    selected "$name" || continue
    run_cases "$name" bash "$s"
done

# 3. the misuse cases: each line PASS/FAIL misuse/CASE of the runner counts
#    as one test; the runner's exit status must agree with them
run_misuse() { # NAME RUNNER LIB
    local name=$1 m=$2 mlib=$3 line case_name nbad=0
    [ -f "$m" ] && [ -x "$m" ] && selected "$name" || return 0
    run_one "$name" env WARD_LIB="$mlib" "$m"
    local mrc=$rc
    while IFS= read -r line; do
        case "$line" in
        "PASS misuse/"*)
            case_name=${line#PASS }
            report "$name/${case_name#misuse/}" PASS
            ;;
        "FAIL misuse/"*)
            case_name=${line#FAIL }
            case_name=${case_name%%:*}
            nbad=$((nbad + 1))
            grep -A12 -F "$line" "$logs/$name.log" | sed 's/^/    /'
            report "$name/${case_name#misuse/}" FAIL "see above"
            ;;
        esac
    done <"$logs/$name.log"
    if [ "$mrc" -ne 0 ] && [ "$nbad" -eq 0 ]; then
        classify "$mrc"
        report "$name" FAIL "$note"
    fi
}
run_misuse misuse "$build/tests/misuse_runner" "$lib"
# the same cases against the library built with clang (make check builds it)
run_misuse misuse-clang "$build/clang/tests/misuse_runner" "$build/clang/libward.so"

# 4. installed like a system library (tests/install.sh): make install into a
#    temporary DESTDIR, C and C++ programs built with pkg-config, shared and
#    static, the exported symbols, the man pages, make uninstall; each line
#    PASS/FAIL install/CASE counts as one test
if selected install && [ -f "$lib" ]; then
    run_cases install bash "$tests_dir/install.sh" "$build"
fi

# 5. a short seeded libFuzzer session per harness (make check builds them in
#    BUILD_DIR/fuzz): new inputs go to a scratch corpus, the seeds are read
#    from corpus/<harness>; a finding is a crash, the session's exit is not 0
fuzz_runs=${WARD_FUZZ_RUNS:-6000}
for h in ops misuse threads; do
    f="$build/fuzz/$h"
    [ -x "$f" ] && selected "fuzz:$h" || continue
    scratch="$build/fuzz/session-$h"
    rm -rf "$scratch" && mkdir -p "$scratch"
    opts=()
    [ -f "$tests_dir/../fuzz/$h.dict" ] && opts+=("-dict=$tests_dir/../fuzz/$h.dict")
    run_one "fuzz:$h" "$f" -seed=1 -runs="$fuzz_runs" -max_len=1024 -timeout=60 -error_exitcode=1 \
        -artifact_prefix="$scratch/" "${opts[@]}" "$scratch" "$tests_dir/../corpus/$h"
    classify "$rc"
    report "fuzz:$h" "$status" "$note"
done

# 6. the OSS-Fuzz / ClusterFuzzLite build (fuzz/build.sh with their
#    AddressSanitizer flags) and the AFL++ build, each harness run briefly
#    (tests/fuzz-builds.sh); exit 77 (the tool missing) is a skip
for mode in oss-fuzz afl; do
    for h in ops misuse threads; do
        selected "$mode:$h" || selected "fuzz-builds" || continue
        run_one "$mode:$h" "$tests_dir/fuzz-builds.sh" "$build" "$mode" "$h"
        classify "$rc"
        report "$mode:$h" "$status" "$note"
    done
done

if [ "$nskip" -gt 0 ]; then
    echo "$npass passed, $nfail failed, $nskip skipped"
else
    echo "$npass passed, $nfail failed"
fi
[ "$nfail" -eq 0 ]
