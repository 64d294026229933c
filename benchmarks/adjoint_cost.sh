#!/usr/bin/env bash
# Cost of the discrete adjoint (`memspice grad`) against the forward simulation and against finite
# differences, on N x N MSS crossbars with every cell's initial state x0 as a parameter (P = N^2;
# 4,096 at 64 x 64). Not a test: the 64 x 64 runs take a minute.
#
#   benchmarks/adjoint_cost.sh [BUILD_DIR] [--sizes "8 16 32 64"] [--steps S] [--reps R]
#                              [--fd-params K] [--keep DIR]
#
# Defaults: BUILD_DIR ./build, sizes 8 16 32 64, S = 200 fixed trapezoidal steps, R = 3, K = 3.
# Per size: the deck `memspice gen crossbar --rows N --cols N --cell mss --rline 1 --cline 1f
# --steps S --tstop 0.2m`, the objective integral(sum_k i(vsense_k)^2) * 1e6 + final(x(m_0_0)),
#   sim:  memspice sim DECK --method trap --fixed-step h   (plain forward simulation; the time it
#         reports for the transient analysis, i.e. the solver alone)
#   grad: memspice grad DECK --objective .. --wrt 'm_*:x0' --method trap --fixed-step h --json
# Reported (medians over R runs, all side by side in one invocation): sim wall time, the grad's
# forward phase (the transient run: exact steps for implicit methods, or solver run + replay),
# its reverse phase (adjoint recurrences, transposed solves and parameter partials for all P
# parameters), (forward + reverse) / sim, reverse / sim, the CPU time (user + sys) of the whole
# `memspice sim` and `memspice grad` commands and their ratio (robust under load), the tape size,
# and the cost of central finite differences estimated as 2 P sim-times. For the largest size, K parameters are also checked against measured finite
# differences (`--check`: two full forward runs each) and their relative errors printed.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="$root/build"
if [[ $# -gt 0 && "$1" != --* ]]; then build="$1"; shift; fi
sizes="8 16 32 64" steps=200 reps=3 fdk=3 keep=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --sizes) sizes="$2"; shift 2 ;;
    --steps) steps="$2"; shift 2 ;;
    --reps) reps="$2"; shift 2 ;;
    --fd-params) fdk="$2"; shift 2 ;;
    --keep) keep="$2"; shift 2 ;;
    *) echo "adjoint_cost.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
for v in steps reps; do
  [[ "${!v}" =~ ^[1-9][0-9]*$ ]] || { echo "adjoint_cost.sh: --$v must be a positive integer" >&2; exit 2; }
done
[[ "$fdk" =~ ^[0-9]+$ ]] || { echo "adjoint_cost.sh: --fd-params must be an integer >= 0" >&2; exit 2; }
for n in $sizes; do
  [[ "$n" =~ ^[1-9][0-9]*$ ]] || { echo "adjoint_cost.sh: size '$n' is not a positive integer" >&2; exit 2; }
done
command -v python3 >/dev/null || { echo "adjoint_cost.sh: needs python3 (reads the JSON)" >&2; exit 2; }
[[ -x /usr/bin/time ]] || { echo "adjoint_cost.sh: needs /usr/bin/time (apt-get install time)" >&2; exit 2; }

if [[ ! -f "$build/build.ninja" && ! -f "$build/Makefile" ]]; then
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
fi
cmake --build "$build" --target memspice -j2 >/dev/null ||
  { echo "adjoint_cost.sh: cannot build memspice in $build" >&2; exit 2; }
memspice="$build/apps/memspice"

if [[ -n "$keep" ]]; then
  work="$keep"; mkdir -p "$work"
else
  work="$(mktemp -d "${TMPDIR:-/tmp}/adjoint_cost.XXXXXX")"
  trap 'rm -rf "$work"' EXIT
fi
tstop=0.2e-3
h=$(awk -v t="$tstop" -v s="$steps" 'BEGIN { printf "%.17g", t / s }')

median() { sort -g | awk '{v[NR] = $1} END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
field() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])" "$1" "$2"; }

echo "# discrete adjoint vs forward simulation and finite differences: N x N MSS crossbars," \
  "P = N^2 x0 parameters, $steps trapezoidal steps of $(awk -v h="$h" 'BEGIN { printf "%g", h }') s"
echo "# $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)," \
  "CPU flags: $(grep -m1 -o -w -e avx2 -e avx512f /proc/cpuinfo | sort -u | tr '\n' ' ')"
