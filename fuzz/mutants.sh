#!/usr/bin/env bash
# fuzz/mutants.sh BUILD [NAME...]: mutation testing of the fuzz harnesses
# (make mutants; make check runs it as the test "mutants").
#
# Each mutant of fuzz/mutants/list is applied to a copy of src/ in
# BUILD/mutants/NAME (never to the working tree); only the changed file is
# compiled (a header: every file), twice (the harness build, -DWARD_TESTING,
# and the preload build), and put in copies of BUILD's libward-prefixed.a
# and libward.so.  Then, per mutant:
#   - the witness (fuzz/mutants/witness.c, tests/misuse.c's child mode or
#     fuzz/mutants/witness_testing.c) runs against the original and the
#     mutant: their outcomes (exit status, stdout, the class of ward's first
#     report) must differ;
#   - the replay: every committed corpus through the gcc replay drivers
#     (t_fuzz_ops, t_fuzz_misuse, t_fuzz_threads) linked with the mutant,
#     under each option set of REPLAYS below; a replay that fails (a
#     finding: abort, or a timeout) kills the mutant;
#   - with FUZZ_SECONDS=N (> 0): each libFuzzer harness, linked with the
#     mutant built like BUILD/fuzz-lib (clang, coverage, UBSan), fuzzes from
#     an empty corpus for N seconds with -seed=1 (misuse, ops, threads,
#     stopping at the first that finds it).
# The unmutated build must be clean first: every replay passes, every
# witness runs.  Prints the kill table (also BUILD/mutants/table.md) and
# exits 1 if a replay, a witness or the clean build failed, naming them.
#
# Environment: MUTANT_JOBS (default 2) mutants at a time; FUZZ_SECONDS
# (default 0); MUTANT_FIRST=1 stops each mutant's replay at the first
# harness that kills it (make check: quicker, the table names one killer).
# The compiler flags come from BUILD/mutants/env, which the Makefile writes
# (make test-bins).

set -u
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root" || exit 2
list=$root/fuzz/mutants/list

# the replays: harness:WARD_OPTIONS (the harness puts its own defaults first)
REPLAYS=(
    misuse: ops: threads:
    misuse:foreign=warn misuse:fault_handler=0 misuse:checksum=siphash misuse:poison=full
    ops:checksum=siphash ops:poison=full ops:quarantine_bytes=0 ops:sample=1 ops:stacks=1 ops:fault_handler=0
    threads:quarantine_bytes=0 threads:sample=1 threads:stacks=1
)

mutant_names() { sed -n 's/^mutant \([a-z0-9-]*\)$/\1/p' "$list"; }

# field NAME KEY: a header line of mutant NAME's block
field() {
    awk -v m="$1" -v k="$2" '$1 == "mutant" { on = $2 == m; next } on && $1 == k { sub("^" k " ", ""); print; exit }' "$list"
}

# apply NAME FILE: the block's replacement, in place; fails unless the
# original occurs exactly once
apply() {
    python3 - "$list" "$1" "$2" <<'EOF'
import sys
lst, name, path = sys.argv[1:]
old, new, on = [], [], False
for line in open(lst).read().split("\n"):
    if line.startswith("mutant "):
        on = line.split()[1] == name
        continue
    if not on:
        continue
    if line == "":
        break
    if line.startswith("- ") or line == "-":
        old.append(line[2:])
    elif line.startswith("+ ") or line == "+":
        new.append(line[2:])
src = open(path).read()
o = "\n".join(old) + "\n"
n = "\n".join(new) + "\n" if new else ""
if not old or src.count(o) != 1:
    sys.exit("mutant %s: the original occurs %d times in %s" % (name, src.count(o) if old else 0, path))
open(path, "w").write(src.replace(o, n))
EOF
}

