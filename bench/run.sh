#!/usr/bin/env bash
# ward benchmarks: build the microbenchmarks, run them and a few real
# programs under glibc, ward (default and with checks reduced) and whichever
# of jemalloc / tcmalloc / mimalloc are installed, and print a table of time
# and peak-RSS ratios against glibc (also written to BUILD/bench/results.md).
#
#   bench/run.sh [BUILD]          BUILD defaults to "build" (relative to the
#                                 repository root), ward is BUILD/libward.so
#
# Environment:
#   REPEAT=N          runs per (benchmark, allocator); the median is shown (1)
#   BENCHES="a b"     only these benchmarks (default: all, see list below)
#   ALLOCATORS="a b"  only these allocators (labels as in the table)
#   BENCH_TIMEOUT=S   kill a run after S seconds and show TIMEOUT (300)
#   BENCH_TIMER=wrapper  use bench/benchtime.c even if /usr/bin/time exists
#   CC                compiler for the benchmarks (cc)
#
# This is a report, not a test: there are no thresholds, and it exits 0
# even when a benchmark fails under some allocator (that cell says FAIL(rc)).
set -u

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT" || exit 1
BUILD=${1:-build}
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
OUT=$BUILD/bench
LOGS=$OUT/logs
REPEAT=${REPEAT:-1}
BENCH_TIMEOUT=${BENCH_TIMEOUT:-300}
CC=${CC:-cc}
ALL_BENCHES="small medium large threads realloc python python-malloc gcc sqlite"
BENCHES=${BENCHES:-$ALL_BENCHES}
LIBDIR=/usr/lib/x86_64-linux-gnu

