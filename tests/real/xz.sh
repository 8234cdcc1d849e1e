#!/usr/bin/env bash
# xz -T2 (two worker threads) compressing and decompressing a generated
# ~30 MB file, plainly and under ward; the outputs' sha256 are compared.
# shellcheck source=tests/real/common.bash
. "$(dirname "$0")/common.bash"
need xz sha256sum awk

# ~30 MB: text lines with pseudo-random numbers (compressible, but not
# trivially) and a stretch of random bytes
awk 'BEGIN {
    x = 12345
    for (i = 0; i < 520000; i++) {
        x = (x * 1103515245 + 12345) % 2147483648
        printf "%08d record %d value %d tag %s %s\n", i, x % 100000, (x / 7) % 1000003,
               substr("abcdefghijklmnopqrstuvwxyz0123456789", 1 + x % 30, 6), (i % 13 ? "ok" : "check")
    }
}' >"$work/input"
head -c 4000000 /dev/urandom >>"$work/input"
echo "input $(wc -c <"$work/input") bytes" >&2

cat >"$work/xz-work.sh" <<'SH'
set -u
in=$1
xz -T2 -2 -c "$in" >data.xz || exit 10
echo "compressed $(sha256sum <data.xz)"
xz -T2 -d -c data.xz | sha256sum
xz -T2 -d -c data.xz | cmp - "$in" && echo "round trip ok"
xz -t data.xz && echo "integrity ok"
# small blocks: many independent blocks through the thread pool
xz -T2 -0 --block-size=1MiB -c "$in" >blocks.xz || exit 11
echo "blocks $(sha256sum <blocks.xz)"
xz -T2 -d -c blocks.xz | sha256sum
xz -l --robot blocks.xz | grep -E '^(totals|file)' | cut -f1-4
SH

compare xz bash "$work/xz-work.sh" "$work/input"
finish
