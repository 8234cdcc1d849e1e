#!/usr/bin/env bash
# fuzz/coverage.sh BUILD HARNESS...: line and branch coverage of src/ reached
# by the corpora (make coverage).  Every corpus (corpus/*) is replayed
# through every harness built with clang's source-based coverage
# (BUILD/cov/<harness>), under a few option sets, since some of ward's code
# runs only under an option: the defaults; checksum=siphash with trace=1 and
# on_error=continue; poison=full; poison=off with no quarantine and no large
# cache; sample=4 (sampled guard pages); reports with symbolized stacks (a
# few misuse inputs); foreign pointers ignored (foreign=warn) and faults
# left to the process (fault_handler=0), for the misuse harness; and every
# option spelled in every accepted form.
# The profile is written continuously (%c, with -runtime-counter-relocation):
# ward's exit check may end a process with _exit, before the runtime's own
# write at exit.  Harnesses that commit bugs (misuse) run only under option
# sets that keep every detection SECURITY.md promises.  Prints llvm-cov's
# summary table; the profile is BUILD/cov/ward.profdata and an HTML report
# goes to BUILD/cov/html.
set -euo pipefail
build=$1
shift
here=$(cd "$(dirname "$0")/.." && pwd)
bin=${LLVM_BIN:-}
cov=$(command -v "${bin:+$bin/}llvm-cov" || command -v llvm-cov)
prof=$(command -v "${bin:+$bin/}llvm-profdata" || command -v llvm-profdata)
out="$build/cov"
rm -rf "$out/raw" "$out/html"
mkdir -p "$out/raw"

# name:options:harnesses ("all" or a list)
sets=(
    "default::all"
    "keyed:checksum=siphash:trace=1:on_error=continue:exitcode=0:all"
    "full:poison=full:purge_threshold=1m:quarantine_large=1:all"
    "nochecks:poison=off:quarantine_bytes=0:large_cache_bytes=0:quarantine_large=0:canary=0:ops threads"
    "sample:sample=4:sample_slots=64:ops threads"
    "stacks:backtrace=1:trace=1:symbolize=1:misuse"
    "foreign:foreign=warn:misuse"
    "nofault:fault_handler=0:misuse"
    "spelled2:on_error=exit:42::help:sample=1k:sample_slots=16:ops"
    "spelled:on_error=abort:exitcode=3:quarantine_bytes=512k:quarantine_max_chunk=1M:quarantine_large=8:large_cache_bytes=1g:poison=partial:poison_bytes=64:canary=yes:checksum=fast:purge_threshold=2m:backtrace=true:trace=no:exit_check=heap:help=1:ops"
)
objs=()
for set in "${sets[@]}"; do
    name=${set%%:*}
    rest=${set#*:}
    harnesses=${rest##*:}
    opts=${rest%:*}
    [ "$harnesses" = all ] && harnesses="$*"
    for h in $harnesses; do
        case " $* " in *" $h "*) ;; *) continue ;; esac
        echo "coverage: $h, options '${opts:-defaults}'"
        # reports with symbolized stacks start addr2line: a few inputs do
        max=0
        [ "$name" = stacks ] && max=12
        LLVM_PROFILE_FILE="$out/raw/$h-$name-%p%c.profraw" WARD_OPTIONS="$opts" WARD_FUZZ_SKIP_KNOWN=0 \
            WARD_FUZZ_MAX_INPUTS=$max \
            "$out/$h" "$here/corpus" >/dev/null 2>&1 || {
            echo "coverage: $h failed under '${opts}'" >&2
            exit 1
        }
    done
done
for h in "$@"; do objs+=(-object "$out/$h"); done
srcs=("$here"/src/*.c)
"$prof" merge -sparse "$out"/raw/*.profraw -o "$out/ward.profdata"
"$cov" report "${objs[@]:1}" -instr-profile="$out/ward.profdata" "${srcs[@]}"
"$cov" show "${objs[@]:1}" -instr-profile="$out/ward.profdata" -format=html -output-dir="$out/html" \
    "${srcs[@]}" >/dev/null
echo "coverage: HTML report in $out/html/index.html"
