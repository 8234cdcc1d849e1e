#!/bin/bash -eu
# Builds ward's fuzz harnesses the OSS-Fuzz / ClusterFuzzLite way:
# ward's library (the harness build: ward_* names only, plus
# ward_testing_reset) and each harness compiled with $CC $CFLAGS, linked
# with $CXX $CXXFLAGS $LIB_FUZZING_ENGINE into $OUT/ward_<harness>, each with
# its seed corpus ($OUT/ward_<harness>_seed_corpus.zip), dictionary and
# options file.  Outside OSS-Fuzz the defaults build libFuzzer binaries:
#
#     fuzz/build.sh                       # -> build/oss-fuzz/
#     CC=clang CFLAGS=-fsanitize=address,fuzzer-no-link OUT=/tmp/out fuzz/build.sh
#
# The binaries carry what OSS-Fuzz's runner image lacks: libsodium linked
# in, libunwind beside them in $OUT/lib.
here=$(cd "$(dirname "$0")/.." && pwd)
: "${CC:=clang}"
: "${CXX:=clang++}"
: "${CFLAGS:=-O1 -g -fsanitize=fuzzer-no-link}"
: "${CXXFLAGS:=$CFLAGS}"
: "${LIB_FUZZING_ENGINE:=-fsanitize=fuzzer}"
: "${OUT:=$here/build/oss-fuzz}"
: "${WORK:=$OUT/work}"
mkdir -p "$OUT" "$WORK/obj"

flags=(-std=gnu11 -pthread -fPIC -fvisibility=hidden -fno-builtin-malloc -fno-builtin-calloc
    -fno-builtin-realloc -fno-builtin-free -ftls-model=initial-exec -DWARD_TESTING)
objs=()
for f in "$here"/src/*.c; do
    o="$WORK/obj/$(basename "$f" .c).o"
    # shellcheck disable=SC2086
    $CC $CFLAGS "${flags[@]}" -c "$f" -o "$o"
    objs+=("$o")
done
rm -f "$WORK/libward-fuzz.a"
ar rcs "$WORK/libward-fuzz.a" "${objs[@]}"

# libsodium statically when its archive is there; libunwind's archive is not
# position-independent, so it is linked dynamically and copied to $OUT/lib
# (found through the binaries' rpath).
libs=()
multiarch=$($CC -print-multiarch 2>/dev/null || true)
sodium=-lsodium
for d in /usr/lib/$multiarch /usr/lib /usr/local/lib; do
    [ -f "$d/libsodium.a" ] && sodium="$d/libsodium.a" && break
done
libs+=("$sodium" -lunwind -Wl,-rpath,'$ORIGIN/lib')

for h in ops misuse threads; do
    # shellcheck disable=SC2086
    $CC $CFLAGS -std=gnu11 -pthread -I"$here/include" -I"$here/fuzz" -c "$here/fuzz/$h.c" -o "$WORK/$h.o"
    # shellcheck disable=SC2086
    $CXX $CXXFLAGS "$WORK/$h.o" -o "$OUT/ward_$h" $LIB_FUZZING_ENGINE "$WORK/libward-fuzz.a" \
        "${libs[@]}" -pthread
    if [ -d "$here/corpus/$h" ]; then
        rm -f "$OUT/ward_${h}_seed_corpus.zip"
        (cd "$here/corpus/$h" && find . -type f | LC_ALL=C sort | zip -q -@ "$OUT/ward_${h}_seed_corpus.zip")
    fi
    [ -f "$here/fuzz/$h.dict" ] && cp "$here/fuzz/$h.dict" "$OUT/ward_$h.dict"
    [ -f "$here/fuzz/$h.options" ] && cp "$here/fuzz/$h.options" "$OUT/ward_$h.options"
done
mkdir -p "$OUT/lib"
ldd "$OUT/ward_ops" | awk '/libunwind|libsodium/ { print $3 }' | while read -r so; do
    [ -f "$so" ] && cp -L "$so" "$OUT/lib/"
done
echo "fuzz/build.sh: $(cd "$OUT" && ls ward_* | tr '\n' ' ')"
