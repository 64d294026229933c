#!/usr/bin/env bash
# Whole `memspice train net.cir` command on a `memspice gen msnn` deck (784-100-10 by default,
# 10 MB), which is dominated by compiling the deck: two builds side by side (e.g. main's build
# and a branch's), runs alternating so that both see the same load. One batch of 8, 8 test images.
#
#   benchmarks/train_deck_compile.sh OLD_BUILD NEW_BUILD [REPS] [-- gen msnn flags]
#   (defaults: 3 repetitions, --layers 784 100 10 --steps 1000)
#
# Prints the CPU, load, deck size and per build the median user + sys CPU s, wall s and peak RSS.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
old="${1:?old build dir}"
new="${2:?new build dir}"
reps="${3:-3}"
shift $(($# < 3 ? $# : 3))
[[ "${1:-}" == "--" ]] && shift
gen=("$@")
[[ ${#gen[@]} -eq 0 ]] && gen=(--layers 784 100 10 --steps 1000)
# shellcheck source=benchmarks/train_bench_common.sh
source "$root/benchmarks/train_bench_common.sh"
bench_old_new "$old" "$new"

bench_banner
"$new_bin" gen msnn "${gen[@]}" -o "$out/net.cir" >/dev/null
echo "deck: memspice gen msnn ${gen[*]} ($(($(stat -c %s "$out/net.cir") / 1000000)) MB)"
args=(--epochs 1 --max-batches 1 --batch-size 8 --max-test 8 --threads 1 --no-progress --overwrite)
for ((r = 0; r < reps; ++r)); do
  for which in old new; do
    bin="${which}_bin"
    bench_run "$out/$which.$r" "${!bin}" train "$out/net.cir" "${args[@]}" --out "$out/run_$which"
  done
done
printf '%-4s %5s %12s %12s %14s\n' build runs cpu_s wall_s peak_rss_mib
for which in old new; do
  cpu=$(cat "$out/$which".*.time | awk '{print $1 + $2}' | bench_median)
  wall=$(cat "$out/$which".*.time | awk '{print $3}' | bench_median)
  rss=$(cat "$out/$which".*.time | awk '{print $4 / 1024}' | bench_median)
  printf '%-4s %5d %12.2f %12.2f %14.0f\n' "$which" "$reps" "$cpu" "$wall" "$rss"
done
