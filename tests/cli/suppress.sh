#!/usr/bin/env bash
# Suppressions, JSON reports and SARIF (tests/cli/bugs.c's bugs): run by
# tests/run.sh with WARD_BUILD set.  A suppressed double free must not be
# printed nor end the process, must be counted (verbosity=1, ward report);
# a suppression must match by function, file and module; one that does not
# match, or matches an error that leaves the heap unsafe, must leave the
# report; the start-up errors must name the file and line.  Then
# report_format=json must parse with python3's json module, and ward
# report --sarif must validate against tests/cli/sarif-min.schema.json.
. "$(dirname "$0")/common.bash"
run() { # OPTIONS BUG: runs the bug under ward, stderr in $tmp/err, status in $rc
    WARD_OPTIONS="$1" LD_PRELOAD="$lib" "$bugs" "$2" >"$tmp/out" 2>"$tmp/err" </dev/null
    rc=$?
}

echo "start-up errors"
run "suppressions=$tmp/missing.supp" clean
[ "$rc" -ne 0 ] || fail "a missing suppressions file was accepted"
grep -q "suppressions '$tmp/missing.supp': cannot open it" "$tmp/err" || fail "missing file: $(cat "$tmp/err")"
printf '# a comment\n\ndouble_free:release_again\nno colon here\n' >"$tmp/bad1.supp"
run "suppressions=$tmp/bad1.supp" clean
[ "$rc" -ne 0 ] || fail "a malformed line was accepted"
grep -q "suppressions '$tmp/bad1.supp' line 4: 'no colon here' is not KIND:PATTERN" "$tmp/err" ||
    fail "malformed line: $(cat "$tmp/err")"
printf 'double_free:x\ndubble_free:release_again\n' >"$tmp/bad2.supp"
run "suppressions=$tmp/bad2.supp" clean
[ "$rc" -ne 0 ] || fail "an unknown kind was accepted"
grep -q "suppressions '$tmp/bad2.supp' line 2: unknown kind 'dubble_free'" "$tmp/err" ||
    fail "unknown kind: $(cat "$tmp/err")"
printf 'double_free:\n' >"$tmp/bad3.supp"
run "suppressions=$tmp/bad3.supp" clean
grep -q "line 1: 'double_free:' is not KIND:PATTERN" "$tmp/err" || fail "empty pattern: $(cat "$tmp/err")"
head -c 70000 /dev/zero | tr '\0' '#' >"$tmp/big.supp"
run "suppressions=$tmp/big.supp" clean
grep -q "suppressions '$tmp/big.supp' is larger than 65536 bytes" "$tmp/err" || fail "too big: $(cat "$tmp/err")"
run "report_format=xml" clean
[ "$rc" -ne 0 ] || fail "report_format=xml was accepted"
grep -q "bad value 'xml' for report_format" "$tmp/err" || fail "report_format=xml: $(cat "$tmp/err")"

echo "a suppressed double free: not printed, not fatal, counted"
for pat in release_again 'release_*' '*/cli/bugs.c' bugs.c cli_bug? "$bugs" 'double free:release_again' '*:release_again'; do
    printf '# known bug\ndouble_free:nothing_matches_this\n%s\n' "${pat/#/$( [[ $pat == *:* ]] || echo double_free:)}" \
        >"$tmp/s.supp"
    run "suppressions=$tmp/s.supp:verbosity=1" double_free
    [ "$rc" -eq 0 ] || fail "pattern '$pat': exited $rc"
    grep -q "ward: double free" "$tmp/err" && fail "pattern '$pat': the report was printed"
    grep -q "suppression '.*' ($tmp/s.supp line 3) matched 1 report$" "$tmp/err" ||
        fail "pattern '$pat': no count at exit: $(cat "$tmp/err")"
    grep -q "suppression 'double_free:nothing_matches_this' ($tmp/s.supp line 2) matched nothing" "$tmp/err" ||
        fail "pattern '$pat': the unused suppression was not named"
done
printf 'double_free:release_again\n' >"$tmp/s.supp"
run "suppressions=$tmp/s.supp" double_free
[ -s "$tmp/err" ] && fail "without verbosity, stderr is not empty: $(cat "$tmp/err")"

echo "suppressions that must not suppress"
printf 'double_free:release_early\nheap_buffer_overflow:release_again\ndouble_free:libward*\ndouble_free:live_chunk\n' \
    >"$tmp/s.supp"
