#!/usr/bin/env bash
# GNU sort with two threads (--parallel=2 -S 50M) on a generated file of
# 400k lines, plainly and under ward: several key orders, unique, a merge of
# sorted runs; compared by checksum plus the first and last lines.
# shellcheck source=tests/real/common.bash
. "$(dirname "$0")/common.bash"
need sort sha256sum awk

awk 'BEGIN {
    x = 424242
    for (i = 0; i < 400000; i++) {
        x = (x * 1103515245 + 12345) % 2147483648
        printf "%s %d %s.%d %s\n", substr("QWERTYUIOPASDFGHJKLZXCVBNM", 1 + x % 26, 1 + x % 5), x % 1000003,
               i % 977, x % 10, substr("the quick brown fox jumps over the lazy dog", 1 + i % 30, 3 + x % 12)
    }
}' >"$work/input"

cat >"$work/sort-work.sh" <<'SH'
set -u
in=$1
s() { sort --parallel=2 -S 50M "$@"; }
show() { sha256sum <"$1"; head -n 3 "$1"; tail -n 3 "$1"; wc -l <"$1"; }
s "$in" >plain.txt || exit 10
show plain.txt
s -k2,2n -k1,1 "$in" >numeric.txt || exit 11
show numeric.txt
s -t. -k2,2nr -k1,1 "$in" >fields.txt || exit 12
show fields.txt
s -u -k1,1 "$in" >unique.txt || exit 13
show unique.txt
s -V -k3,3 -s "$in" >version.txt || exit 14
show version.txt
# a merge of separately sorted runs
split -l 50000 "$in" part.
for p in part.*; do s -o "$p" "$p"; done
s -m part.* >merged.txt || exit 15
cmp merged.txt plain.txt && echo "merge matches"
s -c plain.txt && echo "sorted check ok"
SH

compare sort bash "$work/sort-work.sh" "$work/input"
finish
