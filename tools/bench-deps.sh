#!/usr/bin/env bash
# Installs the Debian packages the benchmark suite (make bench, make
# bench-quick) uses, if any is missing: the allocators it compares ward
# with, the real programs it runs, valgrind (instructions per malloc/free
# pair) and gnuplot (the charts).  Scudo comes from libclang-rt-14-dev,
# which tools/deps.sh installs for the fuzzer.  Not needed by make check,
# so .ci/run does not call it (make deps does).
set -euo pipefail
pkgs=(libjemalloc2 libmimalloc2.0 libtcmalloc-minimal4 libclang-rt-14-dev
      redis-server redis-tools valgrind gnuplot-nox python3 sqlite3 gcc time)
missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
    echo "bench-deps: all present"
    exit 0
fi
echo "bench-deps: installing ${missing[*]}"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q
# redis-server's post-install starts the service where systemd runs; the
# suite starts its own server on a free port, so that one is not needed
$sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
