#!/usr/bin/env bash
# git, plainly and under ward: init a repository, commit many files in
# several commits, branch, merge, log, diff, blame, grep, gc and fsck.
# Names and dates are fixed so the hashes are the same in both runs; what
# depends on packing order or timing (count-objects, pack names) is not
# printed.
bench_work=$(cd "$(dirname "$0")/../../bench/work" && pwd) || exit 1
# shellcheck source=tests/real/common.bash
. "$(dirname "$0")/common.bash"
need git sha256sum

compare git bash "$bench_work/git.sh"
finish
