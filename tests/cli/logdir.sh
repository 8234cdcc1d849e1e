#!/usr/bin/env bash
# Reports into files (log_path, ward --log-dir): run by tests/run.sh with
# WARD_BUILD set.  A tree of processes (a shell, two buggy children, one
# clean one) runs under `ward --log-dir=DIR`; each buggy process's report
# must be in DIR/ward.<its pid> and on no stderr, the clean process must
# leave no file, and a bad log_path must fail at start-up with a clear
# message.
set -u
build=${WARD_BUILD:?WARD_BUILD is not set}
ward="$build/ward"
bugs="$build/tests/cli_bugs"
lib="$build/libward.so"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
fail() {
    echo "FAIL: $*"
    fails=$((fails + 1))
}

echo "a tree of processes under ward --log-dir"
dir="$tmp/logs/run1" # two levels, made by ward
"$ward" --on_error=exit --exitcode=23 --log-dir="$dir" -- sh -c "
    '$bugs' double_free; echo \"double_free \$?\"
    '$bugs' overflow; echo \"overflow \$?\"
    '$bugs' clean; echo \"clean \$?\"" >"$tmp/out" 2>"$tmp/err" </dev/null
rc=$?
[ "$rc" -eq 0 ] || fail "the shell exited $rc"
grep -q "^double_free 23" "$tmp/out" || fail "double_free did not exit 23: $(cat "$tmp/out")"
grep -q "^overflow 23" "$tmp/out" || fail "overflow did not exit 23"
grep -q "^clean 0" "$tmp/out" || fail "clean did not exit 0"
if grep -q "ward:" "$tmp/err"; then
    fail "a report went to stderr:"
    cat "$tmp/err"
fi
n=$(find "$dir" -name 'ward.*' | wc -l)
[ "$n" -eq 2 ] || fail "$n report files in $dir, expected 2 (one per buggy process): $(ls "$dir")"
grep -l "^ward: double free: free(0x" "$dir"/ward.* >/dev/null 2>&1 || fail "no file holds the double free"
grep -l "^ward: heap buffer overflow: free(0x" "$dir"/ward.* >/dev/null 2>&1 || fail "no file holds the overflow"
for f in "$dir"/ward.*; do
    [ -f "$f" ] || continue
    pid=${f##*.}
    case "$pid" in
    '' | *[!0-9]*) fail "$f: not named after a pid" ;;
    esac
    grep -q "ward: backtrace:" "$f" || fail "$f has no backtrace"
done

echo "WARD_OPTIONS=log_path=PREFIX without the launcher"
WARD_OPTIONS="log_path=$tmp/direct:on_error=exit:exitcode=23" LD_PRELOAD="$lib" "$bugs" double_free \
    2>"$tmp/err" </dev/null
rc=$?
[ "$rc" -eq 23 ] || fail "exited $rc, expected 23"
ls "$tmp"/direct.* >/dev/null 2>&1 || fail "no $tmp/direct.<pid>"
grep -q "ward:" "$tmp/err" && fail "a report went to stderr"

echo "a log_path whose directory does not exist fails at start-up"
WARD_OPTIONS="log_path=$tmp/missing/dir/ward" LD_PRELOAD="$lib" /bin/true 2>"$tmp/err" </dev/null
rc=$?
[ "$rc" -ne 0 ] || fail "/bin/true exited 0"
grep -q "log_path '$tmp/missing/dir/ward': cannot create files in" "$tmp/err" ||
    fail "no clear message: $(cat "$tmp/err")"

echo "a log_path longer than 255 bytes is refused"
long=$(printf 'x%.0s' $(seq 300))
WARD_OPTIONS="log_path=$tmp/$long" LD_PRELOAD="$lib" /bin/true 2>"$tmp/err" </dev/null
[ $? -ne 0 ] || fail "a 300-byte log_path was taken"
grep -q "log_path is longer than 255 bytes" "$tmp/err" || fail "no clear message: $(cat "$tmp/err")"

if [ "$fails" -ne 0 ]; then
    echo "logdir: $fails failure(s)"
    exit 1
fi
echo "logdir: all passed"
