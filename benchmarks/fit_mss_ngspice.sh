#!/usr/bin/env bash
# MSS parameter extraction from an ngspice waveform: the hysteresis example
# (circuits/examples/mss_hysteresis.cir, mss_neuron: ron=1k roff=100k von=0.11 voff=0.005 tau=1m
# k=0.6) is exported to ngspice (`memspice export-ngspice`), ngspice writes i(v1) under the 0.3 V,
# 200 Hz sine, and `memspice fit` recovers the six parameters from values 15-30 % off.
# Prints a markdown table (true, start, fitted, relative error, 1-sigma) and the wall time of the
# fit; exit 1 if any parameter is off by more than 1 % or the fit takes a minute or more.
#
#   benchmarks/fit_mss_ngspice.sh [BUILD_DIR] [--tmax T] [--keep DIR]
#
# --tmax: ngspice's step limit (default 1u; the memspice deck keeps its own 5u). ngspice's
# waveform comes from its own integrator and step control, so its discretisation error enters the
# target: at 5u it moves voff by ~0.8 %, at 1u by < 0.1 %.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="$root/build"
if [[ $# -gt 0 && "$1" != --* ]]; then build="$1"; shift; fi
tmax=1u keep=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --tmax) tmax="$2"; shift 2 ;;
    --keep) keep="$2"; shift 2 ;;
    *) echo "fit_mss_ngspice.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
command -v ngspice >/dev/null || { echo "fit_mss_ngspice.sh: ngspice not on PATH" >&2; exit 2; }
if [[ ! -f "$build/build.ninja" && ! -f "$build/Makefile" ]]; then
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
fi
cmake --build "$build" --target memspice -j2 >/dev/null ||
  { echo "fit_mss_ngspice.sh: cannot build memspice in $build" >&2; exit 2; }
memspice="$(cd "$build" && pwd)/apps/memspice"

work="$(mktemp -d)"
trap 'if [[ -n "$keep" ]]; then mkdir -p "$keep"; cp -r "$work"/. "$keep"/; fi; rm -rf "$work"' EXIT
cp "$root/circuits/examples/mss_hysteresis.cir" "$work/deck.cir"
cd "$work"
"$memspice" export-ngspice deck.cir -o ngspice.cir >/dev/null
sed -i "s|^\.tran 5u 10m 0 5u|.tran $tmax 10m 0 $tmax|" ngspice.cir
grep -q "^\.tran $tmax 10m 0 $tmax" ngspice.cir ||
  { echo "fit_mss_ngspice.sh: cannot set the step limit in the exported deck" >&2; exit 2; }
t0=$(date +%s.%N)
ngspice -b -r target.raw ngspice.cir >ngspice.log 2>&1 ||
  { echo "fit_mss_ngspice.sh: ngspice failed, see ngspice.log" >&2; exit 2; }
t1=$(date +%s.%N)

m=mss_neuron
"$memspice" fit deck.cir --target target.raw --signals 'i(v1)' \
  --params $m:ron,$m:roff,$m:von,$m:voff,$m:tau,$m:k \
  --start $m:ron=1.25k --start $m:roff=75k --start $m:von=0.13 --start $m:voff=0.006 \
  --start $m:tau=1.2m --start $m:k=0.5 \
  --json fit.json -o fitted.cir | tee fit.log
t2=$(date +%s.%N)

python3 - "$t0" "$t1" "$t2" <<'PY'
import json, sys
t0, t1, t2 = map(float, sys.argv[1:4])
j = json.load(open("fit.json"))
true = {"ron": 1e3, "roff": 1e5, "von": 0.11, "voff": 0.005, "tau": 1e-3, "k": 0.6}
ok = True
print("\n| parameter | true | start | fitted | rel. error | 1-sigma |")
print("|---|---|---|---|---|---|")
for name, p in j["params"].items():
    t = true[name.split(":")[1]]
    err = abs(p["fitted"] - t) / abs(t)
    ok &= err < 0.01
    sig = "n/a" if p["sigma"] is None else f"{p['sigma']:.3g}"
    print(f"| {name} | {t:.6g} | {p['initial']:.6g} | {p['fitted']:.7g} | {err:.2e} | {sig} |")
print(f"\nngspice {t1 - t0:.2f} s; memspice fit {t2 - t1:.2f} s wall ({j['iterations']} iterations, "
      f"{j['simulations']} simulations, {j['residuals']} residuals, cost {j['final_cost']:.3g})")
ok &= (t2 - t1) < 60
print("PASS: every parameter within 1 %, under a minute" if ok else "FAIL")
sys.exit(0 if ok else 1)
PY
