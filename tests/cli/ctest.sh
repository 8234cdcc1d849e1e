#!/usr/bin/env bash
# A CMake project's test suite under ward, end to end (tests/ctest-example):
# its double free must fail exactly that test, with ward's report naming the
# functions, and its clean test must pass; once with the ward command around
# ctest, once with the project preloading ward itself.
set -u
build=${WARD_BUILD:?WARD_BUILD is not set}
src=$(cd "$(dirname "$0")/../ctest-example" && pwd)
if ! command -v cmake >/dev/null || ! command -v ctest >/dev/null; then
    echo "cmake is not installed (tools/deps.sh installs it)"
    exit 1
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

check_run() { # LOG: one of two tests failed, and it is the double free, reported by ward
    local log=$1
    grep -q "1 tests failed out of 2" "$log" || fail "ctest did not report 1 failure out of 2"
    grep -Eq "parser_double_free .*(Failed|Exit code)" "$log" || fail "parser_double_free did not fail"
    grep -Eq "parser_ok .*Passed" "$log" || fail "parser_ok did not pass"
    grep -q "ward: double free: free(0x" "$log" || fail "no ward report in the test's output"
    grep -q "in parse_pair" "$log" || fail "the report does not name parse_pair"
    grep -q "in pair_free" "$log" || fail "the report does not name pair_free"
}

cmake -S "$src" -B "$work/plain" -DCMAKE_BUILD_TYPE=Debug >"$work/cmake1.log" 2>&1 || { cat "$work/cmake1.log"; exit 1; }
cmake --build "$work/plain" >"$work/build1.log" 2>&1 || { cat "$work/build1.log"; exit 1; }

echo "1. ward -- ctest"
(cd "$work/plain" && "$build/ward" --on_error=exit --exitcode=23 --stacks=1 -- ctest --output-on-failure) \
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

[ "$fails" -eq 0 ] || exit 1
echo "ctest example: all checks passed"
