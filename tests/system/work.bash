# The Debian work tests/system/system.sh runs twice, each time inside a
# mount namespace of its own: once with no /etc/ld.so.preload (mode plain),
# once with the freshly built ward named there (mode ward), so that every
# process below, and every process those start, set-user-ID ones included,
# runs under ward.
#
#   bash work.bash MODE OUT DEB|-
#
# OUT's parent must be reachable by every user (set-user-ID programs run by
# nobody find the helper script and the maps file there).
# Each step's standard output, standard error and exit status go to
# OUT/STEP.out, .err, .rc; system.sh compares them between the two modes.
# Lines "LABEL yes|no" in OUT/maps say whether ward was mapped in a process
# (yes is wanted in mode ward, no in mode plain); they are kept out of the
# compared output.  DEB is the package to install and remove (- to skip:
# the host has ward installed already).
set -u
mode=$1
out=$2
deb=$3
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
mkdir -p "$out"
export WARD_SYS_MAPS=$out/maps
: >"$WARD_SYS_MAPS"
chmod 666 "$WARD_SYS_MAPS"
# where the steps work: OUT/../work, the same path in both modes (paths
# appear in the output: git's, make's, the compilers')
w=$(cd "$out/.." && pwd)/work
rm -rf "$w"
mkdir -p "$w"
chmod 755 "$w"
export HOME=$w/home
mkdir -p "$HOME"

# ward-mapped LABEL: a child process (this small sh script) records whether
# ward is mapped in it; run from inside python3, perl, make, git, su, ...
# (by absolute path, and with the file named in it: sudo and su reset PATH
# and the environment)
mkdir -p "$w/bin"
mapped=$w/bin/ward-mapped
cat >"$mapped" <<SH
#!/bin/sh
if grep -q '/libward[^/]*\.so' /proc/\$\$/maps; then m=yes; else m=no; fi
echo "\$1 \$m" >>"$WARD_SYS_MAPS"
SH
chmod 755 "$mapped"
export WARD_MAPPED=$mapped

# step NAME CMD...: run CMD (a function or a program) in $w, stdin from
# /dev/null, and keep what it printed and how it exited
step() {
    local name=$1
    shift
    (cd "$w" && "$@") </dev/null >"$out/$name.out" 2>"$out/$name.err"
    echo $? >"$out/$name.rc"
}

# ld_mapped LABEL PROG [ARGS...]: run PROG (through the command in the
# array runner: setpriv to the user nobody, or env) with the loader's trace
# (LD_DEBUG=libs; /etc/suid-debug lets a set-user-ID program keep it) and
# record whether ward was initialised in the process that ran PROG: the
# way to look inside a set-user-ID process run by another user, whose
# /proc/PID/maps its caller may not read.  The sh that starts it keeps no
# LD_DEBUG itself.
ld_mapped() {
    local label=$1 prog=$2
    shift 2
    "${runner[@]}" /bin/sh -c 'LD_DEBUG=libs exec "$@"' sh "$prog" "$@" 2>&1 >/dev/null </dev/null |
        awk -v p="$prog" -v l="$label" '
            { sub(/^[ \t]+/, ""); pid = $1; sub(/:$/, "", pid) }
            /calling init: .*\/libward[^\/]*\.so/ { w[pid] = 1 }
            $2 == "initialize" && $3 == "program:" && $4 == p { seen[pid] = 1 }
            END { m = "no"; for (q in seen) if (w[q]) m = "yes"; print l, m }' >>"$WARD_SYS_MAPS"
}
touch /etc/suid-debug

nobody_uid=$(id -u nobody 2>/dev/null || echo 65534)
nobody_gid=$(id -g nobody 2>/dev/null || echo 65534)
as_nobody=(setpriv --reuid="$nobody_uid" --regid="$nobody_gid" --clear-groups --)

