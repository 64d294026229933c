#!/bin/sh
# Netlist -> trained netlist on a 16-8-4 network (docs/training.md "From netlist to trained netlist"):
# gen msnn, train (fast path), eval, export with a bound test sample, then the exported deck under the
# solver, whose predicted class (argmax_k sum_n v(h2_k)) must match the fast path's; finally the same
# network with line resistance, which trains through the MNA engine.
# Usage: benchmarks/msnn_pipeline.sh [BUILD_DIR] [WORK_DIR]
set -eu
B=${1:-build}
W=${2:-/tmp/msnn_pipeline}
M="$B/apps/memspice"
mkdir -p "$W"
python3 "$(dirname "$0")/msnn_fm4_dataset.py" "$W/fm4"
# Forward Euler throughout (the solver's fe is the same scheme); these scales keep it stable.
NET="--layers 16,8,4 --steps 200 --period 50 --layer-scale 100,0.05 --v-scale 5m --method fe --dataset $W/fm4"
"$M" gen msnn $NET -o "$W/net.cir"
"$M" eval "$W/net.cir" | grep accuracy
/usr/bin/time -f "train: %e s wall" "$M" train "$W/net.cir" --epochs 3 --batch-size 32 --lr 5e-3 \
  --out "$W/run" --no-progress
"$M" eval "$W/run" --show 8 | grep -v "^ "
for k in 0 1 2 3 4 5 6 7; do
  "$M" export "$W/run" -o "$W/trained_$k.cir" --sample $k > /dev/null
  "$M" sim "$W/trained_$k.cir" --method fe --fixed-step 10u --csv "$W/trained_$k.csv" > /dev/null
  awk -F, -v k=$k 'NR == 1 { for (i = 1; i <= NF; ++i) c[$i] = i; next }
    NR > 2 { for (j = 0; j < 4; ++j) s[j] += $(c["v(h2_" j ")"]) }
    END { b = 0; for (j = 1; j < 4; ++j) if (s[j] > s[b]) b = j; printf "sample %d: solver class %d\n", k, b }' \
    "$W/trained_$k.csv"
done
"$M" gen msnn $NET --rline 10 -o "$W/net_rc.cir"
/usr/bin/time -f "MNA train (4 samples, 320 synapse states): %e s wall" "$M" train "$W/net_rc.cir" \
  --max-train 4 --batch-size 2 --epochs 1 --max-test 10 --lr 5e-3 --out "$W/run_rc" --no-progress
