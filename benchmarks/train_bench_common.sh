# shellcheck shell=bash
# Shared by the training benchmarks (line_accuracy.sh, mapping_accuracy.sh, device_updates.sh) and
# the two-build comparisons (crossbar_ab.sh, train_deck_compile.sh); sourced, not run. Defines:
#   bench_memspice BUILD   configures BUILD if it has no build files, builds memspice, sets $memspice
#   bench_banner           prints the CPU model, its AVX2 / AVX-512 flags and the load average
#   bench_run LOG CMD...   runs a memspice command under /usr/bin/time (LOG.time: user, sys and
#                          wall s, max RSS KiB), echoes it without the prefix $out/, logs it to LOG;
#                          on failure prints the log and exits
#   bench_old_new OLD NEW  builds memspice in NEW, sets $new_bin and $old_bin (OLD's, must exist)
#                          and $out, a temporary folder removed on exit
#   bench_median           the median of the numbers on stdin, one per line

bench_memspice() {
  local root build="$1"
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  if [[ ! -f "$build/build.ninja" && ! -f "$build/Makefile" ]]; then
    cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
  fi
  cmake --build "$build" --target memspice -j2 >/dev/null
  memspice="$build/apps/memspice"
}

bench_banner() {
  echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')," \
    "$(grep -o -w -E 'avx2|avx512f' /proc/cpuinfo | sort -u | tr '\n' ' ')"
  echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
}

bench_run() {
  local log="$1"
  shift
  echo "+ memspice ${*:2}" | sed "s|${out:-}/||g"
  /usr/bin/time -f "%U %S %e %M" -o "$log.time" "$@" >"$log" 2>&1 || {
    cat "$log"
    exit 1
  }
}

bench_old_new() {
  bench_memspice "$2"
  # shellcheck disable=SC2034  # read by the sourcing script
  new_bin="$memspice"
  old_bin="$1/apps/memspice"
  [[ -x "$old_bin" ]] || { echo "no $old_bin" >&2; exit 1; }
  out="$(mktemp -d)"
  trap 'rm -rf "$out"' EXIT
}

bench_median() {
  sort -g | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'
}
