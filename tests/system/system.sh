#!/usr/bin/env bash
# Every process under ward: real Debian work (tests/system/work.bash: dpkg
# installing and removing the built package, apt-cache queries, apt-get
# simulations, a shell pipeline, python3, perl, gcc, g++ and make building a
# small project, git, set-user-ID programs run by root and by the user
# nobody) run twice, each time in a mount namespace of its own (see
# common.bash): without /etc/ld.so.preload, then with the freshly built
# library named there by ward-preload enable.  For each step the standard
# output, standard error and exit status must be the same in both runs, no
# ward report may appear (WARD_OPTIONS=log_path sends reports to files,
# programs that drop the environment report on stderr), and from inside
# several of them ward must be mapped in mode ward, not in mode plain.
#
# dpkg -i really installs the package on this machine (only /etc is the
# namespace's own): it is removed again by the work itself, and in any case
# when this script ends.  When ward is installed already, that part is
# skipped.  Needs root and unshare (exit 77 otherwise).
# shellcheck source=tests/system/common.bash
. "$(dirname "$0")/common.bash"
need_root
need_ns
for p in dpkg apt-cache apt-get python3 perl gcc g++ make git passwd su setpriv pkg-config; do
    command -v "$p" >/dev/null 2>&1 || { say "$p not installed: skipped"; exit 77; }
done

version=$(sed -n 's/^VERSION := //p' "$root/Makefile")
deb=$build/ward_${version}_$(dpkg --print-architecture).deb
if [ "$(dpkg-query -W -f='${Status}' ward 2>/dev/null)" = "install ok installed" ]; then
    say "ward is installed on this machine: dpkg -i and dpkg -r are skipped"
    echo "SKIP system/dpkg: the package is installed already"
    deb=-
elif [ ! -f "$deb" ]; then
    fail dpkg "$deb not found: make deb (make check builds it first)"
    deb=-
