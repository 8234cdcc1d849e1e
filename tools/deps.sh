#!/usr/bin/env bash
# Installs the Debian packages ward needs to build and test, if any is missing.
set -euo pipefail
pkgs=(make gcc g++ clang libc6-dev libsodium-dev libunwind8 libclang-rt-14-dev llvm-14 afl++ zip python3 git sqlite3 xz-utils coreutils binutils time cmake
    pkgconf man-db groff-base perl redis-server redis-tools libpython3.11-testsuite python3-jsonschema
    dpkg-dev debhelper fakeroot lintian sudo openssh-server openssh-client)
missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
    echo "deps: all present"
    exit 0
fi
echo "deps: installing ${missing[*]}"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q
$sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