run "suppressions=$tmp/s.supp:on_error=exit:exitcode=23" double_free
[ "$rc" -eq 23 ] || fail "a double free matched by no rule (function, kind, ward's own frames) exited $rc"
grep -q "^ward: double free: free(0x" "$tmp/err" || fail "the unsuppressed report was not printed"
printf '*:write_into_freed\n*:main\n' >"$tmp/s.supp"
run "suppressions=$tmp/s.supp:on_error=exit:exitcode=23:stacks=1" write_after_free
[ "$rc" -eq 23 ] || fail "a write after free was suppressed (exit $rc)"
grep -q "^ward: write after free: " "$tmp/err" || fail "the write after free was not printed: $(cat "$tmp/err")"
grep -q "^ward: suppression '\*:.*' ($tmp/s.supp line .) matches, but this kind of error leaves the heap unsafe: reported" \
    "$tmp/err" || fail "no line saying the suppression matched but could not apply"

echo "suppressed reports in the log, and ward report"
printf 'double_free:release_again\n' >"$tmp/s.supp"
dir="$tmp/logs"
"$ward" --on_error=exit --exitcode=23 --log-dir="$dir" --suppressions="$tmp/s.supp" -- sh -c "
    '$bugs' double_free; echo \"double_free \$?\"
    '$bugs' double_free; echo \"double_free \$?\"
    '$bugs' overflow; echo \"overflow \$?\"" >"$tmp/out" 2>"$tmp/err" </dev/null
[ "$(grep -c '^double_free 0' "$tmp/out")" -eq 2 ] || fail "suppressed double frees did not exit 0: $(cat "$tmp/out")"
grep -q "^overflow 23" "$tmp/out" || fail "the overflow did not exit 23"
grep -l "^ward: suppressed: double free: free(0x" "$dir"/ward.* >/dev/null 2>&1 ||
    fail "no log file holds the suppressed double free"
grep -q "^ward: suppressed by 'double_free:release_again' ($tmp/s.supp line 1)" "$dir"/ward.* ||
    fail "the log does not name the suppression"
"$ward" report "$dir" >"$tmp/report" 2>&1
rc=$?
cat "$tmp/report"
[ "$rc" -eq 1 ] || fail "ward report exited $rc, expected 1 (the overflow)"
grep -q "^ward report: 1 report in 3 files of $dir, 1 distinct$" "$tmp/report" || fail "summary line"
grep -q "^suppressed: 2 reports, 1 distinct$" "$tmp/report" || fail "no suppressed count"
grep -qE "^  double free +2$" "$tmp/report" || fail "no suppressed double free count"
grep -q "^\[suppressed 1\] 2 times by 'double_free:release_again', from: " "$tmp/report" ||
    fail "the suppressed report is not listed with its rule"
"$ward" report "$dir" --sarif >/dev/null 2>&1 && fail "ward report took a flag after DIR"
# only suppressed reports: the run is clean
rm -f "$(grep -l "heap buffer overflow" "$dir"/ward.*)"
"$ward" report "$dir" >/dev/null 2>&1 || fail "ward report of only suppressed reports exited $?"

echo "the same suppressed bug in a loop: named once, counted each time"
ldir="$tmp/loop"
mkdir -p "$ldir"
WARD_OPTIONS="suppressions=$tmp/s.supp:verbosity=1:log_path=$ldir/ward" LD_PRELOAD="$lib" "$bugs" double_free_loop \
    >"$tmp/out" 2>"$tmp/err" </dev/null
rc=$?
[ "$rc" -eq 0 ] || fail "the loop exited $rc"
grep -q "^double_free_loop: still running" "$tmp/out" || fail "the loop did not go on"
grep -q "suppression 'double_free:release_again' ($tmp/s.supp line 1) matched 5 reports$" "$tmp/err" ||
    fail "the loop's count: $(cat "$tmp/err")"
