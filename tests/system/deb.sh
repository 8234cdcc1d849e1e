#!/usr/bin/env bash
# The Debian package make deb built (BUILD/ward_VERSION_ARCH.deb): what it
# holds and where, what its maintainer scripts do, lintian's verdict (no
# error; warnings are printed), and that building it left the source tree
# clean.  Needs no root.
# shellcheck source=tests/system/common.bash
. "$(dirname "$0")/common.bash"
command -v dpkg-deb >/dev/null 2>&1 || { say "dpkg-deb not installed: skipped"; exit 77; }

version=$(sed -n 's/^VERSION := //p' "$root/Makefile")
arch=$(dpkg --print-architecture)
multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || gcc -print-multiarch)
deb=$build/ward_${version}_${arch}.deb
if [ ! -f "$deb" ]; then
    fail built "$deb not found: make deb (make check builds it first)"
    finish
fi
pass built
x=$tmp/x
dpkg-deb -x "$deb" "$x" && dpkg-deb -e "$deb" "$tmp/control" || { fail extract "dpkg-deb failed"; finish; }

files_ok() {
    local f missing=
    for f in usr/lib/$multiarch/libward.so.$version usr/lib/$multiarch/libward.a usr/include/ward.h \
        usr/lib/$multiarch/pkgconfig/ward.pc usr/bin/ward usr/sbin/ward-preload \
        usr/share/man/man1/ward.1.gz usr/share/man/man3/ward.3.gz usr/share/man/man7/ward.7.gz \
        usr/share/man/man8/ward-preload.8.gz usr/share/doc/ward/copyright usr/share/doc/ward/changelog.gz; do
        [ -f "$x/$f" ] || missing="$missing $f"
    done
    [ "$(readlink "$x/usr/lib/$multiarch/libward.so.0")" = "libward.so.$version" ] || missing="$missing libward.so.0"
    [ "$(readlink "$x/usr/lib/$multiarch/libward.so")" = libward.so.0 ] || missing="$missing libward.so"
    [ -z "$missing" ] || { echo "missing:$missing"; return 1; }
    [ ! -e "$x/etc" ] || { echo "the package ships files in /etc: $(find "$x/etc")"; return 1; }
}
check files files_ok
# the launcher, ward-preload and ward.pc name the multiarch directory
paths_ok() {
    grep -qa "/usr/lib/$multiarch/libward.so.0" "$x/usr/bin/ward" || { echo "the launcher does not name /usr/lib/$multiarch/libward.so.0"; return 1; }
    grep -q "^default_lib='/usr/lib/$multiarch/libward.so.0'" "$x/usr/sbin/ward-preload" || { echo "ward-preload's library: $(grep '^default_lib=' "$x/usr/sbin/ward-preload")"; return 1; }
    grep -qx 'prefix=/usr' "$x/usr/lib/$multiarch/pkgconfig/ward.pc" &&
        grep -qx "libdir=\${prefix}/lib/$multiarch" "$x/usr/lib/$multiarch/pkgconfig/ward.pc" ||
        { echo "ward.pc:"; cat "$x/usr/lib/$multiarch/pkgconfig/ward.pc"; return 1; }
}
check paths paths_ok
control_ok() {
    local dep
    dep=$(dpkg-deb -f "$deb" Depends)
    # libsodium and the unwinder are linked in: libc6 is the one dependency
    ! grep -q -e libsodium -e libunwind <<<"$dep" && grep -q libc6 <<<"$dep" ||
        { echo "Depends: $dep"; return 1; }
    [ "$(dpkg-deb -f "$deb" Version)" = "$version" ] || { echo "Version: $(dpkg-deb -f "$deb" Version)"; return 1; }
    grep -q "^libward 0 ward" "$tmp/control/shlibs" || { echo "shlibs: $(cat "$tmp/control/shlibs")"; return 1; }
}
check control control_ok
# installing changes nothing system-wide; removing takes ward out of
# /etc/ld.so.preload first
scripts_ok() {
    local s
    for s in preinst postinst postrm; do
        if [ -f "$tmp/control/$s" ] && grep -q 'ld.so.preload\|ward-preload' "$tmp/control/$s"; then
            echo "$s touches the preload file: $(cat "$tmp/control/$s")"
            return 1
        fi
    done
    [ -f "$tmp/control/prerm" ] || { echo "no prerm"; return 1; }
    grep -q 'ward-preload --quiet --file=/etc/ld.so.preload disable' "$tmp/control/prerm" ||
        { echo "prerm does not disable: $(cat "$tmp/control/prerm")"; return 1; }
    sh -n "$tmp/control/prerm" || return 1
}
check maintainer-scripts scripts_ok
# the packaged library loads and is ward (as an unprivileged program would
# find it: by path, with nothing else preloaded)
runs_ok() {
    local out
    out=$(LD_PRELOAD="$x/usr/lib/$multiarch/libward.so.0" WARD_OPTIONS=help=1 sh -c 'echo ran' 2>&1) || { echo "$out"; return 1; }
    grep -q '^ward: WARD_OPTIONS=' <<<"$out" && grep -q '^ran$' <<<"$out" || { echo "$out"; return 1; }
    "$x/usr/bin/ward" --version | grep -q "$version" || return 1
    "$x/usr/sbin/ward-preload" --version | grep -q "$version" || return 1
}
check runs runs_ok
# the man pages render without a warning
for page in "$x"/usr/share/man/man*/*.gz; do
    n=$(basename "$page" .gz)
    check "man-$n" sh -c 'err=$(zcat "$1" | groff -ww -z -man 2>&1); [ -z "$err" ] || { echo "$err"; exit 1; }' sh "$page"
done

# lintian: no error; what it warns about is printed
if command -v lintian >/dev/null 2>&1; then
    lintian_ok() {
        local out
        out=$(lintian --display-info --pedantic --show-overrides "$deb" 2>&1 | grep -v '^running with root privileges')
        printf '%s\n' "$out"
        ! grep -q '^E: ' <<<"$out"
    }
    check lintian lintian_ok
else
    echo "SKIP $test_name/lintian: lintian not installed (make deps installs it)"
fi

# the build happened in BUILD/deb, not in the tree
clean_ok() {
    local left
    left=$(cd "$root" && ls -d debian/ward debian/.debhelper debian/files debian/*.substvars debian/*.log \
        debian/debhelper-build-stamp debian/tmp 2>/dev/null)
    [ -z "$left" ] || { echo "the build left in the tree: $left"; return 1; }
    [ -f "$build/deb/build.log" ] || { echo "no $build/deb/build.log"; return 1; }
}
check tree-clean clean_ok
finish
