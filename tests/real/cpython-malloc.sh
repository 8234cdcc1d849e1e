#!/usr/bin/env bash
# CPython's regression tests as in cpython.sh, with PYTHONMALLOC=malloc: every
# Python object is a malloc/free through ward, not pymalloc's arenas.
# shellcheck disable=SC2034  # read by cpython.sh
cpython_mode=malloc
# shellcheck source=tests/real/cpython.sh
. "$(dirname "$0")/cpython.sh"
