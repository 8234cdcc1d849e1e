#!/usr/bin/env bash
# perl, plainly and under ward: hashes of 150k keys built,
# deleted from and rebuilt, regular expressions with captures and
# substitutions, sorts with custom comparators, string building (repeated
# appends: realloc), nested references, closures, sprintf/pack/unpack, and
# two interpreter threads (ithreads) when this perl has them.  Debian ships no
# runnable copy of perl's own test suite (its t/ stays in the source
# package), so this workload stands in for it.
bench_work=$(cd "$(dirname "$0")/../../bench/work" && pwd) || exit 1
# shellcheck source=tests/real/common.bash
. "$(dirname "$0")/common.bash"
need perl

export PERL_HASH_SEED=0 PERL_PERTURB_KEYS=0
unset PERL5LIB PERL5OPT
compare perl perl "$bench_work/work.pl"
finish
