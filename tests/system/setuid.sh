#!/usr/bin/env bash
# A set-user-ID program ignores WARD_OPTIONS: an unprivileged user cannot
# turn ward's checks off in it, make it die at start-up with a bad option,
# or send its reports into a file of their choosing.
#
# tests/system/secure.c is built twice: linked with libward.a, and plainly
# (ward then comes from /etc/ld.so.preload, in a mount namespace: see
# common.bash).  Each is copied, owned by root, set-user-ID; the user nobody
# runs both the plain and the set-user-ID copy with hostile WARD_OPTIONS.
# The plain copy obeys them (so the options do work), the set-user-ID one
# (AT_SECURE set by the kernel) does not: its double free is still reported
# and aborts, no log file appears, a bad option is not even parsed.
# Needs root (exit 77 otherwise); the namespace half needs unshare.
# shellcheck source=tests/system/common.bash
. "$(dirname "$0")/common.bash"
need_root
command -v setpriv >/dev/null 2>&1 || { say "setpriv not installed: skipped"; exit 77; }

cc=${CC:-cc}
src=$root/tests/system/secure.c
if ! $cc -O1 -g -o "$tmp/linked" "$src" "$build/libward.a" -lsodium -pthread 2>"$tmp/cc.log" ||
    ! $cc -O1 -g -o "$tmp/plain" "$src" 2>>"$tmp/cc.log"; then
    fail build "$(cat "$tmp/cc.log")"
    finish
fi
for p in linked plain; do
    cp "$tmp/$p" "$tmp/$p-suid"
    chown root:root "$tmp/$p-suid"
    chmod 4755 "$tmp/$p-suid"
done
mkdir -m 1777 "$tmp/logs"

# The kernel must honour the bit here (/tmp not mounted nosuid)
info=$(as_nobody "$tmp/linked-suid" info 2>&1)
case "$info" in
"secure=1 euid=0 ward=1") pass linked/setuid-runs-secure ;;
"secure=0 "*)
    say "set-user-ID is not honoured under /tmp (mounted nosuid?): $info: skipped"
    exit 77
    ;;
*) fail linked/setuid-runs-secure "nobody ran it: '$info', want 'secure=1 euid=0 ward=1'" ;;
esac

# nobody_with OPTIONS PROG ARG: PROG run by nobody with WARD_OPTIONS=OPTIONS
# in its environment alone (setpriv and the shell, which run under ward from
# /etc/ld.so.preload too, do not see it: a bad option would stop them)
nobody_with=(setpriv --reuid="$nobody_uid" --regid="$nobody_gid" --clear-groups --
    /bin/sh -c 'WARD_OPTIONS=$1 exec "$2" "$3"' sh)

hostile="on_error=continue:poison=off:canary=0:quarantine_bytes=0:sample=0:exit_check=off"

# cases NAME PROG RUNNER...: the checks on $tmp/PROG (and PROG-suid), each
# started through RUNNER (nothing, or in_ns LIB)
cases() {
    local pre=$1 prog=$tmp/$2 out rc f
    shift 2
    local -a run=("$@")

    # the plain copy, as nobody: the options hold
    out=$("${run[@]}" "${nobody_with[@]}" "$hostile" "$prog" double-free 2>&1)
    rc=$?
    # (on_error=continue: the bad call does nothing, the program goes on and
    # exits with exitcode, 1)
    if [ "$rc" -eq 1 ] && grep -q '^survived$' <<<"$out" && grep -q 'ward: double free' <<<"$out"; then
        pass "$pre/plain-obeys-options"
    else
        fail "$pre/plain-obeys-options" "exit $rc, want 1, the report and 'survived': $out"
    fi
    # the set-user-ID copy: the double free still aborts
    out=$("${run[@]}" "${nobody_with[@]}" "$hostile" "$prog-suid" double-free 2>&1)
    rc=$?
    if [ "$rc" -eq 134 ] && grep -q '^ward: double free: free(0x' <<<"$out" && ! grep -q survived <<<"$out"; then
        pass "$pre/setuid-ignores-on_error"
    else
        fail "$pre/setuid-ignores-on_error" "exit $rc, want 134 (SIGABRT) after a report: $out"
    fi

    # log_path: the plain copy writes its report there, the set-user-ID one
    # to its stderr, and makes no file
    rm -f "$tmp/logs/"*
    out=$("${run[@]}" "${nobody_with[@]}" "log_path=$tmp/logs/chosen" "$prog" double-free 2>&1)
    f=$(ls "$tmp/logs")
    if [ -n "$f" ] && grep -q 'ward: double free' "$tmp/logs/"* && ! grep -q 'ward: double free' <<<"$out"; then
        pass "$pre/plain-obeys-log_path"
    else
        fail "$pre/plain-obeys-log_path" "files: '$f'; stderr: $out"
    fi
    rm -f "$tmp/logs/"*
    out=$("${run[@]}" "${nobody_with[@]}" "log_path=$tmp/logs/chosen" "$prog-suid" double-free 2>&1)
    rc=$?
    f=$(ls "$tmp/logs")
    if [ -z "$f" ] && [ "$rc" -eq 134 ] && grep -q '^ward: double free' <<<"$out"; then
        pass "$pre/setuid-ignores-log_path"
    else
        fail "$pre/setuid-ignores-log_path" "files made: '$f'; exit $rc; stderr: $out"
    fi

    # a bad option: the plain copy stops at start-up, the set-user-ID one
    # never reads it; help=1 prints nothing there either
    out=$("${run[@]}" "${nobody_with[@]}" "no_such_option=1" "$prog" info 2>&1)
    if grep -q "unknown option 'no_such_option'" <<<"$out"; then
        pass "$pre/plain-reads-options"
    else
        fail "$pre/plain-reads-options" "no start-up error: $out"
    fi
    out=$("${run[@]}" "${nobody_with[@]}" "no_such_option=1:help=1" "$prog-suid" info 2>&1)
    rc=$?
    if [ "$rc" -eq 0 ] && [ "$out" = "secure=1 euid=0 ward=1" ]; then
        pass "$pre/setuid-ignores-options"
    else
        fail "$pre/setuid-ignores-options" "exit $rc, output '$out', want exit 0 and 'secure=1 euid=0 ward=1'"
    fi
}

cases linked linked

# ward from /etc/ld.so.preload, as ward-preload enable puts it for the
# whole system
if ! command -v unshare >/dev/null 2>&1 || ! in_ns - true 2>/dev/null; then
    say "no mount namespace here (unshare -m): the ld.so.preload half is skipped"
    finish
fi
info=$(in_ns "$syslib" setpriv --reuid="$nobody_uid" --regid="$nobody_gid" --clear-groups -- \
    "$tmp/plain-suid" info 2>&1)
if [ "$info" = "secure=1 euid=0 ward=1" ]; then
    pass preload/setuid-runs-under-ward
else
    fail preload/setuid-runs-under-ward "nobody ran it: '$info', want 'secure=1 euid=0 ward=1'"
fi
cases preload plain in_ns "$syslib"
finish