echo
echo "| N x N | unknowns | P | sim (s) | grad forward (s) | grad reverse (s) | (forward + reverse) / sim | reverse / sim | sim CPU (s) | grad CPU (s) | grad CPU / sim CPU | tape (MB) | FD estimate 2P x sim (s) | FD / reverse |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
last=""
for n in $sizes; do
  deck="$work/xbar_$n.cir"
  info=$("$memspice" gen crossbar --rows "$n" --cols "$n" --cell mss --rline 1 --cline 1f \
    --steps "$steps" --tstop "$tstop" -o "$deck")
  unknowns=$(grep -o '[0-9]* unknowns' <<<"$info" | cut -d' ' -f1)
  sum=""
  for ((k = 0; k < n; ++k)); do sum+="${sum:++}i(vsense_$k)^2"; done
  objective="integral($sum)*1e6 + final(x(m_0_0))"
  : >"$work/sim.$n"; : >"$work/fwd.$n"; : >"$work/rev.$n"; : >"$work/simcpu.$n"; : >"$work/gradcpu.$n"
  for ((r = 0; r < reps; ++r)); do
    # The simulation time memspice reports ("Transient Analysis: N points, M signals, T s"):
    # solver only, as the grad's phases, without process start, parsing and writing.
    /usr/bin/time -f "%U %S" -o "$work/t.sim" "$memspice" sim "$deck" --method trap \
      --fixed-step "$h" --csv "$work/sim.csv" >/dev/null 2>"$work/sim.err"
    awk '{print $1 + $2}' "$work/t.sim" >>"$work/simcpu.$n"
    grep -o 'Transient Analysis: .*, [0-9.e+-]* s' "$work/sim.err" | awk '{print $(NF - 1)}' \
      >>"$work/sim.$n"
    /usr/bin/time -f "%U %S" -o "$work/t.grad" "$memspice" grad "$deck" --objective "$objective" \
      --wrt 'm_*:x0' --method trap --fixed-step "$h" --json "$work/grad_$n.json" -q
    awk '{print $1 + $2}' "$work/t.grad" >>"$work/gradcpu.$n"
    field "$work/grad_$n.json" forward_s >>"$work/fwd.$n"
    field "$work/grad_$n.json" reverse_s >>"$work/rev.$n"
  done
  p=$(python3 -c "import json,sys; print(len(json.load(open(sys.argv[1]))['gradient']))" "$work/grad_$n.json")
  tape=$(field "$work/grad_$n.json" tape_bytes)
  sim=$(median <"$work/sim.$n") fwd=$(median <"$work/fwd.$n") rev=$(median <"$work/rev.$n")
  scpu=$(median <"$work/simcpu.$n") gcpu=$(median <"$work/gradcpu.$n")
  awk -v n="$n" -v u="$unknowns" -v p="$p" -v s="$sim" -v f="$fwd" -v r="$rev" -v t="$tape" \
    -v sc="$scpu" -v gc="$gcpu" 'BEGIN {
    printf "| %dx%d | %d | %d | %.3f | %.3f | %.3f | %.2f | %.2f | %.2f | %.2f | %.2f | %.1f | %.0f | %.0f |\n",
      n, n, u, p, s, f, r, (f + r) / s, r / s, sc, gc, gc / sc, t / 1e6, 2 * p * s, 2 * p * s / r }'
  last="$n"
done

if [[ "$fdk" -gt 0 && -n "$last" ]]; then
  n="$last"
  wrt=""
  for ((k = 0; k < fdk; ++k)); do
    i=$(( (k * 7) % n )) j=$(( (k * 13 + n / 2) % n ))
    wrt+="${wrt:+,}m_${i}_${j}:x0"
  done
  sum=""
  for ((k = 0; k < n; ++k)); do sum+="${sum:++}i(vsense_$k)^2"; done
  "$memspice" grad "$work/xbar_$n.cir" --objective "integral($sum)*1e6 + final(x(m_0_0))" \
    --wrt "$wrt" --method trap --fixed-step "$h" --check --json "$work/check.json" -q
  echo
  echo "Finite-difference check on the ${n}x${n} crossbar (central differences of two full runs each):"
  echo
  echo "| parameter | adjoint dJ/dp | finite difference | relative error |"
  echo "|---|---|---|---|"
  python3 - "$work/check.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
for name, c in d["check"].items():
    print(f"| {name} | {d['gradient'][name]:.10g} | {c['fd']:.10g} | {c['rel_error']:.2e} |")
PY
fi
