#!/usr/bin/env bash
# The nonlinear pulse response of the MSS synapse (docs/device_updates.md): G against pulse number
# for SET and RESET at two amplitudes each, from the programming model (pulse_response_bench) and
# from `memspice sim` on single-device decks (fixed-step RK4), joined into one CSV and plotted by
# `memspice plot`. Prints the largest relative difference per case.
#
#   benchmarks/pulse_response.sh [BUILD_DIR] [DEVICE_FILE] [OUT_DIR]
#   (defaults: build, circuits/lib/synapse_device.lib, docs/img: pulse_response.csv/.png)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${1:-$root/build}"
device="${2:-$root/circuits/lib/synapse_device.lib}"
out="${3:-$root/docs/img}"
cmake --build "$build" --target memspice pulse_response_bench -j2 >/dev/null
memspice="$build/apps/memspice"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
steps=20
every=20

"$build/benchmarks/pulse_response_bench" "$device" "$work" --steps-per-pulse "$steps" \
  --every "$every" >"$work/cases"
cp "$work/model.csv" "$work/joined.csv"
k=0
while read -r deck volts step; do
  echo "+ memspice sim $(basename "$deck") --method rk4 --fixed-step $step --csv" >&2
  "$memspice" sim "$deck" --method rk4 --fixed-step "$step" --csv "$work/sim$k.csv" -q
  # G = |i(v1)| / |V| at the end of every $every-th pulse ($steps time points per pulse).
  awk -F, -v s="$((steps * every))" -v v="$volts" '
    NR == 1 { for (j = 1; j <= NF; j++) if ($j == "i(v1)") c = j; next }
    (NR - 2) % s == 0 { g = $c / v; printf "%.17g\n", g < 0 ? -g : g }' "$work/sim$k.csv" \
    >"$work/g$k"
  k=$((k + 1))
done <"$work/cases"
# Header: pulse, then per case the model's and the simulator's column.
{
  head -n 1 "$work/model.csv" | awk -F, '{
    printf "%s", $1; for (j = 2; j <= NF; j++) printf ",%s_model,%s_sim", $j, $j; print "" }'
  tail -n +2 "$work/model.csv" | paste -d, - "$work"/g[0-9] | awk -F, -v n="$k" '{
    printf "%s", $1; for (j = 0; j < n; j++) printf ",%s,%s", $(j + 2), $(n + j + 2); print "" }'
} >"$out/pulse_response.csv"
awk -F, 'NR == 1 { for (j = 2; j <= NF; j += 2) name[j] = $j; next }
  { for (j = 2; j <= NF; j += 2) { d = ($j - $(j + 1)) / $(j + 1); d = d < 0 ? -d : d
      if (d > worst[j]) worst[j] = d } }
  END { for (j = 2; j <= NF; j += 2) printf "%-20s max |G_model - G_sim| / G_sim = %.2g\n",
      substr(name[j], 1, length(name[j]) - 6), worst[j] }' "$out/pulse_response.csv"
"$memspice" plot "$out/pulse_response.csv" -o "$out/pulse_response.png" --points \
  --title "MSS synapse: G against pulse number (model and memspice sim)" --xlabel "pulse" \
  --ylabel "G [S]"
