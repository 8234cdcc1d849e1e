#!/bin/bash -eu
# ClusterFuzzLite's build step: fuzz/build.sh honours $CC $CFLAGS $CXX
# $CXXFLAGS $LIB_FUZZING_ENGINE $OUT, as OSS-Fuzz sets them.
"$SRC/ward/fuzz/build.sh"
