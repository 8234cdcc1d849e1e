#!/bin/sh
# ward-preload: put ward in /etc/ld.so.preload (every program started from
# then on runs under it, set-user-ID programs included), take it out again,
# or say whether it is there.  ward-preload(8).
#
#   ward-preload [--file=PATH] [--lib=PATH] [--quiet] enable|disable|status
#   ward-preload disable --all
#
# The file is rewritten atomically: a new file is written beside it in the
# same directory, flushed to disk, then renamed over it, so a crash leaves
# the old file or the new one, never half of one.  Lines that are not
# ward's are kept as they are.  enable refuses a library that is missing,
# not readable by every user, or that does not load into a test program:
# every program on the system reads this file, and a library named there
# that cannot be loaded makes each of them print an error at start.
#
# The build puts the installed library's directory in place of @LIBDIR@
# (Makefile: $(BUILD)/ward-preload).
set -u

prog=ward-preload
version='@VERSION@'
default_lib='@LIBDIR@/libward.so.@SOVERSION@'
file=${WARD_PRELOAD_FILE:-/etc/ld.so.preload}
lib=$default_lib
quiet=0
all=0
cmd=

usage() {
    cat <<EOF
usage: $prog [--file=PATH] [--lib=PATH] [--quiet] enable|disable|status
  enable    name ward's library in the preload file, so that every program
            started from now on runs under ward (after checking that it loads)
  disable   take ward's library out of the file (--all: any ward library);
            the file is removed when nothing else is left in it
  status    say whether the file names ward (exit 0 if it does, 3 if not)
options:
  --file=PATH   the preload file (default: WARD_PRELOAD_FILE or /etc/ld.so.preload)
  --lib=PATH    ward's library (default: $default_lib)
  --all         disable: remove every ward library, wherever it lies
  --quiet, -q   say nothing when nothing changes
  --version     print the version
EOF
}

say() { printf '%s: %s\n' "$prog" "$*"; }
die() {
    printf '%s: error: %s\n' "$prog" "$*" >&2
    exit 1
}

for a in "$@"; do
    case "$a" in
    --file=*) file=${a#--file=} ;;
    --lib=*) lib=${a#--lib=} ;;
    --all) all=1 ;;
    -q | --quiet) quiet=1 ;;
    -h | --help)
        usage
        exit 0
        ;;
    --version)
        echo "$prog $version"
        exit 0
        ;;
    enable | disable | status)
        [ -z "$cmd" ] || die "one command at a time (got $cmd and $a)"
        cmd=$a
        ;;
    *)
        usage >&2
        exit 2
        ;;
    esac
done
if [ -z "$cmd" ]; then
    usage >&2
    exit 2
fi
[ -n "$file" ] || die "--file is empty"
[ -n "$lib" ] || die "--lib is empty"

# The preload file itself, not a link to it: the new file must be renamed
# over the real one, in its directory.
if [ -L "$file" ]; then
    file=$(readlink -f -- "$file") || die "cannot resolve the link $file"
fi
case "$file" in
*/*) dir=${file%/*} ;;
*) dir=. ;;
esac
[ -n "$dir" ] || dir=/

# dirof PATH: the directory PATH lies in, absolute and with links resolved
# (/lib and /usr/lib are one directory where /usr is merged), or as written
# when it does not exist (a build tree since removed)
dirof() {
    case "$1" in
    */*) (cd -P -- "${1%/*}/" 2>/dev/null && pwd -P) || printf '%s\n' "${1%/*}" ;;
    *) pwd -P ;;
    esac
}
# The library by absolute path (every program reads the file, from every
# directory), its last component kept: libward.so.0 follows a package
# upgrade, its target does not.
case "$lib" in
*[[:space:]:#]*) die "$lib: ld.so cannot name a library whose path holds a blank, ':' or '#'" ;;
esac
libdir=$(dirof "$lib")
lib=${libdir%/}/${lib##*/}

# is_ward WORD: a word of the file that names a ward library (libward.so,
# libward.so.0, libward.so.0.1.0, libward-light.so, ...)
is_ward() {
    case "${1##*/}" in
    libward*.so | libward*.so.*) return 0 ;;
    *) return 1 ;;
    esac
}

