#!/usr/bin/env bash
# tests/docs.sh BUILD_DIR: README.md and man/ward.7 name every option with
# the default the code has (tests/run.sh runs it as the test "docs").
#
# The code's keys and defaults come from the library itself:
# WARD_OPTIONS=help=1 prints "  key (default X): help" for each row of
# src/options.h's list, and "the same as OPTION" as an alias's help.  Then:
#   - README.md: the table under the header row "| key | default | meaning |"
#     has a row "| `key` | `default` | ... |" for each option;
#   - man/ward.7: its OPTIONS section has ".BR key \" (default \" value )"
#     for each option;
#   - an alias has an entry of its own, with its option's default, or is
#     named in the README table (`trace`) or on a .B/.BR line of the man
#     page's OPTIONS section;
#   - neither document has an entry for a key the code does not know.
# Defaults compare as numbers (1m = 1048576, 512k = 524288) or as choice
# names.  Each disagreement is one line naming the file and the key; the
# exit status is 1 if there is any.  WARD_DOCS_README and WARD_DOCS_MAN name
# other files to read instead (an edited copy, to see the test fail).
set -u

if [ $# -ne 1 ]; then
    echo "usage: $0 BUILD_DIR" >&2
    exit 2
fi
root=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "$1" && pwd) || exit 1
lib=$build/libward.so
readme=${WARD_DOCS_README:-$root/README.md}
man=${WARD_DOCS_MAN:-$root/man/ward.7}

help=$(WARD_OPTIONS=help=1 LD_PRELOAD="$lib" /bin/true 2>&1 >/dev/null)
rc=$?
if [ "$rc" -ne 0 ]; then
    printf 'docs: WARD_OPTIONS=help=1 under %s failed (exit %s):\n%s\n' "$lib" "$rc" "$help"
    exit 1
fi

printf '%s\n' "$help" | awk -v readme="$readme" -v man="$man" '
function num(v,    n, u) {
    # "1m" -> 1048576; anything that is not a number stays as it is
    if (v !~ /^[0-9]+[kKmMgG]?$/)
        return v
    u = substr(v, length(v))
    n = v + 0
    if (u ~ /[kK]/) n *= 1024
    else if (u ~ /[mM]/) n *= 1048576
    else if (u ~ /[gG]/) n *= 1073741824
    return sprintf("%.0f", n)
}
# 1048576 -> "1048576 (1m)"
function shown(v,    n, u, i) {
    if (v !~ /^[0-9]+$/ || v + 0 < 1024)
        return v
    n = v + 0
    for (i = 0; i < 3 && n % 1024 == 0; i++)
        n /= 1024
    return i ? v " (" sprintf("%.0f", n) substr("kmg", i, 1) ")" : v
}
function bad(file, msg) {
    printf "docs: %s: %s\n", file, msg
    nbad++
}
# an entry documenting key with default value in file
function entry(file, key, value, kind) {
    if (!(key in def)) {
        bad(file, "documents " key ", which is not an option")
        return
    }
    if ((file, key) in seen)
        bad(file, key " is documented twice")
    seen[file, key] = 1
    if (num(value) != num(def[key]))
        bad(file, key ": default " value " in the " kind ", but the code has " shown(def[key]))
}
function check(file, what,    k) {
    for (k in def) {
        if ((file, k) in seen)
            continue
        if ((k in alias) && ((file, k) in named))
            continue
        if (k in alias)
            bad(file, "no " what " for " k ", nor a mention of it (an alias of " alias[k] ")")
        else
            bad(file, "no " what " for " k " (default " shown(def[k]) ")")
    }
}
# 1. the code: help=1 on standard input
/^  [a-z0-9_]+ \(default [^)]*\): / {
    key = $1
    value = $0
    sub(/^  [a-z0-9_]+ \(default /, "", value)
    sub(/\): .*/, "", value)
    def[key] = value
    if (match($0, /\): the same as [a-z0-9_]+$/))
        alias[key] = substr($0, RSTART + 15)
    nkeys++
}
END {
    if (nkeys < 10) {
        print "docs: WARD_OPTIONS=help=1 listed " nkeys + 0 " options: is the library built?"
        exit 1
    }
    # 2. README.md: the table under "| key | default | meaning |"
    state = 0
    while ((getline line < readme) > 0) {
        if (state == 0) {
            if (line ~ /^\| *key *\| *default *\|/)
                state = 1
            continue
        }
        if (line !~ /^\|/)
            break
        if (line ~ /^\| *-+ *\|/)
            continue
        split(line, cell, "|")
        key = cell[2]; value = cell[3]
        gsub(/[ `]/, "", key); gsub(/[ `]/, "", value)
        entry("README.md", key, value, "table")
        for (k in alias)
            if (index(line, "`" k "`"))
                named["README.md", k] = 1
    }
    close(readme)
    if (state == 0)
        bad("README.md", "no options table (a header row \"| key | default | meaning |\")")
    else
        check("README.md", "table row")
    # 3. man/ward.7: its OPTIONS section
    state = 0
    while ((getline line < man) > 0) {
        if (line ~ /^\.SH /) {
            if (state == 1)
                break
            if (line ~ /^\.SH "?OPTIONS"?$/)
                state = 1
            continue
        }
        if (state == 0)
            continue
        if (line ~ /^\.BR [a-z0-9_]+ " \(default " /) {
            split(line, w, " ")
            value = line
            sub(/^\.BR [a-z0-9_]+ " \(default " /, "", value)
            sub(/ *\)$/, "", value)
            gsub(/"/, "", value)
            entry("man/ward.7", w[2], value, ".BR line")
        }
        if (line ~ /^\.BR? /) {
            split(line, w, " ")
            if (w[2] in alias)
                named["man/ward.7", w[2]] = 1
        }
    }
    close(man)
    if (state == 0)
        bad("man/ward.7", "no .SH OPTIONS section")
    else
        check("man/ward.7", ".BR key \" (default \" value ) line")
    if (nbad) {
        print "docs: " nbad " disagreement(s) with the code (src/options.h)"
        exit 1
    }
    print "docs: " nkeys " keys, README.md and man/ward.7 agree with the code"
}'