# ---- dpkg: install the package, use what it installed, remove it -----------
installed_use() {
    dpkg-query -W -f='${Package} ${Version} ${Status}\n' ward
    dpkg -L ward | sort
    ward --version
    ward-preload --version
    # the installed ward-preload with the installed library, on a scratch file
    local f=$w/preload-scratch
    printf '/opt/other/libfoo.so\n' >"$f"
    ward-preload --file="$f" enable
    cat "$f"
    ward-preload --file="$f" status
    echo "status: $?"
    ward-preload --file="$f" disable
    cat "$f"
    # the installed launcher preloads the installed library
    ward --on_error=exit --exitcode=7 -- sh -c 'echo launched; grep -q " /usr/lib/.*/libward\.so\.0" /proc/$$/maps && echo "the installed ward is mapped"'
    # a program built against the installed package (pkg-config)
    cat >"$w/app.c" <<'C'
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <ward.h>
int main(void)
{
    void *p = malloc(5);
    printf("usable %zu, heap check %d\n", malloc_usable_size(p), ward_check_heap());
    free(p);
    return 0;
}
C
    # shellcheck disable=SC2046
    cc -O1 -o "$w/app" "$w/app.c" $(pkg-config --cflags --libs ward) && "$w/app"
    pkg-config --modversion ward
}
if [ "$deb" != - ]; then
    step dpkg-install dpkg -i "$deb"
    step dpkg-installed installed_use
    step dpkg-remove dpkg -r ward
    step dpkg-removed sh -c 'dpkg-query -W -f="\${Package} \${Status}\n" ward 2>&1; echo "dpkg-query: $?"'
fi

# ---- apt: queries and simulations ---------------------------------------------
apt_cache() {
    apt-cache policy dpkg libc6 coreutils
    apt-cache show --no-all-versions dpkg | grep -E '^(Package|Essential|Priority|Section|Multi-Arch):'
    apt-cache depends --no-recommends --no-suggests make gcc
    apt-cache rdepends --installed libsodium23 libunwind8 | sort
    apt-cache showpkg libc6 | head -n 40
    apt-cache pkgnames | sort | sha256sum
    apt-cache search --names-only '^libsodium' | sort
    apt-cache dump | wc -l
    apt-cache stats
}
step apt-cache apt_cache
apt_get_sim() {
    local a=(apt-get -s -o Debug::NoLocking=1 -o APT::Get::Show-Versions=1)
    "${a[@]}" remove make
    echo "remove make: $?"
    "${a[@]}" purge python3
    echo "purge python3: $?"
    "${a[@]}" install --no-install-recommends build-essential
    echo "install build-essential: $?"
    "${a[@]}" dist-upgrade
    echo "dist-upgrade: $?"
    "${a[@]}" check
    echo "check: $?"
}
step apt-get-simulate apt_get_sim

# ---- a shell pipeline ------------------------------------------------------------
pipeline() {
    seq 1 300000 | awk '{ print ($1 * 7919) % 100003, $1 % 97, $1 }' | sort -k1,1n -k3,3nr |
        awk '{ s[$2] += $1 } END { for (k in s) print k, s[k] }' | sort -n | sha256sum
    seq 1 50000 | sed -e 's/\(.\)$/\1 x/' -e 's/^/line /' | tr 'a-z' 'A-Z' | grep -c ' X$'
    find /usr/share/common-licenses -type f | sort | xargs cat | wc -c
    tar -C /usr/share -cf - common-licenses | gzip -6 | gzip -dc | tar -tf - | sort | sha256sum
    printf '%s\n' b a c a b a | sort | uniq -c | sort -rn
    join <(seq 1 2 40 | sort) <(seq 1 3 40 | sort) | wc -l
    sh -c "$mapped sh-child"
    bash -c "$mapped bash-child"
}
step shell-pipeline pipeline

# ---- python3 and perl --------------------------------------------------------------
cat >"$w/work.py" <<'PY'
import collections, hashlib, json, os, re, sqlite3, subprocess, threading

def mapped():
    with open("/proc/self/maps") as f:
        return "yes" if re.search(r"/libward[^/]*\.so", f.read()) else "no"
