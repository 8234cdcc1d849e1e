# Shared by the command-line tests that source it (tests/cli/*.sh, run by
# tests/run.sh with WARD_BUILD set): the build's programs, a scratch
# directory removed at exit, and the count of failed checks.
set -u
build=${WARD_BUILD:?WARD_BUILD is not set}
here=$(cd "$(dirname "$0")" && pwd)
ward="$build/ward"
bugs="$build/tests/cli_bugs"
lib="$build/libward.so"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
test_name=$(basename "$0" .sh)
fails=0
fail() {
    echo "FAIL: $*"
    fails=$((fails + 1))
}
# the last line: how many checks failed (exit 1), or that all passed
finish() {
    if [ "$fails" -ne 0 ]; then
        echo "$test_name: $fails failure(s)"
        exit 1
    fi
    echo "$test_name: all passed"
}
