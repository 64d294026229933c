#!/usr/bin/env bash
# Installs every Debian package memspice needs to build, test and validate (ngspice).
set -euo pipefail
PKGS=(build-essential cmake ninja-build pkg-config
      libeigen3-dev libsuitesparse-dev libceres-dev libboost-test-dev libcli11-dev libfmt-dev
      nlohmann-json3-dev ngspice gnuplot-nox clang libclang-rt-14-dev)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all packages present"
  exit 0
fi
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO=sudo
echo "install-deps: installing ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
