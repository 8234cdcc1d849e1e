#!/usr/bin/env bash
# ward-preload (build/ward-preload, from tools/ward-preload.sh) on scratch
# files, never /etc/ld.so.preload: run by tests/run.sh with WARD_BUILD set.
# enable adds ward's line and keeps every other line byte for byte; the file
# is replaced by a rename (a new inode, no temporary file left); enabling
# twice changes nothing; disable takes out only ward's library (the one in
# --lib's directory, or every one with --all) and removes the file when
# nothing else is left; status says so by its exit status; a missing, wrong,
# unreadable or unloadable library is refused and the file left alone.
set -u
build=${WARD_BUILD:?WARD_BUILD is not set}
cmd=$build/ward-preload
lib=$build/libward.so
tmp=$(mktemp -d "${TMPDIR:-/tmp}/ward-preload-test.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
chmod 755 "$tmp"
f=$tmp/etc/ld.so.preload
mkdir -m 755 "$tmp/etc"
out=$tmp/out
fails=0

# the library as every user can reach it (the build folder may not be)
mkdir -m 755 "$tmp/lib" "$tmp/lib2"
cp "$(readlink -f "$lib")" "$tmp/lib/libward.so.0.1.0"
ln -s libward.so.0.1.0 "$tmp/lib/libward.so.0"
cp "$tmp/lib/libward.so.0.1.0" "$tmp/lib2/libward.so"
chmod 755 "$tmp/lib/libward.so.0.1.0" "$tmp/lib2/libward.so"
lib=$tmp/lib/libward.so.0
lib2=$tmp/lib2/libward.so

fail() {
    echo "FAIL: $*"
    echo "---- output ----"
    cat "$out"
    echo "---- $f ----"
    cat "$f" 2>&1
    echo "----------------"
    fails=$((fails + 1))
}
# run EXPECTED_RC ARGS...: ward-preload ARGS, output to $out
run() {
    local want=$1
    shift
    "$cmd" "$@" >"$out" 2>&1 </dev/null
    local rc=$?
    if [ "$rc" -ne "$want" ]; then
        fail "ward-preload $* exited $rc, expected $want"
        return 1
    fi
}
has() { grep -qF -- "$1" "$out" || fail "output lacks '$1'"; }
# file_is LINE...: the preload file holds exactly these lines
file_is() {
    local want
    want=$(printf '%s\n' "$@")
    [ "$(cat "$f" 2>/dev/null)" = "$want" ] || fail "the file is not: $want"
}
no_temp() {
    local left
    left=$(find "$tmp/etc" -name '.ld.so.preload.*')
    [ -z "$left" ] || fail "temporary files left: $left"
}

echo "status of a missing file"
run 3 --file="$f" status && has "disabled: $f does not name ward"

echo "enable creates the file"
run 0 --file="$f" --lib="$lib" enable && has "enabled: $f names $lib"
file_is "$lib"
[ "$(stat -c %a "$f")" = 644 ] || fail "mode $(stat -c %a "$f"), want 644"
no_temp
run 0 --file="$f" --lib="$lib" status && has "enabled: $f names $lib"

echo "enable again changes nothing"
ino=$(stat -c %i "$f")
run 0 --file="$f" --lib="$lib" enable && has "already enabled"
[ "$(stat -c %i "$f")" = "$ino" ] || fail "the file was rewritten"

echo "disable removes the file when nothing else is in it"
run 0 --file="$f" --lib="$lib" disable && has "disabled: removed $lib from $f"
[ -e "$f" ] && fail "$f still exists"
run 0 --file="$f" --lib="$lib" disable && has "not enabled"
run 0 --file="$f" --lib="$lib" --quiet disable
[ -s "$out" ] && fail "--quiet printed"

echo "other lines are kept byte for byte, the file replaced by a rename"
printf '# keep this comment\n/opt/a/libfoo.so\t/opt/b/libbar.so # two\n\n' >"$f"
chmod 640 "$f"
before=$(cat "$f")
ino=$(stat -c %i "$f")
run 0 --file="$f" --lib="$lib" enable
[ "$(stat -c %i "$f")" != "$ino" ] || fail "the file was written in place, not renamed over"
[ "$(head -n 3 "$f")" = "$before" ] || fail "other lines changed"
[ "$(tail -n 1 "$f")" = "$lib" ] || fail "ward's line is not last"
[ "$(stat -c %a "$f")" = 640 ] || fail "mode $(stat -c %a "$f"), the old file's was 640"
no_temp
run 0 --file="$f" --lib="$lib" disable
[ "$(cat "$f")" = "$before" ] || fail "disable did not give the old file back"

echo "a relative path is made absolute; WARD_PRELOAD_FILE names the file"
(cd "$tmp/lib" && WARD_PRELOAD_FILE=$f "$cmd" --lib=libward.so.0 enable) >"$out" 2>&1 || fail "relative enable failed"
[ "$(tail -n 1 "$f")" = "$lib" ] || fail "ward's line is not $lib"

echo "enabling another ward replaces the first"
run 0 --file="$f" --lib="$lib2" enable && has "took $lib out of $f"
[ "$(grep -c libward "$f")" = 1 ] && [ "$(tail -n 1 "$f")" = "$lib2" ] || fail "not one ward, $lib2"

echo "disable takes out only --lib's directory's ward; --all every one"
printf '%s\n' "$lib" >>"$f"
run 0 --file="$f" --lib="$lib" disable
grep -qxF "$lib2" "$f" || fail "$lib2 was taken out by disable --lib=$lib"
grep -qF "$lib" "$f" && fail "$lib is still there"
printf '/gone/dir/libward.so:/opt/c/libbaz.so\n' >>"$f"
run 0 --file="$f" status && has "warning: /gone/dir/libward.so does not exist"
run 0 --file="$f" --all disable
[ "$(cat "$f")" = "$(printf '%s\n\n/opt/c/libbaz.so' "$before")" ] || fail "disable --all left the wrong lines"
run 3 --file="$f" status

echo "a link to the file: the file it names is replaced, the link kept"
mv "$f" "$tmp/etc/real-preload"
ln -s real-preload "$f"
run 0 --file="$f" --lib="$lib" enable
[ -L "$f" ] || fail "the link was replaced"
grep -qxF "$lib" "$tmp/etc/real-preload" || fail "the linked file does not name $lib"
run 0 --file="$f" --all disable
rm -f "$f" "$tmp/etc/real-preload"

echo "refusals leave the file alone"
printf '/opt/a/libfoo.so\n' >"$f"
before=$(cat "$f")
run 1 --file="$f" --lib="$tmp/lib/libward.so.9" enable && has "no such file: not enabled"
run 1 --file="$f" --lib="$build/tests/libother.so" enable && has "not a ward library"
cp "$tmp/lib/libward.so.0.1.0" "$tmp/lib/libward-private.so"
chmod 600 "$tmp/lib/libward-private.so"
run 1 --file="$f" --lib="$tmp/lib/libward-private.so" enable && has "not readable by every user"
mkdir -m 700 "$tmp/closed"
cp "$tmp/lib/libward.so.0.1.0" "$tmp/closed/libward.so"
chmod 755 "$tmp/closed/libward.so"
run 1 --file="$f" --lib="$tmp/closed/libward.so" enable && has "not searchable by every user"
printf 'not an ELF file, but it says ward_check_heap\n' >"$tmp/lib/libward-broken.so"
chmod 644 "$tmp/lib/libward-broken.so"
run 1 --file="$f" --lib="$tmp/lib/libward-broken.so" enable && has "cannot be preloaded"
printf 'not ward at all\n' >"$tmp/lib/libward-fake.so"
chmod 644 "$tmp/lib/libward-fake.so"
run 1 --file="$f" --lib="$tmp/lib/libward-fake.so" enable && has "not ward"
mkdir -m 755 "$tmp/with space"
run 1 --file="$f" --lib="$tmp/with space/libward.so" enable && has "holds a blank"
[ "$(cat "$f")" = "$before" ] || fail "a refused enable changed the file"
no_temp

echo "usage"
run 2 --file="$f" && has "usage:"
run 2 --file="$f" frobnicate && has "usage:"
run 0 --version && has "ward-preload "

if [ "$fails" -ne 0 ]; then
    echo "$fails check(s) failed"
    exit 1
fi
echo "all ward-preload checks passed"
