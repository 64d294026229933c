#!/usr/bin/env bash
# Short comparison of the conductance update rules (docs/device_updates.md): one partial epoch of
# Fashion-MNIST (784-100-10, default recipe) per rule under write noise SD 2 uS and 1 % stuck
# devices (0.5 % ON, 0.5 % OFF), plus `ideal` and `eapu` on ideal devices. Not a test and not the
# issue's full recipe: BATCHES batches of 32 and the first TEST test images only.
#
#   benchmarks/device_updates.sh [BUILD_DIR] [BATCHES] [TEST] [sweep]   (defaults: build 100 1000)
#
# With `sweep`: instead, `pulse` and `eapu` under write-noise SD 0, 0.5, 1, 2 and 5 uS (no stuck devices;
# eapu's threshold is the SD, or 0.5 uS at SD 0).
#
# Prints the CPU, load, each command and a table: test accuracy, R_up, N_up, pulses, energy.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${1:-$root/build}"
batches="${2:-100}"
test="${3:-1000}"
mode="${4:-table}"
# shellcheck source=benchmarks/train_bench_common.sh
source "$root/benchmarks/train_bench_common.sh"
bench_memspice "$build"
run="$(mktemp -d)"
trap 'rm -rf "$run"' EXIT

bench_banner
common=(--epochs 1 --max-batches "$batches" --max-test "$test" --threads 1 --no-progress)
noisy=(--write-sd 2u --stuck-on 0.005 --stuck-off 0.005)
printf '%-34s %8s %9s %9s %11s %11s\n' case test_acc R_up N_up pulses energy_J
row() {
  local name="$1"
  shift
  echo "command: memspice train ${common[*]} $*" >&2
  "$memspice" train "${common[@]}" "$@" --out "$run/$name" >/dev/null 2>&1
  tail -n 1 "$run/$name/metrics.csv" | awk -F, -v n="$name" \
    '{printf "%-34s %7.2f%% %9.4g %9.4g %11.4g %11.4g\n", n, 100*$6, $16, $17, $18, $19}'
}
if [[ "$mode" == sweep ]]; then
  for sd in 0 0.5u 1u 2u 5u; do
    row "pulse-sd$sd" --update pulse --write-sd "$sd"
    th="$sd"
    [[ "$sd" == 0 ]] && th=0.5u
    row "eapu-sd$sd" --update eapu --write-sd "$sd" --eapu-threshold "$th"
  done
  exit 0
fi
row ideal --update ideal
row eapu-ideal-devices-th2uS --update eapu --eapu-threshold 2u
for rule in pulse sign two-pulse write-verify eapu adaptive; do
  row "$rule-sd2uS-stuck1%" --update "$rule" "${noisy[@]}"
done