[ "$(grep -c "^ward: suppressed: double free: free(0x" "$ldir"/ward.*)" -eq 5 ] || fail "not 5 suppressed reports in the log"
[ "$(grep -c "^ward: backtrace:" "$ldir"/ward.*)" -eq 1 ] || fail "the stacks were not written once"
[ "$(grep -c "; the same stacks as an earlier report$" "$ldir"/ward.*)" -eq 4 ] || fail "no repeat marked as one"
"$ward" report "$ldir" >"$tmp/report" 2>&1 || fail "ward report of suppressed reports exited $?"
grep -q "^\[suppressed 1\] 5 times by 'double_free:release_again'" "$tmp/report" || fail "ward report: the loop's count"

echo "suppressed double frees on four threads at once"
run "suppressions=$tmp/s.supp:verbosity=1" double_free_threads
[ "$rc" -eq 0 ] || fail "four threads of suppressed double frees exited $rc: $(head -5 "$tmp/err")"
grep -q "^double_free_threads: still running" "$tmp/out" || fail "the threads did not go on"
grep -q "suppression 'double_free:release_again' ($tmp/s.supp line 1) matched 800 reports$" "$tmp/err" ||
    fail "four threads' count: $(cat "$tmp/err")"

echo "report_format=json"
# the lines of tests/cli/bugs.c the frames must name
bline() { grep -n "$1" "$here/bugs.c" | head -1 | cut -d: -f1; }
l_again=$(bline "static void release_again")
l_early=$(bline "static void release_early")
l_make=$(bline "char \*p = malloc(n);")
jdir="$tmp/json"
"$ward" --on_error=exit --exitcode=23 --stacks=1 --report_format=json --log-dir="$jdir" \
    --suppressions="$tmp/s.supp" -- sh -c "'$bugs' double_free; '$bugs' overflow; '$bugs' write_after_free" \
    >/dev/null 2>&1 </dev/null
python3 "$here/check_reports.py" json "$jdir"/ward.* >"$tmp/json.txt" || fail "$(cat "$tmp/json.txt")"
cat "$tmp/json.txt"
grep -q "^double free|free|suppressed|backtrace=release_again:.*/tests/cli/bugs.c:$l_again|chunk allocated at=make_buffer:.*bugs.c:$l_make|chunk first freed at=release_early:.*bugs.c:$l_early$" \
    "$tmp/json.txt" || fail "the suppressed double free's JSON"
grep -q "^heap buffer overflow|free|reported|backtrace=release_early:.*bugs.c:$l_early|" "$tmp/json.txt" ||
    fail "the overflow's JSON"
grep -q "^write after free|exit|reported|" "$tmp/json.txt" || fail "the write after free's JSON"
# to stderr too, with a command line that needs escaping
WARD_OPTIONS="report_format=json:on_error=exit" LD_PRELOAD="$lib" "$bugs" double_free 'a "quoted"\arg' \
    2>"$tmp/err.json" </dev/null
python3 "$here/check_reports.py" json "$tmp/err.json" >/dev/null || fail "JSON on stderr: $(cat "$tmp/err.json")"
python3 -c 'import json,sys; r=json.loads(open(sys.argv[1]).readline()); assert r["command"].endswith("double_free a \"quoted\"\\arg"), r["command"]' \
    "$tmp/err.json" || fail "the command line is not escaped"
"$ward" report "$jdir" >"$tmp/report" 2>&1
grep -q "^ward report: 2 reports in 3 files of $jdir, 2 distinct$" "$tmp/report" || fail "ward report of JSON: $(head -3 "$tmp/report")"
grep -q "^suppressed: 1 report, 1 distinct$" "$tmp/report" || fail "ward report of JSON: suppressed"
grep -q "found in release_early .*bugs.c:$l_early" "$tmp/report" || fail "ward report of JSON: where"

echo "ward report --sarif"
src=$(cd "$here/../.." && pwd)
"$ward" report --sarif --source-root="$src" "$jdir" >"$tmp/ward.sarif" 2>"$tmp/sarif.err"
python3 "$here/check_reports.py" sarif "$tmp/ward.sarif" "$here/sarif-min.schema.json" >"$tmp/sarif.txt" ||
    fail "$(cat "$tmp/sarif.txt")"
cat "$tmp/sarif.txt"
grep -qx "heap-buffer-overflow tests/cli/bugs.c:$l_early" "$tmp/sarif.txt" || fail "the overflow's SARIF location"
grep -q "^write-after-free " "$tmp/sarif.txt" || fail "the write after free's SARIF result"
grep -q "double-free" "$tmp/sarif.txt" && fail "a suppressed report is in the SARIF"
[ "$(wc -l <"$tmp/sarif.txt")" -eq 2 ] || fail "$(wc -l <"$tmp/sarif.txt") SARIF results, expected 2"
# a SARIF that misses a required field must fail the check (the check can fail)
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); del d["runs"][0]["results"][0]["locations"]; json.dump(d, open(sys.argv[2], "w"))' \
    "$tmp/ward.sarif" "$tmp/broken.sarif"
python3 "$here/check_reports.py" sarif "$tmp/broken.sarif" "$here/sarif-min.schema.json" >/dev/null &&
    fail "the schema check passed a result without locations"

finish
