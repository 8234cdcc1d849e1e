#!/usr/bin/env bash
# The ward command and the reports a test suite sees: run by tests/run.sh
# with WARD_BUILD set to the build folder.  Each bug of tests/cli/bugs.c runs
# under `ward -- ...`; the exit status and the report's stacks (function
# names and file:line) are asserted.
set -u
build=${WARD_BUILD:?WARD_BUILD is not set}
ward="$build/ward"
bugs="$build/tests/cli_bugs"
out=$(mktemp)
trap 'rm -f "$out"' EXIT
fails=0

fail() {
    echo "FAIL: $*"
    echo "---- output ----"
    cat "$out"
    echo "----------------"
    fails=$((fails + 1))
}

# run EXPECTED_RC ARGS...: runs ARGS, output to $out, checks the status
run() {
    local want=$1
    shift
    "$@" >"$out" 2>&1 </dev/null
    local rc=$?
    if [ "$rc" -ne "$want" ]; then
        fail "$* exited $rc, expected $want"
        return 1
    fi
    return 0
}

# has TEXT: the output holds TEXT
has() { grep -qF -- "$1" "$out" || fail "output lacks '$1'"; }
# section TITLE TEXT: TEXT appears in the stack after the line TITLE (up to
# the next 'ward:' line)
section() {
    awk -v t="$1" 'index($0, t) == 1 { on = 1; next } /^ward:/ { on = 0 } on' "$out" | grep -qF -- "$2" ||
        fail "the stack after '$1' does not name '$2'"
}

x="--on_error=exit --exitcode=23"

echo "double free, stacks=1"
if run 23 "$ward" $x --stacks=1 -- "$bugs" double_free; then
    has "ward: double free: free(0x"
    section "ward: backtrace:" "in release_again"
    section "ward: backtrace:" "bugs.c:"
    section "ward: chunk allocated at:" "in make_buffer"
    section "ward: chunk first freed at:" "in release_early"
fi

echo "write after free, stacks=1 (found at exit)"
if run 23 "$ward" $x --stacks=1 -- "$bugs" write_after_free; then
    has "ward: write after free:"
    section "ward: chunk allocated at:" "in make_buffer"
    section "ward: chunk first freed at:" "in release_early"
fi

echo "overflow, stacks=1"
if run 23 "$ward" $x --stacks=1 -- "$bugs" overflow; then
    has "ward: heap buffer overflow: free(0x"
    section "ward: backtrace:" "in release_early"
    section "ward: chunk allocated at:" "in make_buffer"
fi

echo "double free in a child process"
if run 23 "$ward" $x -- sh -c '"$0" double_free; exit $?' "$bugs"; then
    has "ward: double free:"
fi

echo "sampled use after free (read)"
if run 23 "$ward" $x --sample=1 -- "$bugs" uaf_read; then
    has "ward: use after free: access(0x"
    has "(sampled)"
    section "ward: backtrace:" "in read_freed"
    section "ward: chunk allocated at" "in make_buffer"
    section "ward: chunk freed at" "in release_early"
fi

echo "sampled overflow (read past the end)"
if run 23 "$ward" $x --sample=1 -- "$bugs" overflow_read; then
    has "ward: heap buffer overflow: access(0x"
    section "ward: backtrace:" "in read_past_end"
    section "ward: chunk allocated at" "in make_buffer"
fi

echo "sampled double free"
if run 23 "$ward" $x --sample=1 -- "$bugs" double_free; then
    has "ward: double free: free(0x"
    has "sampled chunk of 40 bytes"
    section "ward: chunk freed at" "in release_early"
fi

echo "on_error=continue: every report, then the exit status"
if run 23 "$ward" --on_error=continue --exitcode=23 -- "$bugs" several; then
    [ "$(grep -c '^ward: double free:' "$out")" -eq 2 ] || fail "expected two double-free reports"
    has "several: still running"
    has "ward: 2 heap errors were reported (on_error=continue): exit status 23"
fi

echo "symbolize=0: module+offset only"
if run 23 "$ward" $x --symbolize=0 -- "$bugs" double_free; then
    has "cli_bugs+0x"
    grep -qF "bugs.c:" "$out" && fail "symbolize=0 still printed file:line"
fi

echo "a clean run"
run 0 "$ward" $x --stacks=1 --sample=1 -- "$bugs" clean && has "clean"

echo "the command itself"
run 0 "$ward" --help && has "usage: ward"
run 0 "$ward" --version && has "ward "
run 0 "$ward" --options && has "sample"
run 125 "$ward" --bogus -- true && has "is not --KEY=VALUE"
run 127 "$ward" -- /nonexistent/program
run 134 "$ward" --sample=often -- true && has "bad value 'often' for sample"
WARD_OPTIONS=exitcode=5 run 5 "$ward" --on_error=exit -- "$bugs" double_free
run 23 "$ward" --on_error=exit:23 -- "$bugs" double_free && has "ward: double free:"

if [ "$fails" -ne 0 ]; then
    echo "$fails check(s) failed"
    exit 1
fi
echo "all launcher checks passed"
