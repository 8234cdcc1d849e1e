#!/usr/bin/env bash
# OpenSSH under ward from /etc/ld.so.preload: a login by key to an sshd of
# its own (127.0.0.1, a free port, its own host key and config), run in a
# mount namespace whose /etc/ld.so.preload names ward (common.bash's
# in_ns), and the same without ward.  The pre-authentication child runs
# under OpenSSH's seccomp sandbox, which kills on any system call it does
# not allow (mincore, prctl, prlimit64, execve among them): ward must make
# none of them there (src/sandbox.c).  Each login must succeed, run a
# command, and, under ward, show libward mapped in the session's shell
# and in sshd itself.  Needs root and sshd (openssh-server; exit 77
# otherwise).
# shellcheck source=tests/system/common.bash
. "$(dirname "$0")/common.bash"
need_root
[ -x /usr/sbin/sshd ] && command -v ssh >/dev/null && command -v ssh-keygen >/dev/null ||
    { say "sshd or ssh not installed (openssh-server, openssh-client): skipped"; exit 77; }
need_ns

d=$tmp/ssh
mkdir -p "$d" /run/sshd
ssh-keygen -q -t ed25519 -N '' -f "$d/key" && ssh-keygen -q -t ed25519 -N '' -f "$d/hostkey" ||
    { fail keys "ssh-keygen failed"; finish; }
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat >"$d/sshd_config" <<CONF
Port $port
ListenAddress 127.0.0.1
HostKey $d/hostkey
AuthorizedKeysFile $d/key.pub
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PidFile $d/sshd.pid
CONF

# login LIB: sshd started, one login running a command, sshd stopped; prints
# what the session printed and sshd's log
login() {
    in_ns "$1" bash -c '
        d=$1 port=$2
        : >"$d/sshd.log"
        /usr/sbin/sshd -f "$d/sshd_config" -E "$d/sshd.log" || { echo "sshd did not start"; exit 1; }
        for i in $(seq 50); do [ -s "$d/sshd.pid" ] && break; sleep 0.1; done
        ssh -i "$d/key" -p "$port" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
            -o BatchMode=yes -o LogLevel=ERROR -o ConnectTimeout=10 root@127.0.0.1 \
            "echo session-ok; grep -c libward /proc/\$\$/maps; grep -c libward /proc/\$PPID/maps; true"
        rc=$?
        echo "ssh exit $rc"
        kill "$(cat "$d/sshd.pid")" 2>/dev/null
        sleep 0.2
        grep -E "Accepted|killed|signal|fatal|ward:" "$d/sshd.log"
        grep -rh "^ward:" "$d" 2>/dev/null
        exit $rc' sshd-login "$d" "$port"
}

plain_login() {
    local out
    out=$(login - 2>&1)
    grep -q "^session-ok$" <<<"$out" && grep -q "^ssh exit 0$" <<<"$out" && echo "$out" | grep -q "^Accepted publickey" ||
        { echo "$out"; return 1; }
}
ward_login() {
    local out
    out=$(login "$syslib" 2>&1)
    if ! grep -q "^session-ok$" <<<"$out" || ! grep -q "^ssh exit 0$" <<<"$out"; then
        echo "the login failed under ward:"
        echo "$out"
        return 1
    fi
    # libward mapped in the session's shell and in its parent (sshd)
    [ "$(sed -n '/^session-ok$/{n;p;n;p}' <<<"$out" | grep -c '^[1-9]')" -eq 2 ] ||
        { echo "libward is not mapped in the session's shell and sshd:"; echo "$out"; return 1; }
    ! grep -q "^ward:" <<<"$out" || { echo "a ward report:"; echo "$out"; return 1; }
}
check login-without-ward plain_login
check login-under-ward ward_login
finish