# words: every library the file names, one a line.  ld.so reads names
# separated by blanks, newlines or ':', and skips '#' to the end of a line.
words() {
    [ -f "$file" ] || return 0
    sed -e 's/#.*//' -e 's/[[:space:]:]\{1,\}/\n/g' -- "$file" | sed '/^$/d'
}

# ward_words [ALL]: the ward libraries the file names: all of them, or only
# those in the directory of $lib (the copy this command manages: removing a
# package takes out the package's library, not a build tree's)
ward_words() {
    words | while IFS= read -r w; do
        is_ward "$w" || continue
        if [ "${1:-}" = all ] || [ "$(dirof "$w")" = "$libdir" ]; then
            printf '%s\n' "$w"
        fi
    done | awk '!seen[$0]++'
}

# join: its input lines, joined by ", "
join() { sed -e ':a' -e 'N' -e '$!ba' -e 's/\n/, /g'; }

# without WORDS_FILE: the preload file with each word listed in WORDS_FILE
# removed; a line left with no word and no comment goes, other lines are
# kept byte for byte
without() {
    awk -v rmfile="$1" '
        BEGIN { while ((getline x < rmfile) > 0) rm[x] = 1 }
        {
            line = $0; body = line; comment = ""
            i = index(line, "#")
            if (i > 0) { body = substr(line, 1, i - 1); comment = substr(line, i) }
            n = split(body, w, /[ \t\r:]+/)
            kept = ""; dropped = 0
            for (k = 1; k <= n; k++) {
                if (w[k] == "") continue
                if (w[k] in rm) { dropped = 1; continue }
                kept = kept (kept == "" ? "" : " ") w[k]
            }
            if (!dropped) { print line; next }
            if (kept == "" && comment == "") next
            print kept (kept != "" && comment != "" ? " " : "") comment
        }' "$file"
}

# the temporary files, removed however the command ends
tmp=
work=
cleanup() { rm -f -- ${tmp:+"$tmp"} ${work:+"$work" "$work.rm"}; }
trap cleanup EXIT
trap 'exit 1' HUP INT TERM

# replace CONTENT_FILE: make CONTENT_FILE the preload file, atomically: a
# temporary file in the same directory (so the rename is one step of one
# file system), flushed, given the old file's mode, renamed over the file,
# then the directory flushed.  An empty CONTENT_FILE removes the file.
replace() {
    if ! grep -q '[^[:space:]]' "$1"; then
        if [ -e "$file" ]; then
            rm -f -- "$file" || die "cannot remove $file"
            sync -- "$dir" 2>/dev/null || true
        fi
        return 0
    fi
    tmp=$(mktemp "$dir/.ld.so.preload.ward.XXXXXX") ||
        die "cannot create a file in $dir (ward-preload must run as root to change $file)"
    cat -- "$1" >"$tmp" || die "cannot write $tmp"
    if [ -e "$file" ]; then
        chmod --reference="$file" -- "$tmp" && chown --reference="$file" -- "$tmp" 2>/dev/null
    else
        chmod 644 -- "$tmp"
    fi || die "cannot set the mode of $tmp"
    sync -- "$tmp" || die "cannot flush $tmp to disk"
    mv -f -- "$tmp" "$file" || die "cannot rename $tmp to $file"
    tmp=
    sync -- "$dir" 2>/dev/null || true
}