with open(os.environ["WARD_SYS_MAPS"], "a") as f:
    f.write("python3 " + mapped() + "\n")

d = {f"k{i}": [i] * (i % 7) for i in range(100000)}
print("dict", len(d), sum(len(v) for v in d.values()))
s = json.dumps(d, sort_keys=True)
print("json", len(s), hashlib.sha256(s.encode()).hexdigest()[:16])
print("re", len(re.findall(r"k(\d+)7\"", s)))
c = collections.Counter(len(v) for v in d.values())
print("counter", sorted(c.items()))
db = sqlite3.connect(":memory:")
db.execute("create table t (k text primary key, v integer)")
db.executemany("insert into t values (?, ?)", ((k, len(v)) for k, v in d.items()))
print("sqlite", db.execute("select count(*), sum(v) from t where v > 2").fetchone())
res = []
def worker(n):
    res.append(sum(len(str(i)) for i in range(n)))
ts = [threading.Thread(target=worker, args=(50000 + i,)) for i in range(4)]
[t.start() for t in ts]
[t.join() for t in ts]
print("threads", sorted(res))
print("child", subprocess.run(["sh", "-c", "echo from-sh; $WARD_MAPPED python3-child"],
                               capture_output=True, text=True).stdout.strip())
PY
step python3 python3 "$w/work.py"

cat >"$w/work.pl" <<'PL'
use strict;
use warnings;
use Digest::MD5 qw(md5_hex);
open(my $m, '<', '/proc/self/maps') or die;
my $maps = do { local $/; <$m> };
open(my $o, '>>', $ENV{WARD_SYS_MAPS}) or die;
print $o 'perl ' . ($maps =~ m{/libward[^/]*\.so} ? 'yes' : 'no') . "\n";
close $o;
my %h;
$h{"key$_"} = $_ * 3 for 0 .. 99_999;
delete $h{"key$_"} for grep { $_ % 3 == 0 } 0 .. 99_999;
print "hash ", scalar(keys %h), "\n";
my $s = join ',', map { "$_=$h{$_}" } sort keys %h;
print "md5 ", md5_hex($s), "\n";
(my $t = $s) =~ s/key(\d+)=/K$1:/g;
print "subst ", length($t), "\n";
my @sorted = sort { $h{$b} <=> $h{$a} || $a cmp $b } keys %h;
print "top @sorted[0..2]\n";
my $child = `sh -c 'echo from-sh; \$WARD_MAPPED perl-child'`;
print "child $child";
PL
step perl perl "$w/work.pl"

