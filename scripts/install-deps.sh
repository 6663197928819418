#!/bin/sh
# Installs what building and testing softiommu needs on a fresh Debian machine.
# The library itself needs only libc and pthreads; the rest is for the build, the tests,
# the benchmarks (valgrind for instruction counts) and the pictures (graphviz).
set -eu
PKGS="build-essential cmake ninja-build pkg-config valgrind graphviz python3 clang llvm libclang-rt-14-dev"
missing=""
for p in $PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
SUDO=""
[ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1 && SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends $missing
