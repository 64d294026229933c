#!/usr/bin/env bash
# What line resistance does to accuracy (not a test; about half an hour of CPU with the defaults).
# Fashion-MNIST, 784-100-10, the default recipe (ideal crossbar form: bit lines at virtual ground,
# semi-implicit, T = 200) with `gen msnn --rline R`, no line capacitance. A reduced protocol that fits a shared machine:
#
#   (a) one ideal run: the recipe for one epoch on the rline-0 deck (`train net_r0.cir --epochs 1`),
#       then every rline's deck evaluated with those conductances (`eval net_rR.cir --conductances`);
#   (b) for every rline, training continued FROM the ideal conductances with the lines in the loop
#       for K batches (`train net_rR.cir --conductances ideal --max-batches K`), then evaluated on
#       the same test images (rline 0 is the control: K more ideal batches).
#
# Both are evaluated by the compiled exact path on the first N test images. Writes OUT_DIR/
# line_accuracy.csv (rline, accuracy of (a) and (b) in %), OUT_DIR/line_accuracy_runs.csv (CPU
# seconds of every step) and the plot OUT_DIR/line_accuracy.png (`memspice plot`).
#
#   benchmarks/line_accuracy.sh [BUILD_DIR] [OUT_DIR]
#   environment: RLINES ("0 1 2.5 5 10", ohm per segment), TEST (N, 2000), BATCHES (K, 100),
#                THREADS (1), SEED (continuation shuffle seed, 2), JOBS (rlines at once, 1)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${1:-$root/build}"
out="${2:-$root/runs/line_accuracy}"
rlines="${RLINES:-0 1 2.5 5 10}"
test_n="${TEST:-2000}"
batches="${BATCHES:-100}"
threads="${THREADS:-1}"
seed="${SEED:-2}"
jobs_max="${JOBS:-1}"

# shellcheck source=benchmarks/train_bench_common.sh
source "$root/benchmarks/train_bench_common.sh"
bench_memspice "$build"
mkdir -p "$out"

bench_banner
echo "rline: $rlines ohm; test images N = $test_n; continuation batches K = $batches; threads $threads"
echo "step,rline,cpu_s,wall_s,max_rss_mib,accuracy_pct" >"$out/line_accuracy_runs.csv"


# record STEP RLINE LOG ACCURACY: one line of line_accuracy_runs.csv.
record() {
  local user sys wall rss
  read -r user sys wall rss <"$3.time"
  awk -v s="$1" -v r="$2" -v u="$user" -v y="$sys" -v w="$wall" -v m="$rss" -v a="$4" \
    'BEGIN { printf "%s,%s,%.1f,%.1f,%.0f,%s\n", s, r, u + y, w, m / 1024, a }' \
    >>"$out/line_accuracy_runs.csv"
}

# Test accuracy of a finished run (metrics.csv, last row) in %.
run_accuracy() { tail -n1 "$1/metrics.csv" | cut -d, -f6 | awk '{ printf "%.2f", 100 * $1 }'; }

for r in $rlines; do
  bench_run "$out/gen_r$r.log" "$memspice" gen msnn --rline "$r" \
    -o "$out/net_r$r.cir"
  record gen "$r" "$out/gen_r$r.log" ""
done

bench_run "$out/gen_ideal.log" "$memspice" gen msnn -o "$out/net_ideal.cir"
bench_run "$out/ideal.log" "$memspice" train "$out/net_ideal.cir" --epochs 1 \
  --threads "$threads" --max-test "$test_n" --no-progress --overwrite --out "$out/ideal"
record train_ideal 0 "$out/ideal.log" "$(run_accuracy "$out/ideal")"

# One rline: (a) its deck with the ideal conductances, (b) K batches with the lines in the loop.
one_rline() {
  local r="$1"
  bench_run "$out/eval_a_r$r.log" "$memspice" eval "$out/net_r$r.cir" \
    --conductances "$out/ideal" --max-test "$test_n" --threads "$threads"
  sed -n 's/.*test samples: accuracy \([0-9.]*\) %.*/\1/p' "$out/eval_a_r$r.log" >"$out/acc_a_r$r"
  record eval_a "$r" "$out/eval_a_r$r.log" "$(cat "$out/acc_a_r$r")"

  bench_run "$out/train_b_r$r.log" "$memspice" train "$out/net_r$r.cir" \
    --conductances "$out/ideal" --epochs 1 --max-batches "$batches" --seed "$seed" \
    --threads "$threads" --max-test "$test_n" --no-progress --overwrite --out "$out/lines_r$r"
  run_accuracy "$out/lines_r$r" >"$out/acc_b_r$r"
  record train_b "$r" "$out/train_b_r$r.log" "$(cat "$out/acc_b_r$r")"
  echo "rline $r ohm: (a) trained ideal $(cat "$out/acc_a_r$r") %," \
    "(b) lines in the loop $(cat "$out/acc_b_r$r") %"
}

# The rlines are independent: up to JOBS of them run at once (CPU seconds are per step).
pids=()
for r in $rlines; do
  one_rline "$r" &
  pids+=($!)
  while (($(jobs -rp | wc -l) >= jobs_max)); do sleep 1; done
done
for p in "${pids[@]}"; do wait "$p"; done

csv="$out/line_accuracy.csv"
echo "rline,trained_ideal,lines_in_loop" >"$csv"
for r in $rlines; do echo "$r,$(cat "$out/acc_a_r$r"),$(cat "$out/acc_b_r$r")" >>"$csv"; done
"$memspice" plot "$csv" -o "$out/line_accuracy.png" --points \
  --xlabel "line resistance per segment [ohm]" --ylabel "test accuracy [%]" \
  --title "Fashion-MNIST 784-100-10: (a) trained ideal, (b) $batches batches with the lines"
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "table: $csv"
cat "$csv"
echo "CPU seconds per step: $out/line_accuracy_runs.csv"
awk -F, 'NR > 1 { s += $3 } END { printf "total CPU %.0f s\n", s }' "$out/line_accuracy_runs.csv"
