#!/usr/bin/env bash
# tests/fuzz-builds.sh BUILD_DIR MODE HARNESS: one of the two fuzz builds
# that the rest of make check does not run, built from this checkout and
# run briefly on one harness (tests/run.sh runs it per mode and harness):
#
#   oss-fuzz  fuzz/build.sh the way OSS-Fuzz and ClusterFuzzLite call it
#             for their AddressSanitizer build (their $CC $CFLAGS $CXX
#             $LIB_FUZZING_ENGINE, the flags of the oss-fuzz base-builder
#             image), into BUILD_DIR/oss-fuzz-asan; then the binary is run
#             the way their check_build step does: on its own seed corpus
#             (the .zip build.sh wrote) with its .options, -runs=500.
#   afl       the AFL++ build (make fuzz-afl-bins: afl-clang-fast,
#             persistent mode, shared-memory test cases), then afl-fuzz for
#             20 seconds from a few seeds: it must run inputs (execs_done
#             > 0), in persistent mode, and save no crash.
#
# Exit 0: built and ran clean; 77: the tool is missing (a skip); else fail.
set -euo pipefail
build=$(cd "$1" && pwd)
mode=$2
h=$3
here=$(cd "$(dirname "$0")/.." && pwd)

case "$mode" in
oss-fuzz)
    command -v clang >/dev/null || { echo "clang not installed"; exit 77; }
    out="$build/oss-fuzz-asan"
    # one build for the three harnesses: the first caller builds, under a lock
    (
        flock 9
        if [ ! -f "$out/.built" ] || [ -n "$(find "$here/src" "$here/fuzz" "$here/corpus" -newer "$out/.built" -print -quit)" ]; then
            rm -rf "$out"
            mkdir -p "$out"
            CC=clang CXX=clang++ \
                CFLAGS="-O1 -fno-omit-frame-pointer -gline-tables-only -fsanitize=address -fsanitize-address-use-after-scope -fsanitize=fuzzer-no-link" \
                CXXFLAGS="-O1 -fno-omit-frame-pointer -gline-tables-only -fsanitize=address -fsanitize-address-use-after-scope -fsanitize=fuzzer-no-link" \
                LIB_FUZZING_ENGINE=-fsanitize=fuzzer OUT="$out" WORK="$out/work" "$here/fuzz/build.sh"
            touch "$out/.built"
        fi
    ) 9>"$build/.oss-fuzz-asan.lock"
    bin="$out/ward_$h"
    [ -x "$bin" ] || { echo "$bin was not built"; exit 1; }
    seeds=$(mktemp -d)
    trap 'rm -rf "$seeds"' EXIT
    python3 -m zipfile -e "$out/ward_${h}_seed_corpus.zip" "$seeds"
    n=$(find "$seeds" -type f | wc -l)
    [ "$n" -gt 0 ] || { echo "empty seed corpus"; exit 1; }
    opts=()
    if [ -f "$out/ward_$h.options" ]; then
        while IFS= read -r l; do
            case "$l" in *=*) opts+=("-$(echo "${l%%=*}" | tr -d ' ')=$(echo "${l#*=}" | tr -d ' ')") ;; esac
        done <"$out/ward_$h.options"
    fi
    [ -f "$out/ward_$h.dict" ] && opts+=("-dict=$out/ward_$h.dict")
    mkdir -p "$seeds/new"
    echo "ward_$h: $n seeds, options ${opts[*]}"
    ASAN_OPTIONS=detect_leaks=0 "$bin" "${opts[@]}" -seed=1 -runs=500 -error_exitcode=1 \
        -artifact_prefix="$seeds/" "$seeds/new" "$seeds"
    ;;
afl)
    command -v afl-fuzz >/dev/null && command -v afl-clang-fast >/dev/null || {
        echo "AFL++ not installed (Debian package afl++)"
        exit 77
    }
    (
        flock 9
        make -C "$here" --no-print-directory BUILD="$build" fuzz-afl-bins
    ) 9>"$build/.afl.lock"
    bin="$build/fuzz-afl/$h"
    [ -x "$bin" ] || { echo "$bin was not built"; exit 1; }
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT
    mkdir -p "$work/in"
    # a few seeds, the smallest: afl-fuzz calibrates every seed first (read
    # whole, not through head: under pipefail, sort killed by SIGPIPE when
    # head left early ended this script, now and then)
    mapfile -t seeds < <(find "$here/corpus/$h" -type f -size -2k | LC_ALL=C sort)
    for f in "${seeds[@]:0:8}"; do
        cp "$f" "$work/in/"
    done
    dict=()
    [ -f "$here/fuzz/$h.dict" ] && dict=(-x "$here/fuzz/$h.dict")
    AFL_NO_UI=1 AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_AFFINITY=1 \
        WARD_FUZZ_SKIP_KNOWN=0 \
        afl-fuzz -i "$work/in" -o "$work/out" -V 20 -t 5000 "${dict[@]}" -- "$bin" >"$work/log" 2>&1 || {
        tail -n 40 "$work/log"
        echo "afl-fuzz failed"
        exit 1
    }
    st="$work/out/default/fuzzer_stats"
    [ -f "$st" ] || { tail -n 40 "$work/log"; echo "no fuzzer_stats"; exit 1; }
    grep -E '^(execs_done|execs_per_sec|corpus_count|saved_crashes|saved_hangs|stability)' "$st"
    execs=$(awk -F' *: *' '$1 == "execs_done" { print $2 }' "$st")
    crashes=$(awk -F' *: *' '$1 == "saved_crashes" { print $2 }' "$st")
    grep -qi "persistent mode" "$work/log" || { echo "not run in persistent mode"; grep -i persist "$work/log"; exit 1; }
    [ "${execs:-0}" -gt 0 ] || { echo "afl-fuzz ran no input"; exit 1; }
    if [ "${crashes:-0}" -ne 0 ]; then
        for c in "$work"/out/default/crashes/id:*; do
            echo "crash: $c"
            "$build/tests/t_fuzz_$h" "$c" 2>&1 | tail -n 5 || true
        done
        exit 1
    fi
    ;;
*)
    echo "usage: $0 BUILD_DIR oss-fuzz|afl HARNESS" >&2
    exit 2
    ;;
esac
