# Sourced by tests/real/*.sh: run a real program plainly and under ward and
# compare what it printed and how it exited.
#
#   . "$(dirname "$0")/common.bash"
#   need python3                 # exit 77 (skip) when not installed
#   compare NAME CMD [ARGS...]   # run twice, diff; sets $failed on a mismatch
#   finish                       # exit 0, or 1 after a mismatch
#
# CMD runs in $work (a private temp dir, removed on exit) with its stdin from
# /dev/null; its stdout is compared, its stderr only shown.  The ward run
# has LD_PRELOAD="$WARD_LIB" and inherits it into every child process.

set -u
set -o pipefail

export LC_ALL=C
export TZ=UTC

failed=0
test_name=$(basename "$0" .sh)

say() { printf '%s: %s\n' "$test_name" "$*" >&2; }
# say, naming the comparison when the script makes more than one
csay() {
    if [ "$name" = "$test_name" ]; then say "$*"; else say "$name: $*"; fi
}

if [ -z "${WARD_LIB:-}" ]; then
    say "WARD_LIB is not set (tests/run.sh sets it to the absolute path of libward.so)"
    exit 1
fi
case "$WARD_LIB" in
/*) ;;
*) say "WARD_LIB must be an absolute path: $WARD_LIB"; exit 1 ;;
esac
if [ ! -f "$WARD_LIB" ]; then
    say "WARD_LIB=$WARD_LIB does not exist"
    exit 1
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/ward-real-$test_name.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT
cd "$work" || exit 1

# need PROG...: skip (77) unless every program is on PATH
need() {
    local p
    for p in "$@"; do
        if ! command -v "$p" >/dev/null 2>&1; then
            say "$p not installed: skipped"
            exit 77
        fi
    done
}

# seconds since t (from ms_now), with one decimal
ms_now() { echo $(( $(date +%s%N) / 1000000 )); }
secs_since() {
    local d=$(( $(ms_now) - $1 ))
    printf '%d.%d' $((d / 1000)) $((d % 1000 / 100))
}

# compare NAME CMD [ARGS...]: run CMD plainly, then under ward, each time in
# a fresh empty directory ($work/NAME.plain, $work/NAME.ward), so a command
# that makes files (a git repo) finds the same state both times; inputs are
# passed by absolute path ($work/...)
compare() {
    local name=$1
    shift
    local plain="$work/$name.plain" ward="$work/$name.ward"
    local t rc_plain rc_ward tp tw
    mkdir "$plain" "$ward" || exit 1
    t=$(ms_now)
    (cd "$plain" && "$@") </dev/null >"$plain.stdout" 2>"$plain.stderr"
    rc_plain=$?
    tp=$(secs_since "$t")
    t=$(ms_now)
    (cd "$ward" && LD_PRELOAD="$WARD_LIB" "$@") </dev/null >"$ward.stdout" 2>"$ward.stderr"
    rc_ward=$?
    tw=$(secs_since "$t")
    csay "plain exit $rc_plain in ${tp}s, ward exit $rc_ward in ${tw}s, $(wc -l <"$plain.stdout") lines of output"

    local bad=0
    # the dynamic loader only warns when it cannot preload: then the "ward"
    # run was a plain run and proves nothing
    if grep -q "ld.so: object .* cannot be preloaded" "$ward.stderr"; then
        csay "ward was not loaded:"
        grep "ld.so:" "$ward.stderr" | head -5 >&2
        bad=1
    fi
    if [ "$rc_plain" != "$rc_ward" ]; then
        csay "exit status differs: plain $rc_plain, under ward $rc_ward"
        bad=1
    fi
    if ! cmp -s "$plain.stdout" "$ward.stdout"; then
        csay "output differs (--- plain, +++ ward):"
        diff -u "$plain.stdout" "$ward.stdout" | head -60 >&2
        bad=1
    fi
    if [ ! -s "$plain.stdout" ]; then
        csay "the plain run printed nothing: the test itself is broken"
        bad=1
    fi
    if [ "$bad" = 1 ]; then
        csay "stderr of the plain run (last 20 lines):"
        tail -20 "$plain.stderr" >&2
        csay "stderr of the ward run (last 40 lines):"
        tail -40 "$ward.stderr" >&2
        failed=1
    fi
    return 0
}

finish() {
    if [ "$failed" != 0 ]; then
        say "FAILED"
        exit 1
    fi
    exit 0
}
