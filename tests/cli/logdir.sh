#!/usr/bin/env bash
# Reports into files (log_path, ward --log-dir): run by tests/run.sh with
# WARD_BUILD set.  A tree of processes (a shell, two buggy children, one
# clean one) runs under `ward --log-dir=DIR`; each buggy process's report
# must be in DIR/ward.<its pid> and on no stderr, the clean process must
# leave no file, and a bad log_path must fail at start-up with a clear
# message.
. "$(dirname "$0")/common.bash"

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

echo "ward report DIR"
"$ward" report "$dir" >"$tmp/report" 2>&1
rc=$?
[ "$rc" -eq 1 ] || fail "ward report exited $rc, expected 1 (reports found)"
grep -q "^ward report: 2 reports in 2 files of $dir, 2 distinct$" "$tmp/report" || fail "ward report's summary line"
grep -qE "^  double free +1$" "$tmp/report" || fail "ward report: no count for double free"
grep -qE "^  heap buffer overflow +1$" "$tmp/report" || fail "ward report: no count for heap buffer overflow"
grep -q "from: [0-9]*: $bugs double_free" "$tmp/report" || fail "ward report: the double free's process and command"
grep -q "found in release_again" "$tmp/report" || fail "ward report: where the double free was found"
for f in "$dir"/ward.*; do
    head -1 "$f" | grep -q "^ward: process ${f##*.}: $bugs " || fail "$f does not start with its process line"
done
# the same bug in two processes is one distinct report, counted twice
dir2="$tmp/logs/run2"
"$ward" --on_error=exit --log-dir="$dir2" -- sh -c "'$bugs' double_free; '$bugs' double_free; true" \
    >/dev/null 2>&1 </dev/null
"$ward" report "$dir2" >"$tmp/report" 2>&1
grep -q "^ward report: 2 reports in 2 files of $dir2, 1 distinct$" "$tmp/report" ||
    fail "two double frees at the same place are not one distinct report: $(head -1 "$tmp/report")"
grep -q "^\[1\] 2 times, from: " "$tmp/report" || fail "the distinct report does not count 2"
mkdir -p "$tmp/empty"
"$ward" report "$tmp/empty" >"$tmp/report" 2>&1 || fail "ward report of an empty directory exited $?"
grep -q "^ward report: 0 reports in 0 files" "$tmp/report" || fail "empty directory summary"

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

finish
