#!/usr/bin/env bash
# MEMprop training throughput: memspice vs PyTorch (CPU, float32) on the same network, equations,
# initial conductances and Fashion-MNIST batches, side by side in one run. Not a test: takes a few
# minutes. Prints a markdown table (medians over repeats; wall clock and CPU time) and the load
# average, and checks that PyTorch's loss on the first batch matches memspice's.
#
#   benchmarks/train_speed.sh [BUILD_DIR] [-- options]
#     --batch-size 128 --steps 1000 --threads 2
#     --batches 4 --repeats 3        memspice: batches per repeat, repeats
#     --torch-batches 2              PyTorch: timed batches per form (each is one repeat)
#     --isa auto                     memspice kernels (auto|avx512|avx2|generic)
#
# Needs python3 with torch (Debian python3-torch: scripts/install-bench-deps.sh); without it only
# the memspice rows are printed.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${1:-$root/build}"
[[ $# -gt 0 ]] && shift
[[ "${1:-}" == "--" ]] && shift
bs=128 steps=1000 threads=2 batches=4 repeats=3 tbatches=2 isa=auto
while [[ $# -gt 0 ]]; do
  case "$1" in
    --batch-size) bs="$2"; shift 2 ;;
    --steps) steps="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    --batches) batches="$2"; shift 2 ;;
    --repeats) repeats="$2"; shift 2 ;;
    --torch-batches) tbatches="$2"; shift 2 ;;
    --isa) isa="$2"; shift 2 ;;
    *) echo "train_speed.sh: unknown option '$1'" >&2; exit 1 ;;
  esac
done

if [[ ! -f "$build/build.ninja" && ! -f "$build/Makefile" ]]; then
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
fi
cmake --build "$build" --target train_speed_bench -j2 >/dev/null
bench="$build/benchmarks/train_speed_bench"

python=""
for p in "${PYTHON:-}" /usr/bin/python3 python3; do
  if [[ -n "$p" ]] && "$p" -c "import torch" 2>/dev/null; then python="$p"; break; fi
done

work="$(mktemp -d "${TMPDIR:-/tmp}/train_speed.XXXXXX")"
trap 'rm -rf "$work"' EXIT
load0="$(cut -d' ' -f1-3 /proc/loadavg)"
echo "# MEMprop training speed, $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "# 784-100-10, semi-implicit, T = $steps, batch $bs, $threads threads; load average at start $load0"

"$bench" --batch-size "$bs" --steps "$steps" --threads "$threads" --batches "$batches" \
  --repeats "$repeats" --isa "$isa" --export-init "$work/init.json" >"$work/memspice.json"
if [[ -n "$python" ]]; then
  "$python" "$root/benchmarks/pytorch_memprop.py" --init "$work/init.json" --threads "$threads" \
    --batches "$tbatches" >"$work/torch.json"
else
  echo "# python3 with torch not found: PyTorch rows skipped (scripts/install-bench-deps.sh)"
  : >"$work/torch.json"
fi
load1="$(cut -d' ' -f1-3 /proc/loadavg)"

"${python:-python3}" - "$work/memspice.json" "$work/torch.json" "$load1" <<'EOF'
import json, sys
ms = json.load(open(sys.argv[1]))
rows, checks = [], []
for line in open(sys.argv[2]):
    j = json.loads(line)
    (checks if "check" in j else rows).append(j)
for c in checks:
    print(f"# loss check ({c['check']}): PyTorch {c['pytorch_loss_sum_float32']:.8g}, memspice "
          f"{c['memspice_loss_sum_float']:.8g} (float) / {c['memspice_loss_sum_double']:.8g} (double), "
          f"relative difference {c['rel_diff_vs_memspice_double']:.2e}")
print(f"# memspice kernels: {ms['isa']}; tape {ms['tape_bytes_per_batch'] / 2**20:.0f} MiB per batch "
      f"({ms['tape_bytes_per_chunk'] / 2**20:.0f} MiB per chunk), peak RSS {ms['peak_rss_bytes'] / 2**20:.0f} MiB")
print("\n| implementation | samples/s (wall) | samples/CPU-s | s/epoch (60,000, wall) | memspice speed-up (wall) | (CPU) |")
print("|---|---|---|---|---|---|")
mw, mc = ms["median_samples_per_s_wall"], ms["median_samples_per_cpu_s"]
print(f"| memspice ({ms['isa']}, {ms['repeats']} x {ms['batches']} batches) | {mw:.1f} | {mc:.1f} | "
      f"{60000 / mw:.0f} | 1 | 1 |")
for r in rows:
    w, c = r["median_samples_per_s_wall"], r["median_samples_per_cpu_s"]
    print(f"| PyTorch {r['torch']} {r['form']} ({r['batches']} batches) | {w:.2f} | {c:.2f} | "
          f"{60000 / w:.0f} | {mw / w:.1f}x | {mc / c:.1f}x |")
print(f"\n# load average at end {sys.argv[3]}")
EOF
