#!/usr/bin/env bash
# A CMake project's test suite under ward, end to end (tests/ctest-example):
# its double free and its leak (leaks=1) must fail exactly those two tests,
# with ward's reports naming the functions, its clean test must pass, and so
# must the test of its library with a known double free and a known leak
# that its ward.supp suppresses; once with the ward
# command around ctest, once with the project preloading ward itself, and
# once as examples/ci/'s GitHub and GitLab recipes run it: reports in a
# directory (JSON), `ward report` (the double free reported, the library's
# counted as suppressed; the leak's two groups), `ward report --sarif` (valid against the schema of
# what code scanning requires, located at the double free's line).
set -u
build=${WARD_BUILD:?WARD_BUILD is not set}
src=$(cd "$(dirname "$0")/../ctest-example" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
if ! command -v cmake >/dev/null || ! command -v ctest >/dev/null; then
    echo "cmake is not installed (tools/deps.sh installs it)"
    exit 1
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

check_run() { # LOG: two of four tests failed, the double free and the leak, reported by ward
    local log=$1
    grep -q "2 tests failed out of 4" "$log" || fail "ctest did not report 2 failures out of 4"
    grep -Eq "tokens_leak .*(Failed|Exit code)" "$log" || fail "tokens_leak (a planted leak) did not fail"
    grep -q "^ward: Direct leak of 32 bytes in 1 object allocated from:" "$log" || fail "no report of the direct leak"
    grep -q "^ward: Indirect leak of 64 bytes in 2 objects allocated from:" "$log" || fail "no report of the indirect leak"
    grep -q "in tokenize .*tokens.c:" "$log" || fail "the leak report does not name tokenize"
    grep -q "legacy_registry_init" "$log" && fail "the suppressed leak (legacy_registry_init) was reported"
    grep -Eq "uses_legacy .*Passed" "$log" || fail "uses_legacy (a suppressed double free) did not pass"
    grep -Eq "parser_double_free .*(Failed|Exit code)" "$log" || fail "parser_double_free did not fail"
    grep -Eq "parser_ok .*Passed" "$log" || fail "parser_ok did not pass"
    grep -q "ward: double free: free(0x" "$log" || fail "no ward report in the test's output"
    grep -q "in parse_pair" "$log" || fail "the report does not name parse_pair"
    grep -q "in pair_free" "$log" || fail "the report does not name pair_free"
}

cmake -S "$src" -B "$work/plain" -DCMAKE_BUILD_TYPE=Debug >"$work/cmake1.log" 2>&1 || { cat "$work/cmake1.log"; exit 1; }
cmake --build "$work/plain" >"$work/build1.log" 2>&1 || { cat "$work/build1.log"; exit 1; }

echo "1. ward -- ctest"
(cd "$work/plain" && "$build/ward" --on_error=exit --exitcode=23 --stacks=1 --leaks=1 --suppressions="$src/ward.supp" \
    -- ctest --output-on-failure) \
    >"$work/run1.log" 2>&1
rc=$?
cat "$work/run1.log"
[ "$rc" -ne 0 ] || fail "ctest passed under ward"
check_run "$work/run1.log"

echo "2. the project preloads ward (-DWARD_LIBRARY)"
cmake -S "$src" -B "$work/self" -DCMAKE_BUILD_TYPE=Debug -DWARD_LIBRARY="$build/libward.so" \
    >"$work/cmake2.log" 2>&1 || { cat "$work/cmake2.log"; exit 1; }
cmake --build "$work/self" >"$work/build2.log" 2>&1 || { cat "$work/build2.log"; exit 1; }
(cd "$work/self" && ctest --output-on-failure) >"$work/run2.log" 2>&1
rc=$?
cat "$work/run2.log"
[ "$rc" -ne 0 ] || fail "ctest passed with ward preloaded by the project"
check_run "$work/run2.log"

echo "3. the CI recipes' commands (examples/ci/), in a copy of the project"
# The same command lines as examples/ci/github-actions.yml and
# gitlab-ci.yml, with the ward just built first on PATH; both files must
# hold each word for word.
test_cmd='ward --on_error=exit --exitcode=23 --stacks=1 --leaks=1 --suppressions=ward.supp --report_format=json --log-dir=ward-logs -- ctest --test-dir build --output-on-failure'
report_cmd='ward report ward-logs'
sarif_cmd='ward report --sarif ward-logs > ward.sarif || [ $? -eq 1 ]'
ci="$src/../../examples/ci"
for f in "$ci/github-actions.yml" "$ci/gitlab-ci.yml"; do
    for c in "$test_cmd" "$report_cmd" "$sarif_cmd"; do
        grep -qF -- "$c" "$f" || fail "$(basename "$f") does not run: $c"
    done
done
cp -r "$src" "$work/project"
(
    cd "$work/project" || exit 1
    export PATH="$build:$PATH"
    cmake -S . -B build -DCMAKE_BUILD_TYPE=Debug >"$work/cmake3.log" 2>&1 || { cat "$work/cmake3.log"; exit 1; }
    cmake --build build >"$work/build3.log" 2>&1 || { cat "$work/build3.log"; exit 1; }
    eval "$test_cmd" >"$work/run3.log" 2>&1
    echo "ctest: $?" >>"$work/run3.log"
    eval "$report_cmd" >"$work/report3.log" 2>&1
    echo "ward report: $?" >>"$work/report3.log"
    eval "$sarif_cmd" 2>"$work/sarif3.err" || echo "ward report --sarif failed: $?" >>"$work/sarif3.err"
)
cat "$work/run3.log" "$work/report3.log"
p="$work/project"
grep -q "2 tests failed out of 4" "$work/run3.log" || fail "ctest under the CI command: not 2 failures out of 4"
grep -Eq "tokens_leak .*(Failed|Exit code)" "$work/run3.log" || fail "tokens_leak did not fail"
grep -Eq "parser_double_free .*(Failed|Exit code)" "$work/run3.log" || fail "parser_double_free did not fail"
grep -Eq "uses_legacy .*Passed" "$work/run3.log" || fail "uses_legacy did not pass"
grep -q "^ward: " "$work/run3.log" && fail "a report went to the tests' output, not to ward-logs"
grep -q "^ward report: 3 reports in 3 files of ward-logs, 3 distinct$" "$work/report3.log" ||
    fail "ward report's summary"
grep -q "^ward report: 1$" "$work/report3.log" || fail "ward report did not exit 1"
grep -Eq "^  double free +1$" "$work/report3.log" || fail "ward report: the double free is not counted"
grep -Eq "^  direct leak +1$" "$work/report3.log" || fail "ward report: the direct leak is not counted"
grep -Eq "^  indirect leak +1$" "$work/report3.log" || fail "ward report: the indirect leak is not counted"
grep -q "^    allocated at tokenize .*tokens.c:" "$work/report3.log" || fail "ward report: where the leak was allocated"
grep -q "^suppressed: 1 report, 1 distinct$" "$work/report3.log" || fail "ward report: no suppressed report"
grep -q "^\[suppressed 1\] 1 time by 'double_free:liblegacy.so', from: [0-9]*: .*uses_legacy" \
    "$work/report3.log" || fail "ward report: the suppressed report, its rule and process"
grep -q "found in pair_free .*parser.c:" "$work/report3.log" || fail "ward report: where the double free was found"
python3 "$here/check_reports.py" json "$p"/ward-logs/ward.* >"$work/json3.txt" || fail "$(cat "$work/json3.txt")"
cat "$work/json3.txt"
grep -q "^double free|free|reported|backtrace=pair_free:$p/parser.c:[0-9]*|chunk allocated at=[^|]*|chunk first freed at=parse_pair:$p/parser.c:[0-9]*$" \
    "$work/json3.txt" || fail "the JSON of the double free"
grep -q "^double free|free|suppressed|backtrace=legacy_shutdown:$p/legacy/legacy.c:[0-9]*|" "$work/json3.txt" ||
    fail "the JSON of the suppressed double free"
grep -q "^direct leak|exit|reported|allocated from=tokenize:$p/tokens.c:[0-9]*$" "$work/json3.txt" ||
    fail "the JSON of the direct leak"
grep -q "^indirect leak|exit|reported|allocated from=tokenize:$p/tokens.c:[0-9]*$" "$work/json3.txt" ||
    fail "the JSON of the indirect leak"
[ -s "$work/sarif3.err" ] && fail "ward report --sarif: $(cat "$work/sarif3.err")"
python3 "$here/check_reports.py" sarif "$p/ward.sarif" "$here/sarif-min.schema.json" >"$work/sarif3.txt" ||
    fail "$(cat "$work/sarif3.txt")"
cat "$work/sarif3.txt"
line=$(grep -n "free(p->value);" "$src/parser.c" | cut -d: -f1)
lline=$(grep -n "calloc(1, sizeof \*t)" "$src/tokens.c" | cut -d: -f1)
expect="direct-leak tokens.c:$lline
indirect-leak tokens.c:$lline
double-free parser.c:$line"
[ "$(sort "$work/sarif3.txt")" = "$(echo "$expect" | sort)" ] ||
    fail "SARIF results: $(cat "$work/sarif3.txt"), expected: $expect"

[ "$fails" -eq 0 ] || exit 1
echo "ctest example: all checks passed"
