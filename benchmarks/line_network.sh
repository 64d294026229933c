#!/usr/bin/env bash
# Crossbars with line parasitics on the fast path (not a test; minutes of CPU): a generated
# 784-100-10 circuit-form MEMprop deck with rline 2.5 ohm and cline 1 fF per cell, T = 200, batch 64,
# 2 threads, compiled to line networks; gradient passes timed next to the same network without
# parasitics in the same run (wall clock and CPU time), the line network's cost split (symbolic
# analysis, factorisation + port back-solves, gradient solves), peak memory, and the fast path against the
# MNA engine on 64-32-10 with the same lines. Inputs are uniform random images (the rate does not
# depend on the data set).
#
#   benchmarks/line_network.sh [BUILD_DIR] [-- options of line_network_bench]
#     --layers 784,100,10 --rline 2.5 --cline 1f --steps 200 --batch 64 --batches 3 --threads 2
#     --method be --mna-layers 64,32,10 --mna-samples 1 (0: skip the MNA comparison)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${1:-$root/build}"
[[ $# -gt 0 ]] && shift
[[ "${1:-}" == "--" ]] && shift
if [[ ! -f "$build/build.ninja" && ! -f "$build/Makefile" ]]; then
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
fi
cmake --build "$build" --target line_network_bench -j2 >/dev/null
echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores;" \
     "AVX2: $(grep -qw avx2 /proc/cpuinfo && echo yes || echo no)," \
     "AVX-512: $(grep -qw avx512f /proc/cpuinfo && echo yes || echo no); load average $(cut -d' ' -f1-3 /proc/loadavg)"
/usr/bin/time -f "wall %e s, user %U s, sys %S s, max RSS %M KiB" \
  "$build/benchmarks/line_network_bench" "$@"
