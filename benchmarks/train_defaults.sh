#!/usr/bin/env bash
# Accuracy of the default training recipe: `memspice train` with no flags but the dataset (and
# --epochs 1), one epoch of Fashion-MNIST (60,000 training images, 10,000 test images), in a
# temporary run directory. Not a test: about 2-4 min of CPU. Target: test accuracy >= 80 %.
#
#   benchmarks/train_defaults.sh [BUILD_DIR] [-- DATASET]      (DATASET: fashion-mnist)
#
# Prints the CPU model and features, load average, the command, its test accuracy and the time.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${1:-$root/build}"
[[ $# -gt 0 ]] && shift
[[ "${1:-}" == "--" ]] && shift
dataset="${1:-fashion-mnist}"
target=80

if [[ ! -f "$build/build.ninja" && ! -f "$build/Makefile" ]]; then
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
fi
cmake --build "$build" --target memspice -j2 >/dev/null
memspice="$build/apps/memspice"
run="$(mktemp -d)"
trap 'rm -rf "$run"' EXIT

echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')," \
  "$(grep -o -w -E 'avx2|avx512f' /proc/cpuinfo | sort -u | tr '\n' ' ')"
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
cmd=("$memspice" train --dataset "$dataset" --epochs 1 --no-progress --out "$run/defaults")
echo "command: memspice train --dataset $dataset --epochs 1"
start=$(date +%s)
/usr/bin/time -f "%U %S" -o "$run/time" "${cmd[@]}" >"$run/log" 2>&1 || {
  cat "$run/log"
  exit 1
}
wall=$(($(date +%s) - start))
read -r user sys <"$run/time"
acc=$(tail -n1 "$run/defaults/metrics.csv" | cut -d, -f6)
pct=$(awk -v a="$acc" 'BEGIN { printf "%.2f", 100 * a }')
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "test accuracy after 1 epoch: $pct % (target >= $target %), wall $wall s," \
  "CPU $(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.0f", u + s }') s"
awk -v p="$pct" -v t="$target" 'BEGIN { exit !(p >= t) }' || {
  echo "below target"
  exit 1
}