# outcome LIB BIN ARGS...: how a witness run ends, what it prints, and the
# class of ward's first report ("ward: CLASS: ...")
outcome() {
    local lib=$1 opts=$2 out err rc
    shift 2
    out=$(mktemp) err=$(mktemp)
    env ${lib:+LD_PRELOAD=$lib} WARD_OPTIONS="$opts" timeout -k 5 30 "$@" >"$out" 2>"$err" </dev/null
    rc=$?
    printf 'exit %s; %s; %s' "$rc" "$(tr '\n' ' ' <"$out")" \
        "$(grep -m1 '^ward: ' "$err" | sed 's/0x[0-9a-f]*/0x?/g; s/thread [0-9]*/thread ?/g')"
    rm -f "$out" "$err"
}

# witness_run DIR W OPTS: the outcome of witness W against the build in DIR
witness_run() {
    local dir=$1 w=$2 opts=$3
    case "$w" in
    misuse:*) outcome "$dir/libward.so" "$opts" "$build/tests/misuse_runner" "${w#misuse:}" ;;
    testing:*) outcome "" "$opts" "$dir/witness_testing" "${w#testing:}" ;;
    *) outcome "$dir/libward.so" "$opts" "$base/witness" "$w" ;;
    esac
}

# replay DIR HARNESS OPTS: every corpus of HARNESS through DIR's driver
replay() {
    local dir=$1 h=$2 o=$3
    env WARD_FUZZ_SKIP_KNOWN=0 WARD_OPTIONS="$o" timeout -k 5 120 "$dir/t_fuzz_$h" "$root/corpus/$h" \
        >"$dir/replay-$h-${o:-default}.log" 2>&1 </dev/null
}

link_drivers() { # DIR: the replay drivers and witness_testing against DIR/libward-prefixed.a
    local dir=$1 h
    for h in ops misuse threads; do
        $CC $CFLAGS_TEST "$base/$h.o" "$base/main.o" "$dir/libward-prefixed.a" -o "$dir/t_fuzz_$h" $LIBS || return 1
    done
    $CC $CFLAGS_TEST "$base/witness_testing.o" "$dir/libward-prefixed.a" -o "$dir/witness_testing" $LIBS
}

lib_srcs() { (cd "$root/src" && ls *.c); }

