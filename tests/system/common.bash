# Sourced by tests/system/*.sh (run by tests/run.sh with WARD_LIB and
# WARD_BUILD set): ward as the whole system has it.  Each "PASS NAME/CASE" or
# "FAIL NAME/CASE: reason" line a script prints counts as one test.
#
#   . "$(dirname "$0")/common.bash"
#   need_root                     # exit 77 (skip) unless root
#   need_ns                       # exit 77 unless `unshare -m` and a writable /etc in it work
#   pass CASE / fail CASE REASON  # one result
#   check CASE CMD...             # PASS if CMD succeeds, else FAIL with its output
#   in_ns LIB|- CMD...            # CMD in a mount namespace whose /etc/ld.so.preload
#                                 # names LIB (ward-preload enable) or nothing (-)
#   finish                        # exit 1 after a FAIL, else 0
#
# $tmp is a private directory (mode 755, so an unprivileged user can reach
# what is put there), removed on exit; $syslib is a copy of the freshly
# built library in it ($tmp/lib/libward.so), readable by every user, as a
# library named in /etc/ld.so.preload must be.

set -u
set -o pipefail
export LC_ALL=C TZ=UTC
unset WARD_OPTIONS

test_name=$(basename "$0" .sh)
nfail=0
say() { printf '%s: %s\n' "$test_name" "$*"; }
pass() { echo "PASS $test_name/$1"; }
fail() {
    echo "FAIL $test_name/$1:"
    printf '%s\n' "$2" | sed 's/^/    /'
    nfail=$((nfail + 1))
}
check() {
    local name=$1 out
    shift
    if out=$("$@" 2>&1); then
        pass "$name"
        [ -z "$out" ] || printf '%s\n' "$out" | sed 's/^/    /'
    else
        fail "$name" "$(printf '%s' "$out" | tail -n 30)"
    fi
}
finish() {
    if [ "$nfail" -ne 0 ]; then
        say "$nfail failed"
        exit 1
    fi
    exit 0
}

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=${WARD_BUILD:?WARD_BUILD is not set (tests/run.sh sets it)}
WARD_LIB=${WARD_LIB:-$build/libward.so}
if [ ! -f "$WARD_LIB" ]; then
    say "WARD_LIB=$WARD_LIB does not exist"
    exit 1
fi

need_root() {
    if [ "$(id -u)" -ne 0 ]; then
        say "not root: skipped (it needs root: set-user-ID files, mount namespaces, dpkg)"
        exit 77
    fi
}

# /tmp, not TMPDIR: the set-user-ID copies need a file system mounted
# without nosuid, and the unprivileged user a path it can walk
tmp=$(mktemp -d /tmp/ward-"$test_name".XXXXXX) || exit 1
chmod 755 "$tmp"
cleanups=()
cleanup() {
    local c
    for c in "${cleanups[@]}"; do eval "$c"; done
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM
mkdir -p "$tmp/lib"
cp "$(readlink -f "$WARD_LIB")" "$tmp/lib/libward.so"
chmod 755 "$tmp/lib" "$tmp/lib/libward.so"
syslib=$tmp/lib/libward.so
preload_cmd=$build/ward-preload

# the unprivileged user
nobody_uid=$(id -u nobody 2>/dev/null || echo 65534)
nobody_gid=$(id -g nobody 2>/dev/null || echo 65534)
as_nobody() { setpriv --reuid="$nobody_uid" --regid="$nobody_gid" --clear-groups -- "$@"; }

# in_ns LIB|- CMD...: run CMD in a new mount namespace (unshare -m, private
# propagation: nothing mounted there is seen outside) whose /etc is an
# overlay of the host's (or, where overlayfs is refused, a copy of it bound
# over it): whatever is written to /etc there, /etc/ld.so.preload first, is
# gone when the namespace ends, and the host's /etc is never changed.  The
# namespace's /etc/ld.so.preload names LIB, put there by ward-preload enable
# (the build's), or does not exist (-).
ns_count=0
in_ns() {
    local lib=$1
    shift
    ns_count=$((ns_count + 1))
    local d=$tmp/ns$ns_count
    mkdir -p "$d/up" "$d/work"
    unshare -m --propagation private -- bash -c '
        set -e
        d=$1 lib=$2 preload=$3
        shift 3
        if ! mount -t overlay overlay -o "lowerdir=/etc,upperdir=$d/up,workdir=$d/work" /etc 2>/dev/null; then
            cp -a /etc "$d/etc"
            mount --bind "$d/etc" /etc
        fi
        rm -f /etc/ld.so.preload
        if [ "$lib" != - ]; then
            "$preload" --file=/etc/ld.so.preload --lib="$lib" enable >"$d/enable.log" 2>&1 ||
                { cat "$d/enable.log" >&2; exit 125; }
        fi
        exec "$@"' in_ns "$d" "$lib" "$preload_cmd" "$@"
}

need_ns() {
    command -v unshare >/dev/null 2>&1 || { say "unshare not installed: skipped"; exit 77; }
    local out
    if ! out=$(in_ns - sh -c 'echo probe >/etc/ward-ns-probe && cat /etc/ward-ns-probe' 2>&1) || [ "$out" != probe ]; then
        say "a mount namespace with a writable /etc cannot be made here: skipped ($out)"
        exit 77
    fi
    if [ -e /etc/ward-ns-probe ]; then
        rm -f /etc/ward-ns-probe
        say "the namespace's /etc was the host's: the test is broken"
        exit 1
    fi
}
