#!/usr/bin/env bash
# Scaling of memspice under mpirun on this machine: 1 vs 2 ranks for MEMprop training, for a
# 200-run sweep of a 32x32 MSS crossbar and for a 200-run Monte Carlo of the same crossbar, next to
# 1 rank with 2 threads (train, sweep). Not a test: minutes of CPU. Prints a markdown table (wall
# time, CPU time user+sys of all ranks, speed-up over 1 rank x 1 thread) and checks that the
# trained conductances, the sweep CSV and the Monte Carlo CSV are identical across splits.
#
#   benchmarks/mpi_scaling.sh [BUILD_DIR] [--train-samples N] [--runs R] [--parts LIST] [--keep DIR]
#
# --parts: a comma-separated subset of train,sweep,mc (default: all three).
# Training: Fashion-MNIST (Debian dataset-fashion-mnist), 784-100-10, T = 1000, the first N = 512
# training samples in batches of 128 (8 chunks of 16), one epoch, test on 256 samples. Besides the
# process times, the table gives the trainer's own epoch time and samples/s (metrics.csv), which
# leave out loading the dataset (each rank loads it).
# Sweep: `memspice gen crossbar --rows 32 --cols 32 --cell mss --rline 1 --cline 1f --steps 100
# --tstop 100u` with `.step param run 1 R 1` appended (R = 200 runs of the same crossbar), and a
# .meas of the first sense current's average.
# Monte Carlo: the same crossbar and .meas, `sweep --mc R --spread mss.ron=5% --spread mss.roff=5%`
# (every cell's conductance drawn per run: the nominal run 0 and R drawn runs).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="$root/build"
if [[ $# -gt 0 && "$1" != --* ]]; then build="$1"; shift; fi
samples=512 runs=200 keep="" parts="train,sweep,mc"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --train-samples) samples="$2"; shift 2 ;;
    --runs) runs="$2"; shift 2 ;;
    --keep) keep="$2"; shift 2 ;;
    --parts) parts="$2"; shift 2 ;;
    *) echo "mpi_scaling.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
for v in samples runs; do
  [[ "${!v}" =~ ^[1-9][0-9]*$ ]] || { echo "mpi_scaling.sh: --$v must be a positive integer" >&2; exit 2; }
