#!/usr/bin/env bash
# leaks=1 through the ward command and ward report: run by tests/run.sh
# with WARD_BUILD set.  t_leaks's planted leaks run under `ward --leaks=1
# --log-dir=DIR` (a leaked list twice, a single block, a list without
# stacks=1, a process without leaks); each leaking process exits 1 and
# leaves its report in DIR, the clean one leaves no file; `ward report
# DIR` counts each group of leaked objects as a report and lists each
# distinct one (the same kind and stack, or without stacks the same size)
# once.  leak: lines of a suppressions file silence a leak by its
# allocation stack.
. "$(dirname "$0")/common.bash"
t="$build/tests/t_leaks"

dir="$tmp/logs"
for c in list list single; do
    "$ward" --leaks=1 --stacks=1 --log-dir="$dir" -- "$t" "$c" 2>"$tmp/err" </dev/null
    rc=$?
    [ "$rc" -eq 1 ] || fail "t_leaks $c exited $rc under ward --leaks=1, expected 1"
    [ -s "$tmp/err" ] && fail "t_leaks $c wrote to stderr: $(cat "$tmp/err")"
done
"$ward" --leaks=1 --log-dir="$dir" -- "$t" list </dev/null || [ $? -eq 1 ] || fail "t_leaks list without stacks"
"$ward" --leaks=1 --log-dir="$dir" -- "$t" nothing </dev/null || fail "t_leaks nothing exited $?"
n=$(ls "$dir" | wc -l)
[ "$n" -eq 4 ] || fail "$n files in $dir, expected 4 (the process without leaks writes none)"

"$ward" report "$dir" >"$tmp/report"
rc=$?
cat "$tmp/report"
[ "$rc" -eq 1 ] || fail "ward report exited $rc, expected 1 (there are reports)"
grep -q "^ward report: 7 reports in 4 files of $dir, 5 distinct$" "$tmp/report" || fail "the summary line"
grep -Eq "^  direct leak +4$" "$tmp/report" || fail "4 direct leak reports"
grep -Eq "^  indirect leak +3$" "$tmp/report" || fail "3 indirect leak reports"
grep -A2 "^ward: Direct leak of 48 bytes in 1 object allocated from:" "$tmp/report" | grep -q "^\[.*\] 2 times" ||
    grep -B1 "^ward: Direct leak of 48 bytes in 1 object allocated from:" "$tmp/report" | grep -q "2 times" ||
    fail "the two runs of the list are one distinct report"
grep -q "^ward: Indirect leak of 432 bytes in 9 objects of 48 bytes" "$tmp/report" || fail "the list without stacks"

# report_format=json: each group a JSON line (no pointer; bytes, objects
# and the allocation stack), which ward report reads as the same distinct
# report as the text one
dir2="$tmp/mixed"
"$ward" --leaks=1 --stacks=1 --log-dir="$dir2" -- "$t" list </dev/null
"$ward" --leaks=1 --stacks=1 --report_format=json --log-dir="$dir2" -- "$t" list </dev/null
grep -h '^{"kind":"direct leak","call":"exit","pointer":null,"detail":"48 bytes in 1 object",' "$dir2"/ward.* |
    grep -q '"bytes":48,"objects":1,' || fail "no JSON line for the direct leak"
grep -h '^{"kind":"indirect leak",' "$dir2"/ward.* | grep -q '"bytes":432,"objects":9,' ||
    fail "no JSON line for the indirect leak"
"$ward" report "$dir2" >"$tmp/report2"
grep -q "^ward report: 4 reports in 2 files of $dir2, 2 distinct$" "$tmp/report2" ||
    fail "text and JSON leak reports are not the same distinct reports: $(head -1 "$tmp/report2")"

# leak: lines of a suppressions file (suppress.c, matched against the
# group's allocation stack, so with stacks=1): a matching one silences the
# group and keeps the exit status; one of another function or kind does not
printf '# the planted leak\nleak:leak_single\n' >"$tmp/match.supp"
printf 'leak:leak_list\n*:nomatch\n' >"$tmp/other.supp"
printf 'double_free:leak_single\n' >"$tmp/kind.supp"
"$ward" --leaks=1 --stacks=1 --verbosity=1 --suppressions="$tmp/match.supp" -- "$t" single 2>"$tmp/err" </dev/null
rc=$?
[ "$rc" -eq 0 ] || fail "a suppressed leak: exit $rc, expected 0"
grep -q "^ward: leaks=1: 100 bytes in 1 leaked object suppressed$" "$tmp/err" || fail "the suppressed leak is not counted"
grep -q "Direct leak" "$tmp/err" && fail "a suppressed leak was printed"
grep -q "^ward: suppression 'leak:leak_single' (.* line 2) matched 1 report$" "$tmp/err" ||
    fail "verbosity=1 does not count the leak: rule's match"
for f in other kind; do
    "$ward" --leaks=1 --stacks=1 --suppressions="$tmp/$f.supp" -- "$t" single 2>"$tmp/err" </dev/null
    rc=$?
    [ "$rc" -eq 1 ] || fail "$f.supp suppressed the leak (exit $rc)"
    grep -q "^ward: Direct leak of 100 bytes in 1 object allocated from:" "$tmp/err" || fail "$f.supp: no leak report"
done

finish
