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
echo "== a program with a double free: $build/ward --stacks=1 --on_error=exit --exitcode=23 -- $build/demo/double_free"
"$build/ward" --stacks=1 --on_error=exit --exitcode=23 -- "$build/demo/double_free"
rc=$?
echo
echo "exit status $rc (23: ward stopped it, as --on_error=exit --exitcode=23 asked; the default is abort())"
