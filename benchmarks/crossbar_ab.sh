#!/usr/bin/env bash
# Two builds side by side (e.g. main's and a branch's) on the N x N resistive crossbar with line R
# and C of docs/benchmarks.md (`memspice gen crossbar`, SIN drives, .save of the N sense
# currents, 1000 steps): `memspice sim -q DECK --csv OUT`, runs alternating so that both see the
# same load, then the largest difference between the two builds' outputs relative to the peak.
#
#   benchmarks/crossbar_ab.sh OLD_BUILD NEW_BUILD [SIZE] [REPS]   (defaults: 128, 3)
#
# Prints the CPU, load, per build the median user + sys CPU s and wall s, the solver counts
# (MEMSPICE_SOLVER_STATS) and the output difference.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
old="${1:?old build dir}"
new="${2:?new build dir}"
size="${3:-128}"
reps="${4:-3}"
# shellcheck source=benchmarks/train_bench_common.sh
source "$root/benchmarks/train_bench_common.sh"
bench_old_new "$old" "$new"

bench_banner
"$new_bin" gen crossbar --rows "$size" --cols "$size" --rline 1 --cline 1f --steps 1000 \
  -o "$out/deck.cir"
for ((r = 0; r < reps; ++r)); do
  for which in old new; do
    bin="${which}_bin"
    MEMSPICE_SOLVER_STATS=1 bench_run "$out/$which.$r" "${!bin}" sim -q "$out/deck.cir" \
      --csv "$out/$which.csv"
  done
done
printf '%-4s %5s %9s %9s  %s\n' build runs cpu_s wall_s solver
for which in old new; do
  cpu=$(cat "$out/$which".*.time | awk '{print $1 + $2}' | bench_median)
  wall=$(cat "$out/$which".*.time | awk '{print $3}' | bench_median)
  printf '%-4s %5d %9.2f %9.2f  %s\n' "$which" "$reps" "$cpu" "$wall" \
    "$(grep -m1 '^solver:' "$out/$which.0" | cut -d' ' -f2-)"
done
# Largest |new - old| over all columns and rows relative to the largest |old| (same time grid).
paste -d, "$out/old.csv" "$out/new.csv" | awk -F, 'NR == 1 {n = NF / 2; next}
  {for (i = 2; i <= n; ++i) {d = $i - $(i + n); if (d < 0) d = -d; if (d > md) md = d;
     a = $i < 0 ? -$i : $i; if (a > peak) peak = a}
   if ($1 != $(1 + n)) grid = 1}
  END {if (grid) print "time grids differ"; else printf "max |new - old| / peak = %.3g\n", md / peak}'