else
    # whatever happens below, the package does not stay installed
    cleanups+=('if dpkg-query -W -f="\${Status}" ward 2>/dev/null | grep -q installed; then
        echo "system: removing the ward package left installed"; dpkg -P ward >/dev/null 2>&1; fi')
fi

suid_debug_before=no
[ -e /etc/suid-debug ] && suid_debug_before=yes
mkdir -m 1777 "$tmp/reports"
export WARD_OPTIONS=log_path=$tmp/reports/ward
t0=$(date +%s)
in_ns - bash "$root/tests/system/work.bash" plain "$tmp/plain" "$deb" 2>"$tmp/plain.log"
t1=$(date +%s)
in_ns "$syslib" bash "$root/tests/system/work.bash" ward "$tmp/ward" "$deb" 2>"$tmp/ward.log"
t2=$(date +%s)
unset WARD_OPTIONS
say "plain run $((t1 - t0)) s, ward run $((t2 - t1)) s"
[ -s "$tmp/plain.log" ] && { say "plain run's own messages:"; cat "$tmp/plain.log"; }
[ -s "$tmp/ward.log" ] && { say "ward run's own messages:"; cat "$tmp/ward.log"; }
if [ -e /etc/suid-debug ] && [ "$suid_debug_before" = no ]; then
    fail host "the host's /etc was changed (/etc/suid-debug exists)"
fi

# each step: the same output, errors and exit status; no report
for rcf in "$tmp/plain"/*.rc; do
    s=$(basename "$rcf" .rc)
    p=$tmp/plain/$s w=$tmp/ward/$s
    why=
    [ -f "$w.rc" ] || why="the ward run did not get to it"
    if [ -z "$why" ]; then
        [ "$(cat "$p.rc")" = "$(cat "$w.rc")" ] || why="exit status: plain $(cat "$p.rc"), ward $(cat "$w.rc")"
        cmp -s "$p.out" "$w.out" || why="$why${why:+; }output differs: $(diff -u "$p.out" "$w.out" | head -n 30)"
        cmp -s "$p.err" "$w.err" || why="$why${why:+; }stderr differs: $(diff -u "$p.err" "$w.err" | head -n 30)"
        grep -q '^ward: ' "$w.err" "$w.out" && why="$why${why:+; }ward reported: $(grep -h '^ward: ' "$w.err" "$w.out" | head)"
        [ -s "$p.out" ] || why="$why${why:+; }the plain run printed nothing: the step is broken ($(tail -n 5 "$p.err"))"
    fi
    if [ -z "$why" ]; then
        pass "$s"
        echo "    exit $(cat "$p.rc"), $(wc -l <"$p.out") lines, the same under ward; the first lines:"
        head -n 6 "$p.out" | cut -c 1-150 | sed 's/^/      | /'
    else
        fail "$s" "$why"
    fi
done
for f in "$tmp/plain/maps" "$tmp/ward/maps"; do
    [ -s "$f" ] || fail mapped "$f is empty: no process looked"
done
# ward mapped in every process that looked, in mode ward only
while read -r label m; do
    pm=$(awk -v l="$label" '$1 == l { print $2; exit }' "$tmp/plain/maps")
    if [ "$m" = yes ] && [ "$pm" = no ]; then
        pass "mapped/$label"
    else
        fail "mapped/$label" "ward mapped: '$m' under ward, '$pm' without it"
    fi
done <"$tmp/ward/maps"
# The package as a system administrator (or the Dockerfile in examples/)
# uses it: installed, then ward-preload enable on the namespace's own
# /etc/ld.so.preload with the installed library; programs started then run
# under it; removing the package takes it out of the file first, and
# programs started after that run without it and without a loader error.
if [ "$deb" != - ]; then
    flow=$tmp/flow
    WARD_OPTIONS=log_path=$tmp/reports/ward in_ns - bash -c '
        dpkg -i "$1" >/dev/null 2>&1 || echo "dpkg -i failed"
        ward-preload enable
        ward-preload status; echo "status: $?"
        echo "file: $(cat /etc/ld.so.preload)"
        sh -c "grep -q \" /usr/lib/.*/libward\\.so\\.0\" /proc/\$\$/maps && echo sh: mapped"
        python3 -c "import re; print(\"python3:\", \"mapped\" if re.search(r\" /usr/lib/.*/libward\\.so\\.0\", open(\"/proc/self/maps\").read()) else \"not mapped\")"
        dpkg -r ward 2>&1 | grep -v "^(Reading database"
        if [ -e /etc/ld.so.preload ]; then echo "after removal: $(cat /etc/ld.so.preload)"; else echo "after removal: no /etc/ld.so.preload"; fi
        sh -c "echo a program after removal" 2>&1
    ' flow "$deb" >"$flow" 2>&1
    sed 's/^/    | /' "$flow"
    lib_path=/usr/lib/$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || gcc -print-multiarch)/libward.so.0
    want_enabled=("enabled: /etc/ld.so.preload names $lib_path" "status: 0" "file: $lib_path" "sh: mapped"
        "python3: mapped")
    why=
    for l in "${want_enabled[@]}"; do grep -qF -- "$l" "$flow" || why="$why${why:+; }no '$l'"; done
    if [ -z "$why" ]; then pass package-enable; else fail package-enable "$why"; fi
    why=
    for l in "after removal: no /etc/ld.so.preload" "a program after removal"; do
        grep -qF -- "$l" "$flow" || why="$why${why:+; }no '$l'"
    done
    grep -q "ld\.so: \|ERROR\|failed" "$flow" && why="$why${why:+; }an error: $(grep "ld\.so: \|ERROR\|failed" "$flow")"
    if [ -z "$why" ]; then pass package-remove-disables; else fail package-remove-disables "$why"; fi
fi

reports=$(ls "$tmp/reports")
if [ -z "$reports" ]; then
    pass no-reports
else
    fail no-reports "ward reports were written: $reports: $(head -n 20 "$tmp/reports"/* 2>&1)"
fi
finish
