#!/usr/bin/env bash
# memspice vs ngspice 39 on transistor circuits, `.tran`, side by side in one run: a 101-stage
# CMOS ring oscillator, an array of 256 NAND2 gates (1024 transistors) and an 8 x 8 1T1R crossbar
# with MSS cells (against ngspice on the `memspice export-ngspice` deck). MOSFETs are level 1
# with Meyer (TOX), junction and overlap capacitances. Not a test. Prints a markdown table of wall
# and CPU time (user + sys, medians over the repetitions) and the speed-up (ngspice / memspice).
#
#   benchmarks/cmos_speed.sh [BUILD_DIR] [--reps R] [--ngspice-reps K] [--keep DIR]
#
# Defaults: BUILD_DIR ./build, R = 3, K = 3. memspice runs `memspice sim DECK --csv OUT`,
# ngspice `ngspice -b -r OUT DECK`: both write every node voltage at every time point, with
# default tolerances. The script checks that every run wrote at least 100 time points.
set -euo pipefail

script=cmos_speed.sh
# shellcheck disable=SC2034  # size and steps: options of the shared parser that the fixed decks ignore
size=1 steps=1 reps=3 ngreps=3 min_ngreps=1
# shellcheck source=benchmarks/crossbar_speed_common.sh
source "$(dirname "${BASH_SOURCE[0]}")/crossbar_speed_common.sh"
speed_args "$@"
speed_build
command -v ngspice >/dev/null || { echo "$script: ngspice not on PATH" >&2; exit 2; }
speed_workdir

# Level-1 cards shared by the CMOS decks.
models() {
  echo ".model nch nmos (level=1 vto=0.7 kp=110u gamma=0.4 lambda=0.04 tox=20n cj=2e-4 cjsw=5e-10 cgso=2e-10 cgdo=2e-10)"
  echo ".model pch pmos (level=1 vto=-0.8 kp=40u gamma=0.5 lambda=0.05 tox=20n cj=3e-4 cjsw=6e-10 cgso=2e-10 cgdo=2e-10)"
}
nfet() { echo "MN$1 $2 $3 $4 0 nch W=2u L=1u AD=4p AS=4p PD=8u PS=8u"; }
pfet() { echo "MP$1 $2 $3 vdd vdd pch W=4u L=1u AD=8p AS=8p PD=12u PS=12u"; }

# 101 inverters in a ring, started from alternating levels, 40 ns.
ring_deck() {
  local n=101
  echo "101-stage CMOS ring oscillator (level 1)"
  echo "VDD vdd 0 DC 3.3"
  for ((k = 1; k <= n; ++k)); do
    local out=$((k % n + 1))
    pfet "$k" "n$out" "n$k" vdd
    nfet "$k" "n$out" "n$k" 0
  done
  models
  echo -n ".ic"
  for ((k = 1; k <= n; ++k)); do echo -n " v(n$k)=$(((k % 2) * 33 / 10))"; done
  echo
  echo ".tran 10p 40n"
  echo ".end"
}

# 16 chains of 16 NAND2 gates: input a of every gate from the previous gate (the first from a
# pulse source of its own period), input b from a common enable; 256 gates, 1024 transistors, 60 ns.
nand_deck() {
  echo "256 NAND2 gates in 16 chains of 16 (1024 MOSFETs, level 1)"
  echo "VDD vdd 0 DC 3.3"
  echo "VEN en 0 PULSE(0 3.3 1n 0.5n 0.5n 50n 100n)"
  for ((c = 0; c < 16; ++c)); do
    echo "VIN$c c${c}_0 0 PULSE(0 3.3 2n 0.5n 0.5n $((5 + c))n $((10 + 2 * c))n)"
    for ((g = 1; g <= 16; ++g)); do
      local a="c${c}_$((g - 1))" y="c${c}_$g" m="c${c}_${g}x" id="${c}_$g"
      pfet "${id}a" "$y" "$a" vdd
      pfet "${id}b" "$y" en vdd
      nfet "${id}a" "$y" "$a" "$m"
      nfet "${id}b" "$m" en 0
    done
  done
  models
  echo ".tran 10p 60n"
  echo ".end"
}

# CPU time of one deck in both simulators; appends a table row.
rows=()
bench() {
  local name="$1" deck="$2" ngdeck="$3" mos="$4"
  rm -f "$work/times.memspice" "$work/times.ngspice"
  for ((r = 0; r < reps; ++r)); do timed memspice "$memspice" sim "$deck" --csv "$work/ms.csv"; done
  for ((r = 0; r < ngreps; ++r)); do timed ngspice ngspice -b -r "$work/ng.raw" "$ngdeck"; done
  local msp ngp
  msp=$(($(wc -l <"$work/ms.csv") - 1))
  ngp=$(grep -a -m1 '^No. Points:' "$work/ng.raw" | awk '{print $3}')
  for p in "$msp" "$ngp"; do
    if [[ -z "$p" || "$p" -lt 100 ]]; then echo "$script: $name: a run wrote $p points" >&2; exit 1; fi
  done
  local mw mc nw nc
  mw=$(median 1 "$work/times.memspice") mc=$(median 2 "$work/times.memspice")
  nw=$(median 1 "$work/times.ngspice") nc=$(median 2 "$work/times.ngspice")
  rows+=("$(awk -v n="$name" -v m="$mos" -v a="$msp" -v b="$ngp" -v mw="$mw" -v mc="$mc" \
    -v nw="$nw" -v nc="$nc" 'BEGIN { printf "| %s | %s | %s / %s | %s / %s | %s / %s | %.2fx | %.2fx |",
    n, m, a, b, mw, nw, mc, nc, nw / mw, nc / mc }')")
}

ring_deck >"$work/ring101.cir"
nand_deck >"$work/nand256.cir"
"$memspice" gen crossbar --rows 8 --cols 8 --cell 1t1r -o "$work/xbar1t1r.cir" >/dev/null
"$memspice" export-ngspice "$work/xbar1t1r.cir" -o "$work/xbar1t1r_ngspice.cir" >/dev/null

bench "101-stage ring oscillator, 40 ns" "$work/ring101.cir" "$work/ring101.cir" 202
bench "256 NAND2 chains, 60 ns" "$work/nand256.cir" "$work/nand256.cir" 1024
bench "8x8 1T1R crossbar, MSS cells" "$work/xbar1t1r.cir" "$work/xbar1t1r_ngspice.cir" 64

flags=$(grep -m1 -o -w -E 'avx2|avx512f' /proc/cpuinfo | sort -u | tr '\n' ' ' || true)
echo "# $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)," \
  "$(ngspice --version 2>/dev/null | grep -m1 -o 'ngspice-[0-9.]*'), CPU flags: ${flags:-none}," \
  "memspice runs $reps, ngspice runs $ngreps"
echo
echo "| circuit | MOSFETs | time points (memspice / ngspice) | wall median s (memspice / ngspice) | CPU median s (memspice / ngspice) | wall speed-up | CPU speed-up |"
echo "|---|---|---|---|---|---|---|"
printf '%s\n' "${rows[@]}"