# ---- one mutant (run by xargs) ---------------------------------------------
one() {
    local m=$1 file w wopts
    local dir=$work/$m
    rm -rf "$dir" && mkdir -p "$dir/pre" "$dir/exp"
    file=$(field "$m" file)
    w=$(field "$m" witness)
    wopts=${w#* } && [ "$wopts" = "$w" ] && wopts=
    w=${w%% *}
    cp -r "$root/src" "$root/include" "$dir/"
    local res="$dir/result"
    printf '%s\t' "$m" >"$res"
    if ! apply "$m" "$dir/$file" 2>"$dir/build.log"; then
        printf 'BUILD\t-\t-\n' >>"$res"
        return
    fi
    local srcs f
    case "$file" in
    *.c) srcs=$(basename "$file") ;;
    *) srcs=$(lib_srcs) ;;
    esac
    (
        cd "$dir" || exit 1
        for f in $srcs; do
            $CC $CFLAGS_LIB -Wno-error -DWARD_TESTING -c "src/$f" -o "pre/${f%.c}.o" || exit 1
            $CC $CFLAGS_LIB -Wno-error -DWARD_EXPORT_LIBC -c "src/$f" -o "exp/${f%.c}.o" || exit 1
        done
        cp "$build/libward-prefixed.a" libward-prefixed.a && ar r libward-prefixed.a pre/*.o || exit 1
        objs=
        for f in $(lib_srcs); do
            if [ -f "exp/${f%.c}.o" ]; then objs="$objs $dir/exp/${f%.c}.o"; else objs="$objs $build/obj/${f%.c}.o"; fi
        done
        cd "$root" && $CC $LDFLAGS_LIB -o "$dir/libward.so" $objs $LIBS || exit 1
    ) >>"$dir/build.log" 2>&1 || { printf 'BUILD\t-\t-\n' >>"$res"; return; }
    link_drivers "$dir" >>"$dir/build.log" 2>&1 || { printf 'BUILD\t-\t-\n' >>"$res"; return; }

    # the witness
    local wo wm
    wo=$(witness_run "$base" "$w" "$wopts")
    wm=$(witness_run "$dir" "$w" "$wopts")
    printf 'original: %s\nmutant:   %s\n' "$wo" "$wm" >"$dir/witness.log"
    if [ "$wo" != "$wm" ]; then printf 'ok\t' >>"$res"; else printf 'NO\t' >>"$res"; fi

    # the replay
    local killers= r h o
    for r in "${REPLAYS[@]}"; do
        h=${r%%:*} o=${r#*:}
        if ! { replay "$dir" "$h" "$o"; } 2>/dev/null; then
            killers="$killers${killers:+ }$h${o:+($o)}"
            [ "${MUTANT_FIRST:-0}" = 1 ] && break
        fi
    done
    printf '%s\t' "${killers:--}" >>"$res"

    # fuzzing from an empty corpus
    local fz=-
    if [ "${FUZZ_SECONDS:-0}" -gt 0 ]; then
        fz=$(fuzz_mutant "$m" "$dir" "$file" "$srcs")
    fi
    printf '%s\n' "$fz" >>"$res"
}

fuzz_mutant() { # NAME DIR FILE SRCS: prints "harness Ns" or "survived"
    local m=$1 dir=$2 srcs=$4 f h
    mkdir -p "$dir/fz"
    (
        cd "$dir" || exit 1
        for f in $srcs; do
            clang $FUZZ_LIB_CFLAGS -Wno-error -DWARD_TESTING -c "src/$f" -o "fz/${f%.c}.o" || exit 1
        done
        cp "$build/fuzz-lib/libward-prefixed.a" fz/lib.a && ar r fz/lib.a fz/*.o || exit 1
        for h in misuse ops threads; do
            clang $FUZZ_CFLAGS -fsanitize=fuzzer $FUZZ_UBSAN "$base/fz-$h.o" fz/lib.a -o "fz/$h" $LIBS || exit 1
        done
    ) >>"$dir/build.log" 2>&1 || { echo BUILD; return; }
    for h in misuse ops threads; do
        local run=$dir/fz/run-$h t0 t1 opts=()
        rm -rf "$run" && mkdir -p "$run/corpus"
        [ -f "$root/fuzz/$h.dict" ] && opts+=("-dict=$root/fuzz/$h.dict")
        t0=$(date +%s)
        (cd "$run" && WARD_FUZZ_SKIP_KNOWN=1 timeout -k 5 $((FUZZ_SECONDS + 60)) "$dir/fz/$h" -seed=1 \
            -max_total_time="$FUZZ_SECONDS" -max_len=1024 -timeout=20 -error_exitcode=1 "${opts[@]}" \
            -artifact_prefix="$run/" corpus) >"$run.log" 2>&1 </dev/null
        local rc=$?
        t1=$(date +%s)
        if [ $rc -ne 0 ]; then
            echo "$h $((t1 - t0))s"
            return
        fi
    done
    echo survived
}

if [ "${1:-}" = --one ]; then
    build=$2 work=$build/mutants base=$work/base
    # shellcheck disable=SC1091
    . "$work/env"
    one "$3"
    exit 0
fi

# ---- the whole run -----------------------------------------------------------
if [ $# -lt 1 ]; then
    echo "usage: $0 BUILD [NAME...]" >&2
    exit 2
fi
build=$(cd "$1" && pwd) || exit 2
shift
work=$build/mutants base=$work/base
if [ ! -f "$work/env" ]; then
    echo "mutants: $work/env missing (make test-bins writes it)" >&2
    exit 2
fi
# shellcheck disable=SC1091
. "$work/env"
names=("$@")
[ ${#names[@]} -eq 0 ] && mapfile -t names < <(mutant_names)
t_start=$(date +%s)

# the unmutated build: the replay drivers and witnesses, every replay clean
rm -rf "$base" && mkdir -p "$base"
for h in ops misuse threads; do
    $CC $CFLAGS_TEST -Ifuzz -c "$root/fuzz/$h.c" -o "$base/$h.o" -I"$root/include" -I"$root/fuzz" || exit 1
done
$CC $CFLAGS_TEST -c "$root/fuzz/main.c" -o "$base/main.o" -DWARD_CORPUS='"'"$root/corpus"'"' || exit 1
$CC $CFLAGS_TEST -I"$root/include" -c "$root/fuzz/mutants/witness_testing.c" -o "$base/witness_testing.o" || exit 1
$CC $CFLAGS_TEST "$root/fuzz/mutants/witness.c" -o "$base/witness" || exit 1
cp "$build/libward-prefixed.a" "$base/" && ln -sf "$build/libward.so" "$base/libward.so"
link_drivers "$base" || exit 1
if [ "${FUZZ_SECONDS:-0}" -gt 0 ]; then
    [ -f "$build/fuzz-lib/libward-prefixed.a" ] || { echo "mutants: $build/fuzz-lib missing (make fuzz-libfuzzer)" >&2; exit 2; }
    for h in ops misuse threads; do
        clang $FUZZ_CFLAGS -fsanitize=fuzzer $FUZZ_UBSAN -I"$root/include" -I"$root/fuzz" -c "$root/fuzz/$h.c" \
            -o "$base/fz-$h.o" || exit 1
    done
fi
unclean=()
for r in "${REPLAYS[@]}"; do
    h=${r%%:*} o=${r#*:}
    replay "$base" "$h" "$o" || unclean+=("$h${o:+($o)}")
done
# every witness must run under the original (an exit status of 0; a
# scenario named bug_* and a misuse case commit a bug: ward reports it)
for m in "${names[@]}"; do
    w=$(field "$m" witness)
    wopts=${w#* } && [ "$wopts" = "$w" ] && wopts=
    case "$w" in
    misuse:* | testing:* | bug_*) ;;
    *)
        o=$(witness_run "$base" "${w%% *}" "$wopts")
        [[ "$o" == "exit 0;"* ]] || unclean+=("witness ${w%% *}: $o")
        ;;
    esac
done
if [ ${#unclean[@]} -gt 0 ]; then
    printf 'mutants: the unmutated build is not clean: %s\n' "${unclean[@]}"
    exit 1
fi
echo "mutants: the unmutated build is clean (${#REPLAYS[@]} replays); ${#names[@]} mutants, ${MUTANT_JOBS:-2} at a time"

export FUZZ_SECONDS=${FUZZ_SECONDS:-0} MUTANT_FIRST=${MUTANT_FIRST:-0}
printf '%s\n' "${names[@]}" | xargs -P "${MUTANT_JOBS:-2}" -I{} "$0" --one "$build" {}

# the table
table=$work/table.md
{
    echo "| mutant | what | witness | killed by replay | killed by fuzzing${FUZZ_SECONDS:+ (${FUZZ_SECONDS} s per harness)} |"
    echo "| --- | --- | --- | --- | --- |"
    for m in "${names[@]}"; do
        IFS=$'\t' read -r _ wok killers fz <"$work/$m/result" 2>/dev/null || { wok=BUILD killers=- fz=-; }
        [ "$FUZZ_SECONDS" -gt 0 ] || fz="not run"
        echo "| $m | $(field "$m" what) | $wok | $killers | $fz |"
    done
} >"$table"
cat "$table"
bad=()
nk=0
nf=0
for m in "${names[@]}"; do
    IFS=$'\t' read -r _ wok killers fz <"$work/$m/result" 2>/dev/null || { bad+=("$m (not run)"); continue; }
    [ "$wok" = ok ] || bad+=("$m (witness: $wok)")
    if [ "$killers" = - ]; then bad+=("$m (survived the replay)"); else nk=$((nk + 1)); fi
    case "$fz" in - | survived | BUILD) ;; *) nf=$((nf + 1)) ;; esac
done
echo "mutants: ${#names[@]} mutants, $nk killed by the replay$([ "$FUZZ_SECONDS" -gt 0 ] && echo ", $nf by fuzzing ($FUZZ_SECONDS s per harness)"); $(($(date +%s) - t_start)) s"
if [ ${#bad[@]} -gt 0 ]; then
    printf 'mutants: FAIL %s\n' "${bad[@]}"
    exit 1
fi
exit 0
