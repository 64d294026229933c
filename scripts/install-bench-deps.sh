#!/usr/bin/env bash
# Optional benchmark dependencies (not needed to build or test memspice): PyTorch (CPU) and NumPy
# from Debian for the MEMprop baseline in benchmarks/pytorch_memprop.py / train_speed.sh, and
# linux-perf for profiling. Run scripts/install-deps.sh first.
set -euo pipefail
PKGS=(python3-torch python3-numpy linux-perf)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-bench-deps: all benchmark packages present"
  exit 0
fi
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO=sudo
echo "install-bench-deps: installing ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
