#!/usr/bin/env bash
# CPython's own regression tests (the modules in cpython-tests.txt, from
# Debian's libpython3.11-testsuite), `python3 -m test -j2`, plainly and under
# ward.  Every test case's outcome is read from regrtest's JUnit XML; the
# per-module counts (passed, failed, errors, skipped) and the list of test
# cases that did not pass must be the same in both runs.
#
# This script runs Python with its own small-object allocator (pymalloc: ward
# serves its arenas and every object over 512 bytes); cpython-malloc.sh
# sources it with cpython_mode=malloc (PYTHONMALLOC=malloc: every object
# through ward).
# the list beside this script (found before common.bash changes directory)
list="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/cpython-tests.txt" || exit 1
# shellcheck source=tests/real/common.bash
. "$(dirname "$0")/common.bash"

py=/usr/bin/python3
if [ ! -x "$py" ]; then
    say "$py not installed: skipped"
    exit 77
fi
libdir=$("$py" -c 'import sysconfig; print(sysconfig.get_path("stdlib"))') || exit 1
if [ ! -f "$libdir/test/test_dict.py" ]; then
    say "CPython's test suite is not installed ($libdir/test; Debian: libpython3.11-testsuite): skipped"
    exit 77
fi

modules=()
ignores=()
while read -r word pattern; do
    case "$word" in
    '' | '#'*) ;;
    ignore) ignores+=(--ignore "$pattern") ;;
    *) modules+=("$word") ;;
    esac
done <"$list" || exit 1
# no module named would run the whole suite
if [ ${#modules[@]} -eq 0 ]; then
    say "no modules in $list"
    exit 1
fi
for m in "${modules[@]}"; do
    if [ ! -e "$libdir/test/$m.py" ] && [ ! -d "$libdir/test/$m" ]; then
        say "$m (listed in $list) is not in $libdir/test"
        exit 1
    fi
done

# JUnit XML -> per-module counts and the test cases that did not pass.  A
# test case whose subtests failed has no name in regrtest's XML (its result
# class records failures of subtests only in the suite's totals): it counts
# as failed, under its module.  Runs without ward in both runs.
cat >"$work/summarise.py" <<'PY'
import collections, sys
import xml.etree.ElementTree as ET

counts = collections.defaultdict(collections.Counter)
bad = []
for suite in ET.parse(sys.argv[1]).getroot().iter("testsuite"):
    cases = list(suite.iter("testcase"))
    # the module: from ids test.MODULE.Class.method (a doctest's id is
    # only its function's name)
    named = [c.get("name") or "" for c in cases]
    module = collections.Counter(n.split(".")[1] for n in named
                                 if n.startswith("test.")).most_common(1)
    module = module[0][0] if module else "?"
    for c in cases:
        name = c.get("name")
        kids = {k.tag for k in c}
        if name is None:
            outcome = "failed"
        elif "error" in kids:
            outcome = "errors"
        elif "failure" in kids:
            outcome = "failed"
        elif "skipped" in kids:
            outcome = "skipped"
        elif "output" in kids:
            outcome = "expected failures"
        elif "outcome" in kids:
            outcome = "unexpected successes"
        else:
            outcome = "passed"
        counts[module][outcome] += 1
        if outcome != "passed":
            bad.append(f"{outcome}: {name or module + ' (a test with failed subtests)'}")
    if not cases:
        counts[module]["(empty suite)"] += 1

total = collections.Counter()
order = ("passed", "failed", "errors", "skipped", "expected failures", "unexpected successes")
for module in sorted(counts):
    c = counts[module]
    total.update(c)
    print(f"{module}: " + ", ".join(f"{c[k]} {k}" for k in order if c[k] or k in order[:4]))
print(f"total {sum(total.values())} test cases: " + ", ".join(f"{total[k]} {k}" for k in order))
for line in sorted(bad):
    print(line)
PY

cat >"$work/cpython-run.sh" <<'SH'
set -u
py=$1 summarise=$2
shift 2
# regrtest's own output goes to stderr (shown on a mismatch); what is
# compared is its exit status, the modules it ran and every test's outcome
"$py" -B -m test -j2 --timeout 900 --tempdir "$PWD/tmp" --junit-xml "$PWD/results.xml" "$@" >&2
echo "regrtest exit $?"
[ -s results.xml ] || { echo "no results.xml"; exit 0; }
env -u LD_PRELOAD "$py" -B "$summarise" results.xml || echo "summarise.py failed"
SH

export PYTHONHASHSEED=0 PYTHONDONTWRITEBYTECODE=1
unset PYTHONPATH PYTHONHOME PYTHONSTARTUP PYTHONWARNINGS
mode=${cpython_mode:-pymalloc}
if [ "$mode" = malloc ]; then
    export PYTHONMALLOC=malloc
else
    unset PYTHONMALLOC
fi
say "PYTHONMALLOC=${PYTHONMALLOC:-(pymalloc)}, ${#modules[@]} modules from $list"
compare "$test_name" bash "$work/cpython-run.sh" "$py" "$work/summarise.py" "${ignores[@]}" "${modules[@]}"
for run in plain ward; do
    say "$run: $(grep -h -e '^regrtest exit' -e '^total' "$work/$test_name.$run.stdout" | tr '\n' ' ')"
done
# the plain run must have run the tests and passed (a module failing under
# glibc too, on this machine, would hide what ward does to it)
if ! grep -q '^regrtest exit 0$' "$work/$test_name.plain.stdout" ||
    ! grep -q '^total [1-9][0-9]* test cases: [1-9][0-9]* passed, 0 failed, 0 errors' "$work/$test_name.plain.stdout"; then
    say "the plain run did not pass: the test itself is broken"
    cat "$work/$test_name.plain.stdout" >&2
    failed=1
fi
finish