# ---- gcc, g++ and make build a small project ------------------------------------
project() {
    mkdir -p proj && cd proj || return 1
    cat >list.h <<'C'
struct node { struct node *next; char *text; };
struct node *push(struct node *head, const char *text);
unsigned long sum_lengths(const struct node *n);
void release(struct node *n);
C
    cat >list.c <<'C'
#include <stdlib.h>
#include <string.h>
#include "list.h"
struct node *push(struct node *head, const char *text)
{
    struct node *n = malloc(sizeof *n);
    n->next = head;
    n->text = strdup(text);
    return n;
}
unsigned long sum_lengths(const struct node *n)
{
    unsigned long s = 0;
    for (; n; n = n->next)
        s += strlen(n->text);
    return s;
}
void release(struct node *n)
{
    while (n) {
        struct node *next = n->next;
        free(n->text);
        free(n);
        n = next;
    }
}
C
    cat >main.c <<'C'
#include <stdio.h>
#include "list.h"
int main(void)
{
    struct node *l = NULL;
    char buf[64];
    for (int i = 0; i < 100000; i++) {
        snprintf(buf, sizeof buf, "item %d", i * 31 % 1000);
        l = push(l, buf);
    }
    printf("c: %lu\n", sum_lengths(l));
    release(l);
    return 0;
}
C
    cat >words.cc <<'C'
#include <algorithm>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <vector>
int main()
{
    std::map<std::string, std::vector<int>> m;
    for (int i = 0; i < 50000; i++)
        m["w" + std::to_string(i % 997)].push_back(i);
    std::vector<std::unique_ptr<std::string>> v;
    for (auto &kv : m)
        v.push_back(std::make_unique<std::string>(kv.first + ":" + std::to_string(kv.second.size())));
    std::sort(v.begin(), v.end(), [](auto &a, auto &b) { return *a > *b; });
    std::cout << "c++: " << m.size() << " " << *v.front() << " " << *v.back() << "\n";
}
C
    cat >Makefile <<'MK'
CFLAGS = -O2 -g -Wall
all: list words
	$(WARD_MAPPED) make-recipe
list: main.o list.o
	$(CC) -o $@ main.o list.o
words: words.o
	$(CXX) -o $@ words.o
%.o: %.cc
	$(CXX) -O2 -g -Wall -c -o $@ $<
MK
    make -j2 2>&1 | sort
    ./list
    ./words
    sha256sum ./*.o
}
step make-gcc-g++ project

# ---- git ---------------------------------------------------------------------
git_work() {
    set -e
    export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null
    export GIT_AUTHOR_NAME=Ward GIT_AUTHOR_EMAIL=ward@example.invalid
    export GIT_COMMITTER_NAME=Ward GIT_COMMITTER_EMAIL=ward@example.invalid
    export GIT_AUTHOR_DATE=2024-01-01T00:00:00Z GIT_COMMITTER_DATE=2024-01-01T00:00:00Z
    git init -q -b main repo && cd repo || return 1
    for i in $(seq 1 200); do seq 1 "$i" >"f$i.txt"; done
    git add -A && git commit -q -m first
    git checkout -q -b topic
    for i in $(seq 1 5 200); do sed -i "1s/^/topic /" "f$i.txt"; done
    git commit -q -am topic
    git checkout -q main
    for i in $(seq 3 7 200); do echo "main $i" >>"f$i.txt"; done
    git commit -q -am main
    git merge -q --no-edit topic
    git log --format='%H %s' --graph
    git diff --stat HEAD~2 HEAD | tail -n 1
    git gc -q --prune=now
    git fsck --strict 2>&1
    git -c alias.mapped="!$mapped git-alias-child" mapped
    git rev-list --all --objects | sort | sha256sum
}
step git git_work

# ---- set-user-ID programs ----------------------------------------------------
setuid_root() {
    passwd -S root
    su -s /bin/sh -c "id -un; $mapped su-child" nobody
    echo "su: $?"
    if command -v sudo >/dev/null 2>&1; then
        sudo -n true
        echo "sudo -n true: $?"
        sudo -n -u nobody sh -c "id -un; $mapped sudo-child"
        echo "sudo -u nobody: $?"
    fi
}
step setuid-as-root setuid_root
setuid_nobody() {
    "${as_nobody[@]}" passwd -S
    echo "passwd -S: $?"
    "${as_nobody[@]}" mount -t proc
    echo "mount: $?"
    "${as_nobody[@]}" su -c true root
    echo "su: $?"
    if command -v sudo >/dev/null 2>&1; then
        "${as_nobody[@]}" sudo -n true
        echo "sudo -n true: $?"
    fi
    "${as_nobody[@]}" chfn -r x 2>&1 </dev/null | head -n 3
    echo "chfn: ${PIPESTATUS[0]}"
}
step setuid-as-nobody setuid_nobody

# ward in the set-user-ID processes themselves, as the user nobody (their
# AT_SECURE is set) and as root
runner=("${as_nobody[@]}")
ld_mapped passwd-as-nobody /usr/bin/passwd -S
ld_mapped mount-as-nobody /usr/bin/mount -t proc
if command -v sudo >/dev/null 2>&1; then
    ld_mapped sudo-as-nobody "$(command -v sudo)" -n true
fi
runner=(env)
ld_mapped passwd-as-root /usr/bin/passwd -S root
ld_mapped su-as-root /usr/bin/su -s /bin/sh -c true nobody
rm -rf "$w"
