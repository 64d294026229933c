#!/usr/bin/env bash
# memspice vs ngspice 39 on N x N resistive crossbars (line R and C, SIN drives, 1000 steps).
# Not a test: takes minutes (ngspice alone needs ~3 min for 64 x 64). Prints a markdown table.
#
#   benchmarks/crossbar_speed.sh [BUILD_DIR] [-- extra crossbar_bench flags]
#
# BUILD_DIR defaults to ./build. Builds crossbar_bench (and the memspice CLI if the tree has it),
# then times the CLI `memspice sim deck --csv /dev/null` when it exists, else the library
# in-process. Example for a quick check: benchmarks/crossbar_speed.sh build -- --sizes 16,32 --reps 1
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${1:-$root/build}"
[[ $# -gt 0 ]] && shift
[[ "${1:-}" == "--" ]] && shift

if [[ ! -f "$build/build.ninja" && ! -f "$build/Makefile" ]]; then
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
fi
if ! cmake --build "$build" --target crossbar_bench -j2 >/dev/null; then
  echo "crossbar_speed.sh: cannot build crossbar_bench in $build" \
       "(is add_subdirectory(benchmarks) in the top-level CMakeLists.txt?)" >&2
  exit 2
fi
cli_flag=()
if cmake --build "$build" --target memspice -j2 >/dev/null 2>&1 && [[ -x "$build/apps/memspice" ]] &&
   "$build/apps/memspice" sim --help >/dev/null 2>&1; then
  cli_flag=(--memspice-cli "$build/apps/memspice")
fi

command -v ngspice >/dev/null || { echo "crossbar_speed.sh: ngspice not on PATH" >&2; exit 2; }
work="$(mktemp -d "${TMPDIR:-/tmp}/crossbar_speed.XXXXXX")"
trap 'rm -rf "$work"' EXIT

echo "# crossbar speed, $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# $(ngspice --version 2>/dev/null | grep -m1 -o 'ngspice-[0-9.]*'), memspice ${cli_flag[1]:-in-process library}"
"$build/benchmarks/crossbar_bench" --work-dir "$work" "${cli_flag[@]}" "$@"
