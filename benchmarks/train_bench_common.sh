# Shared by the training benchmarks (line_accuracy.sh, mapping_accuracy.sh, device_updates.sh);
# sourced, not run. Defines:
#   bench_memspice BUILD   configures BUILD if it has no build files, builds memspice, sets $memspice
#   bench_banner           prints the CPU model, its AVX2 / AVX-512 flags and the load average
#   bench_run LOG CMD...   runs a memspice command under /usr/bin/time (LOG.time: user, sys and
#                          wall s, max RSS KiB), echoes it without the prefix $out/, logs it to LOG;
#                          on failure prints the log and exits

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