# check_lib: the library exists, every user can read it, and a program
# started with it preloaded runs and has it mapped.  Otherwise refuse: a
# library named in the preload file that does not load makes every program
# on the system print an error.
check_lib() {
    [ -e "$lib" ] || die "$lib: no such file: not enabled"
    [ -f "$lib" ] || die "$lib: not a regular file: not enabled"
    is_ward "$lib" || die "$lib: not a ward library (libward*.so*): not enabled"
    real=$(readlink -f -- "$lib") || die "cannot resolve $lib"
    # programs of every user load it: the file and each directory above it
    # must be open to all (r for the file, x for the directories)
    p=$real
    case "$(stat -L -c %A -- "$p")" in
    ???????r??) ;;
    *) die "$real is not readable by every user: their programs could not preload it: not enabled" ;;
    esac
    while [ -n "${p%/*}" ]; do
        p=${p%/*}
        case "$(stat -L -c %A -- "$p")" in
        ?????????[xt]) ;;
        *) die "$p is not searchable by every user: their programs could not preload $lib: not enabled" ;;
        esac
    done
    grep -qa ward_check_heap -- "$real" || die "$lib does not export ward_check_heap: not ward: not enabled"
    # a program runs with it preloaded, prints nothing (ld.so's "cannot be
    # preloaded" goes to stderr and the program then runs without it), and
    # has it mapped
    out=$(LD_PRELOAD=$lib /bin/true 2>&1 </dev/null) ||
        die "/bin/true failed with $lib preloaded: not enabled${out:+: $out}"
    [ -z "$out" ] || die "/bin/true printed with $lib preloaded: not enabled: $out"
    maps=$(LD_PRELOAD=$lib cat /proc/self/maps 2>&1 </dev/null) ||
        die "cat /proc/self/maps failed with $lib preloaded: not enabled"
    printf '%s\n' "$maps" | grep -qF -- " $real" ||
        die "$lib is not mapped in a program that preloads it: not enabled"
}

case "$cmd" in
status)
    found=$(ward_words all)
    if [ -z "$found" ]; then
        [ "$quiet" = 1 ] || say "disabled: $file does not name ward"
        exit 3
    fi
    printf '%s\n' "$found" | while IFS= read -r w; do
        say "enabled: $file names $w"
        if [ ! -f "$w" ]; then
            say "warning: $w does not exist: every program prints an error as it starts (ward-preload disable --all)"
        fi
    done
    exit 0
    ;;
enable)
    check_lib
    others=$(ward_words all | grep -vxF -- "$lib")
    if [ -z "$others" ] && ward_words all | grep -qxF -- "$lib"; then
        [ "$quiet" = 1 ] || say "already enabled: $file names $lib"
        exit 0
    fi
    work=$(mktemp) || die "cannot create a temporary file"
    # every other ward library goes (one ward at a time), the rest stays;
    # ward's line comes last
    ward_words all >"$work.rm"
    if [ -e "$file" ]; then
        without "$work.rm" >"$work" || die "cannot read $file"
    fi
    printf '%s\n' "$lib" >>"$work"
    replace "$work"
    if [ -n "$others" ]; then
        say "took $(printf '%s\n' "$others" | join) out of $file"
    fi
    say "enabled: $file names $lib; every program started from now on runs under ward (running ones keep their allocator)"
    ;;
disable)
    if [ "$all" = 1 ]; then found=$(ward_words all); else found=$(ward_words); fi
    if [ -z "$found" ]; then
        if [ "$all" = 1 ]; then what=ward; else what=$lib; fi
        [ "$quiet" = 1 ] || say "not enabled: $file does not name $what"
        exit 0
    fi
    work=$(mktemp) || die "cannot create a temporary file"
    printf '%s\n' "$found" >"$work.rm"
    without "$work.rm" >"$work" || die "cannot read $file"
    replace "$work"
    gone=
    [ -e "$file" ] || gone=" ($file is removed: nothing else was in it)"
    say "disabled: removed $(printf '%s\n' "$found" | join) from $file$gone; programs started from now on use the C library's malloc"
    ;;
esac
exit 0
