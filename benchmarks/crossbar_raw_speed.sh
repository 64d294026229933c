#!/usr/bin/env bash
# memspice vs ngspice 39 on an N x N resistive crossbar with line R and C, a 1000-step transient,
# both writing a binary raw file of every signal. Not a test: ngspice takes about two minutes at
# 48 x 48. Prints a markdown table: wall and CPU time (user + sys) of each simulator, medians
# over the repetitions, the raw file sizes and the speed-ups, all from the same run.
#
#   benchmarks/crossbar_raw_speed.sh [BUILD_DIR] [--size N] [--steps S] [--reps R]
#                                    [--ngspice-reps K] [--keep DIR]
#
# Uses BUILD_DIR/apps/memspice as built (builds it only if missing).
# Defaults: BUILD_DIR ./build, N = 48, S = 1000, R = 3 memspice runs, K = 1 ngspice run (0: no
# ngspice row, e.g. for the 128 x 128 CPU time). The deck:
# `memspice gen crossbar --rows N --cols N --rline 1 --cline 1f --steps S` (SIN word-line
# drivers, 0 V sense sources) without its .save lines, run by `memspice sim DECK --raw OUT`
# and, exported by `memspice export-ngspice`, by `ngspice -b -r OUT`.
set -euo pipefail

script=crossbar_raw_speed.sh
size=48 steps=1000 reps=3 ngreps=1 min_ngreps=0
# shellcheck source=benchmarks/crossbar_speed_common.sh
source "$(dirname "${BASH_SOURCE[0]}")/crossbar_speed_common.sh"
speed_args "$@"
[[ -x "$memspice" ]] || speed_build
if [[ "$ngreps" -gt 0 ]]; then
  command -v ngspice >/dev/null || { echo "$script: ngspice not on PATH" >&2; exit 2; }
fi
speed_workdir
deck="$work/xbar_${size}.cir"
ngdeck="$work/xbar_${size}_ngspice.cir"
gen_out=$("$memspice" gen crossbar --rows "$size" --cols "$size" --rline 1 --cline 1f \
  --steps "$steps" -o "$deck")
# Every signal: drop the generator's .save of the sense currents (both simulators then keep all).
sed -i '/^\.save/d' "$deck"
"$memspice" export-ngspice "$deck" -o "$ngdeck" >/dev/null
rm -f "$work"/times.*

# "points variables bytes" of a raw file's header.
raw_info() {
  local p v
  p=$(grep -a -m1 '^No. Points:' "$1" | awk '{print $3}')
  v=$(grep -a -m1 '^No. Variables:' "$1" | awk '{print $3}')
  echo "$p $v $(stat -c %s "$1")"
}

for ((r = 0; r < reps; ++r)); do timed memspice "$memspice" sim -q "$deck" --raw "$work/memspice.raw"; done
for ((r = 0; r < ngreps; ++r)); do timed ngspice ngspice -b -r "$work/ngspice.raw" "$ngdeck"; done

read -r ms_points ms_vars ms_bytes <<<"$(raw_info "$work/memspice.raw")"
[[ -n "$ms_points" && "$ms_points" -ge "$steps" ]] ||
  { echo "$script: memspice wrote ${ms_points:-no} time points, expected >= $steps" >&2; exit 1; }
ms_wall=$(median 1 "$work/times.memspice") ms_cpu=$(median 2 "$work/times.memspice")

echo "# resistive crossbar ${size}x${size}, line R 1 ohm / C 1 fF, ${steps}-step transient, binary raw of every signal ($(grep -o '[0-9]* unknowns' <<<"$gen_out"))"
echo "# $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)," \
  "CPU flags: $(grep -m1 -o -w -e avx2 -e avx512f /proc/cpuinfo | sort -u | tr '\n' ' ')"
echo
echo "| simulator | runs | time points | variables | raw MB | wall median (s) | CPU median (s) |"
echo "|---|---|---|---|---|---|---|"
awk -v p="$ms_points" -v v="$ms_vars" -v b="$ms_bytes" -v r="$reps" -v w="$ms_wall" -v c="$ms_cpu" \
  'BEGIN { printf "| memspice | %d | %d | %d | %.1f | %s | %s |\n", r, p, v, b / 1e6, w, c }'
if [[ "$ngreps" -gt 0 ]]; then
  read -r ng_points ng_vars ng_bytes <<<"$(raw_info "$work/ngspice.raw")"
  [[ -n "$ng_points" && "$ng_points" -ge "$steps" ]] ||
    { echo "$script: ngspice wrote ${ng_points:-no} time points, expected >= $steps" >&2; exit 1; }
  ng_wall=$(median 1 "$work/times.ngspice") ng_cpu=$(median 2 "$work/times.ngspice")
  echo "| $(ngspice --version 2>/dev/null | grep -m1 -o 'ngspice-[0-9.]*') | $ngreps | $ng_points | $ng_vars | $(awk -v b="$ng_bytes" 'BEGIN { printf "%.1f", b / 1e6 }') | $ng_wall | $ng_cpu |"
  awk -v mw="$ms_wall" -v mc="$ms_cpu" -v nw="$ng_wall" -v nc="$ng_cpu" 'BEGIN {
    printf "| **speed-up** (ngspice / memspice) | | | | | %.0fx | %.0fx |\n", nw / mw, nc / mc }'
fi
