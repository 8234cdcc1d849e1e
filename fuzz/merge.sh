#!/usr/bin/env bash
# fuzz/merge.sh BUILD [DIR...] (make fuzz-merge [FROM="DIR..."]): folds the
# inputs of longer fuzzing sessions into corpus/<harness> with libFuzzer's
# -merge=1 (an input is added only if it reaches an edge the corpus does
# not; nothing is removed, the inputs kept by behaviour, corpus/*/b-*,
# stay).  For each harness h the inputs come from BUILD/fuzz/corpus-h
# (make fuzz-run) and, in each DIR, from whichever of these exist:
#   DIR/h  DIR/ward_h  DIR/corpus-h  DIR/corpus/ward_h  DIR/cifuzz-corpus-ward_h
# (make fuzz-afl's queues, copied by hand; ClusterFuzzLite's batch
# corpora, from its storage repository or a downloaded artifact, where the
# targets are named ward_<h> by fuzz/build.sh).  Then every corpus is
# replayed through the gcc replay driver: a merged input must not be a
# finding on ward as it is.
set -u
build=$1
shift
root=$(cd "$(dirname "$0")/.." && pwd)
status=0
for h in ops misuse threads; do
    dirs=()
    for d in "$build/fuzz/corpus-$h"; do [ -d "$d" ] && dirs+=("$d"); done
    for from in "$@"; do
        for d in "$from/$h" "$from/ward_$h" "$from/corpus-$h" "$from/corpus/ward_$h" "$from/cifuzz-corpus-ward_$h"; do
            [ -d "$d" ] && dirs+=("$d")
        done
    done
    before=$(ls "$root/corpus/$h" | wc -l)
    if [ ${#dirs[@]} -gt 0 ]; then
        opts=(-max_len=1024)
        [ -f "$root/fuzz/$h.dict" ] && opts+=("-dict=$root/fuzz/$h.dict")
        "$build/fuzz/$h" -merge=1 "${opts[@]}" "$root/corpus/$h" "${dirs[@]}" >"$build/fuzz/merge-$h.log" 2>&1 ||
            { echo "fuzz-merge: $h: libFuzzer's merge failed (see $build/fuzz/merge-$h.log)"; status=1; continue; }
    fi
    after=$(ls "$root/corpus/$h" | wc -l)
    echo "fuzz-merge: $h: ${#dirs[@]} directories, $before -> $after inputs"
    WARD_FUZZ_SKIP_KNOWN=0 "$build/tests/t_fuzz_$h" "$root/corpus/$h" >/dev/null ||
        { echo "fuzz-merge: $h: the merged corpus does not replay cleanly"; status=1; }
done
exit $status
