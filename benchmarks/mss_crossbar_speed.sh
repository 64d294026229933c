#!/usr/bin/env bash
# memspice (native YMSS devices) vs ngspice 39 (the behavioural export of the same deck) on an
# N x N MSS crossbar with line R and C, a 1000-step transient. Not a test: ngspice takes minutes.
# Prints a markdown table: wall time and CPU time (user + sys) of each simulator, median over the
# repetitions, and the speed-up. CPU time is the fairer number on a shared machine.
#
#   benchmarks/mss_crossbar_speed.sh [BUILD_DIR] [--size N] [--steps S] [--reps R]
#                                    [--ngspice-reps K] [--keep DIR]
#
# Defaults: BUILD_DIR ./build, N = 64, S = 1000, R = 3 memspice runs, K = 1 ngspice run.
# The deck: `memspice gen crossbar --rows N --cols N --cell mss --rline 1 --cline 1f --steps S`
# (mss_synapse cells, SIN word-line drivers, 0 V sense sources, .tran 1u 1m 0 1u), run by
# `memspice sim DECK --csv OUT`, and `memspice export-ngspice DECK` run by `ngspice -b -r OUT`.
# Both write the saved sense currents; the script checks both produced >= S time points.
set -euo pipefail

script=mss_crossbar_speed.sh
size=64 steps=1000 reps=3 ngreps=1 min_ngreps=1
# shellcheck source=benchmarks/crossbar_speed_common.sh
source "$(dirname "${BASH_SOURCE[0]}")/crossbar_speed_common.sh"
speed_args "$@"
speed_build
command -v ngspice >/dev/null || { echo "$script: ngspice not on PATH" >&2; exit 2; }
speed_workdir
deck="$work/mss_xbar_${size}.cir"
ngdeck="$work/mss_xbar_${size}_ngspice.cir"
"$memspice" gen crossbar --rows "$size" --cols "$size" --cell mss --rline 1 --cline 1f \
  --steps "$steps" --tstop 1m -o "$deck" >/dev/null
"$memspice" export-ngspice "$deck" -o "$ngdeck" >/dev/null

for ((r = 0; r < reps; ++r)); do timed memspice "$memspice" sim "$deck" --csv "$work/memspice.csv"; done
for ((r = 0; r < ngreps; ++r)); do timed ngspice ngspice -b -r "$work/ngspice.raw" "$ngdeck"; done

ms_points=$(($(wc -l <"$work/memspice.csv") - 1))
ng_points=$(grep -a -m1 '^No. Points:' "$work/ngspice.raw" | awk '{print $3}')
for p in "$ms_points" "$ng_points"; do
  if [[ -z "$p" || "$p" -lt "$steps" ]]; then
    echo "$script: a run wrote $p time points, expected >= $steps" >&2; exit 1
  fi
done

ms_wall=$(median 1 "$work/times.memspice") ms_cpu=$(median 2 "$work/times.memspice")
ng_wall=$(median 1 "$work/times.ngspice") ng_cpu=$(median 2 "$work/times.ngspice")
unknowns=$(grep -o '[0-9]* unknowns' <<<"$("$memspice" gen crossbar --rows "$size" --cols "$size" \
  --cell mss --rline 1 --cline 1f -o /dev/null)" | cut -d' ' -f1)

echo "# MSS crossbar ${size}x${size}, line R 1 ohm / C 1 fF, ${steps}-step transient, ${unknowns} unknowns"
echo "# $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)," \
  "$(ngspice --version 2>/dev/null | grep -m1 -o 'ngspice-[0-9.]*')"
echo
echo "| simulator | runs | time points | wall median (s) | CPU median (s) |"
echo "|---|---|---|---|---|"
echo "| memspice (native YMSS, KLU) | $reps | $ms_points | $ms_wall | $ms_cpu |"
echo "| ngspice (behavioural export) | $ngreps | $ng_points | $ng_wall | $ng_cpu |"
awk -v mw="$ms_wall" -v mc="$ms_cpu" -v nw="$ng_wall" -v nc="$ng_cpu" 'BEGIN {
  printf "| **speed-up** (ngspice / memspice) | | | %.1fx | %.1fx |\n", nw / mw, nc / mc }'
