# The git workload of tests/real/git.sh and of `make bench` (bench/run.py):
# in the current directory (empty), init a repository, commit 1,500 files
# over several commits, branch, merge, log, diff, blame, grep, gc and fsck.
# Names, dates and configuration are fixed here, so the output (hashes
# included) is the same on every run and under every allocator.
export HOME="$PWD/home"
mkdir -p "$HOME"
export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null
export GIT_AUTHOR_NAME="Ward Test" GIT_AUTHOR_EMAIL="ward@example.invalid"
export GIT_COMMITTER_NAME="Ward Test" GIT_COMMITTER_EMAIL="ward@example.invalid"
export GIT_AUTHOR_DATE="2024-01-01T00:00:00Z" GIT_COMMITTER_DATE="2024-01-01T00:00:00Z"
export LC_ALL=C TZ=UTC
unset GIT_DIR GIT_WORK_TREE GIT_INDEX_FILE
set -eu
at() { export GIT_AUTHOR_DATE="2024-01-0${1}T00:00:00Z" GIT_COMMITTER_DATE="2024-01-0${1}T00:00:00Z"; }
git init -q -b main repo
cd repo
git config core.autocrlf false
git config gc.auto 0
git config pack.threads 2

# 1500 files in 30 directories, text of varying size
awk 'BEGIN {
    for (d = 0; d < 30; d++) {
        dir = sprintf("dir%02d", d)
        system("mkdir -p " dir)
        for (f = 0; f < 50; f++) {
            path = sprintf("%s/file%03d.txt", dir, f)
            n = (d * 50 + f) % 97 + 3
            for (l = 0; l < n; l++)
                printf "line %d of %s: %d %s\n", l, path, (l * 7919 + d * 31 + f) % 10007, substr("abcdefghijklmnopqrstuvwxyz", 1 + (l + f) % 26) > path
            close(path)
        }
    }
}'
at 1
git add -A
git commit -q -m "initial: 1500 files"

# modify a third of the files, delete some, add some, over a few commits
for c in 2 3 4; do
    at $c
    for d in $(seq -w 0 3 29); do
        for f in $(seq -f %03g $c 7 49); do
            echo "change $c to dir$d/file$f" >>"dir$d/file$f.txt"
        done
    done
    git rm -qf "dir$((c + 10))/file00$c.txt"
    mkdir -p "new$c"
    seq 1 $((c * 500)) | sed "s/^/new $c line /" >"new$c/data.txt"
    git add -A
    git commit -q -m "commit $c: changes, a removal, new$c"
done

# a branch with its own changes, merged back
at 5
git checkout -q -b topic HEAD~2
seq 1 2000 | sed 's/^/topic /' >topic.txt
git add topic.txt
git commit -q -m "topic work"
git checkout -q main
at 6
git merge -q --no-ff -m "merge topic" topic

echo "HEAD $(git rev-parse HEAD)"
echo "tree $(git rev-parse HEAD^{tree})"
git log --format='%H %T %P %an %ad %s' --date=iso-strict
git log --stat --format='commit %h' | tail -n 40
git diff --stat HEAD~3 HEAD | tail -n 5
git diff HEAD~2 HEAD -- dir00 | sha256sum
git ls-tree -r HEAD | sha256sum
git ls-files | wc -l
git blame -s dir03/file003.txt | sha256sum
git grep -c "line 7 of" | head -n 5
git grep -c "change 3" | wc -l
git rev-list --objects --all | sort | sha256sum
git tag -a v1 -m "version 1"
git describe --tags
git gc -q --prune=now
git fsck --full --strict 2>&1
git verify-pack -v .git/objects/pack/*.idx | grep -c -E '^[0-9a-f]{40} (commit|tree|blob|tag)'
git cat-file -p HEAD~1:dir00/file000.txt | sha256sum
git archive --format=tar HEAD | tar -tf - | sort | sha256sum
echo "done"
