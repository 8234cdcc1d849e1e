#!/usr/bin/env bash
# fuzz/afl.sh BUILD HARNESS SECONDS CORES: an AFL++ campaign on one harness,
# one afl-fuzz per core: a main instance (-M) and secondaries (-S), all for
# SECONDS (-V), sharing BUILD/fuzz-afl/out-HARNESS (resumed when it exists),
# seeded from corpus/HARNESS, with the harness's dictionary.  Prints each
# instance's figures and the crashes found at the end.  make fuzz-afl
# FUZZER=x SECONDS=n [CORES=k] runs it.
set -euo pipefail
build=$1 h=$2 secs=$3 cores=${4:-$(nproc)}
here=$(cd "$(dirname "$0")/.." && pwd)
bin="$build/fuzz-afl/$h"
out="$build/fuzz-afl/out-$h"
[ -x "$bin" ] || { echo "afl.sh: $bin not built (make fuzz; AFL++ is Debian's afl++)" >&2; exit 1; }
input="$here/corpus/$h"
[ -d "$out/main" ] && input=- # resume
dict=()
[ -f "$here/fuzz/$h.dict" ] && dict=(-x "$here/fuzz/$h.dict")
# no UI, no CPU-governor or core_pattern demands on a shared machine
export AFL_NO_UI=1 AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_AFFINITY=1
export WARD_FUZZ_SKIP_KNOWN=${WARD_FUZZ_SKIP_KNOWN-0}
mkdir -p "$out"
pids=()
for ((i = 0; i < cores; i++)); do
    if [ "$i" -eq 0 ]; then role=(-M main); else role=(-S "sec$i"); fi
    afl-fuzz "${role[@]}" -i "$input" -o "$out" -V "$secs" -t 2000 "${dict[@]}" -- "$bin" \
        >"$out/log-$i.txt" 2>&1 &
    pids+=($!)
done
trap 'kill "${pids[@]}" 2>/dev/null || true' INT TERM
for p in "${pids[@]}"; do wait "$p" || true; done
# afl-whatsup counts only live instances: each one's final figures instead
for st in "$out"/*/fuzzer_stats; do
    awk -v n="$(basename "$(dirname "$st")")" -F' *: *' '
        $1 == "execs_done" { e = $2 } $1 == "execs_per_sec" { s = $2 }
        $1 == "saved_crashes" { c = $2 } $1 == "corpus_count" { q = $2 }
        END { printf "afl.sh: %-6s %s execs (%s/s), corpus %s, crashes %s\n", n, e, s, q, c }' "$st"
done
found=$(find "$out" -path '*/crashes/id:*' 2>/dev/null | wc -l)
echo "afl.sh: $found crashing inputs under $out/*/crashes (replay: $build/tests/t_fuzz_$h FILE)"
