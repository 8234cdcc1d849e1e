#!/usr/bin/env bash
# make demo: a real program under ward, then a double free caught.
set -uo pipefail
build=${1:-build}
lib=$(cd "$build" && pwd)/libward.so
py=/usr/bin/python3
[ -x "$py" ] || py=$(command -v python3)

echo "== python3 under LD_PRELOAD=$build/libward.so"
LD_PRELOAD="$lib" "$py" - <<'PY'
import ctypes, json, random
random.seed(1)
data = {str(i): [random.random() for _ in range(20)] for i in range(50000)}
text = json.dumps(data)
back = json.loads(text)
print("python3: round-tripped", len(back), "records,", len(text), "bytes of JSON")
libc = ctypes.CDLL(None)
libc.malloc_stats()   # ward's malloc_stats: its own figures
PY
echo
echo "== a program with a double free, under ward (WARD_OPTIONS=trace=1: where it was allocated and first freed, too)"
LD_PRELOAD="$lib" WARD_OPTIONS=trace=1 "$build/demo/double_free"
rc=$?
echo
if [ $rc -ge 128 ]; then
    echo "ward stopped it: killed by signal $((rc - 128)) (SIGABRT is ward's default end; WARD_OPTIONS=on_error=exit:exitcode=N exits instead)"
else
    echo "exit status $rc"
fi