mkdir -p "$OUT" "$LOGS" || exit 1
rm -f "$LOGS"/*

log() { printf '%s\n' "$*" >&2; }

# ---------------------------------------------------------------- build
log "== building benchmarks into $OUT"
for b in small medium large threads realloc; do
    $CC -O2 -pthread -o "$OUT/$b" "bench/$b.c" || { log "build of $b failed"; exit 1; }
done
$CC -O2 -o "$OUT/benchtime" bench/benchtime.c || { log "build of benchtime failed"; exit 1; }
$CC -O2 -o "$OUT/gen_big_c" bench/gen_big_c.c || { log "build of gen_big_c failed"; exit 1; }
"$OUT/gen_big_c" > "$OUT/big.c" || exit 1

# ---------------------------------------------------------------- tools
if [ "${BENCH_TIMER:-}" != wrapper ] && [ -x /usr/bin/time ]; then
    TIMER=(/usr/bin/time -f '%e %M' -o)
    TIMER_NAME="/usr/bin/time -f '%e %M'"
else
    TIMER=("$OUT/benchtime" -o)
    TIMER_NAME="bench/benchtime.c (getrusage RUSAGE_CHILDREN)"
fi
if command -v timeout >/dev/null; then
    TIMEOUT=(timeout -s KILL "$BENCH_TIMEOUT")
else
    TIMEOUT=()
fi
PYTHON=
for p in /usr/bin/python3 "$(command -v python3 2>/dev/null)"; do
    [ -n "$p" ] && [ -x "$p" ] && { PYTHON=$p; break; }
done
GCC=$(command -v gcc 2>/dev/null || true)
SQLITE=$(command -v sqlite3 2>/dev/null || true)

# ---------------------------------------------------------------- allocators
# label | LD_PRELOAD | extra environment (space-separated VAR=value)
ALLOCS=()
ALLOCS+=("glibc||")
WARD=$BUILD/libward.so
WARD_STAMP=
if [ -f "$WARD" ]; then
    WARD_STAMP=$(stat -c %Y "$WARD")
    ALLOCS+=("ward|$WARD|")
    ALLOCS+=("ward-nochecks|$WARD|WARD_OPTIONS=quarantine_bytes=0:poison=off:canary=0")
else
    log "note: $WARD not found (run make): ward columns left out"
fi
# the path a Debian package ships its library at, or a fallback path
pkg_lib() { # package pattern fallback
    local f
    f=$(dpkg -L "$1" 2>/dev/null | grep -E "/$2\$" | head -n1)
    [ -n "$f" ] && [ -f "$f" ] && { echo "$f"; return; }
    [ -f "$3" ] && echo "$3"
}
JE=$(pkg_lib libjemalloc2 'libjemalloc\.so\.2' "$LIBDIR/libjemalloc.so.2")
TC=$(pkg_lib libtcmalloc-minimal4 'libtcmalloc_minimal\.so\.4' "$LIBDIR/libtcmalloc_minimal.so.4")
MI=$(pkg_lib libmimalloc2.0 'libmimalloc\.so\.2(\.[0-9]+)*' "$LIBDIR/libmimalloc.so.2")
add_alloc() { # label library package
    if [ -n "$2" ]; then
        ALLOCS+=("$1|$2|")
    else
        log "note: $1 not installed (apt-get install $3): column left out"
    fi
}
add_alloc jemalloc "$JE" libjemalloc2
add_alloc tcmalloc "$TC" libtcmalloc-minimal4
add_alloc mimalloc "$MI" libmimalloc2.0
if [ -n "${ALLOCATORS:-}" ]; then
    kept=()
    for a in "${ALLOCS[@]}"; do
        for want in glibc $ALLOCATORS; do # glibc is the baseline: always kept
            [ "${a%%|*}" = "$want" ] && { kept+=("$a"); break; }
        done
    done
    ALLOCS=("${kept[@]}")
fi
NA=${#ALLOCS[@]}

# ---------------------------------------------------------------- benchmarks
# bench_setup NAME: sets CMD (array), STDIN (file), PRODUCT (file whose hash
# joins the output check, or empty); returns 1 if the benchmark cannot run.
bench_setup() {
    STDIN=/dev/null PRODUCT=
    case $1 in
    small|medium|large|threads|realloc) CMD=("$OUT/$1") ;;
    python)
        [ -n "$PYTHON" ] || return 1
        CMD=(env PYTHONMALLOC=pymalloc "$PYTHON" "$ROOT/bench/alloc_heavy.py") ;;
    python-malloc)
        [ -n "$PYTHON" ] || return 1
        CMD=(env PYTHONMALLOC=malloc "$PYTHON" "$ROOT/bench/alloc_heavy.py") ;;
    gcc)
        [ -n "$GCC" ] || return 1
        CMD=("$GCC" -O2 -c "$OUT/big.c" -o "$OUT/big.o")
        PRODUCT=$OUT/big.o ;;
    sqlite)
        [ -n "$SQLITE" ] || return 1
        CMD=("$SQLITE" :memory:)
        STDIN=$ROOT/bench/sqlite.sql ;;
    *) log "unknown benchmark $1"; return 1 ;;
    esac
    return 0
}

# results: R_TIME[bench,label,rep], R_RSS[...], R_RC[...]
declare -A R_TIME R_RSS R_RC R_OUT
declare -A SKIPPED

run_one() { # bench label preload extra rep
    local b=$1 label=$2 pre=$3 extra=$4 rep=$5
    local base=$LOGS/$b.$label.$rep
    local envargs=(env -u LD_PRELOAD -u WARD_OPTIONS)
    [ -n "$pre" ] && envargs+=("LD_PRELOAD=$pre")
    # shellcheck disable=SC2206 # extra is a list of VAR=value words
    [ -n "$extra" ] && envargs+=($extra)
    rm -f "$PRODUCT" 2>/dev/null
    printf '%s\n' "${envargs[*]} ${CMD[*]} < $STDIN" > "$base.cmd"
    "${TIMER[@]}" "$base.time" "${TIMEOUT[@]}" "${envargs[@]}" "${CMD[@]}" \
        < "$STDIN" > "$base.out" 2> "$base.err"
    local rc=$?
    local line t m
    line=$(tail -n1 "$base.time" 2>/dev/null)
    read -r t m <<< "$line"
    [[ $t =~ ^[0-9.]+$ ]] || t=
    [[ $m =~ ^[0-9]+$ ]] || m=
    if [ $rc -eq 0 ] && [ -n "$PRODUCT" ]; then
        md5sum < "$PRODUCT" >> "$base.out"
    fi
    if [ $rc -ne 0 ] && [ -n "$t" ] && [ ${#TIMEOUT[@]} -gt 0 ] &&
        { [ $rc -eq 124 ] || awk -v t="$t" -v l="$BENCH_TIMEOUT" 'BEGIN{exit !(t >= l - 0.5)}'; }; then
        rc=TIMEOUT
    fi
    R_TIME[$b,$label,$rep]=$t
    R_RSS[$b,$label,$rep]=$m
    R_RC[$b,$label,$rep]=$rc
    R_OUT[$b,$label,$rep]=$(md5sum < "$base.out" | cut -c1-32)
    log "   $(printf '%-14s %-14s rep %d: ' "$b" "$label" "$rep")${t:-?} s  ${m:-?} KiB  rc=$rc"
}

log "== timer: $TIMER_NAME; REPEAT=$REPEAT; timeout ${BENCH_TIMEOUT}s"
for b in $BENCHES; do
    if ! bench_setup "$b"; then
        SKIPPED[$b]=1
        log "== $b: skipped (program not available)"
        continue
    fi
    log "== $b: ${CMD[*]}"
    for ((rep = 1; rep <= REPEAT; rep++)); do
        # interleave: every allocator once per round, starting one further
        # along each round so that no allocator always runs first
        for ((k = 0; k < NA; k++)); do
            IFS='|' read -r label pre extra <<< "${ALLOCS[$(((k + rep - 1) % NA))]}"
            run_one "$b" "$label" "$pre" "$extra" "$rep"
        done
    done
done

# ---------------------------------------------------------------- report
median() { # numbers... -> median (empty if none)
    printf '%s\n' "$@" | grep -E '^[0-9.]+$' | sort -g |
        awk '{v[NR]=$1} END{if (NR==0) exit; if (NR%2) print v[(NR+1)/2]; else print (v[NR/2]+v[NR/2+1])/2}'
}

# cell state for (bench,label): sets C_STATE (ok/FAIL(rc)/TIMEOUT/BAD-OUTPUT),
# C_T, C_M (medians)
cell() {
    local b=$1 label=$2 ts=() ms=() rep rc
    C_STATE=ok
    for ((rep = 1; rep <= REPEAT; rep++)); do
        rc=${R_RC[$b,$label,$rep]:-}
        if [ "$rc" = TIMEOUT ]; then C_STATE=TIMEOUT; break; fi
        if [ "$rc" != 0 ]; then C_STATE="FAIL($rc)"; break; fi
        if [ -n "${REF_OUT:-}" ] && [ "${R_OUT[$b,$label,$rep]}" != "$REF_OUT" ]; then
            C_STATE=BAD-OUTPUT
        fi
        ts+=("${R_TIME[$b,$label,$rep]}")
        ms+=("${R_RSS[$b,$label,$rep]}")
    done
    C_T=$(median "${ts[@]}")
    C_M=$(median "${ms[@]}")
}

labels=()
for a in "${ALLOCS[@]}"; do labels+=("${a%%|*}"); done

RATIO_ROWS=() RAW_ROWS=() PROBLEMS=()
for b in $BENCHES; do
    [ -n "${SKIPPED[$b]:-}" ] && continue
    # the reference output: glibc's first run, if it succeeded
    REF_OUT=
    [ "${R_RC[$b,glibc,1]:-}" = 0 ] && REF_OUT=${R_OUT[$b,glibc,1]}
    cell "$b" glibc # (its later runs are checked against its first)
    gstate=$C_STATE gt=$C_T gm=$C_M
    if [ "$gstate" = ok ]; then
        ratio_row="| $b | $(awk -v t="$gt" -v m="$gm" 'BEGIN{printf "%.2f s / %.1f MiB", t, m/1024}')"
    else
        ratio_row="| $b | $gstate"
    fi
    raw_row="| $b"
    for label in "${labels[@]}"; do
        cell "$b" "$label"
        if [ "$C_STATE" = ok ] || [ "$C_STATE" = BAD-OUTPUT ]; then
            raw=$(awk -v t="$C_T" -v m="$C_M" 'BEGIN{printf "%.2f s / %.1f MiB", t, m/1024}')
        else
            raw=$C_STATE
        fi
        raw_row+=" | $raw"
        if [ "$C_STATE" != ok ]; then
            for ((rep = 1; rep <= REPEAT; rep++)); do
                base=$LOGS/$b.$label.$rep
                if [ "${R_RC[$b,$label,$rep]}" != 0 ] || [ "${R_OUT[$b,$label,$rep]}" != "$REF_OUT" ]; then
                    PROBLEMS+=("$b under $label (run $rep): $C_STATE" "$base")
                    break
                fi
            done
        fi
        [ "$label" = glibc ] && continue
        if [ "$C_STATE" != ok ]; then
            c=$C_STATE
            [ "$C_STATE" = BAD-OUTPUT ] && c="BAD-OUTPUT $(awk -v t="$C_T" -v g="$gt" -v m="$C_M" -v h="$gm" \
                'BEGIN{printf "%.2fx / %.2fx", t/g, m/h}' 2>/dev/null)"
        elif [ "$gstate" != ok ] || [ -z "$gt" ] || [ -z "$gm" ]; then
            c=$raw
        else
            c=$(awk -v t="$C_T" -v g="$gt" -v m="$C_M" -v h="$gm" 'BEGIN{
                if (g > 0) tr = sprintf("%.2fx", t / g); else tr = sprintf("%.2f s", t);
                printf "%s / %.2fx", tr, m / h }')
        fi
        ratio_row+=" | $c"
    done
    RATIO_ROWS+=("$ratio_row |")
    RAW_ROWS+=("$raw_row |")
done

hdr="| benchmark | glibc (time / peak RSS)"
sep="| --- | ---"
rawhdr="| benchmark"
rawsep="| ---"
for label in "${labels[@]}"; do
    rawhdr+=" | $label"
    rawsep+=" | ---"
    [ "$label" = glibc ] && continue
    hdr+=" | $label"
    sep+=" | ---"
done

version() { dpkg-query -W -f='${Version}' "$1" 2>/dev/null || echo '?'; }
{
    echo "# ward benchmark results"
    echo
    echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(uname -sr), $(nproc) cores," \
        "$(awk -F': ' '/model name/{print $2; exit}' /proc/cpuinfo)."
    echo "REPEAT=$REPEAT (median shown); timer: $TIMER_NAME; peak RSS is the"
    echo "largest of the process and the children it waited for."
    echo "Allocators: $(for a in "${ALLOCS[@]}"; do IFS='|' read -r l p e <<< "$a";
        printf '%s%s%s; ' "$l" "${p:+ = $p}" "${e:+ with $e}"; done | sed 's/; $/./')"
    if [ -n "$WARD_STAMP" ]; then
        rev=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')
        [ -n "$(git -C "$ROOT" status --porcelain -- src include 2>/dev/null)" ] && rev="$rev + uncommitted changes"
        echo "ward: $WARD built $(date -u -d "@$WARD_STAMP" '+%Y-%m-%d %H:%M:%S UTC'), source at $rev."
        if [ "$(stat -c %Y "$WARD" 2>/dev/null)" != "$WARD_STAMP" ]; then
            echo "**Warning: $WARD was rebuilt while this ran; later runs used the new build.**"
        fi
    fi
    echo "Debian packages: jemalloc $(version libjemalloc2), tcmalloc $(version libtcmalloc-minimal4)," \
        "mimalloc $(version libmimalloc2.0), glibc $(version libc6)."
    echo
    echo "Cells: wall time ratio / peak RSS ratio, both against glibc (lower is"
    echo "better; 1.35x = 35% more).  FAIL(rc): the run exited with status rc"
    echo "(128+N: killed by signal N); TIMEOUT: killed after ${BENCH_TIMEOUT}s;"
    echo "BAD-OUTPUT: its output differs from glibc's."
    echo
    echo "$hdr |"
    echo "$sep |"
    printf '%s\n' "${RATIO_ROWS[@]}"
    echo
    echo "Raw medians (wall time / peak RSS):"
    echo
    echo "$rawhdr |"
    echo "$rawsep |"
    printf '%s\n' "${RAW_ROWS[@]}"
    for b in "${!SKIPPED[@]}"; do echo; echo "Skipped: $b (program not installed)."; done
    if [ ${#PROBLEMS[@]} -gt 0 ]; then
        echo
        echo "## Problems"
        for ((i = 0; i < ${#PROBLEMS[@]}; i += 2)); do
            base=${PROBLEMS[i + 1]}
            echo
            echo "- ${PROBLEMS[i]}"
            echo
            echo '  ```'
            sed 's/^/  $ /' "$base.cmd"
            tail -n 12 "$base.err" | cut -c1-300 | sed 's/^/  /'
            case ${PROBLEMS[i]} in *BAD-OUTPUT*)
                echo "  its output:"; head -n 5 "$base.out" | cut -c1-200 | sed 's/^/    /'
                echo "  glibc's output:"; head -n 5 "${base%.*.*}.glibc.1.out" | cut -c1-200 | sed 's/^/    /' ;;
            esac
            tail -n 2 "$base.time" 2>/dev/null | head -n1 | grep -v '^[0-9.]* [0-9]*$' | sed 's/^/  /'
            echo '  ```'
        done
    fi
} > "$OUT/results.md"

echo
cat "$OUT/results.md"
echo
echo "(written to $OUT/results.md; per-run logs in $LOGS)"
exit 0
