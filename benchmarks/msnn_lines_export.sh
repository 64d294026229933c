#!/bin/sh
# The exported-deck check at full size with line parasitics (not a test; CPU hours on a loaded
# machine): a 784-100-10 Fashion-MNIST network with 2.5 ohm word- and bit-line segments (313,600
# line nodes in crossbar 1), backward Euler, trained briefly (two optimiser steps) on the fast path
# with its compiled line networks; test samples 0..N-1 exported as bound decks and simulated by
# `memspice sim` (MNA engine, the same backward-Euler scheme). The solver's class
# (argmax_k sum_n v(h2_k)) must equal the fast path's (`eval --show`) for every sample. Prints one
# line per sample and the count that agree. Re-running with the same WORK_DIR reuses the trained
# run and the samples already simulated; JOBS simulations run at once (about 1.4 GB each).
# Usage: benchmarks/msnn_lines_export.sh [BUILD_DIR] [WORK_DIR] [SAMPLES] [JOBS]
set -eu
B=${1:-build}
W=${2:-/tmp/msnn_lines_export}
N=${3:-8}
J=${4:-2}
M="$B/apps/memspice"
mkdir -p "$W"
T="/usr/bin/time -f %e_s_wall,%M_KiB"
NET="--layers 784,100,10 --steps 200 --layer-scale 150,0.03 --method be --rline 2.5 --seed 3"
if [ ! -f "$W/run/params.json" ]; then
  $T "$M" gen msnn $NET -o "$W/net.cir"
  # The train log names each crossbar's model (line network or not).
  $T "$M" train "$W/net.cir" --epochs 1 --max-train 128 --batch-size 64 --max-test "$N" \
    --lr 2e-3 --out "$W/run" --no-progress
fi
if [ ! -s "$W/eval_$N.txt" ]; then
  $T "$M" eval "$W/run" --max-test "$N" --show "$N" > "$W/eval_$N.tmp" && mv "$W/eval_$N.tmp" "$W/eval_$N.txt"
fi
cat "$W/eval_$N.txt"
# One sample: export, simulate, class of the solver -> $W/class_K.txt.
one() {
  k=$1
  [ -s "$W/class_$k.txt" ] && return 0
  "$M" export "$W/run" -o "$W/trained_$k.cir" --sample "$k" > /dev/null
  $T "$M" sim "$W/trained_$k.cir" --method be --fixed-step 10u --no-progress \
    --csv "$W/trained_$k.csv" > "$W/sim_$k.log" 2>&1
  awk -F, 'NR == 1 { for (i = 1; i <= NF; ++i) c[$i] = i; next }
    NR > 2 { for (j = 0; j < 10; ++j) s[j] += $(c["v(h2_" j ")"]) }
    END { b = 0; for (j = 1; j < 10; ++j) if (s[j] > s[b]) b = j; print b }' \
    "$W/trained_$k.csv" > "$W/class_$k.tmp"
  mv "$W/class_$k.tmp" "$W/class_$k.txt"
  rm -f "$W/trained_$k.csv" "$W/trained_$k.cir"
}
k=0
while [ "$k" -lt "$N" ]; do  # batches of J samples
  one "$k" &
  k=$((k + 1))
  [ $((k % J)) -eq 0 ] && wait
done
wait
agree=0
k=0
while [ "$k" -lt "$N" ]; do
  fast=$(sed -n "s/^sample $k: label [0-9]*, predicted \([0-9]*\)$/\1/p" "$W/eval_$N.txt")
  solver=$(cat "$W/class_$k.txt" 2>/dev/null || echo "?")
  [ "$solver" = "$fast" ] && agree=$((agree + 1))
  echo "sample $k: fast path class $fast, solver class $solver ($(tail -1 "$W/sim_$k.log" 2>/dev/null))"
  k=$((k + 1))
done
echo "exported decks agreeing with the fast path: $agree of $N"
