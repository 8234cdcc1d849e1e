#!/usr/bin/env bash
# The examples in examples/: the systemd drop-ins parse (systemd-analyze
# verify, with a unit of its own and with Debian's redis-server.service, the
# commented alternatives switched on too), every WARD_OPTIONS value they
# give is one ward accepts, the library path they name is the package's,
# and where systemd's @system-service lacks a call ward makes (mincore),
# which ward then does not make (src/sandbox.c, t_sandbox), the drop-ins
# do not widen the unit's filter for it.  The Dockerfile is not built here (no container
# engine): its commands are system.sh's package-enable case.
# systemd need not run: systemd-analyze works offline.
# shellcheck source=tests/system/common.bash
. "$(dirname "$0")/common.bash"
ex=$root/examples
multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || gcc -print-multiarch)
dropins=("$ex/systemd/ward.conf" "$ex/systemd/redis-server.service.d/ward.conf")

# the drop-ins name the package's library (their comments say to change
# the triplet on other architectures)
path_ok() {
    local f p
    for f in "${dropins[@]}"; do
        p=$(sed -n 's/^Environment=LD_PRELOAD=//p' "$f")
        [ "$p" = "/usr/lib/x86_64-linux-gnu/libward.so.0" ] || { echo "$f: LD_PRELOAD=$p"; return 1; }
    done
    if [ "$multiarch" != x86_64-linux-gnu ]; then
        echo "(this machine's library is /usr/lib/$multiarch/libward.so.0: the examples are amd64's)"
    fi
}
check library-path path_ok

# every WARD_OPTIONS value, commented alternatives too, starts ward cleanly
options_ok() {
    local f v out
    mkdir -p "$tmp/log"
    for f in "${dropins[@]}"; do
        while IFS= read -r v; do
            v=${v//\/var\/log\/ward/$tmp\/log}
            out=$(LD_PRELOAD=$WARD_LIB WARD_OPTIONS=$v python3 -c 'print("started")' 2>&1)
            [ "$out" = started ] || { echo "$f: WARD_OPTIONS=$v: $out"; return 1; }
            echo "WARD_OPTIONS=$v: accepted"
        done < <(sed -n 's/^#\{0,1\}Environment=WARD_OPTIONS=//p' "$f")
    done
}
check options options_ok

if ! command -v systemd-analyze >/dev/null 2>&1; then
    echo "SKIP $test_name/systemd: systemd-analyze not installed"
    finish
fi
# verify UNIT_FILE DROPIN [all]: systemd-analyze verify of the unit with the
# drop-in beside it (with all: its commented directives switched on); no
# line about the drop-in
verify() {
    local unit=$1 dropin=$2 d out
    d=$(mktemp -d "$tmp/verify.XXXXXX")
    cp "$unit" "$d/"
    mkdir "$d/$(basename "$unit").d"
    if [ "${3:-}" = all ]; then
        sed 's/^#\([A-Z][A-Za-z]*=\)/\1/' "$dropin" >"$d/$(basename "$unit").d/ward.conf"
    else
        cp "$dropin" "$d/$(basename "$unit").d/ward.conf"
    fi
    out=$(cd "$d" && systemd-analyze verify "./$(basename "$unit")" 2>&1)
    if grep -q 'ward\.conf' <<<"$out"; then
        echo "$out"
        return 1
    fi
    # the drop-in was read: its environment is the unit's
    out=$(cd "$d" && SYSTEMD_LOG_LEVEL=debug systemd-analyze verify "./$(basename "$unit")" 2>&1)
    grep -q "ward.conf" <<<"$out" || echo "(systemd-analyze did not say it read the drop-in)"
}
printf '[Unit]\nDescription=a service\n[Service]\nExecStart=/bin/true\n' >"$tmp/some.service"
check systemd-verify verify "$tmp/some.service" "$ex/systemd/ward.conf"
check systemd-verify-alternatives verify "$tmp/some.service" "$ex/systemd/ward.conf" all
redis_unit=/lib/systemd/system/redis-server.service
if [ -f "$redis_unit" ]; then
    check systemd-verify-redis verify "$redis_unit" "$ex/systemd/redis-server.service.d/ward.conf"
else
    echo "SKIP $test_name/systemd-verify-redis: $redis_unit not installed"
fi

# mincore(2) (ward's os_resident) and @system-service
mincore_ok() {
    local set
    expand() {
        systemd-analyze syscall-filter "$1" 2>/dev/null | awk 'NR > 1 && $1 !~ /^#/ { print $1 }' |
            while read -r s; do case $s in @*) expand "$s" ;; *) echo "$s" ;; esac; done
    }
    set=$(expand @system-service | sort -u)
    [ -n "$set" ] || { echo "systemd-analyze syscall-filter printed nothing"; return 1; }
    if grep -qx mincore <<<"$set"; then
        echo "this systemd's @system-service holds mincore"
    else
        echo "@system-service lacks mincore ($(systemd-analyze --version | head -n 1)): ward makes no such call under a filter"
    fi
    if grep -q '^SystemCallFilter=' "${dropins[@]}"; then
        echo "a drop-in widens the unit's system-call filter"
        return 1
    fi
}
check systemd-mincore mincore_ok
finish
