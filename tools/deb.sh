#!/usr/bin/env bash
# tools/deb.sh BUILD_DIR: the Debian package, the Debian way, without
# touching the source tree (make deb runs it).
#
# The files the package is built from (the tracked ones, or in a tree
# without git the directories the build needs) are copied to
# BUILD_DIR/deb/ward-VERSION; dpkg-buildpackage -us -uc -b runs there
# (debian/rules: debhelper, compat 13), and leaves the .deb, the .buildinfo
# and .changes beside the copy, in BUILD_DIR/deb.  The .deb is then copied to
# BUILD_DIR/ward_VERSION_ARCH.deb, and its name printed.
# The log is BUILD_DIR/deb/build.log.
set -euo pipefail

if [ $# -ne 1 ]; then
    echo "usage: $0 BUILD_DIR" >&2
    exit 2
fi
root=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$1"
build=$(cd "$1" && pwd)
cd "$root"

for t in dpkg-buildpackage dh dpkg-parsechangelog; do
    if ! command -v "$t" >/dev/null 2>&1; then
        echo "deb: $t is missing: make deps (tools/deps.sh) installs dpkg-dev, debhelper, fakeroot and lintian" >&2
        exit 1
    fi
done

# the package's version is the Makefile's
version=$(sed -n 's/^VERSION := //p' Makefile)
deb_version=$(dpkg-parsechangelog -l debian/changelog -S Version)
if [ "$deb_version" != "$version" ]; then
    echo "deb: debian/changelog says $deb_version, the Makefile's VERSION is $version: add a changelog entry (dch -v $version)" >&2
    exit 1
fi
arch=$(dpkg --print-architecture)
out=$build/deb
src=$out/ward-$version
rm -rf "$out"
mkdir -p "$src"

# the source: what git tracks (with the working tree's changes), or the
# directories the build reads
if git -C "$root" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    git -C "$root" ls-files -z --cached --others --exclude-standard |
        (cd "$root" && xargs -0 sh -c 'for f; do [ -e "$f" ] && printf "%s\0" "$f"; done' sh) |
        tar -C "$root" --null -T - -cf - | tar -C "$src" -xf -
else
    tar -C "$root" --exclude="./$(basename "$build")" -cf - Makefile src include man tools fuzz/fuzz.mk debian \
        README.md SECURITY.md examples | tar -C "$src" -xf -
fi

echo "deb: dpkg-buildpackage -us -uc -b in $src (log: $out/build.log)"
if ! (cd "$src" && dpkg-buildpackage -us -uc -b) >"$out/build.log" 2>&1; then
    tail -n 40 "$out/build.log" >&2
    echo "deb: dpkg-buildpackage failed (log: $out/build.log)" >&2
    exit 1
fi
deb=ward_${version}_${arch}.deb
if [ ! -f "$out/$deb" ]; then
    echo "deb: dpkg-buildpackage made no $deb:" >&2
    ls "$out" >&2
    exit 1
fi
cp -f "$out/$deb" "$build/$deb"
echo "deb: $build/$deb"
