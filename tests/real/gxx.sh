#!/usr/bin/env bash
# g++ -O2 compiling a C++17 program heavy in templates and the standard
# library (cc1plus's template instantiation is allocation-heavy), plainly and
# under ward; then the program itself, which runs four std::threads that
# build containers and hand objects to each other through a queue (so one
# thread frees what another allocated).  Compared: the object's demangled
# symbols, its checksum, and the program's output.
bench_work=$(cd "$(dirname "$0")/../../bench/work" && pwd) || exit 1
# shellcheck source=tests/real/common.bash
. "$(dirname "$0")/common.bash"
need g++ nm sha256sum

# the program, shared with make bench: bench/work/prog.cc

cat >"$work/build.sh" <<'SH'
set -u
src=$1
g++ -std=c++17 -O2 -pthread -c "$src" -o prog.o || exit 10
nm -C prog.o | sha256sum
nm -C prog.o | grep -c ' [TtWw] '
sha256sum <prog.o
g++ -pthread prog.o -o prog || exit 11
./prog
echo "program exit $?"
SH

compare gxx bash "$work/build.sh" "$bench_work/prog.cc"
finish
