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

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="$root/build"
if [[ $# -gt 0 && "$1" != --* ]]; then build="$1"; shift; fi
size=48 steps=1000 reps=3 ngreps=1 keep=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --size) size="$2"; shift 2 ;;
    --steps) steps="$2"; shift 2 ;;
    --reps) reps="$2"; shift 2 ;;
    --ngspice-reps) ngreps="$2"; shift 2 ;;
    --keep) keep="$2"; shift 2 ;;
    *) echo "crossbar_raw_speed.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
for v in size steps reps; do
  [[ "${!v}" =~ ^[1-9][0-9]*$ ]] || { echo "crossbar_raw_speed.sh: --$v must be a positive integer" >&2; exit 2; }
done
[[ "$ngreps" =~ ^[0-9]+$ ]] || { echo "crossbar_raw_speed.sh: --ngspice-reps must be an integer >= 0" >&2; exit 2; }

memspice="$build/apps/memspice"
if [[ ! -x "$memspice" ]]; then
  if [[ ! -f "$build/build.ninja" && ! -f "$build/Makefile" ]]; then
    cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
  fi
  cmake --build "$build" --target memspice -j2 >/dev/null ||
    { echo "crossbar_raw_speed.sh: cannot build memspice in $build" >&2; exit 2; }
fi
if [[ "$ngreps" -gt 0 ]]; then
  command -v ngspice >/dev/null || { echo "crossbar_raw_speed.sh: ngspice not on PATH" >&2; exit 2; }
fi
[[ -x /usr/bin/time ]] || { echo "crossbar_raw_speed.sh: needs /usr/bin/time (apt-get install time)" >&2; exit 2; }

if [[ -n "$keep" ]]; then
  work="$keep"; mkdir -p "$work"
else
  work="$(mktemp -d "${TMPDIR:-/tmp}/crossbar_raw_speed.XXXXXX")"
  trap 'rm -rf "$work"' EXIT
fi
deck="$work/xbar_${size}.cir"
ngdeck="$work/xbar_${size}_ngspice.cir"
gen_out=$("$memspice" gen crossbar --rows "$size" --cols "$size" --rline 1 --cline 1f \
  --steps "$steps" -o "$deck")
# Every signal: drop the generator's .save of the sense currents (both simulators then keep all).
sed -i '/^\.save/d' "$deck"
"$memspice" export-ngspice "$deck" -o "$ngdeck" >/dev/null
rm -f "$work"/times.*

# Runs "$@" under /usr/bin/time; appends "wall cpu" to $work/times.<tag>.
timed() {
  local tag="$1"; shift
  /usr/bin/time -f "%e %U %S" -o "$work/t.$tag" "$@" >"$work/out.$tag" 2>"$work/err.$tag" || {
    echo "crossbar_raw_speed.sh: '$*' failed:" >&2; tail -5 "$work/err.$tag" >&2; exit 1; }
  awk '{printf "%.3f %.3f\n", $1, $2 + $3}' "$work/t.$tag" >>"$work/times.$tag"
}
median() {  # column $1 of file $2
  sort -g -k"$1","$1" "$2" | awk -v c="$1" '{v[NR] = $c} END {
    if (NR % 2) print v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
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
  { echo "crossbar_raw_speed.sh: memspice wrote ${ms_points:-no} time points, expected >= $steps" >&2; exit 1; }
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
    { echo "crossbar_raw_speed.sh: ngspice wrote ${ng_points:-no} time points, expected >= $steps" >&2; exit 1; }
  ng_wall=$(median 1 "$work/times.ngspice") ng_cpu=$(median 2 "$work/times.ngspice")
  echo "| $(ngspice --version 2>/dev/null | grep -m1 -o 'ngspice-[0-9.]*') | $ngreps | $ng_points | $ng_vars | $(awk -v b="$ng_bytes" 'BEGIN { printf "%.1f", b / 1e6 }') | $ng_wall | $ng_cpu |"
  awk -v mw="$ms_wall" -v mc="$ms_cpu" -v nw="$ng_wall" -v nc="$ng_cpu" 'BEGIN {
    printf "| **speed-up** (ngspice / memspice) | | | | | %.0fx | %.0fx |\n", nw / mw, nc / mc }'
fi
