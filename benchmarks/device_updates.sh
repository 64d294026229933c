#!/usr/bin/env bash
# Comparison of the conductance update rules (docs/device_updates.md) on Fashion-MNIST (784-100-10,
# default recipe, one epoch or BATCHES batches of 32, the first TEST test images; 0: all). The
# synapse is circuits/lib/synapse_device.lib (range 10 uS .. 1 mS) given with --device; noise comes
# from flags. Not a test.
#
#   benchmarks/device_updates.sh [BUILD_DIR] [BATCHES] [TEST] [MODE] [OUT_DIR]
#   (defaults: build 100 1000 table docs/img)
#
# MODE table: every rule under write noise SD 2 uS and 1 % stuck devices (0.5 % ON, 0.5 % OFF),
#   plus `ideal` and `eapu` on ideal devices (th 2 uS at the default lr).
# MODE sparse: `ideal`, and `eapu` on ideal devices at thresholds / learning rates that update
#   fewer than 1 in 100 devices per step (EAPU_CASES, "lr:threshold" pairs).
# MODE sweep: `pulse` and `eapu` under write-noise SD 0, 0.5, 1, 2 and 5 uS (no stuck devices;
#   eapu's threshold is the SD, or 0.5 uS at SD 0); writes OUT_DIR/write_sd_sweep.csv and plots it
#   with `memspice plot` (write_sd_sweep.png).
# MODE robust: `ideal` and `eapu` (SD 2 uS, 1 % stuck) trained, then each re-evaluated by
#   `memspice eval --noise-seed 1..3` under write SD 2 uS, read SD 1 uS, spread 0.05, 1 % stuck.
#
# Prints the CPU, load, each command and a table: test accuracy, R_up, N_up, pulses, energy, CPU s.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${1:-$root/build}"
batches="${2:-100}"
test="${3:-1000}"
mode="${4:-table}"
out="${5:-$root/docs/img}"
# shellcheck source=benchmarks/train_bench_common.sh
source "$root/benchmarks/train_bench_common.sh"
bench_memspice "$build"
run="$(mktemp -d)"
trap 'rm -rf "$run"' EXIT

bench_banner
device=(--device "$root/circuits/lib/synapse_device.lib")
common=(--epochs 1 --max-batches "$batches" --max-test "$test" --threads 1 --no-progress)
noisy=(--write-sd 2u --stuck-on 0.005 --stuck-off 0.005)
printf '%-34s %8s %9s %9s %11s %11s %7s\n' case test_acc R_up N_up pulses energy_J cpu_s
# row NAME FLAGS...: trains, prints the table row; the last metrics line stays in $run/NAME.
row() {
  local name="$1"
  shift
  echo "command: memspice train ${common[*]} ${device[*]} $*" >&2
  /usr/bin/time -f "%U" -o "$run/$name.time" \
    "$memspice" train "${common[@]}" "${device[@]}" "$@" --out "$run/$name" >/dev/null 2>&1
  tail -n 1 "$run/$name/metrics.csv" | awk -F, -v n="$name" -v t="$(cat "$run/$name.time")" \
    '{printf "%-34s %7.2f%% %9.4g %9.4g %11.4g %11.4g %7.0f\n", n, 100*$6, $16, $17, $18, $19, t}'
}
case "$mode" in
  sweep)
    echo "write_sd_uS,pulse_acc,eapu_acc,pulse_r_up,eapu_r_up" >"$run/sweep.csv"
    for sd in 0 0.5 1 2 5; do
      row "pulse-sd${sd}u" --update pulse --write-sd "${sd}u"
      th="${sd}u"
      [[ "$sd" == 0 ]] && th=0.5u
      row "eapu-sd${sd}u" --update eapu --write-sd "${sd}u" --eapu-threshold "$th"
      p="$(tail -n 1 "$run/pulse-sd${sd}u/metrics.csv")"
      e="$(tail -n 1 "$run/eapu-sd${sd}u/metrics.csv")"
      echo "$sd,$(cut -d, -f6 <<<"$p"),$(cut -d, -f6 <<<"$e"),$(cut -d, -f16 <<<"$p"),$(cut -d, -f16 <<<"$e")" \
        >>"$run/sweep.csv"
    done
    cp "$run/sweep.csv" "$out/write_sd_sweep.csv"
    "$memspice" plot "$out/write_sd_sweep.csv" -o "$out/write_sd_sweep.png" --points \
      --signals pulse_acc,eapu_acc --title "Test accuracy against write-noise SD" \
      --xlabel "write noise SD [uS]" --ylabel "test accuracy"
    ;;
  sparse)
    row ideal --update ideal
    for c in ${EAPU_CASES:-2e-3:20u 2e-4:2u}; do
      row "eapu-ideal-lr${c%%:*}-th${c##*:}" --update eapu --lr "${c%%:*}" --eapu-threshold "${c##*:}"
    done
    ;;
  table)
    row ideal --update ideal
    row eapu-ideal-devices-th2uS --update eapu --eapu-threshold 2u
    for rule in pulse sign two-pulse write-verify eapu adaptive; do
      row "$rule-sd2uS-stuck1%" --update "$rule" "${noisy[@]}"
    done
    ;;
  robust)
    # Trained runs re-evaluated under fresh device noise (eval --noise-seed 1..3).
    row ideal --update ideal
    row eapu-sd2uS-stuck1% --update eapu "${noisy[@]}"
    fresh=(--write-sd 2u --read-sd 1u --spread 0.05 --stuck-on 0.005 --stuck-off 0.005)
    for name in ideal eapu-sd2uS-stuck1%; do
      for seed in 1 2 3; do
        echo "command: memspice eval $name --noise-seed $seed ${device[*]} ${fresh[*]}" >&2
        acc="$("$memspice" eval "$run/$name" --noise-seed "$seed" "${device[@]}" "${fresh[@]}" \
          --max-test "$test" --threads 1 | grep -o 'accuracy [0-9.]* %')"
        printf '%-34s noise seed %d: %s\n' "$name" "$seed" "$acc"
      done
    done
    ;;
  *)
    echo "unknown mode '$mode' (table, sparse, sweep or robust)" >&2
    exit 2
    ;;
esac