done
for p in ${parts//,/ }; do
  [[ "$p" =~ ^(train|sweep|mc)$ ]] || { echo "mpi_scaling.sh: --parts takes train,sweep,mc" >&2; exit 2; }
done
want() { [[ ",$parts," == *",$1,"* ]]; }
memspice="$build/apps/memspice"
[[ -x "$memspice" ]] || { echo "mpi_scaling.sh: build memspice first ($memspice)" >&2; exit 2; }
command -v mpirun >/dev/null || { echo "mpi_scaling.sh: mpirun not found (openmpi-bin)" >&2; exit 2; }
[[ -x /usr/bin/time ]] || { echo "mpi_scaling.sh: needs /usr/bin/time (apt-get install time)" >&2; exit 2; }
if [[ -n "$keep" ]]; then
  work="$keep"; mkdir -p "$work"
else
  work="$(mktemp -d "${TMPDIR:-/tmp}/mpi_scaling.XXXXXX")"
  trap 'rm -rf "$work"' EXIT
fi
mpirun=(mpirun --oversubscribe --bind-to none)
[[ "$(id -u)" == 0 ]] && mpirun+=(--allow-run-as-root)

# Runs "$@" under /usr/bin/time; prints "wall cpu" (cpu: user + sys of the whole process tree).
timed() {
  local tag="$1"; shift
  /usr/bin/time -f "%e %U %S" -o "$work/t.$tag" "$@" >"$work/out.$tag" 2>"$work/err.$tag" || {
    echo "mpi_scaling.sh: '$*' failed:" >&2; tail -5 "$work/err.$tag" >&2; exit 1; }
  awk '{printf "%.2f %.2f\n", $1, $2 + $3}' "$work/t.$tag"
}

row() {  # name wall cpu base_wall [run_dir]
  local epoch="| |"
  [[ $# -gt 4 ]] && epoch="$(awk -F, 'NR == 2 { printf "| %.1f | %.0f |", $12, $13 }' "$5/metrics.csv")"
  awk -v n="$1" -v w="$2" -v c="$3" -v b="$4" -v e="$epoch" \
    'BEGIN { printf "| %s | %.1f | %.1f | %.2fx %s\n", n, w, c, b / w, e }'
}

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)," \
     "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| job | wall [s] | CPU [s] | speed-up (wall) | epoch [s] | samples/s |"
echo "|---|---|---|---|---|---|"
if want train; then
train=(train --dataset fashion-mnist --layers 784,100,10 --epochs 1
       --max-train "$samples" --max-test 256 --batch-size 128 --no-progress)
read -r w1 c1 < <(timed t1 "${mpirun[@]}" -np 1 "$memspice" "${train[@]}" --threads 1 --out "$work/t1")
row "train, 1 rank x 1 thread" "$w1" "$c1" "$w1" "$work/t1"
read -r w2 c2 < <(timed t2 "${mpirun[@]}" -np 2 "$memspice" "${train[@]}" --threads 1 --out "$work/t2")
row "train, 2 ranks x 1 thread" "$w2" "$c2" "$w1" "$work/t2"
read -r w3 c3 < <(timed t3 "${mpirun[@]}" -np 1 "$memspice" "${train[@]}" --threads 2 --out "$work/t3")
row "train, 1 rank x 2 threads" "$w3" "$c3" "$w1" "$work/t3"
cmp -s "$work/t1/params.json" "$work/t2/params.json" &&
  cmp -s "$work/t1/params.json" "$work/t3/params.json" ||
  { echo "mpi_scaling.sh: trained conductances differ between the splits" >&2; exit 1; }
fi

xbar="$work/xbar_base.cir"
"$memspice" gen crossbar --rows 32 --cols 32 --cell mss --rline 1 --cline 1f --steps 100 \
  --tstop 100u -o "$xbar" >/dev/null
sed -i '/^\.end$/d' "$xbar"
if want sweep; then
deck="$work/xbar.cir"
cp "$xbar" "$deck"
printf '.param run=0\n.step param run 1 %d 1\n.meas tran i0 avg i(vsense_0)\n.end\n' "$runs" >>"$deck"
sweep=(sweep -q "$deck")
read -r w1 c1 < <(timed s1 "${mpirun[@]}" -np 1 "$memspice" "${sweep[@]}" --threads 1 --csv "$work/s1.csv")
row "sweep $runs runs, 1 rank x 1 thread" "$w1" "$c1" "$w1"
read -r w2 c2 < <(timed s2 "${mpirun[@]}" -np 2 "$memspice" "${sweep[@]}" --threads 1 --csv "$work/s2.csv")
row "sweep $runs runs, 2 ranks x 1 thread" "$w2" "$c2" "$w1"
read -r w3 c3 < <(timed s3 "${mpirun[@]}" -np 1 "$memspice" "${sweep[@]}" --threads 2 --csv "$work/s3.csv")
row "sweep $runs runs, 1 rank x 2 threads" "$w3" "$c3" "$w1"
cmp -s "$work/s1.csv" "$work/s2.csv" && cmp -s "$work/s1.csv" "$work/s3.csv" ||
  { echo "mpi_scaling.sh: sweep results differ between the splits" >&2; exit 1; }
fi

if want mc; then
deck="$work/xbar_mc.cir"
cp "$xbar" "$deck"
printf '.meas tran i0 avg i(vsense_0)\n.end\n' >>"$deck"
mc=(sweep -q "$deck" --mc "$runs" --seed 1 --spread mss.ron=5% --spread mss.roff=5%)
read -r w1 c1 < <(timed m1 "${mpirun[@]}" -np 1 "$memspice" "${mc[@]}" --threads 1 --csv "$work/m1.csv")
row "Monte Carlo $runs runs, 1 rank x 1 thread" "$w1" "$c1" "$w1"
read -r w2 c2 < <(timed m2 "${mpirun[@]}" -np 2 "$memspice" "${mc[@]}" --threads 1 --csv "$work/m2.csv")
row "Monte Carlo $runs runs, 2 ranks x 1 thread" "$w2" "$c2" "$w1"
cmp -s "$work/m1.csv" "$work/m2.csv" ||
  { echo "mpi_scaling.sh: Monte Carlo results differ between the splits" >&2; exit 1; }
fi
echo
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg); results ($parts) identical across" \
     "the splits"
