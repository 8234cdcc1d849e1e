#!/usr/bin/env bash
# gcc -O2 compiling a large generated C file, plainly and under ward (cc1,
# as and ld inherit LD_PRELOAD).  Compared: the object's symbols and section
# sizes, its checksum, and the output of the linked program.
# shellcheck source=tests/real/common.bash
. "$(dirname "$0")/common.bash"
need gcc nm size sha256sum awk

# 500 functions with loops, switches, string tables and structs, a
# 500-case dispatcher and a main that prints a checksum of every result
awk -v N=500 'BEGIN {
    print "#include <stdio.h>"
    print "#include <string.h>"
    print "struct rec { int a; long b; const char *s; double d; };"
    for (i = 0; i < N; i++) {
        print "static const char *str_" i "[] = { \"alpha" i "\", \"beta" i * 7 "\", \"gamma" i * 13 "\" };"
        print "__attribute__((noinline)) long f_" i "(long x) {"
        print "    struct rec r = { " i ", x * " (i % 17 + 1) ", str_" i "[x % 3], " i ".5 };"
        print "    long acc = " i ";"
        print "    for (int k = 0; k < " (i % 23 + 3) "; k++) {"
        print "        switch ((x + k) % " (i % 7 + 3) ") {"
        for (c = 0; c < i % 7 + 3; c++)
            print "        case " c ": acc = acc * " (c * 2 + 3) " + (long)strlen(r.s) + r.a - " c "; break;"
        print "        }"
        print "        acc ^= acc >> " (i % 13 + 1) ";"
        print "    }"
        print "    return acc + r.b + (long)r.d;"
        print "}"
    }
    print "long dispatch(int which, long x) {"
    print "    switch (which) {"
    for (i = 0; i < N; i++)
        print "    case " i ": return f_" i "(x) + " i ";"
    print "    default: return -1;"
    print "    }"
    print "}"
    print "int main(void) {"
    print "    unsigned long sum = 0;"
    print "    for (int i = 0; i < " N "; i++) {"
    print "        sum = sum * 31 + (unsigned long)dispatch(i, i * 3L);"
    print "        if (i % 100 == 99) printf(\"%d %lu\\n\", i, sum);"
    print "    }"
    print "    printf(\"total %lu\\n\", sum);"
    print "    return (int)(sum % 7);"
    print "}"
}' >"$work/big.c"

cat >"$work/build.sh" <<'SH'
set -u
src=$1
gcc -O2 -c "$src" -o big.o || exit 10
nm big.o
size -A big.o | grep -v '^big.o'
sha256sum <big.o
gcc -O2 big.o -o big || exit 11
./big
echo "program exit $?"
SH

compare gcc bash "$work/build.sh" "$work/big.c"
finish
