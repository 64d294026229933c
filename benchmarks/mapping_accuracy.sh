#!/usr/bin/env bash
# Signed-weight mappings compared (not a test; about 5 min of CPU with the defaults): for each
# mapping, `gen msnn --mapping M` (784-100-10, the default recipe), `train` the deck for EPOCHS
# epochs on Fashion-MNIST, `export` the trained deck and `eval` it on the first TEST test images.
# Prints the cells of each deck, the test accuracy after every epoch, the exported deck's accuracy
# and the CPU time; writes OUT_DIR/mapping_accuracy.csv.
#
#   benchmarks/mapping_accuracy.sh [BUILD_DIR] [OUT_DIR]
#   environment: EPOCHS (2), TEST (10000), THREADS (2), MAPPINGS ("differential reference-column"),
#                EXTRA (more `gen msnn` flags for every deck, e.g. "--layer-scale 300,0.06")
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${1:-$root/build}"
out="${2:-$root/runs/mapping_accuracy}"
epochs="${EPOCHS:-2}"
test_n="${TEST:-10000}"
threads="${THREADS:-2}"
mappings="${MAPPINGS:-differential reference-column}"
read -r -a extra <<<"${EXTRA:-}"

# shellcheck source=benchmarks/train_bench_common.sh
source "$root/benchmarks/train_bench_common.sh"
bench_memspice "$build"
mkdir -p "$out"

bench_banner
echo "mapping,synapses,epoch,test_accuracy_pct,exported_accuracy_pct,train_cpu_s" \
  >"$out/mapping_accuracy.csv"

cpu() { awk '{ printf "%.0f", $1 + $2 }' "$1.time"; }

for m in $mappings; do
  bench_run "$out/gen_$m.log" "$memspice" gen msnn --mapping "$m" "${extra[@]}" -o "$out/net_$m.cir"
  cells=$(sed -n 's/.* \([0-9]*\) synapses.*/\1/p' "$out/gen_$m.log")
  bench_run "$out/train_$m.log" "$memspice" train "$out/net_$m.cir" --epochs "$epochs" \
    --threads "$threads" --max-test "$test_n" --no-progress --overwrite --out "$out/run_$m"
  bench_run "$out/export_$m.log" "$memspice" export "$out/run_$m" -o "$out/trained_$m.cir"
  bench_run "$out/eval_$m.log" "$memspice" eval "$out/trained_$m.cir" --max-test "$test_n" \
    --threads "$threads"
  exported=$(sed -n 's/.*accuracy \([0-9.]*\) %.*/\1/p' "$out/eval_$m.log" | head -n1)
  tail -n +2 "$out/run_$m/metrics.csv" | while IFS=, read -r epoch _ _ _ _ acc _; do
    pct=$(awk -v a="$acc" 'BEGIN { printf "%.2f", 100 * a }')
    echo "$m,$cells,$epoch,$pct,$exported,$(cpu "$out/train_$m.log")" >>"$out/mapping_accuracy.csv"
    echo "$m: $cells synapses, epoch $epoch: test accuracy $pct %"
  done
  echo "$m: exported deck $exported %, training $(cpu "$out/train_$m.log") CPU s"
done
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
column -s, -t "$out/mapping_accuracy.csv"
