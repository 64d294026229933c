#!/usr/bin/env bash
# What writing the waveforms costs: the same memspice run with no output file, with a CSV file
# and with a binary raw file of every signal, side by side in one invocation. Not a test.
#
#   benchmarks/csv_speed.sh [BUILD_DIR] [--size N] [--steps S] [--reps R] [--keep DIR]
#
# Defaults: BUILD_DIR ./build, N = 48, S = 1000, R = 3. The deck is
# `memspice gen crossbar --rows N --cols N --rline 1 --cline 1f --steps S` without its .save lines
# (every node voltage and branch current is an output: 4,801 signals at 48 x 48), run as
# `memspice sim -q DECK [--csv OUT | --raw OUT]`. Reported per mode: file size, wall and CPU
# (user + sys) medians, and the CPU the output adds to the run without one (the cost of
# formatting and writing the file) with its rate in MB per CPU second. CSV numbers are written
# in the project's one number format (base::FormatNumber: shortest round-trip text).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="$root/build"
if [[ $# -gt 0 && "$1" != --* ]]; then build="$1"; shift; fi
size=48 steps=1000 reps=3 keep=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --size) size="$2"; shift 2 ;;
    --steps) steps="$2"; shift 2 ;;
    --reps) reps="$2"; shift 2 ;;
    --keep) keep="$2"; shift 2 ;;
    *) echo "csv_speed.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
for v in size steps reps; do
  [[ "${!v}" =~ ^[1-9][0-9]*$ ]] || { echo "csv_speed.sh: --$v must be a positive integer" >&2; exit 2; }
done
[[ -x /usr/bin/time ]] || { echo "csv_speed.sh: needs /usr/bin/time (apt-get install time)" >&2; exit 2; }

if [[ ! -f "$build/build.ninja" && ! -f "$build/Makefile" ]]; then
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
fi
cmake --build "$build" --target memspice -j2 >/dev/null ||
  { echo "csv_speed.sh: cannot build memspice in $build" >&2; exit 2; }
memspice="$build/apps/memspice"

if [[ -n "$keep" ]]; then
  work="$keep"; mkdir -p "$work"
else
  work="$(mktemp -d "${TMPDIR:-/tmp}/csv_speed.XXXXXX")"
  trap 'rm -rf "$work"' EXIT
fi
deck="$work/xbar_${size}.cir"
gen_out=$("$memspice" gen crossbar --rows "$size" --cols "$size" --rline 1 --cline 1f \
  --steps "$steps" -o "$deck")
sed -i '/^\.save/d' "$deck"  # every signal
rm -f "$work"/times.*

# Runs memspice with extra arguments under /usr/bin/time; appends "wall cpu" to times.<tag>.
timed() {
  local tag="$1"; shift
  /usr/bin/time -f "%e %U %S" -o "$work/t.$tag" "$memspice" sim -q "$deck" "$@" \
    >"$work/out.$tag" 2>"$work/err.$tag" || {
    echo "csv_speed.sh: memspice sim $* failed:" >&2; tail -5 "$work/err.$tag" >&2; exit 1; }
  awk '{printf "%.3f %.3f\n", $1, $2 + $3}' "$work/t.$tag" >>"$work/times.$tag"
}
median() {  # column $1 of file $2
  sort -g -k"$1","$1" "$2" | awk -v c="$1" '{v[NR] = $c} END {
    if (NR % 2) print v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# Interleaved, so that load changes hit every mode alike.
for ((r = 0; r < reps; ++r)); do
  timed none
  timed csv --csv "$work/out.csv"
  timed raw --raw "$work/out.raw"
done
rows=$(($(wc -l <"$work/out.csv") - 1))
cols=$(head -1 "$work/out.csv" | tr ',' '\n' | wc -l)
[[ "$rows" -ge "$steps" ]] || { echo "csv_speed.sh: the CSV has $rows rows, expected >= $steps" >&2; exit 1; }

echo "# resistive crossbar ${size}x${size}, ${steps}-step transient, every signal" \
  "($(grep -o '[0-9]* unknowns' <<<"$gen_out"); CSV: $rows rows x $cols columns)"
echo "# $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)," \
  "CPU flags: $(grep -m1 -o -w -e avx2 -e avx512f /proc/cpuinfo | sort -u | tr '\n' ' ')"
echo
echo "| output | runs | file MB | wall median (s) | CPU median (s) | CPU added by the output (s) | MB per added CPU s |"
echo "|---|---|---|---|---|---|---|"
base_cpu=$(median 2 "$work/times.none")
for tag in none csv raw; do
  bytes=0
  [[ "$tag" != none ]] && bytes=$(stat -c %s "$work/out.$tag")
  awk -v t="$tag" -v r="$reps" -v b="$bytes" -v w="$(median 1 "$work/times.$tag")" \
    -v c="$(median 2 "$work/times.$tag")" -v c0="$base_cpu" 'BEGIN {
      added = c - c0
      rate = (b > 0 && added > 0) ? sprintf("%.0f", b / 1e6 / added) : "-"
      printf "| %s | %d | %.1f | %s | %s | %s | %s |\n", t, r, b / 1e6, w, c,
        (t == "none" ? "-" : sprintf("%.3f", added)), rate }'
done
