# shellcheck shell=bash disable=SC2034,SC2154  # variables shared with the sourcing script
# Sourced by crossbar_raw_speed.sh, mss_crossbar_speed.sh and cmos_speed.sh: their common options, work folder
# and timing. The caller sets `script` (its name, for messages), the defaults of size, steps,
# reps and ngreps, and `min_ngreps` (0 when the ngspice row may be left out), then calls
# speed_args "$@" and speed_workdir.

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="$root/build"
keep=""

# [BUILD_DIR] [--size N] [--steps S] [--reps R] [--ngspice-reps K] [--keep DIR], checked.
speed_args() {
  if [[ $# -gt 0 && "$1" != --* ]]; then build="$1"; shift; fi
  while [[ $# -gt 0 ]]; do
    case "$1" in
      --size) size="$2"; shift 2 ;;
      --steps) steps="$2"; shift 2 ;;
      --reps) reps="$2"; shift 2 ;;
      --ngspice-reps) ngreps="$2"; shift 2 ;;
      --keep) keep="$2"; shift 2 ;;
      *) echo "$script: unknown argument '$1'" >&2; exit 2 ;;
    esac
  done
  for v in size steps reps; do
    [[ "${!v}" =~ ^[1-9][0-9]*$ ]] || { echo "$script: --$v must be a positive integer" >&2; exit 2; }
  done
  [[ "$ngreps" =~ ^[0-9]+$ && "$ngreps" -ge "$min_ngreps" ]] ||
    { echo "$script: --ngspice-reps must be an integer >= $min_ngreps" >&2; exit 2; }
  memspice="$build/apps/memspice"
}

# Builds memspice in $build (configuring it first if needed).
speed_build() {
  if [[ ! -f "$build/build.ninja" && ! -f "$build/Makefile" ]]; then
    cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
  fi
  cmake --build "$build" --target memspice -j2 >/dev/null ||
    { echo "$script: cannot build memspice in $build" >&2; exit 2; }
}

# $work: the --keep folder, else a temporary one removed on exit; needs /usr/bin/time.
speed_workdir() {
  [[ -x /usr/bin/time ]] || { echo "$script: needs /usr/bin/time (apt-get install time)" >&2; exit 2; }
  if [[ -n "$keep" ]]; then
    work="$keep"; mkdir -p "$work"
  else
    work="$(mktemp -d "${TMPDIR:-/tmp}/${script%.sh}.XXXXXX")"
    trap 'rm -rf "$work"' EXIT
  fi
}

# Runs "$@" under /usr/bin/time; appends "wall cpu" to $work/times.<tag>.
timed() {
  local tag="$1"; shift
  /usr/bin/time -f "%e %U %S" -o "$work/t.$tag" "$@" >"$work/out.$tag" 2>"$work/err.$tag" || {
    echo "$script: '$*' failed:" >&2; tail -5 "$work/err.$tag" >&2; exit 1; }
  awk '{printf "%.3f %.3f\n", $1, $2 + $3}' "$work/t.$tag" >>"$work/times.$tag"
}

median() {  # column $1 of file $2
  sort -g -k"$1","$1" "$2" | awk -v c="$1" '{v[NR] = $c} END {
    if (NR % 2) print v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
